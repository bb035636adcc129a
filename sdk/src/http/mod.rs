//! HTTP filters: the [`HttpFilter`] trait behind `#[filter]`, the stream its hooks run
//! in ([`Stream`], [`HttpCx`]), and what they read and write: [`Headers`], [`Body`], a
//! local [`Response`].

mod body;
pub(crate) mod headers;
pub(crate) mod runtime;
pub(crate) mod stream;
pub(crate) mod task;

pub use crate::action::Response;
pub use body::{Body, BodyError};
pub use headers::{HeaderError, HeaderName, HeaderValue, Headers};
#[doc(hidden)]
pub use runtime::finish;
pub(crate) use runtime::{Http, NoFilter};
#[cfg(any(target_family = "wasm", feature = "testing"))]
pub use stream::StreamHandle;
pub use stream::{HttpCx, Stream};
pub use task::Sleep;

use crate::__private::hooks;
use crate::action::Action;
use crate::plugin::Filter;

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

/// An HTTP filter: its hooks on one HTTP stream (a request and its response) and how it
/// sees bodies. What every filter has (root id, configuration, plugin state) is
/// [`Filter`], its supertrait.
///
/// `#[proxylet::filter]` writes both impls for you; implement them by hand when you want
/// full control. A value of `Self` is created for every HTTP stream and holds that
/// stream's state. The two forms below behave identically:
///
/// ```
/// use proxylet::prelude::*;
/// use proxylet::http::{HttpCx, HttpFilter};
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
/// impl proxylet::Filter for Tagger {
///     const ROOT_ID: &'static str = "tagger";
///     type Config = Config;
///     type Plugin = ();
///
///     fn configure(raw: &[u8]) -> Result<Config, ConfigError> {
///         proxylet::config::from_json(raw, Some(Config::default), None)
///     }
///
///     fn plugin(_config: &Config, _cx: &mut PluginCx<'_>) -> Result<(), ConfigError> {
///         Ok(())
///     }
///
///     fn new(_config: &Config, _plugin: &()) -> Self {
///         Tagger
///     }
/// }
///
/// impl HttpFilter for Tagger {
///     fn on_request_headers(&mut self, cx: &mut HttpCx<'_, Self>) -> Action {
///         let value = cx.config().value.clone();
///         cx.headers().set("x-tag", value);
///         Action::Continue
///     }
/// }
///
/// // A module exports its filters (dispatched by Envoy's `root_id`) with:
/// // proxylet::main!(Tagger: HttpFilter);
/// ```
pub trait HttpFilter: Filter {
    /// Which hooks the filter implements (`hooks` bits): the runtime skips the others, and
    /// the compiler drops their code. Set by `#[filter]`, which knows; a hand-written
    /// filter keeps the default (every hook runs), so that none is ever skipped by mistake.
    #[doc(hidden)]
    const __HOOKS: u32 = hooks::ALL;

    /// Whether the filter may make callouts (`#[filter]`: a hook takes `&mut Stream`);
    /// when false the callout-response machinery is compiled out. Set by `#[filter]` only.
    #[doc(hidden)]
    const __CALLOUTS: bool = true;

    /// How `on_request_body` sees the request body.
    const REQUEST_BODY: BodyMode = BodyMode::Streaming;

    /// How `on_response_body` sees the response body.
    const RESPONSE_BODY: BodyMode = BodyMode::Streaming;
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
}
