//! The host interface: the calls proxylet's runtime makes, as free functions with one
//! implementation per host, chosen at compile time:
//! - `wasm`: the proxy-wasm ABI 0.2.1 imports (Envoy's wasm filters, and natively the test
//!   host, which defines the same imports);
//! - `native`: Envoy's dynamic modules ABI (a native `.so` loaded by
//!   `envoy.filters.http.dynamic_modules`), speaking proxy-wasm's vocabulary on top of it.
//!
//! Every function returns a [`HostError`] instead of panicking, and every status is taken
//! as a plain `u32`, so an unexpected value from the host is an error, never undefined
//! behavior.

use std::fmt;

/// A status code returned by the host, other than `Ok`.
///
/// The host answers every call with a status; proxylet turns anything but `Ok` into this
/// error so the filter decides what to do, instead of the VM trapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostError {
    call: &'static str,
    status: u32,
}

impl HostError {
    pub(crate) const fn new(call: &'static str, status: u32) -> Self {
        HostError { call, status }
    }

    /// The host function that failed, e.g. `proxy_replace_header_map_value`.
    pub fn call(&self) -> &'static str {
        self.call
    }

    /// The raw proxy-wasm status code (1 = `NotFound`, 2 = `BadArgument`, 8 =
    /// `CasMismatch`, ...; the numbering is Envoy's `WasmResult`).
    pub fn status(&self) -> u32 {
        self.status
    }

    /// The proxy-wasm name of the status code.
    pub fn status_name(&self) -> &'static str {
        match self.status {
            0 => "Ok",
            1 => "NotFound",
            2 => "BadArgument",
            3 => "SerializationFailure",
            4 => "ParseFailure",
            5 => "BadExpression",
            6 => "InvalidMemoryAccess",
            7 => "Empty",
            8 => "CasMismatch",
            9 => "ResultMismatch",
            10 => "InternalFailure",
            11 => "BrokenConnection",
            12 => "Unimplemented",
            _ => "Unknown",
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "host call `{}` failed with status {} ({})",
            self.call,
            self.status,
            self.status_name()
        )
    }
}

impl std::error::Error for HostError {}

pub(crate) const OK: u32 = 0;
pub(crate) const NOT_FOUND: u32 = 1;
pub(crate) const PARSE_FAILURE: u32 = 4;
pub(crate) const EMPTY: u32 = 7;
pub(crate) const CAS_MISMATCH: u32 = 8;

/// proxy-wasm `MapType` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum MapType {
    RequestHeaders = 0,
    RequestTrailers = 1,
    ResponseHeaders = 2,
    ResponseTrailers = 3,
    GrpcReceiveInitialMetadata = 4,
    GrpcReceiveTrailingMetadata = 5,
    HttpCallResponseHeaders = 6,
}

/// proxy-wasm `BufferType` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum BufferType {
    HttpRequestBody = 0,
    HttpResponseBody = 1,
    DownstreamData = 2,
    UpstreamData = 3,
    HttpCallResponseBody = 4,
    GrpcReceiveBuffer = 5,
    VmConfiguration = 6,
    PluginConfiguration = 7,
}

/// proxy-wasm `StreamType` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum StreamType {
    HttpRequest = 0,
    HttpResponse = 1,
    Downstream = 2,
    Upstream = 3,
}

/// proxy-wasm `LogLevel` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub(crate) enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
mod wasm;
#[cfg(any(target_family = "wasm", feature = "testing"))]
pub(crate) use wasm::*;

#[cfg(not(any(target_family = "wasm", feature = "testing")))]
mod native;
#[cfg(not(any(target_family = "wasm", feature = "testing")))]
pub(crate) use native::*;

/// The proxy-wasm property holding the `source` metadata: Envoy answers it with the
/// serialized `envoy.config.core.v3.Metadata` (its `serializeValue` of a message).
// `pub` for `__private` (the test host, feature `testing`); crate-internal otherwise.
#[allow(unreachable_pub)]
pub fn metadata_path(source: crate::property::MetadataSource) -> &'static [&'static str] {
    use crate::property::MetadataSource;
    match source {
        MetadataSource::Route => &["xds", "route_metadata"],
        MetadataSource::Cluster => &["xds", "cluster_metadata"],
        MetadataSource::UpstreamHost => &["xds", "upstream_host_metadata"],
        MetadataSource::Dynamic => &["metadata"],
    }
}

/// Header pairs as the host hands them out.
pub(crate) type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Encodes header pairs in the proxy-wasm map format: a `u32` count, then a `u32` length
/// pair per entry, then each name and value followed by a NUL byte.
pub(crate) fn encode_map<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone) -> Vec<u8> {
    let count = pairs.clone().count();
    let data_len: usize = pairs.clone().map(|(n, v)| n.len() + v.len() + 2).sum();
    let mut out = Vec::with_capacity(4 + count * 8 + data_len);
    out.extend_from_slice(&(count as u32).to_le_bytes());
    for (name, value) in pairs.clone() {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

/// Decodes the proxy-wasm map format; `None` when the bytes do not follow it.
pub(crate) fn decode_map(bytes: &[u8]) -> Option<Pairs> {
    let mut pairs = Vec::with_capacity(map_len(bytes)?);
    walk_map(bytes, |name, value| {
        pairs.push((name.to_vec(), value.to_vec()))
    })?;
    Some(pairs)
}

/// Walks the proxy-wasm map format without copying: `each(name, value)` for every pair,
/// in order; `None` when the bytes do not follow the format (`each` may have seen some
/// pairs by then). Every length is checked: a malformed buffer from the host is an error,
/// not a trap.
pub(crate) fn walk_map<'a>(
    bytes: &'a [u8],
    mut each: impl FnMut(&'a [u8], &'a [u8]),
) -> Option<()> {
    let count = map_len(bytes)?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    for i in 0..count {
        let sizes = i.checked_mul(8)?.checked_add(4)?;
        let name_len = u32_at(bytes, sizes)?;
        let value_len = u32_at(bytes, sizes.checked_add(4)?)?;
        let name_end = data.checked_add(name_len)?;
        let name = bytes.get(data..name_end)?;
        let value_start = name_end.checked_add(1)?;
        let value_end = value_start.checked_add(value_len)?;
        let value = bytes.get(value_start..value_end)?;
        data = value_end.checked_add(1)?;
        each(name, value);
    }
    Some(())
}

/// The number of pairs a serialized map announces, once its table of sizes is known to
/// fit (so a lying count cannot make a huge allocation).
fn map_len(bytes: &[u8]) -> Option<usize> {
    let count = u32_at(bytes, 0)?;
    let data = count.checked_mul(8)?.checked_add(4)?;
    (data <= bytes.len()).then_some(count)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(<[u8; 4]>::try_from(raw).ok()?) as usize)
}

/// `name.key1.value1.key2.value2`, dots in values replaced by `_`.
pub(crate) fn tagged_name(name: &str, tags: &[(&str, &str)]) -> String {
    let mut out = String::from(name);
    for (key, value) in tags {
        out.push('.');
        out.push_str(key);
        out.push('.');
        out.push_str(&value.replace('.', "_"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_round_trips_arbitrary_bytes() {
        let pairs: Vec<(&[u8], &[u8])> =
            vec![(b":status", b"200"), (b"x", b"\xff\xfe"), (b"", b"")];
        let encoded = encode_map(pairs.iter().copied());
        let decoded = decode_map(&encoded).unwrap();
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded[1], (b"x".to_vec(), b"\xff\xfe".to_vec()));
        assert_eq!(decoded[2], (Vec::new(), Vec::new()));
    }

    #[test]
    fn truncated_or_lying_maps_are_rejected_not_trapped() {
        let pairs: Vec<(&[u8], &[u8])> = vec![(b"name", b"value")];
        let encoded = encode_map(pairs.iter().copied());
        for cut in 0..encoded.len() - 1 {
            assert!(decode_map(&encoded[..cut]).is_none(), "cut at {cut}");
        }
        let mut lying = encoded.clone();
        lying[0] = 0xff; // claims 255 entries
        assert!(decode_map(&lying).is_none());
        let mut huge = encoded;
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_map(&huge).is_none());
    }
}
