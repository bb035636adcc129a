//! Reads what a proxylet-built `.wasm` carries about itself.
//!
//! Every module built with proxylet holds its `runtime-config.json` (the wasme format:
//! `type`, `abiVersions`, `config.rootIds`) in the custom section
//! `proxylet.runtime_config`, so any tool can learn a module's root ids from the artifact
//! alone, even after a plain `cargo build`.
//!
//! ```
//! let wasm = proxylet_artifact::tests_support::module_with_section(
//!     "proxylet.runtime_config",
//!     br#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["add_header"]}}"#,
//! );
//! let config = proxylet_artifact::runtime_config(&wasm).unwrap();
//! assert_eq!(config.config.root_ids, ["add_header"]);
//! ```
#![warn(missing_docs)]

use std::fmt;

pub mod build;

use serde::{Deserialize, Serialize};

/// The custom section holding `runtime-config.json`.
pub const RUNTIME_CONFIG_SECTION: &str = "proxylet.runtime_config";

/// `runtime-config.json`, as wasme defined it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeConfig {
    /// Always `envoy_proxy`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The proxy-wasm ABI versions the module implements, e.g. `["v0.2.1"]`.
    pub abi_versions: Vec<String>,
    /// The filters.
    pub config: RootIds,
}

/// The `config` object of [`RuntimeConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RootIds {
    /// Every root id the module answers to.
    pub root_ids: Vec<String>,
}

impl RuntimeConfig {
    /// The JSON text, as written beside the `.wasm`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why an artifact could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not a WebAssembly module.
    NotWasm,
    /// The module is cut short or a section is malformed.
    Malformed(&'static str),
    /// The module has no `proxylet.runtime_config` section: it was not built with proxylet.
    NoRuntimeConfig,
    /// The section is there but is not valid runtime-config JSON.
    BadRuntimeConfig(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotWasm => write!(f, "not a WebAssembly module (no `\\0asm` header)"),
            Error::Malformed(what) => write!(f, "malformed WebAssembly module: {what}"),
            Error::NoRuntimeConfig => write!(
                f,
                "the module has no `{RUNTIME_CONFIG_SECTION}` custom section; was it built with proxylet's `#[filter]` or `proxylet::main!`?"
            ),
            Error::BadRuntimeConfig(error) => {
                write!(f, "the `{RUNTIME_CONFIG_SECTION}` section is not valid runtime config: {error}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// A section of a module: its id and payload (custom sections: name excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section<'a> {
    /// Section id (0 = custom, 2 = import, 7 = export...).
    pub id: u8,
    /// Custom section name; empty for other sections.
    pub name: &'a str,
    /// The payload.
    pub data: &'a [u8],
}

/// Every section of a module, in order.
pub fn sections(wasm: &[u8]) -> Result<Vec<Section<'_>>, Error> {
    if wasm.get(..4) != Some(b"\0asm".as_slice()) {
        return Err(Error::NotWasm);
    }
    let mut at = 8;
    if wasm.len() < at {
        return Err(Error::Malformed("truncated header"));
    }
    let mut out = Vec::new();
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = leb_u32(wasm, &mut at)? as usize;
        let end = at
            .checked_add(size)
            .ok_or(Error::Malformed("section size"))?;
        let payload = wasm
            .get(at..end)
            .ok_or(Error::Malformed("section runs past the end"))?;
        let section = if id == 0 {
            let mut p = 0;
            let len = leb_u32(payload, &mut p)? as usize;
            let name = payload
                .get(p..p + len)
                .ok_or(Error::Malformed("custom section name"))?;
            let name =
                std::str::from_utf8(name).map_err(|_| Error::Malformed("custom section name"))?;
            Section {
                id,
                name,
                data: &payload[p + len..],
            }
        } else {
            Section {
                id,
                name: "",
                data: payload,
            }
        };
        out.push(section);
        at = end;
    }
    Ok(out)
}

/// The payload of the first custom section called `name`.
pub fn custom_section<'a>(wasm: &'a [u8], name: &str) -> Result<Option<&'a [u8]>, Error> {
    Ok(sections(wasm)?
        .into_iter()
        .find(|s| s.id == 0 && s.name == name)
        .map(|s| s.data))
}

/// The module's `runtime-config.json`.
pub fn runtime_config(wasm: &[u8]) -> Result<RuntimeConfig, Error> {
    let raw = custom_section(wasm, RUNTIME_CONFIG_SECTION)?.ok_or(Error::NoRuntimeConfig)?;
    serde_json::from_slice(raw).map_err(|e| Error::BadRuntimeConfig(e.to_string()))
}

/// Reads an unsigned LEB128 `u32` at `*at`, advancing it.
pub fn leb_u32(bytes: &[u8], at: &mut usize) -> Result<u32, Error> {
    let mut result: u64 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*at).ok_or(Error::Malformed("truncated LEB128"))?;
        *at += 1;
        result |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(result).map_err(|_| Error::Malformed("LEB128 overflow"));
        }
    }
    Err(Error::Malformed("LEB128 too long"))
}

/// Builds small modules for tests and examples.
#[doc(hidden)]
pub mod tests_support {
    /// An empty module with one custom section.
    pub fn module_with_section(name: &str, data: &[u8]) -> Vec<u8> {
        let mut payload = leb(name.len() as u32);
        payload.extend_from_slice(name.as_bytes());
        payload.extend_from_slice(data);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.push(0);
        wasm.extend(leb(payload.len() as u32));
        wasm.extend(payload);
        wasm
    }

    fn leb(mut value: u32) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(sections(b"hello"), Err(Error::NotWasm));
        let wasm = tests_support::module_with_section("x", &[1; 300]);
        for cut in 9..wasm.len() - 1 {
            assert!(sections(&wasm[..cut]).is_err(), "cut {cut}");
        }
        assert_eq!(
            runtime_config(&tests_support::module_with_section("other", b"{}")),
            Err(Error::NoRuntimeConfig)
        );
        assert!(matches!(
            runtime_config(&tests_support::module_with_section(
                RUNTIME_CONFIG_SECTION,
                b"{"
            )),
            Err(Error::BadRuntimeConfig(_))
        ));
    }
}
