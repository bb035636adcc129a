//! `runtime-config.json` (the wasme format) built at compile time from the root ids a
//! module exports and how their filters read their configuration, so it is derived from
//! the declarations and never written by hand.
//!
//! Everything here runs at compile time (const evaluation): indexing and `panic!` are
//! compile errors at worst, never runtime traps.
#![allow(clippy::indexing_slicing, clippy::panic)]

use crate::config::ConfigFormat;

/// The ABI the module speaks: proxy-wasm 0.2.1 in wasm (and in the test host), Envoy's
/// dynamic modules `v0.2.0` natively (what `cargo proxylet check` reports).
#[cfg(any(target_family = "wasm", feature = "testing"))]
const PREFIX: &[u8] = br#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["#;
#[cfg(not(any(target_family = "wasm", feature = "testing")))]
const PREFIX: &[u8] = br#"{"type":"envoy_proxy","abiVersions":["v0.2.0"],"config":{"rootIds":["#;
const SUFFIX: &[u8] = b"]}}";
/// Before the formats of filters whose configuration is not JSON (none: not written, so a
/// module of JSON filters carries wasme's format exactly).
const FORMATS: &[u8] = br#"],"configFormats":{"#;
const FORMATS_SUFFIX: &[u8] = b"}}}";

/// Whether a root id is safe to embed unescaped and to pass around in URLs and CRDs.
pub(crate) const fn valid_root_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') {
            return false;
        }
        i += 1;
    }
    true
}

/// The length of the JSON for these root ids and their filters' config formats (one per
/// root id, in the same order).
#[doc(hidden)]
pub const fn runtime_config_len(root_ids: &[&str], formats: &[ConfigFormat]) -> usize {
    let mut out = [0u8; 0];
    write(&mut out, root_ids, formats)
}

/// The JSON for these root ids and formats; `N` is [`runtime_config_len`] of them.
/// `{"type":"envoy_proxy","abiVersions":[…],"config":{"rootIds":[…]}}` (wasme's format),
/// with `"configFormats":{"root_id":"text",…}` in `config` when some filter reads its
/// configuration as text or bytes.
#[doc(hidden)]
pub const fn runtime_config<const N: usize>(
    root_ids: &[&str],
    formats: &[ConfigFormat],
) -> [u8; N] {
    let mut out = [0u8; N];
    if write(&mut out, root_ids, formats) != N {
        panic!("`runtime_config::<N>` needs `N == runtime_config_len(…)`");
    }
    out
}

/// Writes the JSON into `out` (only counting what does not fit); returns its length.
const fn write<const N: usize>(
    out: &mut [u8; N],
    root_ids: &[&str],
    formats: &[ConfigFormat],
) -> usize {
    if formats.len() != root_ids.len() {
        panic!("one config format per root id");
    }
    let mut at = copy(out, 0, PREFIX);
    let mut i = 0;
    while i < root_ids.len() {
        if !valid_root_id(root_ids[i]) {
            panic!("a root id may only contain ASCII letters, digits, `_`, `-` and `.`");
        }
        if i > 0 {
            at = copy(out, at, b",");
        }
        at = copy(out, at, b"\"");
        at = copy(out, at, root_ids[i].as_bytes());
        at = copy(out, at, b"\"");
        i += 1;
    }
    let mut listed = 0;
    i = 0;
    while i < root_ids.len() {
        if !matches!(formats[i], ConfigFormat::Json) {
            at = copy(out, at, if listed == 0 { FORMATS } else { b"," });
            at = copy(out, at, b"\"");
            at = copy(out, at, root_ids[i].as_bytes());
            at = copy(out, at, b"\":\"");
            at = copy(out, at, formats[i].name().as_bytes());
            at = copy(out, at, b"\"");
            listed += 1;
        }
        i += 1;
    }
    copy(out, at, if listed == 0 { SUFFIX } else { FORMATS_SUFFIX })
}

/// Copies `bytes` to `out` at `at` as far as they fit; returns the position after them.
const fn copy<const N: usize>(out: &mut [u8; N], at: usize, bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() {
        if at + i < N {
            out[at + i] = bytes[i];
        }
        i += 1;
    }
    at + bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_wasme_format() {
        const IDS: &[&str] = &["add_header", "auth"];
        const FORMATS: &[ConfigFormat] = &[ConfigFormat::Json, ConfigFormat::Json];
        const JSON: [u8; runtime_config_len(IDS, FORMATS)] = runtime_config(IDS, FORMATS);
        let value: serde_json::Value = serde_json::from_slice(&JSON).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "type": "envoy_proxy",
                "abiVersions": ["v0.2.1"],
                "config": {"rootIds": ["add_header", "auth"]}
            })
        );
    }

    #[test]
    fn text_and_bytes_configs_are_listed_by_root_id() {
        const IDS: &[&str] = &["banner", "add_header", "blob"];
        const FORMATS: &[ConfigFormat] =
            &[ConfigFormat::Text, ConfigFormat::Json, ConfigFormat::Bytes];
        const JSON: [u8; runtime_config_len(IDS, FORMATS)] = runtime_config(IDS, FORMATS);
        let value: serde_json::Value = serde_json::from_slice(&JSON).unwrap();
        assert_eq!(
            value["config"],
            serde_json::json!({
                "rootIds": ["banner", "add_header", "blob"],
                "configFormats": {"banner": "text", "blob": "bytes"}
            })
        );
    }

    #[test]
    fn root_ids_are_restricted_to_safe_characters() {
        assert!(valid_root_id("add_header.v2-x"));
        assert!(!valid_root_id(""));
        assert!(!valid_root_id("a\"b"));
        assert!(!valid_root_id("a b"));
    }
}
