//! Write Envoy WebAssembly (proxy-wasm) filters in safe, typed Rust.
//!
//! A filter is a function named after the hook it handles. Its parameters are taken by
//! type: the header map of that phase, the typed configuration, and whatever else the
//! hook has. `#[filter]` generates the proxy-wasm plumbing and the module's
//! `runtime-config.json`.
//!
//! ```
//! use proxylet::prelude::*;
//!
//! #[derive(Deserialize)]
//! #[serde(default)]
//! struct AddHeader {
//!     name: String,
//!     value: String,
//! }
//!
//! impl Default for AddHeader {
//!     fn default() -> Self {
//!         AddHeader { name: "hello".into(), value: "melon".into() }
//!     }
//! }
//!
//! #[proxylet::filter]
//! fn on_response_headers(headers: &mut Headers, config: &AddHeader) {
//!     headers.set(&config.name, &config.value);
//! }
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip1` and load the `.wasm` in
//! Envoy's `envoy.filters.http.wasm` filter; its JSON configuration (a
//! `google.protobuf.StringValue`) becomes `AddHeader`. A configuration that does not parse
//! is rejected by Envoy with the field named (`add_header: config.value: invalid type:
//! integer `5`, expected a string`).
//!
//! Nothing in proxylet panics on data from the host: header values are bytes
//! ([`HeaderValue`](http::HeaderValue)), host failures are [`HostError`]s, and a hook's `Err` becomes a
//! local reply ([`Response::filter_error`](http::Response::filter_error)) instead of a VM trap.
#![warn(missing_docs, unreachable_pub)]
// The native target has no gRPC, TCP filters, ticks or queues (see `host::native`): the
// runtime's code for them is unused there.
#![cfg_attr(
    not(any(target_family = "wasm", feature = "testing")),
    allow(dead_code)
)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod action;
pub mod call;
pub mod config;
mod context;
#[cfg(any(target_family = "wasm", feature = "testing"))]
mod dispatch;
mod export;
mod few;
mod host;
pub mod http;
mod logger;
pub mod metrics;
#[cfg(not(any(target_family = "wasm", feature = "testing")))]
mod native;
mod plugin;
pub mod property;
mod proto;
mod runtime_config;
pub mod schema;
pub mod shared;
pub mod tcp;

pub use action::{Action, EndOfStream, HookOutput};
pub use host::HostError;
pub use plugin::{Filter, Plugin, PluginCx};

/// Turns a function named after a hook into an Envoy HTTP filter.
///
/// ```
/// use proxylet::prelude::*;
///
/// #[derive(Deserialize, Default)]
/// struct Config { header: String }
///
/// #[proxylet::filter(root_id = "require_header")]
/// fn on_request_headers(headers: &mut Headers, config: &Config) -> Action {
///     if headers.contains(&config.header) {
///         Action::Continue
///     } else {
///         Action::reply(400, format!("missing header {}\n", config.header))
///     }
/// }
/// ```
///
/// # Hooks
/// The function's name picks the hook. On an `impl` block (of a type implementing
/// `Default`, created for every stream), each method named after a hook is that hook and
/// takes `&mut self` (or `&self`); other methods are left alone.
///
/// | function | runs when | parameters it can take |
/// |---|---|---|
/// | `on_request_headers` | the request headers arrived | `&mut Headers`, `EndOfStream`, `&mut Stream` |
/// | `on_request_body` | a request body chunk arrived (the whole body with `max_body`) | `&mut Body`, `&mut Headers`, `EndOfStream`, `&mut Stream` |
/// | `on_request_trailers` | the request trailers arrived | `&mut Headers` (the trailers), `&mut Stream` |
/// | `on_response_headers` | the response headers arrived | `&mut Headers`, `EndOfStream`, `&mut Stream` |
/// | `on_response_body` | a response body chunk arrived (the whole body with `max_body`) | `&mut Body`, `&mut Headers`, `EndOfStream`, `&mut Stream` |
/// | `on_response_trailers` | the response trailers arrived | `&mut Headers` (the trailers), `&mut Stream` |
/// | `on_log` | the stream is complete (access-log time) | `&mut Stream` |
/// | `on_done` | the stream is going away | `&mut Stream` |
/// | `on_new_connection` | a TCP connection was accepted | |
/// | `on_downstream_data` | bytes arrived from the TCP client | `&mut Data`, `EndOfStream` |
/// | `on_upstream_data` | bytes arrived from the TCP upstream | `&mut Data`, `EndOfStream` |
/// | `on_downstream_close` | the TCP client side closed | |
/// | `on_upstream_close` | the TCP upstream side closed | |
///
/// `on_log` and `on_done` are the connection's in a filter with a TCP hook (they then take
/// no `&mut Stream`).
///
/// Parameters are taken by type, in any order; `&Headers`, `&Body` and `&Data` work too.
/// Every hook can also take `&C`, for any other type `C`: the plugin's configuration,
/// read once per configure: a `String` is the configuration text as is (take it as `&str`),
/// a `Vec<u8>` its
/// bytes as they are, and any other type must implement `serde::Deserialize` and is parsed
/// from JSON; and `&P`, the plugin state of `plugin = P`. A filter's hooks are all HTTP or
/// all TCP. A misspelled hook name is a compile error with a suggestion.
///
/// # Return type
/// `()`, [`Action`], [`Response`](http::Response), or `Result<T, E>` with `T` one of those and
/// `E: Display`. An `Err` is logged at error level and answered with
/// [`Response::filter_error`](http::Response::filter_error) (status 500); it never traps the VM (a TCP hook's `Err`
/// closes the connection). `on_log`, `on_done` and the close hooks return `()`.
///
/// # Configuration
/// The plugin configuration (Envoy: `configuration` as `google.protobuf.StringValue`) is
/// JSON for `C`. An empty one uses `C::default()` when `C: Default`, and is refused
/// otherwise. A configuration that does not parse is logged with the field path
/// (`my_root: config.value: invalid type: integer `5`, expected a string`) and refused,
/// so Envoy rejects the listener.
///
/// Two config types take the configuration unparsed ([`config::ConfigFormat`]): `String`
/// (a hook takes `&str` or `&String`)
/// gets the text as is (empty when none was given; bytes that are not UTF-8 are refused,
/// naming the offset), and `Vec<u8>` (`&[u8]` or `&Vec<u8>`) gets the bytes as they are
/// (a `BytesValue` carries
/// any). The module records it, and `cargo proxylet` then passes `--config` through
/// unchanged instead of checking it as JSON.
///
/// ```
/// use proxylet::prelude::*;
///
/// /// The configuration is a list of path prefixes, one a line.
/// #[proxylet::filter(root_id = "deny_prefixes", export = false)]
/// fn on_request_headers(headers: &mut Headers, prefixes: &str) -> Action {
///     let Some(path) = headers.get(":path") else { return Action::Continue };
///     let denied = prefixes
///         .lines()
///         .map(str::trim)
///         .any(|prefix| !prefix.is_empty() && path.as_bytes().starts_with(prefix.as_bytes()));
///     if denied { Action::reply(403, "") } else { Action::Continue }
/// }
/// ```
///
/// When `C` also implements [`ConfigSchema`](schema::ConfigSchema)
/// (`#[derive(Deserialize, ConfigSchema)]`), its JSON Schema is embedded in the module
/// ([`Filter::CONFIG_SCHEMA`]), and `cargo proxylet deploy` and `run` check a
/// configuration against it before anything reaches Envoy, naming the field at fault.
/// When it holds an internally or adjacently tagged or untagged enum, `configure` also
/// passes it to [`config::from_json`], so that an error inside one names the field
/// (`config.timeout_ms`), not only the enum. With a [`Plugin`] type, that is its `Config`.
///
/// # `async` hooks
/// An HTTP hook that decides can be an `async fn`: it `.await`s callouts
/// ([`Stream::call`](http::Stream::call)), gRPC calls and stream events, a sleep
/// ([`Stream::sleep`](http::Stream::sleep)) or a queue's next item, and the stream waits at
/// each `.await`; what it returns decides as a plain hook's return value does. If the
/// stream ends first, the hook is dropped at its `.await`. Async hooks are functions (not
/// `impl` methods) and do not take the body.
///
/// ```
/// use proxylet::prelude::*;
/// use std::time::Duration;
///
/// #[proxylet::filter(root_id = "ask", export = false)]
/// async fn on_request_headers(headers: &mut Headers, stream: &mut Stream) -> Action {
///     let check = HttpCall::get("/check").forward(headers, &["authorization"]);
///     match stream.call("auth", check, Duration::from_millis(250)).await {
///         Ok(answer) if answer.status() == 200 => Action::Continue,
///         _ => Action::reply(403, "denied\n"),
///     }
/// }
/// ```
///
/// # Arguments
/// - `root_id = "name"`: the root id Envoy selects this filter by; default: the crate's
///   name (`add-header` → `add_header`).
/// - `plugin = Type`: per-plugin state, a type implementing [`Plugin`], built once per
///   configuration and shared by every stream; hooks take it as `&Type`, and its `Config`
///   is the filter's configuration type.
/// - `max_body = N`: the body hooks run once, at the end of the stream, with the whole
///   body of up to `N` bytes ([`BodyMode::Buffered`](http::BodyMode::Buffered)); a larger body is answered `413`
///   (request) or `502` (response).
/// - `export = false`: do not export the module's entry point for this filter alone;
///   list it in [`main!`] with the module's other filters instead.
/// - `crate = "path"`: where to find `proxylet` if the dependency is renamed.
///
/// ```
/// use proxylet::prelude::*;
/// use std::cell::Cell;
///
/// /// Per plugin: requests seen.
/// struct Seen(Cell<u64>);
///
/// impl Plugin for Seen {
///     type Config = ();
///     fn new(_: &(), _: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
///         Ok(Seen(Cell::new(0)))
///     }
/// }
///
/// /// Per request: the request's body size.
/// #[derive(Default)]
/// struct Sized { bytes: usize }
///
/// #[proxylet::filter(root_id = "sized", plugin = Seen, max_body = 65536)]
/// impl Sized {
///     fn on_request_body(&mut self, body: &Body, seen: &Seen) {
///         self.bytes = body.len(); // the whole body: `max_body` buffers it
///         seen.0.set(seen.0.get() + 1);
///     }
///
///     fn on_response_headers(&mut self, headers: &mut Headers) {
///         headers.set("x-request-bytes", self.bytes.to_string());
///     }
/// }
/// ```
///
/// # What it generates
/// The function is left as written. Next to it the macro defines a type of the same name
/// implementing [`Filter`] and [`HttpFilter`](http::HttpFilter) (see there for the equivalent hand-written code) and,
/// unless `export = false`, `proxylet::main!(that_type)`: the module's `_initialize` entry
/// point and its `runtime-config.json` custom section.
/// Set `PROXYLET_MACROS_DEBUG=1` while building to print the expansion.
///
/// # Mistakes caught at compile time
/// ```compile_fail
/// # use proxylet::prelude::*;
/// #[proxylet::filter]
/// fn on_respons_headers(headers: &mut Headers) {} // did you mean `on_response_headers`?
/// ```
/// ```compile_fail
/// # use proxylet::prelude::*;
/// #[proxylet::filter]
/// async fn on_log() {} // the stream is over: nothing can wait in `on_log`
/// ```
/// ```compile_fail
/// # use proxylet::prelude::*;
/// struct NotDeserialize;
/// #[proxylet::filter]
/// fn on_request_headers(config: &NotDeserialize) {} // config types derive Deserialize
/// ```
/// ```compile_fail
/// # use proxylet::prelude::*;
/// #[proxylet::filter]
/// fn on_request_headers(headers: &mut Headers) -> u16 { 200 } // not a hook return type
/// ```
#[doc(inline)]
pub use proxylet_macros::filter;

/// The proxy-wasm ABI version proxylet modules implement (as in `runtime-config.json`).
pub const ABI_VERSION: &str = "v0.2.1";

/// The name of the wasm custom section that carries a module's `runtime-config.json`.
pub const RUNTIME_CONFIG_SECTION: &str = "proxylet.runtime_config";

/// Everything a `#[filter]` usually needs: `use proxylet::prelude::*;`.
///
/// What hooks take and return, what plugins are built from, and the helpers hooks call
/// (callouts, metrics, shared data). The traits and contexts of hand-written filters are
/// not in it: they live in [`http`], [`tcp`] and the crate root.
pub mod prelude {
    pub use crate::call::{CallError, CallResponse, GrpcEvent, GrpcStream, HttpCall};
    pub use crate::config::ConfigError;
    pub use crate::http::{Body, HeaderName, HeaderValue, Headers, Response, Stream};
    pub use crate::metrics::{Counter, Gauge, Histogram};
    pub use crate::schema::ConfigSchema;
    pub use crate::shared::{Queue, SharedData};
    pub use crate::tcp::Data;
    pub use crate::{Action, EndOfStream, Plugin, PluginCx};
    pub use serde::Deserialize;
}

/// Exports several filters from one module.
///
/// Use it once per crate, listing every filter; each is selected by Envoy through its
/// [`Filter::ROOT_ID`]. Root ids must differ, which is checked at compile time.
/// Filters marked `#[filter]` export themselves; mark them `#[filter(export = false)]` to
/// list them here instead, by the path of the function (a `#[filter] fn` defines a type
/// of the same name) or of the `impl` block's type.
///
/// The module exports only the `proxy_on_*` entry points its filters' hooks need, as a
/// single `#[filter]` does: Envoy calls no others. A hand-written filter (an
/// [`HttpFilter`](http::HttpFilter) or [`TcpFilter`](tcp::TcpFilter) impl) is listed
/// with its kind, `Type: HttpFilter` or `Type: TcpFilter`, and gets every entry point of
/// that kind, since proxylet cannot see which hooks it overrides. (Listed without it, it
/// is an error: ``cannot find macro `Type` ``.)
///
/// ```
/// use proxylet::prelude::*;
///
/// mod auth {
///     use proxylet::prelude::*;
///     #[proxylet::filter(root_id = "auth", export = false)]
///     pub fn on_request_headers(headers: &Headers) -> Action {
///         if headers.contains("authorization") { Action::Continue } else { Action::reply(401, "") }
///     }
/// }
///
/// mod tag {
///     use proxylet::prelude::*;
///     #[proxylet::filter(root_id = "tag", export = false)]
///     pub fn on_response_headers(headers: &mut Headers) {
///         headers.set("x-tagged", "1");
///     }
/// }
///
/// proxylet::main!(auth::on_request_headers, tag::on_response_headers);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! main {
    ($($filter:tt)+) => {
        $crate::__private::__export_filters!(@main [] [] ; $($filter)+);
    };
}

/// What generated code uses. Not public API: no stability guarantees.
#[doc(hidden)]
pub mod __private {
    pub use crate::config::default_probe::{NoDefault, Probe, ViaDefault};
    pub use crate::config::format_probe::{
        schema_of, Format as FormatProbe, JsonFormat, ParseBytes, ParseJson, ParseText,
    };
    pub use crate::config::{from_json, no_config, ConfigError, ConfigFormat};
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub use crate::dispatch::{
        memory_allocate, on_configure, on_context_create, on_delete, on_done,
        on_downstream_connection_close, on_downstream_data, on_grpc_close, on_grpc_receive,
        on_grpc_receive_initial_metadata, on_grpc_receive_trailing_metadata, on_http_call_response,
        on_log, on_new_connection, on_queue_ready, on_request_body, on_request_headers,
        on_request_trailers, on_response_body, on_response_headers, on_response_trailers, on_tick,
        on_upstream_connection_close, on_upstream_data, on_vm_start,
    };
    pub use crate::export::{
        assert_unique_root_ids, config_format, registration, schema_entry, Export, Registration,
    };
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub use crate::export::{start, start_one};
    pub use crate::http::runtime::finish;
    pub use crate::http::stream::Parts;
    pub use crate::http::{Body, BodyMode, HttpCx, HttpFilter, Stream};
    #[cfg(not(any(target_family = "wasm", feature = "testing")))]
    pub use crate::native::program_init;
    pub use crate::runtime_config::{runtime_config, runtime_config_len};
    pub use crate::schema::{
        for_errors as schema_for_errors, section as schema_section,
        section_len as schema_section_len, ConfigSchema, Field, NoSchema, Schema, SchemaProbe,
        Tagging, Variant,
    };
    pub use crate::shared::Queue;
    pub use crate::tcp::runtime::finish_tcp;
    pub use crate::tcp::{Data, TcpCx, TcpFilter};
    pub use crate::{
        __export_filters, __export_hooks, __export_native, ABI_VERSION, RUNTIME_CONFIG_SECTION,
    };
    /// The test host serves metadata where the wasm host reads it, serialized as Envoy does.
    #[cfg(feature = "testing")]
    pub use crate::{host::metadata_path, proto::encode_metadata};
    pub use crate::{Action, EndOfStream, Filter, HookOutput, Plugin, PluginCx};
    pub use proxylet_macros::__hook_set;
    /// Bits of `HttpFilter::__HOOKS` (generated code only).
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

    pub use core::default::Default;
    pub use core::marker::PhantomData;
    pub use core::option::Option::{self, None, Some};
    pub use core::result::Result::{self, Err, Ok};
    pub use serde::de::DeserializeOwned;

    /// A type `#[filter]` can parse its configuration into.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a filter's config type",
        label = "this config type does not implement `serde::Deserialize`",
        note = "derive it: `#[derive(serde::Deserialize)]` (and `Default` to allow an empty configuration)"
    )]
    pub trait FilterConfig: DeserializeOwned {}

    impl<T: DeserializeOwned> FilterConfig for T {}

    /// `from_json` with the bound spelled as [`FilterConfig`], for its error message.
    /// `schema` is a constant (`schema_for_errors` of the filter's): inlined, the `match`
    /// keeps only one arm, so a module whose configuration has no tagged enum does not
    /// carry the code that walks one.
    #[inline(always)]
    pub fn parse_config<C: FilterConfig>(
        raw: &[u8],
        default: Option<fn() -> C>,
        schema: Option<&Schema>,
    ) -> Result<C, crate::config::ConfigError> {
        match schema {
            Some(schema) => crate::config::walked(raw, default, schema),
            None => crate::config::parse(raw, default, |error| error),
        }
    }

    /// What `proxylet-testkit` uses besides the entry points above: its native backend
    /// runs this crate's dispatcher inside the test binary, one VM state per emulated
    /// host, and answers the hostcalls declared in `host::wasm`.
    #[cfg(all(feature = "testing", not(target_family = "wasm")))]
    pub mod testkit {
        use crate::export::{Registration, VmLocals};

        /// The module-side state of one VM (filters, VM configuration, log level, table
        /// of contexts), kept apart for each host and swapped into this thread's around
        /// every call into the module.
        pub struct Vm(VmLocals);

        impl Vm {
            /// A VM that has just started (`_initialize`) with `filters`.
            pub fn new(filters: &'static [Registration]) -> Vm {
                Vm(VmLocals::new(filters))
            }

            /// Exchanges this VM's state with the thread's: once before a call into the
            /// module, once after.
            pub fn swap(&mut self) {
                self.0.swap();
            }
        }

        /// Decodes the proxy-wasm map format (module → host); `None` when malformed.
        pub fn decode_map(bytes: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
            crate::host::decode_map(bytes)
        }

        /// Encodes pairs in the proxy-wasm map format (host → module).
        pub fn encode_map(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
            crate::host::encode_map(pairs.iter().map(|(n, v)| (n.as_slice(), v.as_slice())))
        }
    }
}
