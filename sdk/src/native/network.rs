//! Network (TCP) filters on the native target, loaded by
//! `envoy.filters.network.dynamic_modules`: one context per connection, as with
//! `envoy.filters.network.wasm`. Bytes from the client are Envoy's read buffer
//! (`on_downstream_data`), bytes from the upstream its write buffer (`on_upstream_data`).
//!
//! Envoy's network filter sits on the client's connection: it tells the filter that the
//! client side closed (an event) and that the upstream is done (the write path's end of
//! stream); closing either side closes the client's connection, and `tcp_proxy` then
//! closes the upstream one.

use std::cell::Cell;
use std::ffi::c_void;

use super::{abi, enter, guard, plugin, run_hook, Config, Scope};
use crate::context::{Child, HostAction, Shared, StreamContext};

/// proxy-wasm's peer types, as the close hooks take them.
const PEER_LOCAL: u32 = 1;
const PEER_REMOTE: u32 = 2;

/// One connection: what `filter_new` returns to Envoy.
pub(crate) struct Connection {
    config: *const Config,
    /// `None` when the plugin could not be built on this worker: the connection is closed.
    context: Option<Shared<dyn StreamContext>>,
    /// A hook panicked: the connection was closed, and the filter is out of its way.
    failed: Cell<bool>,
    /// The client side closed while a hook ran (the filter closing the connection makes
    /// Envoy report it at once): the close hook runs when that hook returns.
    closed_during_hook: Cell<Option<u32>>,
}

/// `envoy_dynamic_module_on_network_filter_new`. Never null.
///
/// # Safety
/// `config` must come from `config_new` and be alive.
pub(crate) unsafe fn filter_new(config: *const c_void, filter: *mut c_void) -> *const c_void {
    let config = config.cast::<Config>();
    let context = guard(None, || {
        // SAFETY: Envoy keeps the configuration alive while its filters exist.
        let found = unsafe { config.as_ref() }?;
        let root = plugin(found)?;
        let _scope = enter(Scope {
            filter,
            config,
            network: true,
            ..Scope::NONE
        });
        let root = root.try_borrow().ok()?;
        match root.new_context() {
            Child::Tcp(context) => Some(context),
            Child::Http(_) => None,
        }
    });
    Box::into_raw(Box::new(Connection {
        config,
        context,
        failed: Cell::new(false),
        closed_during_hook: Cell::new(None),
    }))
    .cast_const()
    .cast()
}

/// `envoy_dynamic_module_on_network_filter_destroy`.
///
/// # Safety
/// `connection` must come from [`filter_new`], and not be used afterwards.
pub(crate) unsafe fn filter_destroy(connection: *const c_void) {
    if connection.is_null() {
        return;
    }
    // SAFETY: Envoy hands back what `filter_new` returned, once.
    let connection = unsafe { Box::from_raw(connection.cast_mut().cast::<Connection>()) };
    let _scope = enter(Scope {
        config: connection.config,
        network: true,
        ..Scope::NONE
    });
    guard((), move || {
        if let Some(Ok(mut context)) = connection.context.as_ref().map(|c| c.try_borrow_mut()) {
            // Envoy's dynamic modules have no access-log hook for connections: the
            // connection is complete when it is destroyed, so `on_log` runs then, as in
            // wasm after both sides closed.
            context.on_log();
            context.on_done();
        }
        drop(connection);
    });
}

/// Closes the client's connection (Envoy then closes the upstream one).
fn close(filter: *mut c_void) {
    // SAFETY: `filter` is the live connection's handle.
    unsafe {
        abi::envoy_dynamic_module_callback_network_filter_close(
            filter,
            abi::envoy_dynamic_module_type_network_connection_close_type_NoFlush,
        );
    }
}

/// Runs a hook of `connection`: `missed` when the filter is out of the way; a panic
/// closes the connection (`StopIteration`), and the filter stays out of its way.
///
/// # Safety
/// `connection` must come from [`filter_new`] and be alive.
pub(crate) unsafe fn hook<R: Copy>(
    filter: *mut c_void,
    connection: *const c_void,
    missed: R,
    stopped: R,
    run: impl FnOnce(&mut dyn StreamContext) -> R,
) -> R {
    // SAFETY: Envoy passes back the pointer `filter_new` returned while the filter lives.
    let Some(connection) = (unsafe { connection.cast::<Connection>().as_ref() }) else {
        return missed;
    };
    if connection.failed.get() {
        return missed;
    }
    let Some(context) = &connection.context else {
        crate::logger::emit(
            crate::host::LogLevel::Error,
            "closing a connection: its plugin could not be built on this worker (see the \
             errors above)",
        );
        connection.failed.set(true);
        close(filter);
        return stopped;
    };
    let _scope = enter(Scope {
        filter,
        config: connection.config,
        network: true,
        ..Scope::NONE
    });
    let result = run_hook(
        context,
        |context| run(context),
        |context| {
            if let Some(peer) = connection.closed_during_hook.take() {
                context.on_downstream_close(peer);
            }
        },
    );
    match result {
        Ok(Some(result)) => result,
        Ok(None) => missed,
        Err(_) => {
            connection.failed.set(true);
            close(filter);
            stopped
        }
    }
}

/// The status a data hook answers Envoy: `Continue` (0) or `StopIteration` (1).
pub(crate) fn status(action: HostAction) -> u32 {
    match action {
        HostAction::Continue => 0,
        HostAction::Pause => 1,
    }
}

/// `envoy_dynamic_module_on_network_filter_event`: the client side closed.
///
/// # Safety
/// As [`hook`].
pub(crate) unsafe fn event(filter: *mut c_void, connection: *const c_void, event: u32) {
    let peer = match event {
        abi::envoy_dynamic_module_type_network_connection_event_RemoteClose => PEER_REMOTE,
        abi::envoy_dynamic_module_type_network_connection_event_LocalClose => PEER_LOCAL,
        _ => return,
    };
    // SAFETY: Envoy passes back the pointer `filter_new` returned while the filter lives.
    let busy = unsafe { connection.cast::<Connection>().as_ref() }.filter(|c| {
        c.context
            .as_ref()
            .is_some_and(|context| context.try_borrow_mut().is_err())
    });
    if let Some(running) = busy {
        // Inside one of its own hooks (it closed the connection): after that hook.
        running.closed_during_hook.set(Some(peer));
        return;
    }
    // SAFETY: forwarded from the caller.
    unsafe { hook(filter, connection, (), (), |c| c.on_downstream_close(peer)) }
}

/// `envoy_dynamic_module_on_network_filter_write`: bytes from the upstream; its end
/// (`end_of_stream`) is the upstream closing.
///
/// # Safety
/// As [`hook`].
pub(crate) unsafe fn write(
    filter: *mut c_void,
    connection: *const c_void,
    size: usize,
    end_of_stream: bool,
) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        hook(filter, connection, 0, 1, |c| {
            let action = c.on_upstream_data(size, end_of_stream);
            if end_of_stream {
                c.on_upstream_close(PEER_REMOTE);
            }
            status(action)
        })
    }
}
