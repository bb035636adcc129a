//! What every filter has, HTTP or TCP: a root id, a typed configuration and per-plugin
//! state ([`Filter`], [`Plugin`], [`PluginCx`]), and the one root context that runs them
//! for both kinds.

use std::rc::Rc;
use std::time::Duration;

#[cfg(any(target_family = "wasm", feature = "testing"))]
use crate::call::HttpCall;
use crate::call::{CallError, CallResponse};
use crate::config::{ConfigError, ConfigFormat};
use crate::context::{Child, Context, RootContext};
use crate::host::{self, BufferType, HostError, LogLevel};
use crate::schema::Schema;
use crate::shared::Queue;

/// What every filter has, whichever its kind: the root id Envoy selects it by, its typed
/// configuration, its per-plugin state and its plugin-level hooks.
///
/// `#[proxylet::filter]` implements it, together with the kind's own trait:
/// [`HttpFilter`](crate::http::HttpFilter) or [`TcpFilter`](crate::tcp::TcpFilter). A
/// value of `Self` is created for every stream (HTTP) or connection (TCP) and holds its
/// state; [`Filter::Plugin`] is created once per plugin configuration and shared by all
/// of them. See [`HttpFilter`](crate::http::HttpFilter) for a filter written by hand.
pub trait Filter: Sized + 'static {
    /// The root id Envoy selects this filter by (`root_id` in the Wasm filter config; the
    /// filter name of a dynamic module).
    const ROOT_ID: &'static str;

    /// The JSON Schema of the configuration, embedded in the module for tools such as
    /// `cargo proxylet deploy` to check configurations with (see [`crate::schema`]).
    /// `#[filter]` sets it when the config type implements
    /// [`ConfigSchema`](crate::schema::ConfigSchema); by hand:
    /// `const CONFIG_SCHEMA: Option<&'static Schema> = Some(Config::SCHEMA);`.
    const CONFIG_SCHEMA: Option<&'static Schema> = None;

    /// How [`Filter::configure`] reads the configuration: JSON (the default), text or
    /// bytes. Recorded in the module (`runtime-config.json`, the config schema section) so
    /// that `cargo proxylet` passes a text or bytes configuration to Envoy unchanged instead
    /// of checking it as JSON. `#[filter]` sets it from the config type (`String`: text,
    /// `Vec<u8>`: bytes); by hand, with [`config::from_text`](crate::config::from_text) in
    /// `configure`: `const CONFIG_FORMAT: ConfigFormat = ConfigFormat::Text;`.
    const CONFIG_FORMAT: ConfigFormat = ConfigFormat::Json;

    /// Whether the filter has plugin code (a `plugin` type): only that reads the VM
    /// configuration, starts with the VM and makes plugin callouts; when false, none of
    /// that is kept or compiled in. Set by `#[filter]` only.
    #[doc(hidden)]
    const __PLUGIN: bool = true;

    /// The parsed configuration, shared by every stream of the plugin.
    type Config: 'static;

    /// State kept per plugin and shared by its streams (counters, caches, timers); `()`
    /// when there is none. Streams get `&Plugin`: use `Cell`/`RefCell` to change it (a
    /// plugin lives on one thread).
    type Plugin: 'static;

    /// Reads the plugin configuration (raw bytes; empty when none was given), in the
    /// [`Filter::CONFIG_FORMAT`] it declares.
    ///
    /// An `Err` is logged and makes Envoy reject the configuration.
    fn configure(raw: &[u8]) -> Result<Self::Config, ConfigError>;

    /// Creates the plugin state once the configuration is parsed (set a tick period,
    /// register queues, define metrics here). An `Err` rejects the configuration.
    fn plugin(config: &Self::Config, cx: &mut PluginCx<'_>) -> Result<Self::Plugin, ConfigError>;

    /// Creates the state of a new stream (HTTP) or connection (TCP).
    fn new(config: &Self::Config, plugin: &Self::Plugin) -> Self;

    /// The VM started: runs once per VM for this filter, before its first plugin is
    /// configured, with the VM configuration (see [`Plugin::on_vm_start`]). An `Err` is
    /// logged and fails the VM start, so Envoy refuses the configuration.
    fn on_vm_start(vm_configuration: &[u8]) -> Result<(), ConfigError> {
        let _ = vm_configuration;
        Ok(())
    }

    /// The plugin's tick fired (see [`PluginCx::set_tick_period`]).
    fn on_tick(plugin: &Self::Plugin, cx: &mut PluginCx<'_>) {
        let _ = (plugin, cx);
    }

    /// A shared queue this plugin registered has an item.
    fn on_queue_ready(plugin: &Self::Plugin, queue: Queue, cx: &mut PluginCx<'_>) {
        let _ = (plugin, queue, cx);
    }
}

/// Per-plugin state for `#[filter(plugin = MyPlugin)]`: created once per configuration,
/// shared by every stream, told about ticks and queues.
///
/// ```
/// use proxylet::prelude::*;
/// use std::cell::Cell;
/// use std::time::Duration;
///
/// #[derive(Deserialize, Default)]
/// struct Config { window_ms: u64 }
///
/// struct Window { requests: Cell<u64> }
///
/// impl Plugin for Window {
///     type Config = Config;
///     fn new(config: &Config, cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
///         cx.set_tick_period(Duration::from_millis(config.window_ms)).ok();
///         Ok(Window { requests: Cell::new(0) })
///     }
///     fn on_tick(&self, _cx: &mut PluginCx<'_>) {
///         self.requests.set(0);
///     }
/// }
///
/// #[proxylet::filter(plugin = Window, export = false)]
/// fn on_request_headers(window: &Window) {
///     window.requests.set(window.requests.get() + 1);
/// }
/// ```
pub trait Plugin: Sized + 'static {
    /// The configuration type the plugin is built from.
    type Config: 'static;

    /// Creates the state after the configuration parsed; an `Err` rejects the
    /// configuration.
    fn new(config: &Self::Config, cx: &mut PluginCx<'_>) -> Result<Self, ConfigError>;

    /// VM-level setup: runs once per VM, before the first plugin of its filter is
    /// created, with the VM configuration (Envoy: `vm_config.configuration`; empty when
    /// none was given). [`Plugin::new`] runs once per plugin, that is per configuration
    /// and VM; put here what every plugin of the VM shares (a table parsed once, a
    /// process-wide setting). An `Err` is logged and fails the VM start: Envoy refuses
    /// the configuration.
    ///
    /// A VM is a worker's (and the main thread's) in wasm; natively there is none, and it
    /// runs once per thread that builds a plugin of the filter, with an empty
    /// configuration.
    fn on_vm_start(vm_configuration: &[u8]) -> Result<(), ConfigError> {
        let _ = vm_configuration;
        Ok(())
    }

    /// The tick set with [`PluginCx::set_tick_period`] fired.
    fn on_tick(&self, cx: &mut PluginCx<'_>) {
        let _ = cx;
    }

    /// A queue registered by this plugin has an item.
    fn on_queue_ready(&self, queue: Queue, cx: &mut PluginCx<'_>) {
        let _ = (queue, cx);
    }
}

/// What plugin-level code (plugin creation, `on_tick`, `on_queue_ready`, a plugin
/// callout's callback) is given.
pub struct PluginCx<'a> {
    pub(crate) root_id: &'a str,
    /// The plugin's callouts waiting for an answer.
    pub(crate) calls: &'a mut Vec<PluginCall>,
}

type PluginThen = Box<dyn FnOnce(Result<CallResponse, CallError>, &mut PluginCx<'_>)>;

/// A callout made from plugin context, and what to do with its answer.
pub(crate) struct PluginCall {
    token: u32,
    sent_at_nanos: u64,
    timeout: Duration,
    then: PluginThen,
}

impl PluginCx<'_> {
    /// The root id of the plugin.
    pub fn root_id(&self) -> &str {
        self.root_id
    }

    /// Makes the host call `on_tick` every `period` (zero stops it). Envoy's resolution
    /// is milliseconds.
    pub fn set_tick_period(&mut self, period: Duration) -> Result<(), HostError> {
        let millis = u32::try_from(period.as_millis()).unwrap_or(u32::MAX);
        #[cfg(any(target_family = "wasm", feature = "testing"))]
        return crate::dispatch::set_tick_period(millis);
        #[cfg(not(any(target_family = "wasm", feature = "testing")))]
        host::set_tick_period_millis(millis)
    }

    /// Registers a shared queue this plugin receives `on_queue_ready` for.
    ///
    /// Not on the native target: Envoy's dynamic modules cannot wake another worker's
    /// plugin, so a native build that calls it does not compile.
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub fn register_queue(&mut self, name: &str) -> Result<Queue, HostError> {
        Queue::register(name)
    }

    /// Sends an HTTP request to Envoy cluster `cluster` from plugin context: from
    /// `on_tick`, plugin creation, a queue or another plugin callout's callback (what the
    /// Go SDK calls `dispatch_call_on_tick`). `then` runs with the response or the failure,
    /// as for [`Stream::http_call`](crate::http::Stream::http_call), and gets the plugin's
    /// context again, so it can make the next call.
    ///
    /// No stream waits for it. If the host refuses to send the call, or the call is
    /// invalid ([`CallError::InvalidHeader`]), `then` runs at once with the error.
    /// Callouts still pending when the plugin goes away are dropped with it.
    ///
    /// Not on the native target: Envoy's dynamic modules make callouts only from a
    /// stream, so a native build that calls it does not compile.
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub fn http_call(
        &mut self,
        cluster: &str,
        call: HttpCall,
        timeout: Duration,
        then: impl FnOnce(Result<CallResponse, CallError>, &mut PluginCx<'_>) + 'static,
    ) {
        match call.dispatch(cluster, timeout) {
            Ok(token) => self.calls.push(PluginCall {
                token,
                sent_at_nanos: host::current_time_nanos().unwrap_or(0),
                timeout,
                then: Box::new(then),
            }),
            Err(error) => then(Err(error), self),
        }
    }

    /// How many callouts of this plugin are waiting for an answer.
    pub fn pending_calls(&self) -> usize {
        self.calls.len()
    }

    /// The VM configuration (Envoy: `vm_config.configuration`), shared by every plugin of
    /// the VM; empty when none was given.
    pub fn vm_configuration(&self) -> Vec<u8> {
        VM_CONFIGURATION.with(|c| c.borrow().clone())
    }
}

/// Configuration and plugin state of one plugin, shared by its streams or connections.
pub(crate) struct Shared<F: Filter> {
    pub(crate) config: F::Config,
    pub(crate) plugin: F::Plugin,
}

/// A stream's (or connection's) filter state with its plugin's shared state; `None` only
/// if the host created one for an unconfigured plugin, which then passes it through.
pub(crate) type Active<F> = Option<(F, Rc<Shared<F>>)>;

/// How a kind of filter makes the context of a new stream or connection. Implemented by
/// the kind's marker (`http::Http`, `tcp::Tcp`), which picks the kind's context.
pub(crate) trait Streams<F: Filter>: 'static {
    /// Whether the streams can wait on their plugin (async hooks).
    const WAIT: bool = false;
    /// The context of a new stream or connection with `active`.
    fn new_context(active: Active<F>) -> Child;
}

/// The root context of one plugin of filter `F`, whose streams kind `K` makes.
pub(crate) struct PluginRoot<F: Filter, K: Streams<F>> {
    shared: Option<Rc<Shared<F>>>,
    calls: Vec<PluginCall>,
    kind: std::marker::PhantomData<K>,
}

impl<F: Filter, K: Streams<F>> PluginRoot<F, K> {
    /// The root context of a new plugin.
    pub(crate) fn boxed() -> Box<dyn RootContext> {
        Box::new(PluginRoot::<F, K> {
            shared: None,
            calls: Vec::new(),
            kind: std::marker::PhantomData,
        })
    }

    fn cx(calls: &mut Vec<PluginCall>) -> PluginCx<'_> {
        PluginCx {
            root_id: F::ROOT_ID,
            calls,
        }
    }
}

impl<F: Filter, K: Streams<F>> Context for PluginRoot<F, K> {
    fn on_http_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if !F::__PLUGIN {
            return;
        }
        let Some(index) = self.calls.iter().position(|c| c.token == token) else {
            return;
        };
        let call = self.calls.swap_remove(index);
        let timed_out = crate::call::timed_out(call.sent_at_nanos, call.timeout);
        let result =
            crate::call::http_outcome(CallResponse::read(num_headers, body_size), timed_out);
        (call.then)(result, &mut Self::cx(&mut self.calls));
    }
}

impl<F: Filter, K: Streams<F>> RootContext for PluginRoot<F, K> {
    fn on_vm_start(&mut self, size: usize) -> bool {
        if !F::__PLUGIN {
            return true;
        }
        store_vm_configuration(size);
        let first = VM_STARTED.with(|started| {
            let mut started = started.borrow_mut();
            let filter = std::any::TypeId::of::<F>();
            let first = !started.contains(&filter);
            if first {
                started.push(filter);
            }
            first
        });
        if !first {
            return true;
        }
        let vm_configuration = VM_CONFIGURATION.with(|c| c.borrow().clone());
        match F::on_vm_start(&vm_configuration) {
            Ok(()) => true,
            Err(error) => {
                crate::logger::error(F::ROOT_ID, &error);
                false
            }
        }
    }

    fn on_configure(&mut self, size: usize) -> bool {
        crate::logger::sync_max_level();
        if let Some(error) = crate::export::root_id_mismatch(F::ROOT_ID) {
            crate::logger::emit(LogLevel::Error, &error);
            return false;
        }
        let shared = plugin_configuration(F::ROOT_ID, size).and_then(|raw| {
            let config = F::configure(&raw)?;
            let plugin = F::plugin(&config, &mut Self::cx(&mut self.calls))?;
            Ok(Shared { config, plugin })
        });
        match shared {
            Ok(shared) => {
                self.shared = Some(Rc::new(shared));
                true
            }
            Err(error) => {
                crate::logger::error(F::ROOT_ID, &error);
                false
            }
        }
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            F::on_tick(&shared.plugin, &mut Self::cx(&mut self.calls));
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        if let Some(shared) = &self.shared {
            F::on_queue_ready(
                &shared.plugin,
                Queue(queue_id),
                &mut Self::cx(&mut self.calls),
            );
        }
    }

    fn streams_wait(&self) -> bool {
        K::WAIT
    }

    fn new_context(&self) -> Child {
        // Envoy never creates streams of a plugin that failed to configure; if a host
        // does, the stream passes through untouched (`None`).
        let active = self
            .shared
            .as_ref()
            .map(|shared| (F::new(&shared.config, &shared.plugin), Rc::clone(shared)));
        K::new_context(active)
    }
}

thread_local! {
    // Per thread, like the dispatcher: a native test host starts a "VM" per `Host`, each
    // with its own VM configuration, in one process.
    pub(crate) static VM_CONFIGURATION: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The filters whose `on_vm_start` ran in this VM.
    pub(crate) static VM_STARTED: std::cell::RefCell<Vec<std::any::TypeId>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads the plugin configuration bytes of a configure call.
fn plugin_configuration(root_id: &str, size: usize) -> Result<Vec<u8>, ConfigError> {
    host::get_buffer(BufferType::PluginConfiguration, 0, size)
        .map(Option::unwrap_or_default)
        .map_err(|error| {
            ConfigError::new(
                "config",
                format!("reading the plugin configuration of `{root_id}`: {error}"),
            )
        })
}

fn store_vm_configuration(size: usize) {
    // Every plugin of a VM starts with the same VM configuration (Envoy calls
    // `on_vm_start` once per plugin): the last one read is the VM's.
    let bytes = if size == 0 {
        Vec::new()
    } else {
        match host::get_buffer(BufferType::VmConfiguration, 0, size) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(_) => return,
        }
    };
    VM_CONFIGURATION.with(|c| *c.borrow_mut() = bytes);
}
