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
//! The schema lives in that section, which costs no code. One more use puts the tree in
//! the module's data: when the configuration has an internally tagged, adjacently tagged
//! or untagged enum ([`Schema::hides_error_paths`]), serde cannot say where in it an
//! error is, and [`from_json`](crate::config::from_json) walks the configuration with the
//! schema (only when parsing failed) to name the field, the same one `cargo proxylet`
//! names. A module without such an enum carries neither the tree nor the walk.
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
//! `minProperties`, `maxProperties`, `items`, `prefixItems`, `minItems`, `maxItems`,
//! `enum`, `const`, `not`, `oneOf`, `anyOf`, `allOf`, `minimum` and `maximum`, and
//! `title` (an untagged variant's name). Integer bounds are exactly those of the Rust
//! type (`u64`: `0` to `18446744073709551615`).
//!
//! Enums follow serde's [representations](https://serde.rs/enum-representations.html)
//! ([`Schema::Variants`], [`Tagging`]):
//!
//! | serde | JSON Schema |
//! |---|---|
//! | unit variants only | `{"enum": ["deny", "allow"]}` |
//! | externally tagged (the default) | `oneOf`: the unit variants' names, or an object of exactly one property, the variant (`minProperties`/`maxProperties` 1) |
//! | `tag = "mode"` | `oneOf` objects, each with `"mode": {"const": "…"}` required next to the variant's fields |
//! | `tag = "t", content = "c"` | `oneOf` objects `{"t": {"const": "…"}, "c": content}` |
//! | `untagged` | `anyOf` the variants' contents, each `title`d with its name |
//! | `untagged` on some variants | `anyOf` the tagged form and those variants |
//! | `other` | a form whose tag is any string but the others (`not`) |
//!
//! A schema may be looser than the type (a `try_from` newtype is described by the type it
//! is read from; `deserialize_with` accepts anything), never stricter: a configuration the
//! filter would accept is never refused by the schema. The exceptions are forms of serde
//! no one writes by hand: serde also reads a struct from an array of its fields, and the
//! schema describes the object only.
//!
//! Everything here runs at compile time (const evaluation): indexing and `panic!` are
//! compile errors at worst, never runtime traps. [`Schema::hides_error_paths`] also runs
//! at run time, without either.
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
    /// An array of exactly these values, in order (a tuple, a tuple struct or a tuple
    /// variant).
    Tuple(&'static [&'static Schema]),
    /// An enum whose variants carry data (or one that is not written as plain strings),
    /// in one of serde's representations.
    Variants {
        /// How a variant is told apart: serde's `tag`, `content` and `untagged`.
        tagging: Tagging,
        /// The variants, in declaration order; an alias is a variant of its own with the
        /// same content.
        variants: &'static [Variant],
    },
}

/// How the variants of a [`Schema::Variants`] are written, after serde's
/// [enum representations](https://serde.rs/enum-representations.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagging {
    /// serde's default: `"name"` for a unit variant, `{"name": content}` for any variant.
    External,
    /// `#[serde(tag = "…")]`: `{"tag": "name", …fields}`, the variant's fields (or its
    /// newtype's) next to the tag.
    Internal {
        /// The key of the variant's name.
        tag: &'static str,
    },
    /// `#[serde(tag = "…", content = "…")]`: `{"tag": "name", "content": content}`; a unit
    /// variant may leave the content out.
    Adjacent {
        /// The key of the variant's name.
        tag: &'static str,
        /// The key of its content.
        content: &'static str,
        /// Whether keys other than these two are refused (serde's `deny_unknown_fields`).
        deny_unknown: bool,
    },
    /// `#[serde(untagged)]`: the content alone (`null` for a unit variant); the first
    /// variant that accepts it wins.
    Untagged,
}

/// A variant of a [`Schema::Variants`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// The name in JSON (after serde's `rename` and `rename_all`).
    pub name: &'static str,
    /// What the variant carries: `None` for a unit variant; for a newtype variant the
    /// inner type's schema, for a tuple variant a [`Schema::Tuple`], for a struct variant
    /// a [`Schema::Object`].
    pub content: Option<&'static Schema>,
    /// Written as its content alone, tried after the tagged variants do not match
    /// (serde's `#[serde(untagged)]` on a variant; every variant of a
    /// [`Tagging::Untagged`] enum).
    pub untagged: bool,
    /// Also chosen for a name that no variant has (serde's `#[serde(other)]`, on a unit
    /// variant).
    pub other: bool,
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

    /// Whether a value of this schema may hold an enum serde reads from a buffer of its
    /// own (internally or adjacently tagged, or untagged), where its errors lose their
    /// path: [`from_json`](crate::config::from_json) then finds the field with the schema.
    pub const fn hides_error_paths(&self) -> bool {
        match *self {
            Schema::Array(inner) | Schema::Map(inner) | Schema::Optional(inner) => {
                inner.hides_error_paths()
            }
            Schema::Tuple(mut items) => {
                while let [item, rest @ ..] = items {
                    if item.hides_error_paths() {
                        return true;
                    }
                    items = rest;
                }
                false
            }
            Schema::Object { mut fields, .. } => {
                while let [field, rest @ ..] = fields {
                    if field.schema.hides_error_paths() {
                        return true;
                    }
                    fields = rest;
                }
                false
            }
            Schema::Variants {
                tagging,
                mut variants,
            } => {
                if !matches!(tagging, Tagging::External) {
                    return true;
                }
                while let [variant, rest @ ..] = variants {
                    if variant.untagged {
                        return true;
                    }
                    if let Some(content) = variant.content {
                        if content.hides_error_paths() {
                            return true;
                        }
                    }
                    variants = rest;
                }
                false
            }
            Schema::Any
            | Schema::Bool
            | Schema::Integer { .. }
            | Schema::Number
            | Schema::String
            | Schema::Enum(_) => false,
        }
    }
}

/// `schema` when [`Schema::hides_error_paths`], else `None`: evaluated at compile time by
/// `#[filter]`, so that a module whose configuration has no such enum does not carry the
/// code that walks one.
#[doc(hidden)]
pub const fn for_errors(schema: Option<&'static Schema>) -> Option<&'static Schema> {
    match schema {
        Some(schema) if schema.hides_error_paths() => Some(schema),
        _ => None,
    }
}

/// A type whose JSON form has a known [`Schema`].
///
/// Derive it next to `Deserialize`: `#[derive(Deserialize, ConfigSchema)]`. The derive
/// follows serde's attributes: `rename_all`, `rename_all_fields`, `rename`, `default`,
/// `deny_unknown_fields`, `skip`/`skip_deserializing`, `alias`, `transparent`,
/// `from`/`try_from`, `deserialize_with`, and on enums `tag`, `content`, `untagged` (on
/// the enum or on variants) and `other`; it reports `flatten` as unsupported. A struct
/// becomes an object (its `Option` fields and fields with a default are not required),
/// a tuple struct an array of its fields, an enum of unit variants the list of their
/// names, and any other enum its variants in serde's representation ([`Schema::Variants`]:
/// newtype, tuple and struct variants). Every field's type must implement `ConfigSchema`
/// too: derive it for your own types.
///
/// An enum with data, internally tagged like `examples/auth`:
///
/// ```
/// use proxylet::prelude::*;
///
/// #[derive(Deserialize, ConfigSchema)]
/// #[serde(tag = "mode", rename_all = "snake_case")]
/// enum Auth {
///     ApiKey { keys: Vec<String> },
///     Open,
/// }
///
/// assert_eq!(
///     proxylet::schema::to_json(Auth::SCHEMA),
///     concat!(
///         r#"{"oneOf":[{"type":"object","properties":{"mode":{"const":"api_key"},"#,
///         r#""keys":{"type":"array","items":{"type":"string"}}},"required":["mode","keys"]},"#,
///         r#"{"type":"object","properties":{"mode":{"const":"open"}},"required":["mode"]}]}"#,
///     )
/// );
/// ```
///
/// When a filter's config type implements `ConfigSchema`, `#[filter]` embeds its schema
/// in the module ([`Filter::CONFIG_SCHEMA`](crate::Filter::CONFIG_SCHEMA)) and
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
/// #[serde(tag = "mode")]
/// enum Config {
///     Header(String), // an internally tagged variant is read from an object
/// }
/// ```
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
    w.schema(schema, false, None);
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
    w.schema(schema, false, None);
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
    w.schema(schema, false, None);
    // Only ASCII is escaped; names are `&str`, so the bytes stay UTF-8.
    String::from_utf8(buf).unwrap_or_default()
}

/// One filter's entry in the section: its root id, its config schema if it has one, and
/// how it reads its configuration.
#[doc(hidden)]
pub type SectionEntry = (
    &'static str,
    Option<&'static Schema>,
    crate::config::ConfigFormat,
);

/// The length of [`section`] of `entries`.
#[doc(hidden)]
pub const fn section_len(entries: &[SectionEntry]) -> usize {
    let mut w = Writer::counting();
    w.section(entries);
    w.len
}

/// The `proxylet.config_schema` section: a line `{"rootId":…,"schema":…}` per entry with
/// a schema, and `{"rootId":…,"format":"text"}` (or `"bytes"`) per entry whose
/// configuration is not JSON; `N` is [`section_len`] of them.
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

    /// `{`, and `"title":"…",` when `title` is given (a variant's name, which readers and
    /// validators' messages use).
    const fn open(&mut self, title: Option<&str>) {
        self.byte(b'{');
        if let Some(title) = title {
            self.raw(b"\"title\":");
            self.string(title);
            self.byte(b',');
        }
    }

    /// `{"type":"name"`, or `{"type":["name","null"]` when `nullable`.
    const fn kind(&mut self, name: &[u8], nullable: bool, title: Option<&str>) {
        self.open(title);
        self.raw(b"\"type\":");
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

    /// `{"type":"null"}`.
    const fn null(&mut self, title: Option<&str>) {
        self.kind(b"null", false, title);
        self.byte(b'}');
    }

    /// A `,` before every item but the first.
    const fn separate(&mut self, first: &mut bool) {
        if !*first {
            self.byte(b',');
        }
        *first = false;
    }

    /// `nullable`: an `Option` around it, merged into the schema (`null` joins the
    /// accepted types or values), which reads better in a validator's errors than `anyOf`.
    const fn schema(&mut self, schema: &Schema, nullable: bool, title: Option<&str>) {
        match *schema {
            Schema::Optional(inner) => self.schema(inner, true, title),
            Schema::Any => {
                self.byte(b'{');
                if let Some(title) = title {
                    self.raw(b"\"title\":");
                    self.string(title);
                }
                self.byte(b'}');
            }
            Schema::Enum(names) => {
                self.open(title);
                self.raw(b"\"enum\":[");
                self.names(names);
                if nullable {
                    if !names.is_empty() {
                        self.byte(b',');
                    }
                    self.raw(b"null");
                }
                self.raw(b"]}");
            }
            Schema::Bool => {
                self.kind(b"boolean", nullable, title);
                self.byte(b'}');
            }
            Schema::Number => {
                self.kind(b"number", nullable, title);
                self.byte(b'}');
            }
            Schema::String => {
                self.kind(b"string", nullable, title);
                self.byte(b'}');
            }
            Schema::Integer { min, max } => {
                self.kind(b"integer", nullable, title);
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
                self.kind(b"array", nullable, title);
                if !matches!(item, Schema::Any) {
                    self.raw(b",\"items\":");
                    self.schema(item, false, None);
                }
                self.byte(b'}');
            }
            Schema::Tuple(items) => {
                self.kind(b"array", nullable, title);
                self.raw(b",\"prefixItems\":[");
                let mut i = 0;
                while i < items.len() {
                    if i > 0 {
                        self.byte(b',');
                    }
                    self.schema(items[i], false, None);
                    i += 1;
                }
                self.raw(b"],\"minItems\":");
                self.integer(items.len() as i128);
                self.raw(b",\"maxItems\":");
                self.integer(items.len() as i128);
                self.byte(b'}');
            }
            Schema::Map(value) => {
                self.kind(b"object", nullable, title);
                if !matches!(value, Schema::Any) {
                    self.raw(b",\"additionalProperties\":");
                    self.schema(value, false, None);
                }
                self.byte(b'}');
            }
            Schema::Object {
                fields,
                deny_unknown,
            } => {
                self.kind(b"object", nullable, title);
                self.fields(None, fields, deny_unknown);
                self.byte(b'}');
            }
            Schema::Variants { tagging, variants } => {
                self.variants(tagging, variants, nullable, title)
            }
        }
    }

    /// `"a","b"`.
    const fn names(&mut self, names: &[&str]) {
        let mut i = 0;
        while i < names.len() {
            if i > 0 {
                self.byte(b',');
            }
            self.string(names[i]);
            i += 1;
        }
    }

    /// An object's `properties` (after the tag `"tag":{"const":"name"}` when given),
    /// `required` and `additionalProperties`, each with its leading comma.
    const fn fields(&mut self, tag: Option<(&str, &str)>, fields: &[Field], deny_unknown: bool) {
        let mut first = true;
        if let Some((key, name)) = tag {
            self.raw(b",\"properties\":{");
            self.string(key);
            self.raw(b":{\"const\":");
            self.string(name);
            self.byte(b'}');
            first = false;
        }
        let mut i = 0;
        while i < fields.len() {
            // serde hands the tag to the enum, never to the fields.
            if let Some((key, _)) = tag {
                if str_eq(fields[i].name, key) {
                    i += 1;
                    continue;
                }
            }
            self.raw(if first { b",\"properties\":{" } else { b"," });
            first = false;
            self.string(fields[i].name);
            self.byte(b':');
            self.schema(fields[i].schema, false, None);
            i += 1;
        }
        if !first {
            self.byte(b'}');
        }
        let mut first = true;
        if let Some((key, _)) = tag {
            self.raw(b",\"required\":[");
            self.string(key);
            first = false;
        }
        let mut i = 0;
        while i < fields.len() {
            let tag_field = match tag {
                Some((key, _)) => str_eq(fields[i].name, key),
                None => false,
            };
            if fields[i].required && !tag_field {
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
    }

    /// An enum with data: its tagged variants as a `oneOf` (each told apart by its tag),
    /// then its untagged ones, as an `anyOf` of both when there are untagged ones.
    const fn variants(
        &mut self,
        tagging: Tagging,
        variants: &[Variant],
        nullable: bool,
        title: Option<&str>,
    ) {
        let mut tagged = 0;
        let mut i = 0;
        while i < variants.len() {
            if !is_untagged(tagging, &variants[i]) {
                tagged += 1;
            }
            i += 1;
        }
        if tagged == variants.len() {
            return self.tagged(tagging, variants, nullable, title);
        }
        self.open(title);
        self.raw(b"\"anyOf\":[");
        let mut first = true;
        if tagged > 0 {
            self.separate(&mut first);
            self.tagged(tagging, variants, false, None);
        }
        let mut i = 0;
        while i < variants.len() {
            let variant = &variants[i];
            if is_untagged(tagging, variant) {
                self.separate(&mut first);
                match variant.content {
                    Some(content) => self.schema(content, false, Some(variant.name)),
                    None => self.null(Some(variant.name)),
                }
            }
            i += 1;
        }
        if nullable {
            self.separate(&mut first);
            self.null(None);
        }
        self.raw(b"]}");
    }

    /// The tagged variants (untagged ones are skipped), as a `oneOf`.
    const fn tagged(
        &mut self,
        tagging: Tagging,
        variants: &[Variant],
        nullable: bool,
        title: Option<&str>,
    ) {
        self.open(title);
        self.raw(b"\"oneOf\":[");
        let mut first = true;
        let mut other = false;
        let mut units = 0;
        let mut i = 0;
        while i < variants.len() {
            let variant = &variants[i];
            if !is_untagged(tagging, variant) {
                other |= variant.other;
                if variant.content.is_none() {
                    units += 1;
                }
            }
            i += 1;
        }
        match tagging {
            Tagging::External => {
                // The name alone (unit variants; any string with an `other` variant)...
                if other {
                    self.separate(&mut first);
                    self.raw(b"{\"type\":\"string\"}");
                } else if units > 0 {
                    self.separate(&mut first);
                    self.raw(b"{\"enum\":[");
                    let mut first_name = true;
                    let mut i = 0;
                    while i < variants.len() {
                        let variant = &variants[i];
                        if !is_untagged(tagging, variant) && variant.content.is_none() {
                            self.separate(&mut first_name);
                            self.string(variant.name);
                        }
                        i += 1;
                    }
                    self.raw(b"]}");
                }
                // ... or an object of one field, the variant, holding its content.
                self.separate(&mut first);
                self.raw(b"{\"type\":\"object\",\"properties\":{");
                let mut first_field = true;
                let mut i = 0;
                while i < variants.len() {
                    let variant = &variants[i];
                    if !is_untagged(tagging, variant) {
                        self.separate(&mut first_field);
                        self.string(variant.name);
                        self.byte(b':');
                        match variant.content {
                            Some(content) => self.schema(content, false, None),
                            None => self.null(None),
                        }
                    }
                    i += 1;
                }
                self.raw(b"},\"minProperties\":1,\"maxProperties\":1,\"additionalProperties\":");
                if other {
                    self.null(None);
                } else {
                    self.raw(b"false");
                }
                self.byte(b'}');
            }
            Tagging::Internal { tag } => {
                let mut i = 0;
                while i < variants.len() {
                    let variant = &variants[i];
                    if !is_untagged(tagging, variant) {
                        self.separate(&mut first);
                        self.internal(tag, variant);
                    }
                    i += 1;
                }
                if other {
                    self.separate(&mut first);
                    self.raw(b"{\"type\":\"object\",\"properties\":{");
                    self.string(tag);
                    self.raw(b":");
                    self.other_name(tagging, variants);
                    self.raw(b"},\"required\":[");
                    self.string(tag);
                    self.raw(b"]}");
                }
            }
            Tagging::Adjacent {
                tag,
                content,
                deny_unknown,
            } => {
                let mut i = 0;
                while i <= variants.len() {
                    // The last round is the `other` variant's, if there is one.
                    let variant = if i < variants.len() {
                        Some(&variants[i])
                    } else {
                        None
                    };
                    i += 1;
                    let carried = match variant {
                        Some(variant) if is_untagged(tagging, variant) => continue,
                        Some(variant) => variant.content,
                        None if other => None,
                        None => continue,
                    };
                    self.separate(&mut first);
                    self.raw(b"{\"type\":\"object\",\"properties\":{");
                    self.string(tag);
                    self.byte(b':');
                    match variant {
                        Some(variant) => {
                            self.raw(b"{\"const\":");
                            self.string(variant.name);
                            self.byte(b'}');
                        }
                        None => self.other_name(tagging, variants),
                    }
                    self.byte(b',');
                    self.string(content);
                    self.byte(b':');
                    match carried {
                        Some(carried) => self.schema(carried, false, None),
                        None => self.null(None),
                    }
                    self.raw(b"},\"required\":[");
                    self.string(tag);
                    if carried.is_some() {
                        self.byte(b',');
                        self.string(content);
                    }
                    self.byte(b']');
                    if deny_unknown {
                        self.raw(b",\"additionalProperties\":false");
                    }
                    self.byte(b'}');
                }
            }
            Tagging::Untagged => {}
        }
        if nullable {
            self.separate(&mut first);
            self.null(None);
        }
        self.raw(b"]}");
    }

    /// An internally tagged variant: an object with the tag, and the fields of what the
    /// variant carries (serde reads the content from the same object, less the tag).
    const fn internal(&mut self, tag: &str, variant: &Variant) {
        let mut content = match variant.content {
            Some(content) => content,
            None => &Schema::Any,
        };
        while let Schema::Optional(inner) = content {
            content = inner;
        }
        self.raw(b"{\"type\":\"object\"");
        match *content {
            Schema::Object {
                fields,
                deny_unknown,
            } => self.fields(Some((tag, variant.name)), fields, deny_unknown),
            Schema::Map(value) => {
                self.fields(Some((tag, variant.name)), &[], false);
                if !matches!(value, Schema::Any) {
                    self.raw(b",\"additionalProperties\":");
                    self.schema(value, false, None);
                }
            }
            // A nested enum reads the same object: described by its tag only (looser).
            Schema::Any | Schema::Variants { .. } => {
                self.fields(Some((tag, variant.name)), &[], false)
            }
            // Never an object, so never read: serde refuses it, and so does the schema.
            _ => {
                self.fields(Some((tag, variant.name)), &[], false);
                self.raw(b",\"allOf\":[");
                self.schema(content, false, None);
                self.byte(b']');
            }
        }
        self.byte(b'}');
    }

    /// The tag of an `other` variant: any string that names no other variant.
    const fn other_name(&mut self, tagging: Tagging, variants: &[Variant]) {
        self.raw(b"{\"type\":\"string\",\"not\":{\"enum\":[");
        let mut first = true;
        let mut i = 0;
        while i < variants.len() {
            if !is_untagged(tagging, &variants[i]) {
                self.separate(&mut first);
                self.string(variants[i].name);
            }
            i += 1;
        }
        self.raw(b"]}}");
    }

    /// `Any` says nothing: such filters get no line, as if they had no schema.
    const fn section(&mut self, entries: &[SectionEntry]) {
        let mut i = 0;
        while i < entries.len() {
            let (root_id, _, format) = entries[i];
            if !matches!(format, crate::config::ConfigFormat::Json) {
                self.raw(b"{\"rootId\":");
                self.string(root_id);
                self.raw(b",\"format\":");
                self.string(format.name());
                self.raw(b"}\n");
                i += 1;
                continue;
            }
            if let (root_id, Some(schema), _) = entries[i] {
                if matches!(schema, Schema::Any | Schema::Optional(Schema::Any)) {
                    i += 1;
                    continue;
                }
                self.raw(b"{\"rootId\":");
                self.string(root_id);
                self.raw(b",\"schema\":");
                self.schema(schema, false, None);
                self.raw(b"}\n");
            }
            i += 1;
        }
    }
}

/// Whether `variant` is written without its tag.
const fn is_untagged(tagging: Tagging, variant: &Variant) -> bool {
    variant.untagged || matches!(tagging, Tagging::Untagged)
}

/// `a == b`, in a `const fn`.
pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
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

    const BYTE: Schema = Schema::Integer { min: 0, max: 255 };
    const POINT: Schema = Schema::Object {
        fields: &[Field {
            name: "x",
            schema: &BYTE,
            required: true,
        }],
        deny_unknown: true,
    };
    const fn variants(tagging: Tagging) -> Schema {
        Schema::Variants {
            tagging,
            variants: &[
                Variant {
                    name: "unit",
                    content: None,
                    untagged: false,
                    other: false,
                },
                Variant {
                    name: "point",
                    content: Some(&POINT),
                    untagged: false,
                    other: false,
                },
                Variant {
                    name: "pair",
                    content: Some(&Schema::Tuple(&[&BYTE, &Schema::String])),
                    untagged: false,
                    other: false,
                },
            ],
        }
    }

    #[test]
    fn tuples_are_arrays_of_exactly_their_items() {
        assert_eq!(
            parsed(&Schema::Optional(&Schema::Tuple(&[&BYTE, &Schema::String]))),
            json!({
                "type": ["array", "null"],
                "prefixItems": [{"type": "integer", "minimum": 0, "maximum": 255}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2
            })
        );
    }

    #[test]
    fn every_enum_representation_is_a_choice_of_forms() {
        let byte = json!({"type": "integer", "minimum": 0, "maximum": 255});
        let point = json!({
            "type": "object", "properties": {"x": byte}, "required": ["x"],
            "additionalProperties": false
        });
        let pair = json!({
            "type": "array", "prefixItems": [byte, {"type": "string"}], "minItems": 2, "maxItems": 2
        });
        assert_eq!(
            parsed(&variants(Tagging::External)),
            json!({"oneOf": [
                {"enum": ["unit"]},
                {
                    "type": "object",
                    "properties": {"unit": {"type": "null"}, "point": point, "pair": pair},
                    "minProperties": 1, "maxProperties": 1, "additionalProperties": false
                }
            ]})
        );
        // The tag joins the fields of a struct; a unit variant is the tag alone; a tuple
        // is never an object (serde refuses it too).
        assert_eq!(
            parsed(&variants(Tagging::Internal { tag: "mode" })),
            json!({"oneOf": [
                {"type": "object", "properties": {"mode": {"const": "unit"}}, "required": ["mode"]},
                {
                    "type": "object",
                    "properties": {"mode": {"const": "point"}, "x": byte},
                    "required": ["mode", "x"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {"mode": {"const": "pair"}},
                    "required": ["mode"],
                    "allOf": [pair]
                }
            ]})
        );
        assert_eq!(
            parsed(&variants(Tagging::Adjacent {
                tag: "t",
                content: "c",
                deny_unknown: true
            })),
            json!({"oneOf": [
                {
                    "type": "object", "properties": {"t": {"const": "unit"}, "c": {"type": "null"}},
                    "required": ["t"], "additionalProperties": false
                },
                {
                    "type": "object", "properties": {"t": {"const": "point"}, "c": point},
                    "required": ["t", "c"], "additionalProperties": false
                },
                {
                    "type": "object", "properties": {"t": {"const": "pair"}, "c": pair},
                    "required": ["t", "c"], "additionalProperties": false
                }
            ]})
        );
        let mut point_titled = point.clone();
        point_titled["title"] = json!("point");
        let mut pair_titled = pair.clone();
        pair_titled["title"] = json!("pair");
        assert_eq!(
            parsed(&const { Schema::Optional(&variants(Tagging::Untagged)) }),
            json!({"anyOf": [
                {"title": "unit", "type": "null"},
                point_titled,
                pair_titled,
                {"type": "null"}
            ]})
        );
        assert_eq!(
            parsed(&const { Schema::Optional(&variants(Tagging::External)) })["oneOf"][2],
            json!({"type": "null"})
        );
    }

    #[test]
    fn other_variants_take_any_other_name_and_untagged_ones_follow_the_tagged_form() {
        const OPEN: Schema = Schema::Variants {
            tagging: Tagging::Internal { tag: "type" },
            variants: &[
                Variant {
                    name: "known",
                    content: Some(&POINT),
                    untagged: false,
                    other: false,
                },
                Variant {
                    name: "unknown",
                    content: None,
                    untagged: false,
                    other: true,
                },
                Variant {
                    name: "raw",
                    content: Some(&Schema::String),
                    untagged: true,
                    other: false,
                },
            ],
        };
        let value = parsed(&OPEN);
        assert_eq!(value["anyOf"][1], json!({"title": "raw", "type": "string"}));
        assert_eq!(
            value["anyOf"][0]["oneOf"][2],
            json!({
                "type": "object",
                "properties": {"type": {"type": "string", "not": {"enum": ["known", "unknown"]}}},
                "required": ["type"]
            })
        );
        assert!(OPEN.hides_error_paths());
        assert!(variants(Tagging::Untagged).hides_error_paths());
        assert!(!variants(Tagging::External).hides_error_paths());
        assert!(Schema::Array(&Schema::Optional(&OPEN)).hides_error_paths());
        assert!(!POINT.hides_error_paths());
        assert_eq!(for_errors(Some(&POINT)), None);
        assert_eq!(for_errors(None), None);
    }

    #[test]
    fn const_json_matches_run_time_json() {
        const SCHEMA: &Schema = <Option<Vec<i8>>>::SCHEMA;
        const JSON: [u8; json_len(SCHEMA)] = json(SCHEMA);
        assert_eq!(std::str::from_utf8(&JSON).unwrap(), to_json(SCHEMA));
        const ENUM: &Schema = &Schema::Array(&variants(Tagging::Internal { tag: "mode" }));
        const ENUM_JSON: [u8; json_len(ENUM)] = json(ENUM);
        assert_eq!(std::str::from_utf8(&ENUM_JSON).unwrap(), to_json(ENUM));
    }

    #[test]
    fn the_section_has_a_line_per_filter_with_a_schema() {
        use crate::config::ConfigFormat::{Bytes, Json, Text};
        const ENTRIES: &[SectionEntry] = &[
            ("add_header", Some(&Schema::String), Json),
            ("no_config", None, Json),
            ("anything", Some(&Schema::Any), Json),
            ("other", Some(&Schema::Bool), Json),
            ("banner", None, Text),
            ("blob", None, Bytes),
        ];
        const SECTION: [u8; section_len(ENTRIES)] = section(ENTRIES);
        assert_eq!(
            std::str::from_utf8(&SECTION).unwrap(),
            concat!(
                "{\"rootId\":\"add_header\",\"schema\":{\"type\":\"string\"}}\n",
                "{\"rootId\":\"other\",\"schema\":{\"type\":\"boolean\"}}\n",
                "{\"rootId\":\"banner\",\"format\":\"text\"}\n",
                "{\"rootId\":\"blob\",\"format\":\"bytes\"}\n"
            )
        );
        assert_eq!(
            section_len(&[("x", None, Json), ("y", Some(&Schema::Any), Json)]),
            0
        );
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
