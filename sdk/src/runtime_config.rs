//! `runtime-config.json` (the wasme format) built at compile time from the root ids a
//! module exports, so it is derived from the declarations and never written by hand.
//!
//! Everything here runs at compile time (const evaluation): indexing and `panic!` are
//! compile errors at worst, never runtime traps.
#![allow(clippy::indexing_slicing, clippy::panic)]

/// The ABI the module speaks: proxy-wasm 0.2.1 in wasm (and in the test host), Envoy's
/// dynamic modules `v0.2.0` natively (what `cargo proxylet check` reports).
#[cfg(any(target_family = "wasm", feature = "testing"))]
const PREFIX: &[u8] = br#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["#;
#[cfg(not(any(target_family = "wasm", feature = "testing")))]
const PREFIX: &[u8] = br#"{"type":"envoy_proxy","abiVersions":["v0.2.0"],"config":{"rootIds":["#;
const SUFFIX: &[u8] = b"]}}";

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

/// The length of the JSON for these root ids.
#[doc(hidden)]
pub const fn runtime_config_len(root_ids: &[&str]) -> usize {
    let mut len = PREFIX.len() + SUFFIX.len();
    let mut i = 0;
    while i < root_ids.len() {
        if !valid_root_id(root_ids[i]) {
            panic!("a root id may only contain ASCII letters, digits, `_`, `-` and `.`");
        }
        len += root_ids[i].len() + 2;
        if i > 0 {
            len += 1;
        }
        i += 1;
    }
    len
}

/// The JSON for these root ids; `N` is [`runtime_config_len`] of them.
#[doc(hidden)]
pub const fn runtime_config<const N: usize>(root_ids: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = copy(&mut out, 0, PREFIX);
    let mut i = 0;
    while i < root_ids.len() {
        if i > 0 {
            at = copy(&mut out, at, b",");
        }
        at = copy(&mut out, at, b"\"");
        at = copy(&mut out, at, root_ids[i].as_bytes());
        at = copy(&mut out, at, b"\"");
        i += 1;
    }
    copy(&mut out, at, SUFFIX);
    out
}

const fn copy<const N: usize>(out: &mut [u8; N], at: usize, bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() {
        out[at + i] = bytes[i];
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
        const JSON: [u8; runtime_config_len(IDS)] = runtime_config(IDS);
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
    fn root_ids_are_restricted_to_safe_characters() {
        assert!(valid_root_id("add_header.v2-x"));
        assert!(!valid_root_id(""));
        assert!(!valid_root_id("a\"b"));
        assert!(!valid_root_id("a b"));
    }
}
