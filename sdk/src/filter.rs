//! The trait behind `#[filter]`: what an HTTP filter is, written out by hand.

use crate::action::Action;
use crate::body::Body;
use crate::config::ConfigError;
use crate::cx::{HttpCx, PluginCx};
use crate::schema::Schema;
use crate::shared::Queue;

/// Whether the host has no more data for this direction of the stream after this hook
/// (e.g. a request with headers only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndOfStream(pub bool);

/// Bits of `HttpFilter::__HOOKS` (generated code only).
#[doc(hidden)]
pub mod hooks {
    /// `on_request_headers`.
    pub const REQUEST_HEADERS: u32 = 1 << 0;
    /// `on_request_body`.
    pub const REQUEST_BODY: u32 = 1 << 1;
    /// `on_request_trailers`.
    pub const REQUEST_TRAILERS: u32 = 1 << 2;
    /// `on_response_headers`.
    pub const RESPONSE_HEADERS: u32 = 1 << 3;
    /// `on_response_body`.
    pub const RESPONSE_BODY: u32 = 1 << 4;
    /// `on_response_trailers`.
    pub const RESPONSE_TRAILERS: u32 = 1 << 5;
    /// `on_log`.
    pub const LOG: u32 = 1 << 6;
    /// `on_done`.
    pub const DONE: u32 = 1 << 7;
    /// Every hook.
    pub const ALL: u32 = u32::MAX;
}

/// How a filter sees one direction's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// `on_*_body` runs for every chunk as it arrives.
    Streaming,
    /// The host buffers the body; `on_*_body` runs once, at the end of the stream, with the
    /// whole body. A body larger than `max` bytes is answered with `413 Payload Too Large`
    /// (request) or `502 Bad Gateway` (response) and the hook does not run.
    ///
    /// The headers go on before the body (Envoy hands no body to a filter that holds
    /// them), without `content-length`, so a body the hook rewrites to another size stays
    /// correctly framed: over HTTP/1.1 it is sent chunked.
    Buffered {
        /// The largest body accepted, in bytes.
        max: usize,
    },
}

/// An HTTP filter: its root id, its typed configuration, its per-plugin state and its
/// hooks.
///
/// `#[proxylet::filter]` writes this impl for you; implement it by hand when you want full
/// control. A value of `Self` is created for every HTTP stream (request/response pair)
/// and holds that stream's state; `Plugin` is created once per plugin configuration and
/// shared by all its streams. The two forms below behave identically:
///
/// ```
/// use proxylet::prelude::*;
///
/// #[derive(Deserialize, Default)]
/// struct Config { value: String }
///
/// // The macro form:
/// #[proxylet::filter(root_id = "tagger", export = false)]
/// fn on_request_headers(headers: &mut Headers, config: &Config) {
///     headers.set("x-tag", &config.value);
/// }
///
/// // The same filter written by hand:
/// struct Tagger;
///
/// impl proxylet::HttpFilter for Tagger {
///     const ROOT_ID: &'static str = "tagger";
///     type Config = Config;
///     type Plugin = ();
///
///     fn configure(raw: &[u8]) -> Result<Config, proxylet::ConfigError> {
///         proxylet::config::from_json(raw, Some(Config::default), None)
///     }
///
///     fn plugin(_config: &Config, _cx: &mut PluginCx<'_>) -> Result<(), proxylet::ConfigError> {
///         Ok(())
///     }
///
///     fn new(_config: &Config, _plugin: &()) -> Self {
///         Tagger
///     }
///
///     fn on_request_headers(&mut self, cx: &mut HttpCx<'_, Self>) -> Action {
///         let value = cx.config().value.clone();
///         cx.headers().set("x-tag", value);
///         Action::Continue
///     }
/// }
///
/// // A module exports its filters (dispatched by Envoy's `root_id`) with:
/// // proxylet::main!(Tagger);
/// ```
pub trait HttpFilter: Sized + 'static {
    /// The root id Envoy selects this filter by (`root_id` in the Wasm filter config).
    const ROOT_ID: &'static str;

    /// Which hooks the filter implements (`hooks` bits): the runtime skips the others, and
    /// the compiler drops their code. Set by `#[filter]`, which knows; a hand-written
    /// filter keeps the default (every hook runs), so that none is ever skipped by mistake.
    #[doc(hidden)]
    const __HOOKS: u32 = hooks::ALL;

    /// Whether the filter may make callouts (`#[filter]`: a hook takes `&mut Stream`);
    /// when false the callout-response machinery is compiled out. Set by `#[filter]` only.
    #[doc(hidden)]
    const __CALLOUTS: bool = true;

    /// Whether the filter reads the VM configuration (through [`PluginCx`]); when false it
    /// is not kept. Set by `#[filter]` only (only filters with a `plugin` type can read it).
    #[doc(hidden)]
    const __VM_CONFIGURATION: bool = true;

    /// How `on_request_body` sees the request body.
    const REQUEST_BODY: BodyMode = BodyMode::Streaming;

    /// How `on_response_body` sees the response body.
    const RESPONSE_BODY: BodyMode = BodyMode::Streaming;

    /// The JSON Schema of the configuration, embedded in the module for tools such as
    /// `cargo proxylet deploy` to check configurations with (see [`crate::schema`]).
    /// `#[filter]` sets it when the config type implements
    /// [`ConfigSchema`](crate::schema::ConfigSchema); by hand:
    /// `const CONFIG_SCHEMA: Option<&'static Schema> = Some(Config::SCHEMA);`.
    const CONFIG_SCHEMA: Option<&'static Schema> = None;

    /// The parsed configuration, shared by every stream of the plugin.
    type Config: 'static;

    /// State kept per plugin and shared by its streams (counters, caches, timers); `()`
    /// when there is none. Streams get `&Plugin`: use `Cell`/`RefCell` to change it (a
    /// VM is single-threaded).
    type Plugin: 'static;

    /// Parses the plugin configuration (raw bytes; empty when none was given).
    ///
    /// An `Err` is logged and makes Envoy reject the configuration.
    fn configure(raw: &[u8]) -> Result<Self::Config, ConfigError>;

    /// Creates the plugin state once the configuration is parsed (set a tick period,
    /// register queues, define metrics here). An `Err` rejects the configuration.
    fn plugin(config: &Self::Config, cx: &mut PluginCx<'_>) -> Result<Self::Plugin, ConfigError>;

    /// Creates the state of a new HTTP stream.
    fn new(config: &Self::Config, plugin: &Self::Plugin) -> Self;

    /// The request headers arrived.
    fn on_request_headers(&mut self, cx: &mut HttpCx<'_, Self>) -> Action {
        let _ = cx;
        Action::Continue
    }

    /// A request body chunk arrived (or, with [`BodyMode::Buffered`], the whole body).
    fn on_request_body(&mut self, cx: &mut HttpCx<'_, Self>, body: &mut Body) -> Action {
        let _ = (cx, body);
        Action::Continue
    }

    /// The request trailers arrived.
    fn on_request_trailers(&mut self, cx: &mut HttpCx<'_, Self>) -> Action {
        let _ = cx;
        Action::Continue
    }

    /// The response headers arrived.
    fn on_response_headers(&mut self, cx: &mut HttpCx<'_, Self>) -> Action {
        let _ = cx;
        Action::Continue
    }

    /// A response body chunk arrived (or, with [`BodyMode::Buffered`], the whole body).
    fn on_response_body(&mut self, cx: &mut HttpCx<'_, Self>, body: &mut Body) -> Action {
        let _ = (cx, body);
        Action::Continue
    }

    /// The response trailers arrived.
    fn on_response_trailers(&mut self, cx: &mut HttpCx<'_, Self>) -> Action {
        let _ = cx;
        Action::Continue
    }

    /// The stream is complete and about to be logged (access-log time: every header,
    /// the response code and timings are readable).
    fn on_log(&mut self, cx: &mut HttpCx<'_, Self>) {
        let _ = cx;
    }

    /// The stream is done; pending callouts are cancelled after this.
    fn on_done(&mut self, cx: &mut HttpCx<'_, Self>) {
        let _ = cx;
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
/// impl proxylet::Plugin for Window {
///     type Config = Config;
///     fn new(config: &Config, cx: &mut PluginCx<'_>) -> Result<Self, proxylet::ConfigError> {
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

    /// The tick set with [`PluginCx::set_tick_period`] fired.
    fn on_tick(&self, cx: &mut PluginCx<'_>) {
        let _ = cx;
    }

    /// A queue registered by this plugin has an item.
    fn on_queue_ready(&self, queue: Queue, cx: &mut PluginCx<'_>) {
        let _ = (queue, cx);
    }
}
