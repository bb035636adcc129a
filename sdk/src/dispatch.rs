//! proxylet's proxy-wasm dispatcher: the module's `proxy_on_*` entry points, and the table
//! of contexts (one per plugin, one per HTTP stream or TCP connection) they are routed to.
//!
//! It replaces the `proxy-wasm` crate's dispatcher, which `panic!`s (a VM trap) on an
//! unknown context id, on a duplicate token and when `proxy_set_effective_context` fails,
//! and which is exported whole: Envoy calls every `proxy_on_*` a module exports, so a
//! filter that handles one phase paid for six calls into the VM per request. Here no path
//! panics on what the host sends, and `#[filter]` exports only the entry points its hooks
//! need (`__export_hooks!`): Envoy skips the rest.
//!
//! The table lives in a thread local, like a wasm VM's memory; natively, each test host
//! keeps its own and swaps it in around its calls (see `export::VmLocals`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::context::{
    Child, Context, HostAction, HttpContext, NewRoot, RootContext, Shared, StreamContext,
};
use crate::host::{self, LogLevel};

/// One context of the table.
#[derive(Clone)]
enum Slot {
    Root(Shared<Box<dyn RootContext>>),
    Http(Shared<dyn HttpContext>),
    Tcp(Shared<dyn StreamContext>),
}

/// What a callout token stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Http,
    Grpc,
    GrpcStream,
}

/// The contexts of one VM, and the callouts they made.
pub(crate) struct Dispatcher {
    new_root: Option<NewRoot>,
    /// The live contexts, sorted by id. Envoy numbers them upwards, so a new one goes at
    /// the end; a sorted `Vec` costs a fraction of a map's work per stream in the VM.
    contexts: Vec<(u32, Slot)>,
    /// Callout token → the context that made it. Envoy answers on the plugin's context.
    calls: Vec<(u32, u32, Call)>,
    /// Streams → their plugin, for the streams that wait on their plugin's tick.
    parents: Vec<(u32, u32)>,
    /// Streams waiting for a time (`Stream::sleep`); their plugin's tick wakes them.
    timers: Vec<Timer>,
    /// The plugins whose tick period proxylet shortened for timers.
    ticking: Vec<Ticking>,
    /// Streams waiting for a queue's items (`Queue::recv`): (queue, stream).
    queue_waiters: Vec<(u32, u32)>,
    /// The queues this VM registered: only their owner hears that they have items.
    registered_queues: Vec<u32>,
}

/// A stream asleep until `deadline` (host clock, nanoseconds).
#[derive(Clone, Copy)]
struct Timer {
    deadline: u64,
    stream: u32,
    plugin: u32,
}

/// A plugin's tick: the period its code asked for, when its `on_tick` is next due, and
/// the period the host was told (shorter while a stream of the plugin sleeps).
#[derive(Clone, Copy)]
struct Ticking {
    plugin: u32,
    asked_ms: u32,
    next_due: u64,
    told_ms: u32,
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher::EMPTY
    }
}

impl Dispatcher {
    const EMPTY: Dispatcher = Dispatcher {
        new_root: None,
        contexts: Vec::new(),
        calls: Vec::new(),
        parents: Vec::new(),
        timers: Vec::new(),
        ticking: Vec::new(),
        queue_waiters: Vec::new(),
        registered_queues: Vec::new(),
    };

    fn find(&self, id: u32) -> Result<usize, usize> {
        self.contexts.binary_search_by_key(&id, |(key, _)| *key)
    }

    fn get(&self, id: u32) -> Option<Slot> {
        let index = self.find(id).ok()?;
        self.contexts.get(index).map(|(_, slot)| slot.clone())
    }

    fn insert(&mut self, id: u32, slot: Slot) {
        match self.find(id) {
            Ok(index) => {
                if let Some(entry) = self.contexts.get_mut(index) {
                    entry.1 = slot;
                }
            }
            Err(index) => self.contexts.insert(index, (id, slot)),
        }
    }

    fn remove(&mut self, id: u32) -> Option<Slot> {
        let index = self.find(id).ok()?;
        Some(self.contexts.remove(index).1)
    }

    fn call(&mut self, token: u32, remove: bool) -> Option<(u32, Call)> {
        let index = self.calls.iter().position(|(t, _, _)| *t == token)?;
        let (_, context, call) = if remove {
            self.calls.swap_remove(index)
        } else {
            *self.calls.get(index)?
        };
        Some((context, call))
    }
}

impl Dispatcher {
    /// An empty table whose plugins are made by `new_root`.
    #[cfg(all(feature = "testing", not(target_family = "wasm")))]
    pub(crate) fn new(new_root: NewRoot) -> Self {
        Dispatcher {
            new_root: Some(new_root),
            ..Dispatcher::default()
        }
    }
}

thread_local! {
    // Const-initialized: no lazy set-up to check on each of the many accesses a request
    // makes.
    static DISPATCHER: RefCell<Dispatcher> = const { RefCell::new(Dispatcher::EMPTY) };
    /// The context whose hook is running: callouts made now are its.
    static ACTIVE: Cell<u32> = const { Cell::new(0) };
}

/// Sets how plugins are made (from `_initialize`).
pub(crate) fn set_root_factory(new_root: NewRoot) {
    DISPATCHER.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            d.new_root = Some(new_root);
        }
    });
}

/// Exchanges the thread's table with `other` (natively, each test host has its own).
#[cfg(all(feature = "testing", not(target_family = "wasm")))]
pub(crate) fn swap(other: &mut Dispatcher) {
    DISPATCHER.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            std::mem::swap(&mut *d, other);
        }
    });
}

fn slot(id: u32) -> Option<Slot> {
    DISPATCHER.with(|d| d.try_borrow().ok()?.get(id))
}

fn debug(message: &str) {
    crate::logger::emit(LogLevel::Debug, message);
}

/// Records a callout the active context made, so its answer reaches that context.
fn register(token: u32, call: Call) {
    let context = ACTIVE.with(Cell::get);
    DISPATCHER.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            d.calls.retain(|(t, _, _)| *t != token);
            d.calls.push((token, context, call));
        }
    });
}

/// Records an HTTP callout of the active context.
pub(crate) fn register_http_call(token: u32) {
    register(token, Call::Http);
}

/// Records a unary gRPC call of the active context.
pub(crate) fn register_grpc_call(token: u32) {
    register(token, Call::Grpc);
}

/// Records a gRPC stream of the active context.
pub(crate) fn register_grpc_stream(token: u32) {
    register(token, Call::GrpcStream);
}

/// Runs `f` on context `id` when it is an HTTP stream's, with `id` active; `missing`
/// otherwise (or when the context is already running: a host calling back into a hook).
fn http<R>(id: u32, missing: R, f: impl FnOnce(&mut dyn HttpContext) -> R) -> R {
    let context = match slot(id) {
        Some(Slot::Http(context)) => context,
        Some(Slot::Tcp(_)) => {
            // A TCP filter's plugin in an HTTP filter chain: refuse the stream.
            let refuse: Shared<dyn HttpContext> =
                Rc::new(RefCell::new(crate::http::NoFilter::new(
                    "refusing an HTTP stream of a TCP filter: configure it as a network filter \
                     (envoy.filters.network.wasm)",
                )));
            insert(id, Slot::Http(Rc::clone(&refuse)));
            refuse
        }
        _ => {
            debug("an HTTP hook for a context that is not an HTTP stream's: ignored");
            return missing;
        }
    };
    let Ok(mut context) = context.try_borrow_mut() else {
        return missing;
    };
    let previous = ACTIVE.with(|a| a.replace(id));
    let result = f(&mut *context);
    ACTIVE.with(|a| a.set(previous));
    result
}

/// Runs `f` on context `id` when it is a TCP connection's (see [`http`]); on an HTTP
/// stream's, closes the connection and answers `refused`.
fn tcp<R>(id: u32, missing: R, refused: R, f: impl FnOnce(&mut dyn StreamContext) -> R) -> R {
    let context = match slot(id) {
        Some(Slot::Tcp(context)) => context,
        Some(Slot::Http(_)) => {
            // An HTTP filter's plugin in a network filter chain: close the connection.
            crate::logger::emit(
                LogLevel::Error,
                "closing a TCP connection of an HTTP filter: configure it as an HTTP filter \
                 (envoy.filters.http.wasm)",
            );
            for stream in [host::StreamType::Downstream, host::StreamType::Upstream] {
                let _ = host::close_stream(stream);
            }
            return refused;
        }
        _ => {
            debug("a TCP hook for a context that is not a connection's: ignored");
            return missing;
        }
    };
    let Ok(mut context) = context.try_borrow_mut() else {
        return missing;
    };
    let previous = ACTIVE.with(|a| a.replace(id));
    let result = f(&mut *context);
    ACTIVE.with(|a| a.set(previous));
    result
}

/// Runs `f` on plugin `id`'s root context.
fn root<R>(id: u32, missing: R, f: impl FnOnce(&mut dyn RootContext) -> R) -> R {
    let Some(Slot::Root(context)) = slot(id) else {
        debug("a plugin hook for a context that is not a plugin's: ignored");
        return missing;
    };
    let Ok(mut context) = context.try_borrow_mut() else {
        return missing;
    };
    let previous = ACTIVE.with(|a| a.replace(id));
    let result = f(&mut **context);
    ACTIVE.with(|a| a.set(previous));
    result
}

/// Runs `f` on any context `id`, with `id` active.
fn any<R>(id: u32, missing: R, f: impl FnOnce(&mut dyn Context) -> R) -> R {
    let Some(slot) = slot(id) else {
        return missing;
    };
    let previous = ACTIVE.with(|a| a.replace(id));
    let result = match slot {
        Slot::Root(c) => c.try_borrow_mut().ok().map(|mut c| f(&mut **c)),
        Slot::Http(c) => c.try_borrow_mut().ok().map(|mut c| f(&mut *c)),
        Slot::Tcp(c) => c.try_borrow_mut().ok().map(|mut c| f(&mut *c)),
    };
    ACTIVE.with(|a| a.set(previous));
    result.unwrap_or(missing)
}

fn insert(id: u32, slot: Slot) {
    DISPATCHER.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            d.insert(id, slot);
        }
    });
}

/// `proxy_on_context_create`: a plugin (`parent` 0) or one of its streams.
pub fn on_context_create(id: u32, parent: u32) {
    if parent == 0 {
        let new_root = DISPATCHER.with(|d| d.try_borrow().ok().and_then(|d| d.new_root));
        match new_root {
            Some(new_root) => insert(id, Slot::Root(Rc::new(RefCell::new(new_root())))),
            None => debug("a plugin created before the module started: ignored"),
        }
        return;
    }
    let Some(Slot::Root(plugin)) = slot(parent) else {
        debug("a stream of an unknown plugin: ignored");
        return;
    };
    let Ok(plugin) = plugin.try_borrow() else {
        return;
    };
    let child = match plugin.new_context() {
        Child::Http(context) => Slot::Http(context),
        Child::Tcp(context) => Slot::Tcp(context),
    };
    let waits = plugin.streams_wait();
    drop(plugin);
    insert(id, child);
    if waits {
        adopt(id, parent);
    }
}

/// `proxy_on_vm_start`.
pub fn on_vm_start(id: u32, size: usize) -> bool {
    root(id, false, |c| c.on_vm_start(size))
}

/// `proxy_on_configure`.
pub fn on_configure(id: u32, size: usize) -> bool {
    root(id, false, |c| c.on_configure(size))
}

/// `proxy_on_tick`: wakes the plugin's streams whose time came, then runs the plugin's
/// `on_tick` when its own period is due.
pub fn on_tick(id: u32) {
    let now = host::current_time_nanos().unwrap_or(0);
    let found = DISPATCHER.with(|d| {
        let mut d = d.try_borrow_mut().ok()?;
        let ticking = d.ticking.iter().find(|t| t.plugin == id).copied()?;
        let sleeping = d.timers.iter().any(|t| t.plugin == id);
        let due: Vec<u32> = d
            .timers
            .iter()
            .filter(|t| t.plugin == id && t.deadline <= now)
            .map(|t| t.stream)
            .collect();
        d.timers.retain(|t| t.plugin != id || t.deadline > now);
        Some((ticking, sleeping, due))
    });
    let Some((ticking, sleeping, due)) = found else {
        // The tick is the plugin's own, as it asked.
        root(id, (), |c| c.on_tick());
        return;
    };
    for stream in due {
        wake(stream);
    }
    if let Err(error) = host::set_effective_context(id) {
        debug(&format!("a tick: {error}"));
        return;
    }
    // Without sleeping streams the host ticks at the plugin's own period; with them, the
    // plugin's tick is due at its time (within the host's millisecond).
    let own =
        ticking.asked_ms != 0 && (!sleeping || now.saturating_add(1_000_000) >= ticking.next_due);
    if own {
        DISPATCHER.with(|d| {
            if let Ok(mut d) = d.try_borrow_mut() {
                if let Some(t) = d.ticking.iter_mut().find(|t| t.plugin == id) {
                    t.next_due = now.saturating_add(u64::from(t.asked_ms) * 1_000_000);
                }
            }
        });
        root(id, (), |c| c.on_tick());
    }
    retune(id, now);
}

/// Tells the host plugin `id`'s tick period, if it changed: the one its code asked for,
/// shortened to the nearest deadline of its sleeping streams. The plugin must be the
/// host's effective context.
fn retune(id: u32, now: u64) {
    let told = DISPATCHER.with(|d| {
        let mut d = d.try_borrow_mut().ok()?;
        let nearest = d
            .timers
            .iter()
            .filter(|t| t.plugin == id)
            .map(|t| millis_until(now, t.deadline))
            .min();
        let ticking = d.ticking.iter_mut().find(|t| t.plugin == id)?;
        // The plugin's own tick comes at its time, whatever the timers did to the period.
        let own = (ticking.asked_ms != 0).then(|| millis_until(now, ticking.next_due));
        let period = match (nearest, own) {
            (None, None) => 0,
            (Some(at), None) | (None, Some(at)) => at,
            (Some(nearest), Some(own)) => nearest.min(own),
        };
        let period = u32::try_from(period).unwrap_or(u32::MAX);
        if period == ticking.told_ms {
            return None;
        }
        ticking.told_ms = period;
        Some(period)
    });
    if let Some(period) = told {
        if let Err(error) = host::set_tick_period_millis(period) {
            debug(&format!("setting the tick period: {error}"));
        }
    }
}

/// Whole milliseconds from `now` to `deadline` (nanoseconds), at least one.
fn millis_until(now: u64, deadline: u64) -> u64 {
    deadline.saturating_sub(now).div_ceil(1_000_000).max(1)
}

/// The tick period plugin code asked for (`PluginCx::set_tick_period`), kept so that the
/// timers of the plugin's streams can shorten the host's period and restore it.
pub(crate) fn set_tick_period(millis: u32) -> Result<(), host::HostError> {
    let plugin = ACTIVE.with(Cell::get);
    let now = host::current_time_nanos().unwrap_or(0);
    let recorded = DISPATCHER.with(|d| {
        let mut d = d.try_borrow_mut().ok()?;
        let next_due = now.saturating_add(u64::from(millis) * 1_000_000);
        match d.ticking.iter_mut().find(|t| t.plugin == plugin) {
            Some(ticking) => {
                ticking.asked_ms = millis;
                ticking.next_due = next_due;
            }
            None => d.ticking.push(Ticking {
                plugin,
                asked_ms: millis,
                next_due,
                told_ms: 0,
            }),
        }
        Some(())
    });
    if recorded.is_none() {
        return host::set_tick_period_millis(millis);
    }
    // Told again even when unchanged: the host restarts its timer, as when asked directly.
    DISPATCHER.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            if let Some(t) = d.ticking.iter_mut().find(|t| t.plugin == plugin) {
                t.told_ms = u32::MAX;
            }
        }
    });
    retune(plugin, now);
    Ok(())
}

/// Wakes the stream running when its host clock reaches `deadline` (nanoseconds), through
/// its plugin's tick. `Err` outside a stream's hook.
pub(crate) fn wake_at(deadline: u64) -> Result<(), host::HostError> {
    let stream = ACTIVE.with(Cell::get);
    let now = host::current_time_nanos().unwrap_or(0);
    let plugin = DISPATCHER.with(|d| {
        let mut d = d.try_borrow_mut().ok()?;
        let plugin = d
            .parents
            .iter()
            .find(|(s, _)| *s == stream)
            .map(|(_, p)| *p)?;
        if !d
            .timers
            .iter()
            .any(|t| t.stream == stream && t.deadline == deadline)
        {
            d.timers.push(Timer {
                deadline,
                stream,
                plugin,
            });
        }
        if !d.ticking.iter().any(|t| t.plugin == plugin) {
            d.ticking.push(Ticking {
                plugin,
                asked_ms: 0,
                next_due: u64::MAX,
                told_ms: 0,
            });
        }
        Some(plugin)
    });
    let Some(plugin) = plugin else {
        return Err(host::HostError::new(
            "Stream::sleep (outside a stream's hook)",
            2,
        ));
    };
    // The tick period belongs to the plugin: set it as the plugin.
    host::set_effective_context(plugin)?;
    retune(plugin, now);
    host::set_effective_context(stream)
}

/// Records that stream `stream` (running) is a stream of `plugin`, for its timers.
fn adopt(stream: u32, plugin: u32) {
    DISPATCHER.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            d.parents.push((stream, plugin));
        }
    });
}

/// Polls the async hooks of HTTP stream `id` (its timer came, its queue has items), with
/// the stream as the host's effective context.
fn wake(id: u32) {
    if let Err(error) = host::set_effective_context(id) {
        debug(&format!("waking a stream: {error}"));
        return;
    }
    http(id, (), |c| c.wake());
}

/// Wakes the stream running when queue `queue`, which this VM registered, has items.
/// `Err` when this VM did not register it: its owner alone hears of new items.
pub(crate) fn wake_on_queue(queue: u32) -> Result<(), host::HostError> {
    let stream = ACTIVE.with(Cell::get);
    DISPATCHER.with(|d| {
        let mut d = d
            .try_borrow_mut()
            .map_err(|_| host::HostError::new("Queue::recv", 2))?;
        if !d.registered_queues.contains(&queue) {
            return Err(host::HostError::new(
                "Queue::recv (a queue this VM did not register: only its owner is told of items)",
                2,
            ));
        }
        if !d.queue_waiters.contains(&(queue, stream)) {
            d.queue_waiters.push((queue, stream));
        }
        Ok(())
    })
}

/// Records a queue this VM registered.
pub(crate) fn registered_queue(queue: u32) {
    DISPATCHER.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            if !d.registered_queues.contains(&queue) {
                d.registered_queues.push(queue);
            }
        }
    });
}

/// `proxy_on_queue_ready`: the plugin's `on_queue_ready`, then the streams that await the
/// queue's items, in the order they began to wait.
pub fn on_queue_ready(id: u32, queue: u32) {
    root(id, (), |c| c.on_queue_ready(queue));
    let waiting: Vec<u32> = DISPATCHER.with(|d| {
        let Ok(mut d) = d.try_borrow_mut() else {
            return Vec::new();
        };
        let waiting = d
            .queue_waiters
            .iter()
            .filter(|(q, _)| *q == queue)
            .map(|(_, s)| *s)
            .collect();
        d.queue_waiters.retain(|(q, _)| *q != queue);
        waiting
    });
    for stream in waiting {
        wake(stream);
    }
}

/// `proxy_on_done`.
pub fn on_done(id: u32) -> bool {
    any(id, true, |c| c.on_done())
}

/// `proxy_on_log`.
pub fn on_log(id: u32) {
    match slot(id) {
        Some(Slot::Tcp(_)) => tcp(id, (), (), |c| c.on_log()),
        _ => http(id, (), |c| c.on_log()),
    }
}

/// `proxy_on_delete`: forgets the context and the callouts it made (the host cancels
/// them), dropping their callbacks.
pub fn on_delete(id: u32) {
    let removed = DISPATCHER.with(|d| {
        let mut d = d.try_borrow_mut().ok()?;
        let removed = d.remove(id);
        d.calls.retain(|(_, context, _)| *context != id);
        if !d.parents.is_empty() {
            d.parents
                .retain(|(stream, plugin)| *stream != id && *plugin != id);
            d.timers.retain(|t| t.stream != id && t.plugin != id);
            d.ticking.retain(|t| t.plugin != id);
            d.queue_waiters.retain(|(_, stream)| *stream != id);
        }
        removed
    });
    // Dropped here, outside the table's borrow: a `Drop` in the filter's state may call
    // the host, which must find the table free.
    drop(removed);
}

/// `proxy_on_request_headers`.
pub fn on_request_headers(id: u32, num_headers: usize, end_of_stream: bool) -> u32 {
    http(id, HostAction::Continue, |c| {
        c.on_http_request_headers(num_headers, end_of_stream)
    }) as u32
}

/// `proxy_on_request_body`.
pub fn on_request_body(id: u32, body_size: usize, end_of_stream: bool) -> u32 {
    http(id, HostAction::Continue, |c| {
        c.on_http_request_body(body_size, end_of_stream)
    }) as u32
}

/// `proxy_on_request_trailers`.
pub fn on_request_trailers(id: u32, num_trailers: usize) -> u32 {
    http(id, HostAction::Continue, |c| {
        c.on_http_request_trailers(num_trailers)
    }) as u32
}

/// `proxy_on_response_headers`.
pub fn on_response_headers(id: u32, num_headers: usize, end_of_stream: bool) -> u32 {
    http(id, HostAction::Continue, |c| {
        c.on_http_response_headers(num_headers, end_of_stream)
    }) as u32
}

/// `proxy_on_response_body`.
pub fn on_response_body(id: u32, body_size: usize, end_of_stream: bool) -> u32 {
    http(id, HostAction::Continue, |c| {
        c.on_http_response_body(body_size, end_of_stream)
    }) as u32
}

/// `proxy_on_response_trailers`.
pub fn on_response_trailers(id: u32, num_trailers: usize) -> u32 {
    http(id, HostAction::Continue, |c| {
        c.on_http_response_trailers(num_trailers)
    }) as u32
}

/// `proxy_on_new_connection`.
pub fn on_new_connection(id: u32) -> u32 {
    tcp(id, HostAction::Continue, HostAction::Pause, |c| {
        c.on_new_connection()
    }) as u32
}

/// `proxy_on_downstream_data`.
pub fn on_downstream_data(id: u32, data_size: usize, end_of_stream: bool) -> u32 {
    tcp(id, HostAction::Continue, HostAction::Pause, |c| {
        c.on_downstream_data(data_size, end_of_stream)
    }) as u32
}

/// `proxy_on_upstream_data`.
pub fn on_upstream_data(id: u32, data_size: usize, end_of_stream: bool) -> u32 {
    tcp(id, HostAction::Continue, HostAction::Pause, |c| {
        c.on_upstream_data(data_size, end_of_stream)
    }) as u32
}

/// `proxy_on_downstream_connection_close`.
pub fn on_downstream_connection_close(id: u32, peer: u32) {
    tcp(id, (), (), |c| c.on_downstream_close(peer));
}

/// `proxy_on_upstream_connection_close`.
pub fn on_upstream_connection_close(id: u32, peer: u32) {
    tcp(id, (), (), |c| c.on_upstream_close(peer));
}

/// The context whose hook is running (0: none).
pub(crate) fn active() -> u32 {
    ACTIVE.with(Cell::get)
}

/// Applies `action` to HTTP stream `id` from outside its hooks (`StreamHandle`): the
/// stream is made the host's effective context for it, then the running one's again.
/// `Err(NotFound)` when the stream is gone (or is not an HTTP stream).
pub(crate) fn release(id: u32, action: crate::action::Action) -> Result<(), host::HostError> {
    let Some(Slot::Http(context)) = slot(id) else {
        return Err(host::HostError::new("StreamHandle (the stream is gone)", 1));
    };
    let Ok(mut context) = context.try_borrow_mut() else {
        // Its own hook is running: the hook's return value decides.
        return Err(host::HostError::new(
            "StreamHandle (used inside its own stream's hook: return the action instead)",
            2,
        ));
    };
    host::set_effective_context(id)?;
    let previous = ACTIVE.with(|a| a.replace(id));
    context.release(action);
    ACTIVE.with(|a| a.set(previous));
    if previous != 0 {
        host::set_effective_context(previous)?;
    }
    Ok(())
}

/// The context that made callout `token`, made effective for the host calls its callback
/// makes; `remove`: the callout is over.
fn caller(token: u32, remove: bool) -> Option<(u32, Call)> {
    let found = DISPATCHER.with(|d| d.try_borrow_mut().ok()?.call(token, remove));
    let Some((context, call)) = found else {
        debug("an answer to a callout of a context that is gone: ignored");
        return None;
    };
    if let Err(error) = host::set_effective_context(context) {
        debug(&format!("answering a callout: {error}"));
        return None;
    }
    Some((context, call))
}

/// `proxy_on_http_call_response`. The context id Envoy passes is the plugin's: the
/// token tells which stream made the call.
pub fn on_http_call_response(
    _plugin: u32,
    token: u32,
    num_headers: usize,
    body_size: usize,
    num_trailers: usize,
) {
    if let Some((context, _)) = caller(token, true) {
        any(context, (), |c| {
            c.on_http_call_response(token, num_headers, body_size, num_trailers)
        });
    }
}

/// `proxy_on_grpc_receive_initial_metadata`.
pub fn on_grpc_receive_initial_metadata(_plugin: u32, token: u32, num_elements: u32) {
    if let Some((context, Call::GrpcStream)) = caller(token, false) {
        any(context, (), |c| {
            c.on_grpc_stream_initial_metadata(token, num_elements)
        });
    }
}

/// `proxy_on_grpc_receive`: a unary call's answer or a stream's message.
pub fn on_grpc_receive(_plugin: u32, token: u32, size: usize) {
    let Some((context, call)) = caller(token, false) else {
        return;
    };
    if call == Call::Grpc {
        forget(token);
        any(context, (), |c| c.on_grpc_call_response(token, 0, size));
    } else {
        any(context, (), |c| c.on_grpc_stream_message(token, size));
    }
}

/// `proxy_on_grpc_receive_trailing_metadata`.
pub fn on_grpc_receive_trailing_metadata(_plugin: u32, token: u32, num_elements: u32) {
    if let Some((context, Call::GrpcStream)) = caller(token, false) {
        any(context, (), |c| {
            c.on_grpc_stream_trailing_metadata(token, num_elements)
        });
    }
}

/// `proxy_on_grpc_close`: a unary call failed, or a stream closed.
pub fn on_grpc_close(_plugin: u32, token: u32, status_code: u32) {
    let Some((context, call)) = caller(token, true) else {
        return;
    };
    if call == Call::Grpc {
        any(context, (), |c| {
            c.on_grpc_call_response(token, status_code, 0)
        });
    } else {
        any(context, (), |c| c.on_grpc_stream_close(token, status_code));
    }
}

fn forget(token: u32) {
    DISPATCHER.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            d.call(token, true);
        }
    });
}

/// `proxy_on_memory_allocate`: memory the host fills and hands to the module; the SDK
/// takes it back as a `Vec<u8>` of exactly `size` bytes (`host::take_host_buffer`).
pub fn memory_allocate(size: usize) -> *mut u8 {
    let buffer: Box<[std::mem::MaybeUninit<u8>]> = Box::new_uninit_slice(size);
    Box::into_raw(buffer).cast::<u8>()
}
