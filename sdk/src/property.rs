//! Properties: what the host knows about the request, the connection, the plugin
//! (Envoy's attributes: `request.path`, `source.address`, `plugin_root_id`, ...).
//!
//! Typed getters cover the well-known ones; [`get`] reads any path.
//!
//! ```no_run
//! use proxylet::property;
//!
//! let path = property::request_path();            // Option<String>
//! let peer = property::source_address();          // Option<String>, "10.0.0.1:5432"
//! let raw = property::get(&["metadata", "filter_metadata"]); // Option<Vec<u8>>
//! ```

use crate::host::{self, HostError};

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
