//! The native target: a `#[filter]` crate built for the host (a `cdylib`, `lib<crate>.so`)
//! is an Envoy dynamic module, loaded by `envoy.filters.http.dynamic_modules`. The filter's
//! name there is its root id, and its configuration the same JSON (a `StringValue`).
//!
//! These are the module's `envoy_dynamic_module_on_*` hooks. Each runs the same runtime as
//! the wasm target (`runtime.rs`: one root context per plugin, one context per stream),
//! with the host interface (`host::native`) speaking the dynamic modules ABI.
//!
//! What differs from a wasm VM, and how the same user code keeps working:
//! - Envoy shares one filter configuration across its worker threads, but a plugin's state
//!   is not `Sync` (filters are written for one-thread VMs). So each worker builds its own
//!   plugin from the configuration, as each worker's VM does in wasm; the first one is
//!   built while Envoy loads the configuration, so a bad one is refused then.
//! - Metrics can only be defined while Envoy loads the configuration: the ones the plugin
//!   defines then are recorded, and every worker's plugin finds its own there by name.
//! - A panic must never unwind into Envoy: every hook catches it; the stream gets a 500
//!   and the filter stays out of its way afterwards.

#[allow(clippy::all, clippy::pedantic)]
pub(crate) mod abi;
mod exports;
mod network;
mod ticks;
mod timers;

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{null, null_mut};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::context::{Child, HostAction, HttpContext, RootContext, Shared};
use crate::export::Registration;
use crate::host::LogLevel;
use crate::http::NoFilter;

#[cfg(panic = "abort")]
compile_error!(
    "a native proxylet module must unwind on panic, so that a panic in a filter becomes a 500 \
     instead of killing Envoy: build it with `panic = \"unwind\"` (`cargo proxylet build --native` \
     does), or build for `wasm32-wasip1`"
);

/// The module's filters, set once when Envoy loads it.
static FILTERS: OnceLock<&'static [Registration]> = OnceLock::new();

/// `envoy_dynamic_module_on_program_init`, called by the export `proxylet::main!` writes:
/// records the filters and answers the ABI version proxylet speaks.
pub fn program_init(filters: &'static [Registration]) -> *const c_char {
    guard(null(), || {
        let _ = FILTERS.set(filters);
        crate::logger::install();
        abi::ENVOY_DYNAMIC_MODULES_ABI_VERSION.as_ptr().cast()
    })
}

/// Runs `f`; a panic (already logged by the panic hook) gives `fallback` instead of
/// unwinding into Envoy.
fn guard<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Runs hook `run` on a stream's or connection's context, then `after` on it (what Envoy
/// reported while the hook ran). `Ok(None)`: the context is busy (Envoy called back into
/// one of its hooks); `Err`: a panic, caught (and logged by the panic hook).
fn run_hook<T: ?Sized, R>(
    context: &std::cell::RefCell<T>,
    run: impl FnOnce(&mut T) -> R,
    after: impl FnOnce(&mut T),
) -> Result<Option<R>, ()> {
    catch_unwind(AssertUnwindSafe(|| {
        let result = {
            let mut context = context.try_borrow_mut().ok()?;
            run(&mut *context)
        };
        if let Ok(mut context) = context.try_borrow_mut() {
            after(&mut *context);
        }
        Some(result)
    }))
    .map_err(drop)
}

/// One metric the plugin defined while Envoy loaded the configuration.
pub(crate) struct Metric {
    /// proxy-wasm's kind: 0 counter, 1 gauge, 2 histogram.
    pub(crate) kind: u32,
    pub(crate) name: String,
    /// Label values, in the order of the metric's label names.
    pub(crate) labels: Vec<(String, String)>,
    /// Envoy's id for the metric (name and label names).
    pub(crate) envoy_id: usize,
}

/// A filter configuration: what `config_new` returns to Envoy, shared by every worker.
pub(crate) struct Config {
    /// Unique in the process: worker plugins are keyed by it.
    id: u64,
    /// Envoy's handle of the configuration.
    pub(crate) envoy: *mut c_void,
    /// A network (TCP) filter's (`envoy.filters.network.dynamic_modules`), not an HTTP one.
    pub(crate) network: bool,
    registration: &'static Registration,
    /// The filter name Envoy loaded it as.
    pub(crate) name: Vec<u8>,
    /// The configuration bytes.
    pub(crate) bytes: Vec<u8>,
    /// Cleared when Envoy destroys the configuration; workers then drop their plugins.
    alive: Arc<AtomicBool>,
    /// The metrics defined while Envoy loaded it.
    pub(crate) metrics: Mutex<Vec<Metric>>,
    /// The tick period the plugin asked for while Envoy loaded it, in ms (0: none).
    tick_period: AtomicU32,
    /// The ticks, when there is a period.
    ticker: Mutex<Option<ticks::Ticker>>,
}

impl Config {
    /// Records the tick period (`PluginCx::set_tick_period` while Envoy loads it).
    pub(crate) fn set_tick_period(&self, millis: u32) {
        self.tick_period.store(millis, Ordering::Relaxed);
    }
}

// SAFETY: `envoy` is Envoy's configuration handle, which its ABI lets every worker use
// (the metric callbacks take it from any thread); the rest is owned data and a mutex.
unsafe impl Send for Config {}
// SAFETY: as above; nothing in `Config` is mutated without the mutex or an atomic.
unsafe impl Sync for Config {}

/// What a host call running on this thread acts on.
#[derive(Clone, Copy)]
pub(crate) struct Scope {
    /// Envoy's handle of the HTTP stream (or of the connection, for a network filter), or
    /// null outside a stream's hook.
    pub(crate) filter: *mut c_void,
    /// The configuration of the plugin running, or null.
    pub(crate) config: *const Config,
    /// Inside `config_new`: metrics may be defined.
    pub(crate) loading: bool,
    /// The answer of the callout whose callback runs, or null.
    pub(crate) callout: *const Callout,
    /// The plugin is a network filter's (`filter` is a connection's handle).
    pub(crate) network: bool,
    /// The HTTP stream whose hook runs (what `filter_new` returned), or null.
    pub(crate) stream: *const Stream,
}

impl Scope {
    const NONE: Scope = Scope {
        filter: null_mut(),
        config: null(),
        loading: false,
        callout: null(),
        network: false,
        stream: null(),
    };

    /// The configuration, if a plugin is running.
    pub(crate) fn config(&self) -> Option<&Config> {
        // SAFETY: set by `enter` from a configuration that outlives the call (Envoy keeps
        // it alive while its filters run; `config_new` owns it while it runs).
        unsafe { self.config.as_ref() }
    }

    /// The callout answer, inside its callback.
    pub(crate) fn callout(&self) -> Option<&Callout> {
        // SAFETY: set by `callout_done` for the duration of the callback.
        unsafe { self.callout.as_ref() }
    }
}

/// The answer of an HTTP callout, as Envoy hands it to `http_callout_done`.
pub(crate) struct Callout {
    pub(crate) headers: *const abi::envoy_dynamic_module_type_envoy_http_header,
    pub(crate) headers_len: usize,
    pub(crate) body: *const abi::envoy_dynamic_module_type_envoy_buffer,
    pub(crate) body_len: usize,
}

thread_local! {
    static SCOPE: Cell<Scope> = const { Cell::new(Scope::NONE) };
    /// This thread's plugins, by configuration id.
    static PLUGINS: RefCell<Vec<Plugin>> = const { RefCell::new(Vec::new()) };
}

/// One worker's plugin of a configuration.
struct Plugin {
    config: u64,
    alive: Arc<AtomicBool>,
    root: Option<Shared<Box<dyn RootContext>>>,
}

/// The scope of the host calls running on this thread.
pub(crate) fn scope() -> Scope {
    SCOPE.with(Cell::get)
}

/// Sets the scope until the guard drops (also when a panic unwinds).
fn enter(scope: Scope) -> impl Drop {
    struct Restore(Scope);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCOPE.with(|s| s.set(self.0));
        }
    }
    Restore(SCOPE.with(|s| s.replace(scope)))
}

/// Bytes Envoy owns, for the duration of the hook.
///
/// # Safety
/// `buffer` must describe readable memory, or have a null pointer.
pub(crate) unsafe fn envoy_bytes<'a>(
    buffer: abi::envoy_dynamic_module_type_envoy_buffer,
) -> &'a [u8] {
    if buffer.ptr.is_null() || buffer.length == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(buffer.ptr.cast::<u8>(), buffer.length) }
    }
}

/// Builds the plugin of `config` on this thread: a new root context, configured.
fn configure(config: &Config, loading: bool) -> Option<Shared<Box<dyn RootContext>>> {
    let _scope = enter(Scope {
        config,
        loading,
        network: config.network,
        ..Scope::NONE
    });
    let mut root = config.registration.new_root();
    if !root.on_vm_start(0) || !root.on_configure(config.bytes.len()) {
        return None;
    }
    Some(Rc::new(RefCell::new(root)))
}

/// This worker's plugin of `config`, built on first use; plugins of destroyed
/// configurations are dropped on the way.
fn plugin(config: &Config) -> Option<Shared<Box<dyn RootContext>>> {
    PLUGINS.with(|plugins| {
        let mut plugins = plugins.try_borrow_mut().ok()?;
        if let Some(found) = plugins.iter().find(|p| p.config == config.id) {
            return found.root.clone();
        }
        let root = configure(config, false);
        keep(&mut plugins, config, root.clone());
        root
    })
}

/// Keeps this thread's plugin of `config`, dropping (here, on their own thread) the
/// plugins of configurations Envoy has destroyed since: done when a plugin is added, not
/// on every stream.
fn keep(plugins: &mut Vec<Plugin>, config: &Config, root: Option<Shared<Box<dyn RootContext>>>) {
    plugins.retain(|p| p.alive.load(Ordering::Acquire));
    plugins.push(Plugin {
        config: config.id,
        alive: Arc::clone(&config.alive),
        root,
    });
}

fn log(level: LogLevel, message: &str) {
    crate::logger::emit(level, message);
}

/// `envoy_dynamic_module_on_{http,network}_filter_config_new`: finds the filter named
/// `name`, and builds its plugin from `config`; a configuration the filter refuses (the
/// reason is in Envoy's log) gives null, and Envoy refuses it. `network`: Envoy loads it
/// as a network filter.
///
/// # Safety
/// Envoy's buffers must be valid for the call.
pub(crate) unsafe fn config_new(
    envoy: *mut c_void,
    name: abi::envoy_dynamic_module_type_envoy_buffer,
    config: abi::envoy_dynamic_module_type_envoy_buffer,
    network: bool,
) -> *const c_void {
    // SAFETY: Envoy's buffers, valid during the call.
    let (name, bytes) = unsafe { (envoy_bytes(name).to_vec(), envoy_bytes(config).to_vec()) };
    guard(null(), || {
        let filters: &[Registration] = FILTERS.get().copied().unwrap_or(&[]);
        let found = filters
            .iter()
            .find(|f| f.root_id().as_bytes() == name.as_slice())
            .or(match filters {
                [only] if name.is_empty() => Some(only),
                _ => None,
            });
        let Some(registration) = found else {
            let known: Vec<String> = filters
                .iter()
                .map(|f| format!("`{}`", f.root_id()))
                .collect();
            log(
                LogLevel::Error,
                &format!(
                    "no filter with root id `{}` in this module; it has {}",
                    String::from_utf8_lossy(&name),
                    known.join(", ")
                ),
            );
            return null();
        };
        if registration.is_tcp() != network {
            let (kind, filter) = if registration.is_tcp() {
                ("a TCP", "envoy.filters.network.dynamic_modules")
            } else {
                ("an HTTP", "envoy.filters.http.dynamic_modules")
            };
            log(
                LogLevel::Error,
                &format!(
                    "`{}` is {kind} filter: load it with {filter}",
                    registration.root_id()
                ),
            );
            return null();
        }
        let config = Box::new(Config {
            id: next_config_id(),
            envoy,
            network,
            registration,
            name,
            bytes,
            alive: Arc::new(AtomicBool::new(true)),
            metrics: Mutex::new(Vec::new()),
            tick_period: AtomicU32::new(0),
            ticker: Mutex::new(None),
        });
        let Some(root) = configure(&config, true) else {
            return null();
        };
        let period = config.tick_period.load(Ordering::Relaxed);
        if period > 0 {
            let ticker =
                ticks::Ticker::start(envoy, network, Duration::from_millis(u64::from(period)));
            if ticker.is_none() {
                log(
                    LogLevel::Error,
                    &format!(
                        "{}: no ticks: Envoy gave no scheduler, or no thread could start",
                        config.registration.root_id()
                    ),
                );
                return null();
            }
            if let Ok(mut slot) = config.ticker.lock() {
                *slot = ticker;
            }
        }
        PLUGINS.with(|plugins| {
            if let Ok(mut plugins) = plugins.try_borrow_mut() {
                keep(&mut plugins, &config, Some(root));
            }
        });
        Box::into_raw(config).cast_const().cast()
    })
}

fn next_config_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `envoy_dynamic_module_on_http_filter_config_destroy`.
///
/// # Safety
/// `config` must come from [`config_new`], and not be used afterwards.
pub(crate) unsafe fn config_destroy(config: *const c_void) {
    if config.is_null() {
        return;
    }
    // SAFETY: Envoy hands back what `config_new` returned, once.
    let config = unsafe { Box::from_raw(config.cast_mut().cast::<Config>()) };
    config.alive.store(false, Ordering::Release);
    if let Ok(ticker) = config.ticker.lock() {
        if let Some(ticker) = ticker.as_ref() {
            ticker.stop();
        }
    }
    // Plugins live on their workers' threads and go with their next stream there.
    guard((), move || drop(config));
}

/// One HTTP stream: what `filter_new` returns to Envoy.
pub(crate) struct Stream {
    config: *const Config,
    context: Shared<dyn HttpContext>,
    /// A hook panicked: the stream was answered, and the filter is out of its way.
    failed: Cell<bool>,
    /// Envoy completed the stream while one of its hooks ran (the ABI allows it: a hook
    /// that ends the stream may complete it at once): `on_log` runs when that hook
    /// returns, instead of being lost to the busy context.
    completed_during_hook: Cell<bool>,
    /// The context's [`HttpContext::active_hooks`]: Envoy's calls of the other hooks
    /// return at once (see [`skips`]).
    active: u32,
    /// The stream's scheduler, made when an async hook first sleeps (`wake_at`).
    scheduler: std::cell::OnceCell<Option<std::sync::Arc<timers::Scheduler>>>,
    /// The deadline a timer is set for (0: none): a hook polled again before it comes
    /// sets no second one.
    armed: Cell<u64>,
}

/// `envoy_dynamic_module_on_http_filter_new`. Never null: Envoy would call every hook
/// with it.
///
/// # Safety
/// `config` must come from [`config_new`] and be alive.
pub(crate) unsafe fn filter_new(config: *const c_void, filter: *mut c_void) -> *const c_void {
    let config = config.cast::<Config>();
    let context = guard(None, || {
        // SAFETY: Envoy keeps the configuration alive while its filters exist.
        let found = unsafe { config.as_ref() }?;
        let root = plugin(found)?;
        let _scope = enter(Scope {
            filter,
            config,
            ..Scope::NONE
        });
        let root = root.try_borrow().ok()?;
        match root.new_context() {
            Child::Http(context) => Some(context),
            Child::Tcp(_) => None,
        }
    });
    let context = context.unwrap_or_else(|| {
        Rc::new(RefCell::new(NoFilter::new(
            "refusing a stream: its plugin could not be built on this worker (see the \
             errors above)",
        )))
    });
    let active = context
        .try_borrow()
        .map_or(crate::__private::hooks::ALL, |c| c.active_hooks());
    Box::into_raw(Box::new(Stream {
        config,
        context,
        failed: Cell::new(false),
        completed_during_hook: Cell::new(false),
        active,
        scheduler: std::cell::OnceCell::new(),
        armed: Cell::new(0),
    }))
    .cast_const()
    .cast()
}

/// Whether hook `bit` (`filter::hooks`) of `stream` would do nothing but answer
/// `Continue`: most filters implement one or two of the hooks Envoy calls on every
/// stream, and the others then cost no scope, panic guard or host call.
///
/// # Safety
/// `stream` must come from [`filter_new`] and be alive, or be null.
pub(crate) unsafe fn skips(stream: *const c_void, bit: u32) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe { stream.cast::<Stream>().as_ref() }.is_some_and(|s| s.active & bit == 0)
}

/// `envoy_dynamic_module_on_http_filter_stream_complete`: `on_log`, now or, when Envoy
/// completes the stream inside one of its hooks, when that hook returns.
///
/// # Safety
/// As [`hook`].
pub(crate) unsafe fn stream_complete(filter: *mut c_void, stream: *const c_void) {
    // SAFETY: forwarded from the caller.
    if unsafe { skips(stream, crate::__private::hooks::LOG) } {
        return;
    }
    // SAFETY: Envoy passes back the pointer `filter_new` returned while the filter lives.
    if let Some(running) =
        unsafe { stream.cast::<Stream>().as_ref() }.filter(|s| s.context.try_borrow_mut().is_err())
    {
        running.completed_during_hook.set(true);
        return;
    }
    // SAFETY: forwarded from the caller.
    unsafe { hook(filter, stream, (), (), |c| c.on_log()) }
}

/// `envoy_dynamic_module_on_http_filter_destroy`.
///
/// # Safety
/// `stream` must come from [`filter_new`], and not be used afterwards.
pub(crate) unsafe fn filter_destroy(stream: *const c_void) {
    if stream.is_null() {
        return;
    }
    // SAFETY: Envoy hands back what `filter_new` returned, once.
    let stream = unsafe { Box::from_raw(stream.cast_mut().cast::<Stream>()) };
    let _scope = enter(Scope {
        config: stream.config,
        ..Scope::NONE
    });
    guard((), move || {
        if let Some(Some(scheduler)) = stream.scheduler.get() {
            scheduler.delete();
        }
        if stream.active & crate::__private::hooks::DONE != 0 {
            if let Ok(mut context) = stream.context.try_borrow_mut() {
                context.on_done();
            }
        }
        drop(stream);
    });
}

/// Runs a hook of `stream`; a panic answers the stream with a 500 and the filter is out
/// of its way afterwards (`missed`).
///
/// # Safety
/// `stream` must come from [`filter_new`] and be alive.
pub(crate) unsafe fn hook<R: Copy>(
    filter: *mut c_void,
    stream: *const c_void,
    missed: R,
    failed: R,
    run: impl FnOnce(&mut dyn HttpContext) -> R,
) -> R {
    // SAFETY: Envoy passes back the pointer `filter_new` returned while the filter lives.
    let Some(stream) = (unsafe { stream.cast::<Stream>().as_ref() }) else {
        return missed;
    };
    if stream.failed.get() {
        return missed;
    }
    let _scope = enter(Scope {
        filter,
        config: stream.config,
        stream,
        ..Scope::NONE
    });
    let result = run_hook(
        &stream.context,
        |context| run(context),
        |context| {
            if stream.completed_during_hook.take() {
                context.on_log();
            }
        },
    );
    match result {
        Ok(Some(result)) => result,
        Ok(None) => missed,
        Err(_) => {
            stream.failed.set(true);
            guard((), || {
                let _ = crate::host::send_local_response(
                    500,
                    "proxylet_filter_panicked",
                    b"filter error\n",
                    &[("content-type".to_owned(), b"text/plain".to_vec())],
                    -1,
                );
            });
            failed
        }
    }
}

/// The status a headers or trailers hook answers Envoy: `Continue` (0) or
/// `StopIteration` (1).
pub(crate) fn status(action: HostAction) -> u32 {
    match action {
        HostAction::Continue => 0,
        HostAction::Pause => 1,
    }
}

/// `envoy_dynamic_module_on_http_filter_config_scheduled` (Envoy's main thread): a tick
/// of `config`, for the plugin built while Envoy loaded it.
///
/// # Safety
/// `config` must come from [`config_new`] and be alive.
pub(crate) unsafe fn config_scheduled(config: *const c_void) {
    let config = config.cast::<Config>();
    guard((), || {
        // SAFETY: Envoy keeps the configuration alive while its events run.
        let Some(found) = (unsafe { config.as_ref() }) else {
            return;
        };
        let root = PLUGINS.with(|plugins| {
            let plugins = plugins.try_borrow().ok()?;
            plugins
                .iter()
                .find(|p| p.config == found.id)
                .and_then(|p| p.root.clone())
        });
        let Some(root) = root else {
            return;
        };
        let _scope = enter(Scope {
            config,
            network: found.network,
            ..Scope::NONE
        });
        if let Ok(mut plugin) = root.try_borrow_mut() {
            plugin.on_tick();
        };
    });
}

/// Has the stream whose hook runs woken at `deadline` (host clock, nanoseconds): its
/// scheduler's event then runs [`scheduled`]. `Err` outside a stream's hook, or when no
/// timer can run.
pub(crate) fn wake_at(deadline: u64) -> Result<(), crate::host::HostError> {
    let unavailable = || crate::host::HostError::new("Stream::sleep", 2);
    let scope = scope();
    // SAFETY: a scope's stream is the one whose hook runs: alive for the scope.
    let stream = unsafe { scope.stream.as_ref() }.ok_or_else(unavailable)?;
    let scheduler = stream
        .scheduler
        // SAFETY: `scope.filter` is the running stream's handle, on its worker.
        .get_or_init(|| unsafe { timers::Scheduler::new(scope.filter) })
        .as_ref()
        .ok_or_else(unavailable)?;
    if stream.armed.get() == deadline {
        return Ok(());
    }
    let now = crate::host::current_time_nanos()?;
    let wait = std::time::Duration::from_nanos(deadline.saturating_sub(now));
    if !timers::wake_after(scheduler, wait) {
        return Err(unavailable());
    }
    stream.armed.set(deadline);
    Ok(())
}

/// `envoy_dynamic_module_on_http_filter_scheduled`: a deadline of the stream came.
///
/// # Safety
/// As [`hook`].
pub(crate) unsafe fn scheduled(filter: *mut c_void, stream: *const c_void) {
    // SAFETY: forwarded from the caller.
    if let Some(stream) = unsafe { stream.cast::<Stream>().as_ref() } {
        stream.armed.set(0);
    }
    // SAFETY: forwarded from the caller.
    unsafe { hook(filter, stream, (), (), |context| context.wake()) }
}

/// Runs the callback of callout `id` with its answer in scope.
///
/// # Safety
/// As [`hook`]; `callout`'s pointers must be valid for the call.
pub(crate) unsafe fn callout_done(
    filter: *mut c_void,
    stream: *const c_void,
    id: u64,
    succeeded: bool,
    callout: &Callout,
) {
    let callout: *const Callout = callout;
    // SAFETY: forwarded from the caller.
    unsafe {
        hook(filter, stream, (), (), |context| {
            let _inner = enter(Scope { callout, ..scope() });
            // The caller keeps `callout` alive for the call (this runs inside the
            // `unsafe` block above, under the same contract).
            let answer = &*callout;
            let (headers, body) = if succeeded {
                (answer.headers_len, crate::host::callout_body_len(answer))
            } else {
                (0, 0)
            };
            context.on_http_call_response(id as u32, headers, body, 0);
        })
    }
}
