//! Typed plugin configuration, parsed from JSON.
//!
//! Envoy hands a filter its configuration as bytes (a `google.protobuf.StringValue`
//! arrives byte for byte; a `Struct` arrives as its JSON form). proxylet parses those
//! bytes once per configure into the filter's config type, any
//! [`serde::Deserialize`] type. When parsing fails, the error names the field and what was
//! expected, is logged, and configure returns `false`: Envoy then rejects the
//! configuration instead of running a half-configured filter.

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
    fn malformed_json_and_trailing_garbage_are_errors() {
        assert!(from_json::<Route>(b"{\"weight\":", None, None).is_err());
        assert!(from_json::<Route>(b"{\"weight\":1} x", None, None).is_err());
        assert!(from_json::<Route>(b"\xff\xfe", None, None).is_err());
    }
}
