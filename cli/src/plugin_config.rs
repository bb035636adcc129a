//! The plugin configuration `run` and `deploy` hand a filter, read the way the filter reads
//! it. The module says how (`configFormats` in its `runtime-config.json`, from the SDK's
//! `Filter::CONFIG_FORMAT`): JSON is parsed and then checked against the module's config
//! schema ([`crate::schema`]); text (a `String` config) must be UTF-8 and is passed on as
//! it is; bytes (a `Vec<u8>` config) are passed on as they are.
//!
//! ```
//! use cargo_proxylet::plugin_config::{GivenConfig, PluginConfig};
//! use proxylet_artifact::ConfigFormat;
//!
//! let given = GivenConfig::new(b" deny /admin\n".to_vec(), "--config");
//! let text = given.read_as(ConfigFormat::Text, "deny").unwrap();
//! assert_eq!(text.bytes(), b" deny /admin\n");
//! let given = GivenConfig::new(b" deny /admin\n".to_vec(), "--config");
//! let error = given.read_as(ConfigFormat::Json, "deny").unwrap_err();
//! assert!(error.to_string().starts_with("the plugin config (--config) is not JSON"));
//! ```

use proxylet_artifact::ConfigFormat;
use serde_json::Value;

use crate::{err, Result};

/// A plugin configuration as given (`--config`, `--config-file`), not yet read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenConfig {
    bytes: Vec<u8>,
    origin: String,
}

/// A plugin configuration read the way its filter reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginConfig {
    /// JSON: the text as given, and its value.
    Json {
        /// The text as given.
        text: String,
        /// Its parsed value.
        value: Value,
    },
    /// Text, as given (UTF-8).
    Text(String),
    /// Bytes, as given.
    Bytes(Vec<u8>),
}

impl GivenConfig {
    /// A configuration of these bytes; `origin` says where it came from in messages
    /// (`--config`, a file name).
    pub fn new(bytes: Vec<u8>, origin: impl Into<String>) -> Self {
        GivenConfig {
            bytes,
            origin: origin.into(),
        }
    }

    /// Where it came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Reads it as filter `root_id` of `module` reads its configuration.
    pub fn read_for(self, module: &[u8], root_id: &str) -> Result<PluginConfig> {
        let format = crate::module::config_format(module, root_id);
        self.read_as(format, root_id)
    }

    /// Reads it as a filter whose configuration is `format` (`root_id` names it in
    /// messages).
    pub fn read_as(self, format: ConfigFormat, root_id: &str) -> Result<PluginConfig> {
        let origin = self.origin;
        match format {
            ConfigFormat::Json => {
                let text = String::from_utf8(self.bytes).map_err(|e| {
                    err!(
                        "the plugin config ({origin}) is not JSON: it is not UTF-8 ({}); filter \
                         `{root_id}` takes JSON",
                        where_not_utf8(&e)
                    )
                })?;
                let value = serde_json::from_str(&text)
                    .map_err(|e| err!("the plugin config ({origin}) is not JSON: {e}"))?;
                Ok(PluginConfig::Json { text, value })
            }
            ConfigFormat::Text => String::from_utf8(self.bytes)
                .map(PluginConfig::Text)
                .map_err(|e| {
                    err!(
                        "the plugin config ({origin}) is not UTF-8 text ({}), and filter \
                         `{root_id}` takes its configuration as text (a `String`), which Envoy \
                         would refuse; give it UTF-8 text",
                        where_not_utf8(&e)
                    )
                }),
            ConfigFormat::Bytes => Ok(PluginConfig::Bytes(self.bytes)),
        }
    }
}

/// `byte 0xff at offset 3`.
fn where_not_utf8(error: &std::string::FromUtf8Error) -> String {
    let at = error.utf8_error().valid_up_to();
    let byte = error.as_bytes().get(at).copied().unwrap_or_default();
    format!("byte {byte:#04x} at offset {at}")
}

impl PluginConfig {
    /// How the filter reads it.
    pub fn format(&self) -> ConfigFormat {
        match self {
            PluginConfig::Json { .. } => ConfigFormat::Json,
            PluginConfig::Text(_) => ConfigFormat::Text,
            PluginConfig::Bytes(_) => ConfigFormat::Bytes,
        }
    }

    /// Its JSON value, for a JSON configuration.
    pub fn json(&self) -> Option<&Value> {
        match self {
            PluginConfig::Json { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The bytes as given: what the filter gets through a `StringValue` (or `BytesValue`).
    pub fn bytes(&self) -> &[u8] {
        match self {
            PluginConfig::Json { text, .. } => text.as_bytes(),
            PluginConfig::Text(text) => text.as_bytes(),
            PluginConfig::Bytes(bytes) => bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(bytes: &[u8]) -> GivenConfig {
        GivenConfig::new(bytes.to_vec(), "config.txt")
    }

    #[test]
    fn text_is_kept_as_given_and_must_be_utf8() {
        let text = given(b"  {not json}\n")
            .read_as(ConfigFormat::Text, "t")
            .unwrap();
        assert_eq!(text, PluginConfig::Text("  {not json}\n".into()));
        assert_eq!(text.json(), None);
        let error = given(b"ok\xff")
            .read_as(ConfigFormat::Text, "t")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the plugin config (config.txt) is not UTF-8 text (byte 0xff at offset 2), and filter \
             `t` takes its configuration as text (a `String`), which Envoy would refuse; give it \
             UTF-8 text"
        );
    }

    #[test]
    fn bytes_are_kept_whatever_they_are() {
        let bytes = given(b"\0\xff\xfe")
            .read_as(ConfigFormat::Bytes, "b")
            .unwrap();
        assert_eq!(bytes.bytes(), b"\0\xff\xfe");
        assert_eq!(bytes.format(), ConfigFormat::Bytes);
        assert_eq!(
            given(b"")
                .read_as(ConfigFormat::Bytes, "b")
                .unwrap()
                .bytes(),
            b""
        );
    }

    #[test]
    fn json_is_parsed_and_its_text_kept() {
        let json = given(br#"{ "a": 1 }"#)
            .read_as(ConfigFormat::Json, "j")
            .unwrap();
        assert_eq!(json.json(), Some(&serde_json::json!({"a": 1})));
        assert_eq!(json.bytes(), br#"{ "a": 1 }"#);
        let error = given(b"\xff").read_as(ConfigFormat::Json, "j").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("not UTF-8 (byte 0xff at offset 0)"),
            "{error}"
        );
        assert!(given(b"").read_as(ConfigFormat::Json, "j").is_err());
    }
}
