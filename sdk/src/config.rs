//! Typed plugin configuration: JSON, text or bytes, chosen by the config type.
//!
//! Envoy hands a filter its configuration as bytes (a `google.protobuf.StringValue` or
//! `BytesValue` arrives byte for byte; a `Struct` arrives as its JSON form). proxylet reads
//! those bytes once per configure into the filter's config type ([`ConfigFormat`]):
//!
//! | config type (what a hook takes) | the configuration is | empty configuration |
//! |---|---|---|
//! | `String` (`&str` or `&String`) | UTF-8 text, as is ([`from_text`]); other bytes are refused | `""` |
//! | `Vec<u8>` (`&[u8]` or `&Vec<u8>`) | bytes, as they are (NUL and non-UTF-8 included) | empty |
//! | any other [`serde::Deserialize`] type | JSON ([`from_json`]) | `Default::default()`, or refused without `Default` |
//!
//! When reading fails, the error names the field and what was expected, is logged, and
//! configure returns `false`: Envoy then rejects the configuration instead of running a
//! half-configured filter.
//!
//! ```
//! use proxylet::prelude::*;
//!
//! // The configuration text as is: `configuration: {"@type": ".../StringValue", value: "…"}`.
//! #[proxylet::filter(root_id = "banner", export = false)]
//! fn on_response_headers(headers: &mut Headers, banner: &str) {
//!     headers.set("x-banner", banner);
//! }
//! ```

use std::fmt;

use serde::de::DeserializeOwned;

use crate::schema::Schema;

mod locate;

/// Why a plugin configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    path: String,
    message: String,
}

impl ConfigError {
    /// An error about the field at `path` (`"config.value"`, `"config.routes[2].weight"`;
    /// `"config"` for the whole configuration).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Where in the configuration the problem is, e.g. `config.value`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What was wrong there, e.g. `invalid type: integer `5`, expected a string`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// How a filter reads its configuration from the bytes Envoy hands it: the config type
/// decides ([`Filter::CONFIG_FORMAT`](crate::Filter::CONFIG_FORMAT)). Modules record it
/// for tools: `cargo proxylet` passes a text or bytes configuration through unchanged
/// instead of checking it as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    /// JSON, parsed into a [`serde::Deserialize`] type ([`from_json`]).
    Json,
    /// UTF-8 text, taken as is into a `String` ([`from_text`]).
    Text,
    /// Bytes, taken as they are into a `Vec<u8>`.
    Bytes,
}

impl ConfigFormat {
    /// Its name in the module's `runtime-config.json` and config schema section: `json`,
    /// `text` or `bytes`.
    pub const fn name(self) -> &'static str {
        match self {
            ConfigFormat::Json => "json",
            ConfigFormat::Text => "text",
            ConfigFormat::Bytes => "bytes",
        }
    }
}

/// Takes a plugin configuration as UTF-8 text, as is (whitespace included; empty when no
/// configuration was given). Bytes that are not UTF-8 are an error saying where:
///
/// ```
/// use proxylet::config::from_text;
///
/// assert_eq!(from_text(b" deny /admin\n").unwrap(), " deny /admin\n");
/// assert_eq!(from_text(b"").unwrap(), "");
/// let error = from_text(b"caf\xe9").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "config: the configuration is not UTF-8 text (byte 0xe9 at offset 3); this filter takes \
///      text: give it UTF-8"
/// );
/// ```
pub fn from_text(raw: &[u8]) -> Result<String, ConfigError> {
    match std::str::from_utf8(raw) {
        Ok(text) => Ok(text.to_owned()),
        Err(error) => {
            let at = error.valid_up_to();
            let byte = raw.get(at).copied().unwrap_or_default();
            Err(ConfigError::new(
                "config",
                format!(
                    "the configuration is not UTF-8 text (byte {byte:#04x} at offset {at}); this \
                     filter takes text: give it UTF-8"
                ),
            ))
        }
    }
}

/// Parses a JSON plugin configuration into `C`.
///
/// `raw` empty (or only whitespace) means "no configuration": the result is `default()`
/// when given (the macro passes `C::default` when `C: Default`), else an error saying a
/// configuration is required.
///
/// An error names the field at fault (`config.routes[1].weight`). serde cannot name a
/// field inside an internally tagged, adjacently tagged or untagged enum (it reads those
/// from a buffer of its own); give the type's [`Schema`] as `schema` (the macro passes
/// `C::SCHEMA` when `C: ConfigSchema`) and, only when parsing fails, the configuration is
/// walked with it to name the field there too:
///
/// ```
/// use proxylet::config::from_json;
/// use proxylet::prelude::*;
///
/// #[derive(Deserialize, ConfigSchema, Debug)]
/// struct AddHeader { name: String, value: String }
///
/// let error = from_json::<AddHeader>(br#"{"name":"hello","value":5}"#, None, None).unwrap_err();
/// assert_eq!(error.path(), "config.value");
/// assert!(error.message().starts_with("invalid type: integer `5`, expected a string"));
///
/// #[derive(Deserialize, ConfigSchema, Debug)]
/// #[serde(tag = "mode", rename_all = "snake_case")]
/// enum Auth {
///     ApiKey { keys: Vec<String> },
///     External { cluster: String, timeout_ms: u64 },
/// }
///
/// let raw = br#"{"mode": "external", "cluster": "auth", "timeout_ms": -1}"#;
/// let error = from_json::<Auth>(raw, None, Some(Auth::SCHEMA)).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "config.timeout_ms: invalid value: integer `-1`, expected an integer from 0 to 18446744073709551615"
/// );
/// // Without the schema, serde knows only the enum:
/// let error = from_json::<Auth>(raw, None, None).unwrap_err();
/// assert_eq!(error.path(), "config");
/// ```
pub fn from_json<C: DeserializeOwned>(
    raw: &[u8],
    default: Option<fn() -> C>,
    schema: Option<&Schema>,
) -> Result<C, ConfigError> {
    match schema.filter(|schema| schema.hides_error_paths()) {
        Some(schema) => walked(raw, default, schema),
        None => parse(raw, default, |serde| serde),
    }
}

/// [`from_json`] with a schema that [hides error paths](Schema::hides_error_paths).
pub(crate) fn walked<C: DeserializeOwned>(
    raw: &[u8],
    default: Option<fn() -> C>,
    schema: &Schema,
) -> Result<C, ConfigError> {
    parse(raw, default, |serde| {
        match locate::locate(schema, raw) {
            // The same value, or one serde could not reach (inside a tagged enum): the
            // walk names it, in words about JSON rather than Rust types.
            Some(found) if related(found.path(), serde.path()) => found,
            // Elsewhere (or nothing: a check the schema cannot express), serde's.
            _ => serde,
        }
    })
}

/// [`from_json`], with serde's error handed to `refine`. Without a schema to walk,
/// `refine` is the identity and the walk's code is not in the module.
#[allow(clippy::single_char_add_str, clippy::single_char_pattern)]
pub(crate) fn parse<C: DeserializeOwned>(
    raw: &[u8],
    default: Option<fn() -> C>,
    refine: impl FnOnce(ConfigError) -> ConfigError,
) -> Result<C, ConfigError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return match default {
            Some(default) => Ok(default()),
            None => Err(ConfigError::new(
                "config",
                format!(
                    "missing configuration: `{}` has no `Default`, so the plugin configuration must be a JSON value",
                    short_type_name::<C>()
                ),
            )),
        };
    }
    let mut json = serde_json::Deserializer::from_slice(raw);
    let value = serde_path_to_error::deserialize(&mut json).map_err(|error| {
        let path = error.path().to_string();
        // `?` marks a position the tracker could not name (e.g. input cut short).
        // (`&str` patterns, not `char`s: a `char` pulls a UTF-8 encoder into every module.)
        let path = path.strip_suffix("?").unwrap_or(&path);
        let path = path.strip_suffix(".").unwrap_or(path);
        let path = match path {
            "." | "" => "config".to_owned(),
            p => {
                let mut full = String::from("config");
                if !p.starts_with("[") {
                    full.push_str(".");
                }
                full.push_str(p);
                full
            }
        };
        refine(ConfigError::new(path, error.into_inner().to_string()))
    })?;
    json.end()
        .map_err(|error| ConfigError::new("config", error.to_string()))?;
    Ok(value)
}

/// Whether one path is the other or inside it (`config.a.b` and `config.a`).
fn related(a: &str, b: &str) -> bool {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    long.strip_prefix(short)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(".") || rest.starts_with("["))
}

/// The configuration of a filter that takes none: accepted and ignored, with a warning
/// when it is not empty (it is probably meant for another filter).
#[doc(hidden)]
pub fn no_config(root_id: &str, raw: &[u8]) -> Result<(), ConfigError> {
    if !raw.iter().all(u8::is_ascii_whitespace) {
        log::warn!("{root_id}: this filter takes no configuration; ignoring the one given");
    }
    Ok(())
}

fn short_type_name<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    let name = match name.find('<') {
        Some(generic) => name.get(..generic).unwrap_or(name),
        None => name,
    };
    // After the last `::` (a char search: `rsplit("::")` would pull in a substring
    // searcher, kilobytes of wasm for an error message).
    match name.rfind(':') {
        Some(colon) => name.get(colon + 1..).unwrap_or(name),
        None => name,
    }
}

/// Autoref specialization used by the `#[filter]` expansion: `Some(C::default)` when the
/// config type implements `Default`, else `None`. Not public API.
#[doc(hidden)]
pub mod default_probe {
    use std::marker::PhantomData;

    /// Carries the config type.
    pub struct Probe<T>(pub PhantomData<T>);

    /// Chosen when `T: Default`.
    pub trait ViaDefault<T> {
        /// `Some(T::default)`.
        fn default_fn(&self) -> Option<fn() -> T>;
    }

    impl<T: Default> ViaDefault<T> for Probe<T> {
        fn default_fn(&self) -> Option<fn() -> T> {
            Some(T::default)
        }
    }

    /// Chosen otherwise.
    pub trait NoDefault<T> {
        /// `None`.
        fn default_fn(&self) -> Option<fn() -> T>;
    }

    impl<T> NoDefault<T> for &Probe<T> {
        fn default_fn(&self) -> Option<fn() -> T> {
            None
        }
    }
}

/// Autoref specialization used by the `#[filter]` expansion: the config type's
/// [`ConfigFormat`] (`FORMAT`, a constant) and how `configure` reads it (`parse`): a
/// `String` as text, a `Vec<u8>` as bytes, any other type as JSON. Resolved where the
/// type is concrete, which is where `#[filter]` uses it. Not public API.
#[doc(hidden)]
pub mod format_probe {
    use std::marker::PhantomData;

    use super::{ConfigError, ConfigFormat};
    use crate::schema::Schema;

    /// Carries the config type.
    pub struct Format<T>(pub PhantomData<T>);

    // Inherent constants win over the trait's, where they apply.
    impl Format<String> {
        /// A `String` is the configuration text.
        pub const FORMAT: ConfigFormat = ConfigFormat::Text;
    }

    impl Format<Vec<u8>> {
        /// A `Vec<u8>` is the configuration's bytes.
        pub const FORMAT: ConfigFormat = ConfigFormat::Bytes;
    }

    /// Any other type is JSON.
    pub trait JsonFormat {
        /// [`ConfigFormat::Json`].
        const FORMAT: ConfigFormat = ConfigFormat::Json;
    }

    impl<T> JsonFormat for Format<T> {}

    /// Chosen for `String` (by value: before the autoref of [`ParseJson`]).
    pub trait ParseText {
        /// [`from_text`](super::from_text).
        fn parse(
            &self,
            raw: &[u8],
            default: Option<fn() -> String>,
            schema: Option<&Schema>,
        ) -> Result<String, ConfigError>;
    }

    impl ParseText for Format<String> {
        #[inline(always)]
        fn parse(
            &self,
            raw: &[u8],
            _: Option<fn() -> String>,
            _: Option<&Schema>,
        ) -> Result<String, ConfigError> {
            super::from_text(raw)
        }
    }

    /// Chosen for `Vec<u8>`.
    pub trait ParseBytes {
        /// The bytes as they are.
        fn parse(
            &self,
            raw: &[u8],
            default: Option<fn() -> Vec<u8>>,
            schema: Option<&Schema>,
        ) -> Result<Vec<u8>, ConfigError>;
    }

    impl ParseBytes for Format<Vec<u8>> {
        #[inline(always)]
        fn parse(
            &self,
            raw: &[u8],
            _: Option<fn() -> Vec<u8>>,
            _: Option<&Schema>,
        ) -> Result<Vec<u8>, ConfigError> {
            Ok(raw.to_vec())
        }
    }

    /// Chosen otherwise: JSON. The bound is on the method, so that a type that is not
    /// `Deserialize` gets `FilterConfig`'s message rather than "method not found".
    pub trait ParseJson<T> {
        /// [`parse_config`](crate::__private::parse_config).
        fn parse(
            &self,
            raw: &[u8],
            default: Option<fn() -> T>,
            schema: Option<&Schema>,
        ) -> Result<T, ConfigError>
        where
            T: crate::__private::FilterConfig;
    }

    impl<T> ParseJson<T> for &Format<T> {
        #[inline(always)]
        fn parse(
            &self,
            raw: &[u8],
            default: Option<fn() -> T>,
            schema: Option<&Schema>,
        ) -> Result<T, ConfigError>
        where
            T: crate::__private::FilterConfig,
        {
            crate::__private::parse_config(raw, default, schema)
        }
    }

    /// The schema a module records for a filter: only a JSON configuration has one.
    pub const fn schema_of(
        format: ConfigFormat,
        schema: Option<&'static Schema>,
    ) -> Option<&'static Schema> {
        match format {
            ConfigFormat::Json => schema,
            ConfigFormat::Text | ConfigFormat::Bytes => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Nested {
        routes: Vec<Route>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Route {
        weight: u8,
    }

    #[test]
    fn nested_errors_name_the_full_path() {
        let err = from_json::<Nested>(br#"{"routes":[{"weight":1},{"weight":"x"}]}"#, None, None)
            .unwrap_err();
        assert_eq!(err.path(), "config.routes[1].weight");
        assert!(err.message().contains("expected u8"), "{err}");
    }

    #[test]
    fn empty_config_uses_default_or_says_it_is_required() {
        assert_eq!(
            from_json::<Vec<u8>>(b"  ", Some(Vec::new), None).unwrap(),
            Vec::<u8>::new()
        );
        let err = from_json::<Nested>(b"", None, None).unwrap_err();
        assert_eq!(err.path(), "config");
        assert!(err.message().contains("`Nested` has no `Default`"), "{err}");
    }

    #[test]
    fn paths_are_related_when_one_holds_the_other() {
        assert!(related("config.a", "config.a"));
        assert!(related("config.a.b", "config.a"));
        assert!(related("config", "config[0]"));
        assert!(!related("config.ab", "config.a"));
        assert!(!related("config.a", "config.b"));
    }

    #[test]
    // The borrows are the expansion's: by value picks text or bytes, the autoref JSON.
    #[allow(clippy::needless_borrow)]
    fn the_config_type_picks_the_format_and_the_parse() {
        #[allow(unused_imports)]
        use super::format_probe::{
            Format, JsonFormat as _, ParseBytes as _, ParseJson as _, ParseText as _,
        };
        use std::marker::PhantomData;
        assert_eq!(Format::<String>::FORMAT, ConfigFormat::Text);
        assert_eq!(Format::<Vec<u8>>::FORMAT, ConfigFormat::Bytes);
        assert_eq!(Format::<Route>::FORMAT, ConfigFormat::Json);
        assert_eq!(Format::<Vec<u16>>::FORMAT, ConfigFormat::Json);

        // Text as is, JSON-looking or not; bytes as they are; others JSON.
        let text = (&Format::<String>(PhantomData)).parse(br#" "quoted" "#, None, None);
        assert_eq!(text.unwrap(), r#" "quoted" "#);
        let bytes = (&Format::<Vec<u8>>(PhantomData)).parse(b"\0\xff[1]", None, None);
        assert_eq!(bytes.unwrap(), b"\0\xff[1]");
        let json = (&Format::<Vec<u16>>(PhantomData)).parse(b"[1, 2]", None, None);
        assert_eq!(json.unwrap(), [1, 2]);
        let route = (&Format::<Route>(PhantomData)).parse(br#"{"weight":3}"#, None, None);
        assert_eq!(route.unwrap(), Route { weight: 3 });
        // Empty: an empty string and no bytes, with no `Default` needed.
        assert_eq!(
            (&Format::<String>(PhantomData))
                .parse(b"", None, None)
                .unwrap(),
            ""
        );
        assert!((&Format::<Vec<u8>>(PhantomData))
            .parse(b"", None, None)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_saying_where() {
        let error = from_text(b"ok\xc3(").unwrap_err();
        assert_eq!(error.path(), "config");
        assert!(
            error
                .message()
                .contains("not UTF-8 text (byte 0xc3 at offset 2)"),
            "{error}"
        );
        // Cut short inside a character.
        assert!(from_text(b"\xe2\x82")
            .unwrap_err()
            .message()
            .contains("offset 0"));
        // NUL is UTF-8.
        assert_eq!(from_text(b"a\0b").unwrap(), "a\0b");
    }

    #[test]
    fn only_json_configs_record_a_schema() {
        use super::format_probe::schema_of;
        use crate::schema::Schema;
        assert_eq!(
            schema_of(ConfigFormat::Json, Some(&Schema::String)),
            Some(&Schema::String)
        );
        assert_eq!(schema_of(ConfigFormat::Text, Some(&Schema::String)), None);
        assert_eq!(schema_of(ConfigFormat::Bytes, Some(&Schema::Any)), None);
    }

    #[test]
    fn malformed_json_and_trailing_garbage_are_errors() {
        assert!(from_json::<Route>(b"{\"weight\":", None, None).is_err());
        assert!(from_json::<Route>(b"{\"weight\":1} x", None, None).is_err());
        assert!(from_json::<Route>(b"\xff\xfe", None, None).is_err());
    }
}
