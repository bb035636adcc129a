//! Properties: what the host knows about the request, the connection, the plugin
//! (Envoy's attributes: `request.path`, `source.address`, `plugin_root_id`, ...).
//!
//! Typed getters cover the well-known ones; [`get`] reads any path.
//!
//! ```no_run
//! use proxylet::property;
//!
//! let path = property::request_path();             // Option<String>
//! let peer = property::source_address();           // Option<String>, "10.0.0.1:5432"
//! let raw = property::get(&["connection", "id"]);  // Option<Vec<u8>>
//! let acme = property::route_metadata("acme");     // Option<Struct>: the route's metadata `acme`
//! ```
//!
//! # Metadata
//!
//! Envoy attaches metadata to routes, clusters and upstream hosts in its configuration
//! (`metadata: { filter_metadata: { <namespace>: { ... } } }`), and filters attach dynamic
//! metadata to each stream. [`metadata`] reads one namespace of any of them as a typed
//! [`Struct`] of JSON [`Value`]s, and [`metadata_as`] deserializes it into your own type;
//! [`route_metadata`], [`cluster_metadata`] and [`dynamic_metadata`] are the usual
//! shorthands, [`metadata_namespaces`] lists what is there.
//!
//! ```no_run
//! use proxylet::prelude::*;
//! use proxylet::property::{self, MetadataSource, Value};
//!
//! #[derive(Deserialize)]
//! struct Limits { rps: u32, burst: Option<u32> }
//!
//! // route: metadata: { filter_metadata: { acme: { tier: gold, limits: { rps: 100 } } } }
//! let acme = property::route_metadata("acme").unwrap_or_default();
//! let gold = acme.get("tier").and_then(Value::as_str) == Some("gold");
//! let limits: Option<Limits> = acme
//!     .get("limits")
//!     .and_then(|limits| Limits::deserialize(limits).ok());
//! // or the whole namespace at once, with the field at fault named on error:
//! #[derive(Deserialize)]
//! struct Acme { tier: String, limits: Limits }
//! let typed: Option<Acme> = property::metadata_as(MetadataSource::Route, "acme").ok().flatten();
//! ```

use crate::host::{self, HostError};

/// A metadata value: the JSON data model, which is protobuf's `google.protobuf.Value`'s
/// (null, bool, number, string, list, struct). This is `serde_json::Value`, re-exported so
/// a filter needs no other dependency to name it.
///
/// Metadata numbers are doubles in Envoy: an integral one within ±2^53 is an integer here
/// (`8080`, not `8080.0`, so it deserializes into `u16`), a NaN or infinity is `null`.
#[doc(inline)]
pub use serde_json::Value;

/// One metadata namespace: its keys and their [`Value`]s, sorted by key (a
/// `google.protobuf.Struct`).
pub type Struct = serde_json::Map<String, Value>;

/// The raw bytes of property `path`; `None` when absent or refused (logged at debug).
pub fn get(path: &[&str]) -> Option<Vec<u8>> {
    match try_get(path) {
        Ok(value) => value,
        Err(error) => {
            log::debug!("reading property {}: {error}", path.join("."));
            None
        }
    }
}

/// Like [`get`], with the host's error.
pub fn try_get(path: &[&str]) -> Result<Option<Vec<u8>>, HostError> {
    host::get_property(path)
}

/// Property `path` as UTF-8 text; `None` when absent or not UTF-8.
pub fn get_string(path: &[&str]) -> Option<String> {
    get(path).and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Property `path` as an integer (Envoy encodes them as 8 little-endian bytes).
pub fn get_i64(path: &[&str]) -> Option<i64> {
    let bytes = get(path)?;
    Some(i64::from_le_bytes(
        <[u8; 8]>::try_from(bytes.as_slice()).ok()?,
    ))
}

/// Map-valued property `path` (Envoy's `request.headers`, `response.headers`,
/// `response.trailers`, …): its pairs, in order, names and values as bytes. `None` when it
/// is absent, refused, or not a map.
///
/// The host sends maps in the proxy-wasm map format (a count, the sizes, then each name
/// and value NUL-terminated); [`get`] returns those bytes as they are, this decodes them.
/// A malformed buffer is `None`, never a trap. Envoy 1.40 joins the values of a repeated
/// header into one entry, separated by commas.
///
/// ```no_run
/// use proxylet::property;
///
/// let headers = property::get_map(&["request", "headers"]).unwrap_or_default();
/// let has_cookie = headers.iter().any(|(name, _)| name == b"cookie");
/// ```
pub fn get_map(path: &[&str]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    host::decode_map(&get(path)?)
}

/// Sets property `path` (e.g. filter state for later filters).
///
/// Not on the native target (properties are read-only there): a native build that calls it
/// does not compile.
#[cfg(any(target_family = "wasm", feature = "testing"))]
pub fn set(path: &[&str], value: &[u8]) -> Result<(), HostError> {
    host::set_property(path, value)
}

macro_rules! string_properties {
    ($($(#[$doc:meta])* $fn:ident => [$($seg:literal),+];)*) => {$(
        $(#[$doc])*
        pub fn $fn() -> Option<String> {
            get_string(&[$($seg),+])
        }
    )*};
}

string_properties! {
    /// `request.path`: the path with query, e.g. `/api/v1?x=1`.
    request_path => ["request", "path"];
    /// `request.url_path`: the path without query.
    request_url_path => ["request", "url_path"];
    /// `request.method`.
    request_method => ["request", "method"];
    /// `request.host`: the authority.
    request_host => ["request", "host"];
    /// `request.scheme`.
    request_scheme => ["request", "scheme"];
    /// `request.id`: Envoy's `x-request-id`.
    request_id => ["request", "id"];
    /// `request.protocol`, e.g. `HTTP/1.1`.
    request_protocol => ["request", "protocol"];
    /// `source.address`: the downstream peer, `ip:port`.
    source_address => ["source", "address"];
    /// `destination.address`: the local address the connection arrived on.
    destination_address => ["destination", "address"];
    /// `upstream.address`: the upstream host chosen, `ip:port`.
    upstream_address => ["upstream", "address"];
    /// `plugin_name`: the plugin's name in the Envoy config.
    plugin_name => ["plugin_name"];
    /// `plugin_root_id`: the root id the host selected this filter by.
    plugin_root_id => ["plugin_root_id"];
    /// `plugin_vm_id`: the VM id (VMs with the same id share data).
    plugin_vm_id => ["plugin_vm_id"];
}

/// `xds.route_name`: the name of the matched route (empty when it has none).
///
/// Envoy 1.40 answers only `xds.route_name` (the top-level `route_name` of older Envoys
/// is gone); older ones are asked for `route_name` when that is absent.
pub fn route_name() -> Option<String> {
    get_string(&["xds", "route_name"]).or_else(|| get_string(&["route_name"]))
}

/// `xds.cluster_name`: the upstream cluster of the matched route (falls back to the
/// older top-level `cluster_name`, like [`route_name`]).
pub fn cluster_name() -> Option<String> {
    get_string(&["xds", "cluster_name"]).or_else(|| get_string(&["cluster_name"]))
}

/// `response.code`: the HTTP status of the response (from the response phase on).
pub fn response_code() -> Option<u16> {
    get_i64(&["response", "code"]).and_then(|code| u16::try_from(code).ok())
}

/// `connection.id`: the downstream connection's id.
pub fn connection_id() -> Option<u64> {
    get_i64(&["connection", "id"]).and_then(|id| u64::try_from(id).ok())
}

/// The host's clock (Envoy: wall time), as a `SystemTime`.
pub fn now() -> std::time::SystemTime {
    let nanos = host::current_time_nanos().unwrap_or(0);
    std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos)
}

/// Where metadata is read from: the [`metadata`] getters' first argument.
///
/// | source | what it is | proxy-wasm property | dynamic modules |
/// |---|---|---|---|
/// | `Route` | the matched route's `metadata` | `xds.route_metadata` | route metadata |
/// | `Cluster` | the upstream cluster's `metadata` | `xds.cluster_metadata` | cluster metadata |
/// | `UpstreamHost` | the chosen endpoint's `metadata` (`lb_endpoints[].metadata`) | `xds.upstream_host_metadata` | host metadata |
/// | `Dynamic` | the stream's dynamic metadata, set by filters (Lua, ext_authz, …) | `metadata` | dynamic metadata |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetadataSource {
    /// The matched route's metadata (known from the request headers on).
    Route,
    /// The metadata of the upstream cluster of the matched route.
    Cluster,
    /// The metadata of the upstream host (endpoint) chosen, once one is (the response
    /// phase and later).
    UpstreamHost,
    /// The stream's dynamic metadata: what filters set while the request is processed.
    Dynamic,
}

impl MetadataSource {
    /// The source's name in messages: `route`, `cluster`, `upstream host`, `dynamic`.
    pub fn name(self) -> &'static str {
        match self {
            MetadataSource::Route => "route",
            MetadataSource::Cluster => "cluster",
            MetadataSource::UpstreamHost => "upstream host",
            MetadataSource::Dynamic => "dynamic",
        }
    }
}

impl std::fmt::Display for MetadataSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Namespace `namespace` of the `source` metadata (its `filter_metadata.<namespace>`),
/// decoded; `None` when there is no such namespace (or no route, cluster or host yet),
/// when the host refuses, or when what it sent is malformed (logged at debug; never a
/// trap).
///
/// On the wasm target Envoy sends the whole `envoy.config.core.v3.Metadata`, serialized,
/// and proxylet decodes it (a bounded decoder: nesting deeper than 100 levels is refused).
/// On the native target the dynamic modules ABI is asked key by key; it reads strings,
/// numbers, bools and lists of those, so natively a key whose value is a nested struct,
/// a null, or a list holding one is left out (logged at debug). Natively only HTTP
/// filters read metadata: a TCP filter's calls are `None`.
///
/// ```no_run
/// use proxylet::property::{self, MetadataSource, Value};
///
/// let tenant = property::metadata(MetadataSource::Dynamic, "envoy.filters.http.jwt_authn")
///     .and_then(|jwt| jwt.get("tenant").and_then(Value::as_str).map(str::to_owned));
/// ```
pub fn metadata(source: MetadataSource, namespace: &str) -> Option<Struct> {
    match host::get_metadata(source, namespace) {
        Ok(found) => found,
        Err(error) => {
            log::debug!("reading {source} metadata `{namespace}`: {error}");
            None
        }
    }
}

/// The matched route's metadata namespace `namespace`: [`metadata`] with
/// [`MetadataSource::Route`].
///
/// ```no_run
/// # use proxylet::property::{self, Value};
/// // route: { match: { prefix: "/" }, route: { cluster: api },
/// //          metadata: { filter_metadata: { acme: { tier: gold } } } }
/// let tier = property::route_metadata("acme")
///     .and_then(|acme| acme.get("tier").and_then(Value::as_str).map(str::to_owned));
/// ```
pub fn route_metadata(namespace: &str) -> Option<Struct> {
    metadata(MetadataSource::Route, namespace)
}

/// The upstream cluster's metadata namespace `namespace`: [`metadata`] with
/// [`MetadataSource::Cluster`].
///
/// ```no_run
/// # use proxylet::property::{self, Value};
/// // cluster: { name: api, metadata: { filter_metadata: { acme: { owner: payments } } } }
/// let owner = property::cluster_metadata("acme")
///     .and_then(|acme| acme.get("owner").and_then(Value::as_str).map(str::to_owned));
/// ```
pub fn cluster_metadata(namespace: &str) -> Option<Struct> {
    metadata(MetadataSource::Cluster, namespace)
}

/// The stream's dynamic metadata namespace `namespace` (what earlier filters set):
/// [`metadata`] with [`MetadataSource::Dynamic`].
///
/// ```no_run
/// # use proxylet::property::{self, Value};
/// // A Lua filter before this one: streamInfo():dynamicMetadata():set("acme", "user", "ada")
/// let user = property::dynamic_metadata("acme")
///     .and_then(|acme| acme.get("user").and_then(Value::as_str).map(str::to_owned));
/// ```
pub fn dynamic_metadata(namespace: &str) -> Option<Struct> {
    metadata(MetadataSource::Dynamic, namespace)
}

/// The namespaces the `source` metadata has, sorted (Envoy keeps them in a hash map,
/// in no stable order); empty when it has none (or there is no route, cluster or host
/// yet), or the host refuses (logged at debug).
///
/// ```no_run
/// use proxylet::property::{self, MetadataSource};
///
/// for namespace in property::metadata_namespaces(MetadataSource::Route) {
///     log::info!("route metadata namespace {namespace}");
/// }
/// ```
pub fn metadata_namespaces(source: MetadataSource) -> Vec<String> {
    match host::get_metadata_namespaces(source) {
        Ok(mut names) => {
            names.sort_unstable();
            names
        }
        Err(error) => {
            log::debug!("listing {source} metadata namespaces: {error}");
            Vec::new()
        }
    }
}

/// Namespace `namespace` of the `source` metadata, deserialized into `T`: `Ok(None)`
/// when there is no such namespace ([`metadata`] is `None`), an error naming the field
/// at fault when it does not fit `T`.
///
/// ```no_run
/// use proxylet::prelude::*;
/// use proxylet::property::{self, MetadataSource};
///
/// #[derive(Deserialize)]
/// struct Acme {
///     tier: String,
///     #[serde(default)]
///     rps: u32, // metadata numbers are doubles: integral ones fit integer fields
/// }
///
/// match property::metadata_as::<Acme>(MetadataSource::Route, "acme") {
///     Ok(Some(acme)) => log::info!("tier {} at {} rps", acme.tier, acme.rps),
///     Ok(None) => {}                             // the route has no `acme` metadata
///     Err(error) => log::warn!("{error}"),       // route metadata `acme`: rps: invalid type: …
/// }
/// ```
pub fn metadata_as<T: serde::de::DeserializeOwned>(
    source: MetadataSource,
    namespace: &str,
) -> Result<Option<T>, MetadataError> {
    let Some(fields) = metadata(source, namespace) else {
        return Ok(None);
    };
    serde_path_to_error::deserialize(Value::Object(fields))
        .map(Some)
        .map_err(|error| MetadataError {
            source,
            namespace: namespace.to_owned(),
            path: error.path().to_string(),
            message: error.into_inner().to_string(),
        })
}

/// A metadata namespace that does not deserialize into the type asked for
/// ([`metadata_as`]); its message names the source, the namespace and the field:
/// ``route metadata `acme`: limits.rps: invalid type: string "many", expected u32``.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataError {
    source: MetadataSource,
    namespace: String,
    path: String,
    message: String,
}

impl MetadataError {
    /// Where the metadata came from.
    pub fn source(&self) -> MetadataSource {
        self.source
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The path of the field at fault inside the namespace (`limits.rps`, `tags[2]`), or
    /// `.` for the namespace itself.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl std::fmt::Display for MetadataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} metadata `{}`: ", self.source, self.namespace)?;
        if self.path != "." {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for MetadataError {}
