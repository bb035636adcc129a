//! The trait behind `#[filter]`: what an HTTP filter is, written out by hand.

use crate::action::Action;
use crate::config::ConfigError;
use crate::headers::Headers;

/// Whether the host has no more data for this direction of the stream after this hook
/// (e.g. a request with headers only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndOfStream(pub bool);

/// An HTTP filter: its root id, its typed configuration, and its hooks.
///
/// `#[proxylet::filter]` writes this impl for you; implement it by hand when you want full
/// control. A value of `Self` is created for every HTTP stream (request/response pair)
/// and holds that stream's state. The two forms below behave identically:
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
///
///     fn configure(raw: &[u8]) -> Result<Config, proxylet::ConfigError> {
///         proxylet::config::from_json(raw, Some(Config::default))
///     }
///
///     fn new(_config: &Config) -> Self {
///         Tagger
///     }
///
///     fn on_request_headers(&mut self, cx: &mut HeadersCx<'_, Config>) -> Action {
///         let value = cx.config().value.clone();
///         cx.headers().set("x-tag", value);
///         Action::Continue
///     }
/// }
///
/// // One module can export several filters (dispatched by Envoy's `root_id`):
/// // proxylet::main!(Tagger);
/// ```
pub trait HttpFilter: Sized + 'static {
    /// The root id Envoy selects this filter by (`root_id` in the Wasm filter config).
    const ROOT_ID: &'static str;

    /// The parsed configuration, shared by every stream of the plugin.
    type Config: 'static;

    /// Parses the plugin configuration (raw bytes; empty when none was given).
    ///
    /// An `Err` is logged and makes Envoy reject the configuration.
    fn configure(raw: &[u8]) -> Result<Self::Config, ConfigError>;

    /// Creates the state of a new HTTP stream.
    fn new(config: &Self::Config) -> Self;

    /// The request headers arrived.
    fn on_request_headers(&mut self, cx: &mut HeadersCx<'_, Self::Config>) -> Action {
        let _ = cx;
        Action::Continue
    }

    /// The response headers arrived.
    fn on_response_headers(&mut self, cx: &mut HeadersCx<'_, Self::Config>) -> Action {
        let _ = cx;
        Action::Continue
    }
}

/// What a headers hook is given: the header map of its phase, the configuration, and
/// whether the stream ends with these headers.
pub struct HeadersCx<'a, C> {
    headers: Headers,
    config: &'a C,
    end_of_stream: EndOfStream,
}

impl<'a, C> HeadersCx<'a, C> {
    pub(crate) fn new(headers: Headers, config: &'a C, end_of_stream: bool) -> Self {
        HeadersCx {
            headers,
            config,
            end_of_stream: EndOfStream(end_of_stream),
        }
    }

    /// The headers of this phase.
    pub fn headers(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The plugin's configuration.
    pub fn config(&self) -> &'a C {
        self.config
    }

    /// Whether no body follows these headers.
    pub fn end_of_stream(&self) -> bool {
        self.end_of_stream.0
    }

    /// Everything at once, for generated code that passes several parameters.
    #[doc(hidden)]
    pub fn __parts(&mut self) -> (&mut Headers, &'a C, EndOfStream) {
        (&mut self.headers, self.config, self.end_of_stream)
    }
}
