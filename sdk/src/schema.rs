//! The JSON Schema of a filter's configuration, derived from its config type and carried
//! in the module, so tools can check a configuration before it reaches Envoy.
//!
//! `#[derive(ConfigSchema)]` (next to `Deserialize`) describes a config type as a
//! [`Schema`]: a tree of `&'static` values built at compile time, which follows the
//! type's serde attributes. `#[filter]` then embeds, for its root id, that schema as JSON
//! in the module's `proxylet.config_schema` custom section ([`CONFIG_SCHEMA_SECTION`]);
//! `cargo proxylet deploy` and `run` check a plugin configuration against it before
//! anything is written, naming the field at fault:
//!
//! ```text
//! error: the plugin config does not match the filter's config schema (…):
//!   config.value: expected string, found integer 5
//! ```
//!
//! The schema lives only in that section: it costs no code and no data in the module.
//!
//! ```
//! use proxylet::prelude::*;
//! use proxylet::schema::{json, json_len};
//!
//! #[derive(Deserialize, ConfigSchema)]
//! #[serde(rename_all = "camelCase", deny_unknown_fields)]
//! struct Config {
//!     header_name: String,
//!     #[serde(default)]
//!     max_age: Option<u32>,
//! }
//!
//! const JSON: [u8; json_len(Config::SCHEMA)] = json(Config::SCHEMA);
//! assert_eq!(
//!     std::str::from_utf8(&JSON).unwrap(),
//!     concat!(
//!         r#"{"type":"object","properties":{"headerName":{"type":"string"},"#,
//!         r#""maxAge":{"type":["integer","null"],"minimum":0,"maximum":4294967295}},"#,
//!         r#""required":["headerName"],"additionalProperties":false}"#,
//!     )
//! );
//! ```
//!
//! # The section
//! One line per filter that has a schema (other than [`Schema::Any`], which says nothing),
//! in the order `main!` lists them:
//! `{"rootId":"add_header","schema":{…}}` and a newline, with no other whitespace. Read it
//! with `proxylet-artifact` (`config_schemas`, `config_schema_for`).
//!
//! # What the JSON uses
//! A subset of JSON Schema (draft 2020-12) that validators agree on: `type` (a name, or
//! `[name, "null"]` for an [`Option`]), `properties`, `required`, `additionalProperties`,
//! `items`, `enum`, `minimum` and `maximum`. A schema may be looser than the type (a
//! data-carrying enum accepts anything), never stricter: a configuration the filter
//! would accept is never refused by the schema.
//!
//! Everything here runs at compile time (const evaluation): indexing and `panic!` are
//! compile errors at worst, never runtime traps.
#![allow(clippy::indexing_slicing, clippy::panic)]

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;

/// The name of the wasm custom section that carries a module's config schemas.
pub const CONFIG_SCHEMA_SECTION: &str = "proxylet.config_schema";

/// The shape of a JSON value a config type accepts.
///
/// Built at compile time, by `#[derive(ConfigSchema)]` or by hand:
///
/// ```
/// use proxylet::schema::{ConfigSchema, Field, Schema};
///
/// /// A percentage, written as a number from 0 to 100.
/// struct Weight(u8);
///
/// impl ConfigSchema for Weight {
///     const SCHEMA: &'static Schema = &Schema::Integer { min: 0, max: 100 };
/// }
///
/// struct Route { prefix: String, weight: Weight }
///
/// impl ConfigSchema for Route {
///     const SCHEMA: &'static Schema = &Schema::Object {
///         fields: &[
///             Field { name: "prefix", schema: String::SCHEMA, required: true },
///             Field { name: "weight", schema: Weight::SCHEMA, required: false },
///         ],
///         deny_unknown: true,
///     };
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Schema {
    /// Any JSON value (`{}`).
    Any,
    /// `true` or `false`.
    Bool,
    /// A whole number within `min..=max`. `i128::MIN` and `i128::MAX` mean unbounded on
    /// that side (so `u128` is written without a maximum).
    Integer {
        /// The smallest value accepted.
        min: i128,
        /// The largest value accepted.
        max: i128,
    },
    /// Any number.
    Number,
    /// A string.
    String,
    /// An array of values of one schema (`Vec`, sets, slices).
    Array(&'static Schema),
    /// An object whose values all have one schema, with any keys (`HashMap`, `BTreeMap`).
    Map(&'static Schema),
    /// The inner schema, or `null` (`Option`).
    Optional(&'static Schema),
    /// An object with named fields (a struct).
    Object {
        /// The fields, in declaration order.
        fields: &'static [Field],
        /// Whether fields not listed are refused (serde's `deny_unknown_fields`).
        deny_unknown: bool,
    },
    /// One of these strings (an enum of unit variants).
    Enum(&'static [&'static str]),
}

/// A field of a [`Schema::Object`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The name in JSON (after serde's `rename` and `rename_all`).
    pub name: &'static str,
    /// The field's value.
    pub schema: &'static Schema,
    /// Whether the configuration must have it (no `default`, not an `Option`).
    pub required: bool,
}

impl Schema {
    /// Whether this is [`Schema::Optional`]: a field of that schema may be left out
    /// (serde fills in `None`).
    pub const fn is_optional(&self) -> bool {
        matches!(self, Schema::Optional(_))
    }
}

/// A type whose JSON form has a known [`Schema`].
///
/// Derive it next to `Deserialize`: `#[derive(Deserialize, ConfigSchema)]`. The derive
/// follows serde's attributes: `rename_all`, `rename`, `default`, `deny_unknown_fields`,
/// `skip`/`skip_deserializing`, `alias`, `transparent`, `from`/`try_from`, and reports
/// `flatten` as unsupported. A struct becomes an object (its `Option` fields and fields
/// with a default are not required), an enum of unit variants the list of their names,
/// and any other enum accepts any value (the filter's own parsing judges it). Every
/// field's type must implement `ConfigSchema` too: derive it for your own types.
///
/// When a filter's config type implements `ConfigSchema`, `#[filter]` embeds its schema
/// in the module ([`HttpFilter::CONFIG_SCHEMA`](crate::HttpFilter::CONFIG_SCHEMA)) and
/// `cargo proxylet deploy` checks configurations against it.
///
/// ```
/// use proxylet::prelude::*;
///
/// #[derive(Deserialize, ConfigSchema)]
/// #[serde(rename_all = "snake_case")]
/// enum Mode { Set, Append }
///
/// #[derive(Deserialize, ConfigSchema)]
/// #[serde(deny_unknown_fields)]
/// struct Config {
///     name: String,
///     #[serde(default)]
///     values: Vec<String>,
///     mode: Option<Mode>,
/// }
///
/// let value = proxylet::schema::to_json(Config::SCHEMA);
/// assert_eq!(
///     value,
///     concat!(
///         r#"{"type":"object","properties":{"name":{"type":"string"},"#,
///         r#""values":{"type":"array","items":{"type":"string"}},"#,
///         r#""mode":{"enum":["set","append",null]}},"#,
///         r#""required":["name"],"additionalProperties":false}"#,
///     )
/// );
/// ```
///
/// Generic types get the bound `T: ConfigSchema` on each type parameter. A type that
/// contains itself through other types (`A` holds a `Vec<B>`, `B` holds an `A`) makes
/// const evaluation cycle: implement `ConfigSchema` by hand for one of them, with
/// [`Schema::Any`] where the cycle closes. A field of the type's own type is described as
/// [`Schema::Any`] by the derive.
///
/// Misuse is a compile error:
/// ```compile_fail
/// # use proxylet::prelude::*;
/// #[derive(Deserialize, ConfigSchema)]
/// struct Config {
///     #[serde(flatten)] // the schema cannot describe flattened fields
///     extra: std::collections::HashMap<String, String>,
/// }
/// ```
/// ```compile_fail
/// # use proxylet::prelude::*;
/// struct Duration;
/// #[derive(Deserialize, ConfigSchema)]
/// struct Config { timeout: Duration } // `Duration` does not implement `ConfigSchema`
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no config schema",
    label = "`{Self}` does not implement `ConfigSchema`",
    note = "derive it (`#[derive(Deserialize, ConfigSchema)]`), or implement `proxylet::schema::ConfigSchema` by hand (`Schema::Any` accepts any value)"
)]
pub trait ConfigSchema {
    /// The schema of this type's JSON form.
    const SCHEMA: &'static Schema;
}

#[doc(inline)]
pub use proxylet_macros::ConfigSchema;

macro_rules! schemas {
    ($($schema:expr => $($ty:ty),+;)*) => {$($(
        impl ConfigSchema for $ty {
            const SCHEMA: &'static Schema = &$schema;
        }
    )+)*};
}

macro_rules! integers {
    ($($ty:ty),*) => {$(
        impl ConfigSchema for $ty {
            // `as` widens losslessly; `u128::MAX` does not fit and becomes "no maximum".
            const SCHEMA: &'static Schema = &Schema::Integer {
                min: <$ty>::MIN as i128,
                max: if <$ty>::MAX as u128 > i128::MAX as u128 { i128::MAX } else { <$ty>::MAX as i128 },
            };
        }
    )*};
}

integers!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

schemas! {
    Schema::Any => (), serde_json::Value;
    Schema::Map(&Schema::Any) => serde_json::Map<String, serde_json::Value>;
    Schema::Bool => bool;
    Schema::Number => f32, f64, serde_json::Number;
    Schema::String => String, str, char, IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr;
}

macro_rules! wrappers {
    ($($variant:ident => $($ty:ident<$t:ident $(, $extra:ident)*>),+;)*) => {$($(
        impl<$t: ConfigSchema $(, $extra)*> ConfigSchema for $ty<$t $(, $extra)*> {
            const SCHEMA: &'static Schema = &Schema::$variant($t::SCHEMA);
        }
    )+)*};
}

wrappers! {
    Array => Vec<T>, VecDeque<T>, HashSet<T, S>, BTreeSet<T>;
    Optional => Option<T>;
}

impl<T: ConfigSchema> ConfigSchema for [T] {
    const SCHEMA: &'static Schema = &Schema::Array(T::SCHEMA);
}

impl<T: ConfigSchema, const N: usize> ConfigSchema for [T; N] {
    const SCHEMA: &'static Schema = &Schema::Array(T::SCHEMA);
}

impl<T: ConfigSchema + ?Sized> ConfigSchema for Box<T> {
    const SCHEMA: &'static Schema = T::SCHEMA;
}

impl<T: ConfigSchema + ?Sized> ConfigSchema for Rc<T> {
    const SCHEMA: &'static Schema = T::SCHEMA;
}

impl<T: ConfigSchema + ?Sized> ConfigSchema for Arc<T> {
    const SCHEMA: &'static Schema = T::SCHEMA;
}

impl<T: ConfigSchema + ToOwned + ?Sized> ConfigSchema for Cow<'_, T> {
    const SCHEMA: &'static Schema = T::SCHEMA;
}

/// Keys are not described: JSON keys are strings, and serde reads integer keys from them.
impl<K, V: ConfigSchema, S> ConfigSchema for HashMap<K, V, S> {
    const SCHEMA: &'static Schema = &Schema::Map(V::SCHEMA);
}

/// Keys are not described: JSON keys are strings, and serde reads integer keys from them.
impl<K, V: ConfigSchema> ConfigSchema for BTreeMap<K, V> {
    const SCHEMA: &'static Schema = &Schema::Map(V::SCHEMA);
}

/// The length of [`json`] of `schema`, in bytes.
pub const fn json_len(schema: &Schema) -> usize {
    let mut w = Writer::counting();
    w.schema(schema, false);
    w.len
}

/// `schema` as JSON Schema text (compact, no whitespace); `N` must be
/// [`json_len`]`(schema)`, which a const item gets for free:
///
/// ```
/// use proxylet::schema::{json, json_len, ConfigSchema};
/// const JSON: [u8; json_len(<Vec<bool>>::SCHEMA)] = json(<Vec<bool>>::SCHEMA);
/// assert_eq!(&JSON, br#"{"type":"array","items":{"type":"boolean"}}"#);
/// ```
pub const fn json<const N: usize>(schema: &Schema) -> [u8; N] {
    let mut out = [0u8; N];
    let mut w = Writer {
        out: &mut out,
        len: 0,
    };
    w.schema(schema, false);
    if w.len != N {
        panic!("`json::<N>(schema)` needs `N == json_len(schema)`");
    }
    out
}

/// `schema` as JSON Schema text, at run time.
pub fn to_json(schema: &Schema) -> String {
    let mut buf = vec![0; json_len(schema)];
    let mut w = Writer {
        out: &mut buf,
        len: 0,
    };
    w.schema(schema, false);
    // Only ASCII is escaped; names are `&str`, so the bytes stay UTF-8.
    String::from_utf8(buf).unwrap_or_default()
}

/// One filter's entry in the section: its root id, and its config schema if it has one.
#[doc(hidden)]
pub type SectionEntry = (&'static str, Option<&'static Schema>);

/// The length of [`section`] of `entries`.
#[doc(hidden)]
pub const fn section_len(entries: &[SectionEntry]) -> usize {
    let mut w = Writer::counting();
    w.section(entries);
    w.len
}

/// The `proxylet.config_schema` section: a line `{"rootId":…,"schema":…}` per entry with
/// a schema; `N` is [`section_len`] of them.
#[doc(hidden)]
pub const fn section<const N: usize>(entries: &[SectionEntry]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut w = Writer {
        out: &mut out,
        len: 0,
    };
    w.section(entries);
    if w.len != N {
        panic!("`section::<N>(entries)` needs `N == section_len(entries)`");
    }
    out
}

/// `SCHEMA` is `Some(T::SCHEMA)` when `T: ConfigSchema` (this inherent const wins), else
/// `None` (from [`NoSchema`], in scope at the use site). Resolved where `T` is a concrete
/// type, which is where `#[filter]` uses it.
#[doc(hidden)]
pub struct SchemaProbe<T: ?Sized>(PhantomData<T>);

impl<T: ConfigSchema + ?Sized> SchemaProbe<T> {
    /// The type's schema.
    pub const SCHEMA: Option<&'static Schema> = Some(T::SCHEMA);
}

/// The fallback of [`SchemaProbe`] for types without a schema.
#[doc(hidden)]
pub trait NoSchema {
    /// No schema.
    const SCHEMA: Option<&'static Schema> = None;
}

impl<T: ?Sized> NoSchema for SchemaProbe<T> {}

/// Writes JSON into `out`, or only counts its length when `out` is too short (empty).
struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    const fn counting() -> Writer<'static> {
        Writer {
            out: &mut [],
            len: 0,
        }
    }

    const fn byte(&mut self, byte: u8) {
        if self.len < self.out.len() {
            self.out[self.len] = byte;
        }
        self.len += 1;
    }

    const fn raw(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            self.byte(bytes[i]);
            i += 1;
        }
    }

    /// A JSON string literal.
    const fn string(&mut self, text: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bytes = text.as_bytes();
        self.byte(b'"');
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'"' | b'\\' => {
                    self.byte(b'\\');
                    self.byte(b);
                }
                0..=0x1f => {
                    self.raw(b"\\u00");
                    self.byte(HEX[(b >> 4) as usize]);
                    self.byte(HEX[(b & 0xf) as usize]);
                }
                _ => self.byte(b),
            }
            i += 1;
        }
        self.byte(b'"');
    }

    const fn integer(&mut self, n: i128) {
        if n < 0 {
            self.byte(b'-');
        }
        let mut rest = n.unsigned_abs();
        let mut digits = [0u8; 39];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (rest % 10) as u8;
            count += 1;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        while count > 0 {
            count -= 1;
            self.byte(digits[count]);
        }
    }

    /// `"type":"name"`, or `"type":["name","null"]` when `nullable`.
    const fn kind(&mut self, name: &[u8], nullable: bool) {
        self.raw(b"{\"type\":");
        if nullable {
            self.byte(b'[');
        }
        self.byte(b'"');
        self.raw(name);
        self.byte(b'"');
        if nullable {
            self.raw(b",\"null\"]");
        }
    }

    /// `nullable`: an `Option` around it, merged into the schema (`null` joins the
    /// accepted types or values), which reads better in a validator's errors than `anyOf`.
    const fn schema(&mut self, schema: &Schema, nullable: bool) {
        match *schema {
            Schema::Optional(inner) => self.schema(inner, true),
            Schema::Any => self.raw(b"{}"),
            Schema::Enum(names) => {
                self.raw(b"{\"enum\":[");
                let mut i = 0;
                while i < names.len() {
                    if i > 0 {
                        self.byte(b',');
                    }
                    self.string(names[i]);
                    i += 1;
                }
                if nullable {
                    if !names.is_empty() {
                        self.byte(b',');
                    }
                    self.raw(b"null");
                }
                self.raw(b"]}");
            }
            Schema::Bool => {
                self.kind(b"boolean", nullable);
                self.byte(b'}');
            }
            Schema::Number => {
                self.kind(b"number", nullable);
                self.byte(b'}');
            }
            Schema::String => {
                self.kind(b"string", nullable);
                self.byte(b'}');
            }
            Schema::Integer { min, max } => {
                self.kind(b"integer", nullable);
                if min != i128::MIN {
                    self.raw(b",\"minimum\":");
                    self.integer(min);
                }
                if max != i128::MAX {
                    self.raw(b",\"maximum\":");
                    self.integer(max);
                }
                self.byte(b'}');
            }
            Schema::Array(item) => {
                self.kind(b"array", nullable);
                if !matches!(item, Schema::Any) {
                    self.raw(b",\"items\":");
                    self.schema(item, false);
                }
                self.byte(b'}');
            }
            Schema::Map(value) => {
                self.kind(b"object", nullable);
                if !matches!(value, Schema::Any) {
                    self.raw(b",\"additionalProperties\":");
                    self.schema(value, false);
                }
                self.byte(b'}');
            }
            Schema::Object {
                fields,
                deny_unknown,
            } => {
                self.kind(b"object", nullable);
                if !fields.is_empty() {
                    self.raw(b",\"properties\":{");
                    let mut i = 0;
                    while i < fields.len() {
                        if i > 0 {
                            self.byte(b',');
                        }
                        self.string(fields[i].name);
                        self.byte(b':');
                        self.schema(fields[i].schema, false);
                        i += 1;
                    }
                    self.byte(b'}');
                }
                let mut first = true;
                let mut i = 0;
                while i < fields.len() {
                    if fields[i].required {
                        self.raw(if first { b",\"required\":[" } else { b"," });
                        self.string(fields[i].name);
                        first = false;
                    }
                    i += 1;
                }
                if !first {
                    self.byte(b']');
                }
                if deny_unknown {
                    self.raw(b",\"additionalProperties\":false");
                }
                self.byte(b'}');
            }
        }
    }

    /// `Any` says nothing: such filters get no line, as if they had no schema.
    const fn section(&mut self, entries: &[SectionEntry]) {
        let mut i = 0;
        while i < entries.len() {
            if let (root_id, Some(schema)) = entries[i] {
                if matches!(schema, Schema::Any | Schema::Optional(Schema::Any)) {
                    i += 1;
                    continue;
                }
                self.raw(b"{\"rootId\":");
                self.string(root_id);
                self.raw(b",\"schema\":");
                self.schema(schema, false);
                self.raw(b"}\n");
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn parsed(schema: &Schema) -> Value {
        let text = to_json(schema);
        assert_eq!(text.len(), json_len(schema));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    #[test]
    fn scalars_and_integer_bounds() {
        assert_eq!(parsed(&Schema::Any), json!({}));
        assert_eq!(parsed(bool::SCHEMA), json!({"type": "boolean"}));
        assert_eq!(parsed(f64::SCHEMA), json!({"type": "number"}));
        assert_eq!(parsed(String::SCHEMA), json!({"type": "string"}));
        assert_eq!(parsed(char::SCHEMA), json!({"type": "string"}));
        assert_eq!(parsed(<()>::SCHEMA), json!({}));
        assert_eq!(parsed(serde_json::Value::SCHEMA), json!({}));
        assert_eq!(
            parsed(<serde_json::Map<String, serde_json::Value>>::SCHEMA),
            json!({"type": "object"})
        );
        assert_eq!(
            parsed(u8::SCHEMA),
            json!({"type": "integer", "minimum": 0, "maximum": 255})
        );
        assert_eq!(
            parsed(i64::SCHEMA),
            json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX})
        );
        assert_eq!(
            parsed(u64::SCHEMA),
            json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})
        );
        assert_eq!(
            parsed(u128::SCHEMA),
            json!({"type": "integer", "minimum": 0})
        );
        assert_eq!(parsed(i128::SCHEMA), json!({"type": "integer"}));
        assert_eq!(
            parsed(&Schema::Integer { min: -7, max: 100 }),
            json!({"type": "integer", "minimum": -7, "maximum": 100})
        );
    }

    #[test]
    fn containers() {
        assert_eq!(
            parsed(<Vec<bool>>::SCHEMA),
            json!({"type": "array", "items": {"type": "boolean"}})
        );
        assert_eq!(
            parsed(<BTreeSet<String>>::SCHEMA),
            parsed(<[String; 2]>::SCHEMA)
        );
        assert_eq!(
            parsed(<Vec<serde_json::Value>>::SCHEMA),
            json!({"type": "array"})
        );
        assert_eq!(
            parsed(<HashMap<String, u8>>::SCHEMA),
            json!({"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 255}})
        );
        assert_eq!(
            parsed(<BTreeMap<u16, ()>>::SCHEMA),
            json!({"type": "object"})
        );
        assert_eq!(parsed(<Box<str>>::SCHEMA), json!({"type": "string"}));
        assert_eq!(
            parsed(<Arc<Vec<f32>>>::SCHEMA),
            json!({"type": "array", "items": {"type": "number"}})
        );
    }

    #[test]
    fn optional_adds_null_to_the_inner_schema() {
        assert_eq!(
            parsed(<Option<String>>::SCHEMA),
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            parsed(<Option<Option<u8>>>::SCHEMA),
            json!({"type": ["integer", "null"], "minimum": 0, "maximum": 255})
        );
        assert_eq!(
            parsed(<Option<Vec<bool>>>::SCHEMA),
            json!({"type": ["array", "null"], "items": {"type": "boolean"}})
        );
        assert_eq!(
            parsed(<Vec<Option<bool>>>::SCHEMA),
            json!({"type": "array", "items": {"type": ["boolean", "null"]}})
        );
        assert_eq!(parsed(<Option<serde_json::Value>>::SCHEMA), json!({}));
        assert_eq!(
            parsed(&Schema::Optional(&Schema::Enum(&["a", "b"]))),
            json!({"enum": ["a", "b", null]})
        );
        assert_eq!(
            parsed(&Schema::Optional(&Schema::Enum(&[]))),
            json!({"enum": [null]})
        );
        assert!(<Option<u8>>::SCHEMA.is_optional());
        assert!(!<Vec<u8>>::SCHEMA.is_optional());
    }

    #[test]
    fn objects_list_properties_required_and_unknown_fields() {
        const RULE: Schema = Schema::Object {
            fields: &[
                Field {
                    name: "prefix",
                    schema: &Schema::String,
                    required: true,
                },
                Field {
                    name: "weight",
                    schema: &Schema::Optional(&Schema::Number),
                    required: false,
                },
                Field {
                    name: "mode",
                    schema: &Schema::Enum(&["set", "append"]),
                    required: true,
                },
            ],
            deny_unknown: true,
        };
        assert_eq!(
            parsed(&RULE),
            json!({
                "type": "object",
                "properties": {
                    "prefix": {"type": "string"},
                    "weight": {"type": ["number", "null"]},
                    "mode": {"enum": ["set", "append"]}
                },
                "required": ["prefix", "mode"],
                "additionalProperties": false
            })
        );
        let open = Schema::Object {
            fields: &[],
            deny_unknown: false,
        };
        assert_eq!(parsed(&open), json!({"type": "object"}));
        assert_eq!(
            parsed(&Schema::Optional(&RULE))["type"],
            json!(["object", "null"])
        );
    }

    #[test]
    fn names_are_escaped() {
        let odd = Schema::Object {
            fields: &[Field {
                name: "a\"b\\c\nd\u{1}é",
                schema: &Schema::Any,
                required: true,
            }],
            deny_unknown: false,
        };
        assert_eq!(
            parsed(&odd),
            json!({"type": "object", "properties": {"a\"b\\c\nd\u{1}é": {}}, "required": ["a\"b\\c\nd\u{1}é"]})
        );
        assert_eq!(
            parsed(&Schema::Enum(&["\u{1f}"])),
            json!({"enum": ["\u{1f}"]})
        );
    }

    #[test]
    fn const_json_matches_run_time_json() {
        const SCHEMA: &Schema = <Option<Vec<i8>>>::SCHEMA;
        const JSON: [u8; json_len(SCHEMA)] = json(SCHEMA);
        assert_eq!(std::str::from_utf8(&JSON).unwrap(), to_json(SCHEMA));
    }

    #[test]
    fn the_section_has_a_line_per_filter_with_a_schema() {
        const ENTRIES: &[SectionEntry] = &[
            ("add_header", Some(&Schema::String)),
            ("no_config", None),
            ("anything", Some(&Schema::Any)),
            ("other", Some(&Schema::Bool)),
        ];
        const SECTION: [u8; section_len(ENTRIES)] = section(ENTRIES);
        assert_eq!(
            std::str::from_utf8(&SECTION).unwrap(),
            concat!(
                "{\"rootId\":\"add_header\",\"schema\":{\"type\":\"string\"}}\n",
                "{\"rootId\":\"other\",\"schema\":{\"type\":\"boolean\"}}\n"
            )
        );
        assert_eq!(section_len(&[("x", None), ("y", Some(&Schema::Any))]), 0);
    }

    #[test]
    fn the_probe_finds_a_schema_only_where_there_is_one() {
        #[allow(unused_imports)]
        use super::NoSchema as _;
        struct Opaque;
        assert_eq!(SchemaProbe::<Vec<u8>>::SCHEMA, Some(<Vec<u8>>::SCHEMA));
        assert_eq!(SchemaProbe::<Opaque>::SCHEMA, None);
    }
}
