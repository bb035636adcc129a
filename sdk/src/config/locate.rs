//! Finding the field at fault when serde cannot name it.
//!
//! serde reads an internally tagged, adjacently tagged or untagged enum from a buffer of
//! its own, out of reach of the path tracker, so a mistake inside one is reported at the
//! enum (`config: invalid value: integer `-1`, expected u64`), and an untagged enum only
//! says `data did not match any variant`. When the config type's [`Schema`] has such an
//! enum, the configuration is parsed again (only after such a failure) and walked with
//! the schema to the first value the schema refuses: its path and what was expected
//! there, in serde's words but about JSON (`an integer from 0 to 255`, not `u8`).
//!
//! The walk follows serde's rules (an internally tagged variant reads its fields from the
//! object holding the tag, a unit variant ignores the rest, an untagged enum takes the
//! first variant that accepts the value). Its code is in a module only when the module's
//! configuration has such an enum: it is written small (one renderer of messages, no
//! generic helpers).

use std::fmt::{self, Write as _};

use serde::de::{
    Deserialize, Deserializer, Error as _, Expected, MapAccess, SeqAccess, Unexpected, Visitor,
};

use super::ConfigError;
use crate::schema::{Field, Schema, Tagging, Variant};

/// Where `raw` first breaks `schema`, if it does (and is JSON at all).
pub(super) fn locate(schema: &Schema, raw: &[u8]) -> Option<ConfigError> {
    let json: Json = serde_json::from_slice(raw).ok()?;
    let mut path = String::from("config");
    let mismatch = check(&mut path, schema, &json, None).err()?;
    Some(ConfigError::new(path, mismatch.to_string()))
}

/// A JSON value, object keys in document order (serde reads them in that order too).
enum Json {
    Null,
    Bool(bool),
    /// An integer serde_json reads as an `i64`.
    Int(i64),
    /// An integer above `i64::MAX` that fits a `u64`.
    Big(u64),
    /// A number with a fraction or an exponent, or beyond 64 bits.
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(i64::try_from(v).map_or(Json::Big(v), Json::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Json::Obj(entries))
    }
}

/// Keys an object's fields never see: the tags of the internally tagged enums that read
/// their variant's fields from it.
struct Skip<'a> {
    key: &'a str,
    up: Option<&'a Skip<'a>>,
}

fn skipped(mut skip: Option<&Skip<'_>>, key: &str) -> bool {
    while let Some(s) = skip {
        if s.key == key {
            return true;
        }
        skip = s.up;
    }
    false
}

/// Why a value does not match; `path` then names where it is.
enum Mismatch<'a> {
    /// `invalid type: integer `5`, expected a string`.
    Type(&'a Json, Want<'a>),
    /// `invalid value: integer `-1`, expected an integer from 0 to 255`.
    Value(&'a Json, Want<'a>),
    /// `invalid length 3, expected an array of 2 items`.
    Length(usize, Want<'a>),
    /// `unknown variant `open`, expected `deny` or `allow`` (`field` for a field).
    Unknown(&'static str, &'a str, Names<'a>),
    /// `missing field `mode``.
    Missing(&'a str),
    /// A data-carrying variant named by a string.
    CarriesData(&'a str),
    /// No variant of an enum with untagged variants matches.
    NoVariant(&'a [Variant]),
}

/// What was expected.
#[derive(Clone, Copy)]
enum Want<'a> {
    Text(&'static str),
    /// An integer from `.0` to `.1` (`i128::MIN`/`MAX`: unbounded).
    Range(i128, i128),
    /// One of these names.
    Names(Names<'a>),
    /// A variant: one of these names, or an object of one field.
    Variant(Names<'a>),
    /// An object with this tag.
    Tag(&'a str),
    /// An object with this tag and this content key.
    Adjacent(&'a str, &'a str),
    /// An array of this many items.
    Items(usize),
    /// An object of one field, one of these names.
    OneField(Names<'a>),
}

/// A list of names, where the schema keeps them.
#[derive(Clone, Copy)]
enum Names<'a> {
    Strs(&'a [&'a str]),
    Fields(&'a [Field]),
    /// The tagged variants.
    Tagged(&'a [Variant], Tagging),
    Two(&'a str, &'a str),
    /// Every variant.
    All(&'a [Variant]),
}

impl<'a> Names<'a> {
    /// The `i`th name (no `Vec`: this code is in every module that walks).
    fn nth(self, i: usize) -> Option<&'a str> {
        match self {
            Names::Strs(strs) => strs.get(i).copied(),
            Names::Fields(fields) => fields.get(i).map(|f| f.name),
            Names::Tagged(variants, tagging) => variants
                .iter()
                .filter(|v| !untagged(tagging, v))
                .nth(i)
                .map(|v| v.name),
            Names::Two(a, b) => [a, b].get(i).copied(),
            Names::All(variants) => variants.get(i).map(|v| v.name),
        }
    }

    /// serde's words: `` `a` ``, `` `a` or `b` ``, `` one of `a`, `b`, `c` ``.
    fn write(self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut len = 0;
        while self.nth(len).is_some() {
            len += 1;
        }
        if len > 2 {
            f.write_str("one of ")?;
        }
        for i in 0..len {
            let separator = match (i, len) {
                (0, _) => "",
                (1, 2) => " or ",
                _ => ", ",
            };
            f.write_str(separator)?;
            f.write_str("`")?;
            f.write_str(self.nth(i).unwrap_or_default())?;
            f.write_str("`")?;
        }
        if len == 0 {
            f.write_str("nothing")?;
        }
        Ok(())
    }
}

impl Expected for Want<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Want::Text(text) => f.write_str(text),
            Want::Range(min, max) => match (min == i128::MIN, max == i128::MAX) {
                (true, true) => f.write_str("an integer"),
                (false, true) => write!(f, "an integer of at least {}", Bound(min)),
                (true, false) => write!(f, "an integer of at most {}", Bound(max)),
                (false, false) => write!(f, "an integer from {} to {}", Bound(min), Bound(max)),
            },
            Want::Names(names) => names.write(f),
            Want::Variant(names) => {
                f.write_str("a variant: ")?;
                names.write(f)
            }
            Want::Tag(tag) => write!(f, "an object with the tag `{tag}`"),
            Want::Adjacent(tag, content) => {
                write!(f, "an object with the fields `{tag}` and `{content}`")
            }
            Want::Items(n) => write!(f, "an array of {n} items"),
            Want::OneField(names) => {
                f.write_str("an object with one field, the variant: ")?;
                names.write(f)
            }
        }
    }
}

/// A bound as written in Rust; a bound beyond 64 bits (never derived: 128-bit types are
/// unbounded there) is not worth `i128` formatting in every module.
struct Bound(i128);

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (u64::try_from(self.0), i64::try_from(self.0)) {
            (Ok(n), _) => write!(f, "{n}"),
            (_, Ok(n)) => write!(f, "{n}"),
            _ => f.write_str("a 128-bit bound"),
        }
    }
}

/// How serde names what it found: `integer `5``, `string "x"`, `map`...
fn unexpected(value: &Json) -> Unexpected<'_> {
    match *value {
        Json::Null => Unexpected::Unit,
        Json::Bool(b) => Unexpected::Bool(b),
        Json::Int(n) => Unexpected::Signed(n),
        Json::Big(n) => Unexpected::Unsigned(n),
        Json::Float(x) => Unexpected::Float(x),
        Json::Str(ref s) => Unexpected::Str(s),
        Json::Arr(_) => Unexpected::Seq,
        Json::Obj(_) => Unexpected::Map,
    }
}

impl fmt::Display for Mismatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // serde_json's own error type words the common cases (with the code the typed
        // parse already has): `invalid type: …, expected …`.
        let error = match *self {
            Mismatch::Type(value, want) => {
                serde_json::Error::invalid_type(unexpected(value), &want)
            }
            Mismatch::Value(value, want) => {
                serde_json::Error::invalid_value(unexpected(value), &want)
            }
            Mismatch::Length(len, want) => serde_json::Error::invalid_length(len, &want),
            Mismatch::Unknown(what, name, names) => {
                write!(f, "unknown {what} `{name}`, expected ")?;
                return names.write(f);
            }
            Mismatch::Missing(name) => return write!(f, "missing field `{name}`"),
            Mismatch::CarriesData(name) => {
                return write!(
                    f,
                    "variant `{name}` carries data; write it as an object: {{\"{name}\": …}}"
                )
            }
            Mismatch::NoVariant(variants) => {
                f.write_str("data did not match any variant, expected ")?;
                return Names::All(variants).write(f);
            }
        };
        fmt::Display::fmt(&error, f)
    }
}

type Step<'a> = Result<(), Mismatch<'a>>;

/// Appends `.name` (or `["odd name"]`) to `path`; returns the length to go back to.
fn field(path: &mut String, name: &str) -> usize {
    let back = path.len();
    push_field(path, name);
    back
}

fn check<'a>(
    path: &mut String,
    schema: &'a Schema,
    value: &'a Json,
    skip: Option<&Skip<'_>>,
) -> Step<'a> {
    let ok = match (schema, value) {
        (Schema::Any, _)
        | (Schema::Optional(_), Json::Null)
        | (Schema::Bool, Json::Bool(_))
        | (Schema::Number, Json::Int(_) | Json::Big(_) | Json::Float(_))
        | (Schema::String, Json::Str(_)) => true,
        (Schema::Optional(inner), _) => return check(path, inner, value, skip),
        (&Schema::Integer { min, max }, _) => return integer(min, max, value),
        (Schema::Enum(names), Json::Str(name)) => {
            if names.contains(&name.as_str()) {
                return Ok(());
            }
            return Err(Mismatch::Unknown("variant", name, Names::Strs(names)));
        }
        (Schema::Array(_) | Schema::Tuple(_), Json::Arr(items)) => {
            if let Schema::Tuple(schemas) = schema {
                if items.len() != schemas.len() {
                    return Err(Mismatch::Length(items.len(), Want::Items(schemas.len())));
                }
            }
            for (i, value) in items.iter().enumerate() {
                let item = match schema {
                    Schema::Tuple(schemas) => schemas.get(i).copied().unwrap_or(&Schema::Any),
                    Schema::Array(item) => item,
                    _ => &Schema::Any,
                };
                let back = path.len();
                let _ = write!(path, "[{i}]");
                check(path, item, value, None)?;
                path.truncate(back);
            }
            true
        }
        (Schema::Map(inner), Json::Obj(entries)) => {
            for (key, value) in entries {
                if !skipped(skip, key) {
                    let back = field(path, key);
                    check(path, inner, value, None)?;
                    path.truncate(back);
                }
            }
            true
        }
        (
            &Schema::Object {
                fields,
                deny_unknown,
            },
            Json::Obj(entries),
        ) => return object(path, fields, deny_unknown, entries, skip),
        (&Schema::Variants { tagging, variants }, _) => {
            return enumeration(path, tagging, variants, value, skip)
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let want = match schema {
        Schema::Bool => "a boolean",
        Schema::Number => "a number",
        Schema::String => "a string",
        Schema::Array(_) | Schema::Tuple(_) => "an array",
        Schema::Enum(names) => return Err(Mismatch::Type(value, Want::Names(Names::Strs(names)))),
        _ => "an object",
    };
    Err(Mismatch::Type(value, Want::Text(want)))
}

/// serde's order: each present field in turn, then the missing ones.
fn object<'a>(
    path: &mut String,
    fields: &'a [Field],
    deny_unknown: bool,
    entries: &'a [(String, Json)],
    skip: Option<&Skip<'_>>,
) -> Step<'a> {
    for (key, value) in entries {
        if skipped(skip, key) {
            continue;
        }
        let back = field(path, key);
        match fields.iter().find(|f| f.name == key) {
            Some(field) => check(path, field.schema, value, None)?,
            None if deny_unknown => {
                return Err(Mismatch::Unknown("field", key, Names::Fields(fields)))
            }
            None => {}
        }
        path.truncate(back);
    }
    for field in fields.iter().filter(|f| f.required) {
        if !entries
            .iter()
            .any(|(key, _)| key == field.name && !skipped(skip, key))
        {
            return Err(Mismatch::Missing(field.name));
        }
    }
    Ok(())
}

/// An enum with data: its tagged form, then its untagged variants; the first that
/// accepts the value wins. When none does, the mismatch inside the only form of the
/// value's kind is the one to fix (for an integer given to `u8` or an object: the
/// integer's); with several such forms, no form is the obvious one.
fn enumeration<'a>(
    path: &mut String,
    tagging: Tagging,
    variants: &'a [Variant],
    value: &'a Json,
    skip: Option<&Skip<'_>>,
) -> Step<'a> {
    if !variants.iter().any(|v| untagged(tagging, v)) {
        return tagged(path, tagging, variants, value, skip);
    }
    let base = path.len();
    let mut candidates = 0;
    let mut first = None;
    // `None`: the tagged form; then each untagged variant.
    let forms =
        std::iter::once(None).chain(variants.iter().filter(|v| untagged(tagging, v)).map(Some));
    for form in forms {
        let fits = match form {
            None => {
                variants.iter().any(|v| !untagged(tagging, v))
                    && tagged_fits(tagging, variants, value)
            }
            Some(variant) => content_fits(variant.content, value),
        };
        if !fits {
            continue;
        }
        candidates += 1;
        let result = match form {
            None => tagged(path, tagging, variants, value, skip),
            Some(Variant {
                content: Some(content),
                ..
            }) => check(path, content, value, skip),
            Some(_) => Ok(()),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(mismatch) if first.is_none() => first = Some((path.clone(), mismatch)),
            Err(_) => {}
        }
        path.truncate(base);
    }
    match first {
        Some((found, mismatch)) if candidates == 1 => {
            *path = found;
            Err(mismatch)
        }
        _ => Err(Mismatch::NoVariant(variants)),
    }
}

/// The tagged variants of `variants` (the caller tries the untagged ones).
fn tagged<'a>(
    path: &mut String,
    tagging: Tagging,
    variants: &'a [Variant],
    value: &'a Json,
    skip: Option<&Skip<'_>>,
) -> Step<'a> {
    let names = Names::Tagged(variants, tagging);
    let (tag, content_key) = match tagging {
        Tagging::External => {
            return match value {
                Json::Str(name) => match find(tagging, variants, name) {
                    Some(Variant { content: None, .. }) => Ok(()),
                    Some(_) => Err(Mismatch::CarriesData(name)),
                    None => Err(Mismatch::Unknown("variant", name, names)),
                },
                Json::Obj(entries) => match entries.as_slice() {
                    [(name, content)] => {
                        field(path, name);
                        match find(tagging, variants, name) {
                            Some(variant) => carried(path, variant, content),
                            None => Err(Mismatch::Unknown("variant", name, names)),
                        }
                    }
                    _ => Err(Mismatch::Length(entries.len(), Want::OneField(names))),
                },
                _ => Err(Mismatch::Type(value, Want::Variant(names))),
            };
        }
        Tagging::Internal { tag } => (tag, None),
        Tagging::Adjacent { tag, content, .. } => (tag, Some(content)),
        Tagging::Untagged => return Ok(()),
    };
    let Json::Obj(entries) = value else {
        let want = match content_key {
            Some(content) => Want::Adjacent(tag, content),
            None => Want::Tag(tag),
        };
        return Err(Mismatch::Type(value, want));
    };
    if let (Some(content), Tagging::Adjacent { deny_unknown, .. }) = (content_key, tagging) {
        if let Some((other, _)) = entries
            .iter()
            .find(|(k, _)| deny_unknown && k != tag && k != content)
        {
            field(path, other);
            return Err(Mismatch::Unknown("field", other, Names::Two(tag, content)));
        }
    }
    let Some((_, name)) = entries.iter().find(|(key, _)| key == tag) else {
        return Err(Mismatch::Missing(tag));
    };
    let back = field(path, tag);
    let variant = match name {
        Json::Str(name) => {
            find(tagging, variants, name).ok_or(Mismatch::Unknown("variant", name, names))?
        }
        _ => return Err(Mismatch::Type(name, Want::Names(names))),
    };
    path.truncate(back);
    match content_key {
        // Adjacent: the content under its own key (a unit variant's may be left out).
        Some(key) => match entries.iter().find(|(k, _)| k == key) {
            Some((_, content)) => {
                field(path, key);
                carried(path, variant, content)
            }
            None if variant.content.is_some() => Err(Mismatch::Missing(key)),
            None => Ok(()),
        },
        // Internal: the variant's fields next to the tag; a unit variant ignores them.
        None => {
            let Some(mut content) = variant.content else {
                return Ok(());
            };
            while let Schema::Optional(inner) = content {
                content = inner;
            }
            let skip = Skip { key: tag, up: skip };
            check(path, content, value, Some(&skip))
        }
    }
}

/// What a tagged variant carries, written under its name or content key: `null` for a
/// unit variant.
fn carried<'a>(path: &mut String, variant: &'a Variant, content: &'a Json) -> Step<'a> {
    match (variant.content, content) {
        (Some(schema), _) => check(path, schema, content, None),
        (None, Json::Null) => Ok(()),
        (None, _) => Err(Mismatch::Type(content, Want::Text("null"))),
    }
}

/// The tagged variant named `name`, or the `other` one.
fn find<'a>(tagging: Tagging, variants: &'a [Variant], name: &str) -> Option<&'a Variant> {
    let mut other = None;
    for variant in variants.iter().filter(|v| !untagged(tagging, v)) {
        if variant.name == name {
            return Some(variant);
        }
        if variant.other {
            other = Some(variant);
        }
    }
    other
}

fn untagged(tagging: Tagging, variant: &Variant) -> bool {
    variant.untagged || matches!(tagging, Tagging::Untagged)
}

/// Whether `value` is of a kind `schema` takes (a string, a number, an object...), so
/// that an untagged enum's mismatch is looked for in the forms that could be meant.
fn fits(schema: &Schema, value: &Json) -> bool {
    match (schema, value) {
        (Schema::Any, _) => true,
        (Schema::Optional(inner), _) => matches!(value, Json::Null) || fits(inner, value),
        (Schema::Bool, Json::Bool(_))
        | (Schema::Integer { .. } | Schema::Number, Json::Int(_) | Json::Big(_) | Json::Float(_))
        | (Schema::String | Schema::Enum(_), Json::Str(_))
        | (Schema::Array(_) | Schema::Tuple(_), Json::Arr(_))
        | (Schema::Map(_) | Schema::Object { .. }, Json::Obj(_)) => true,
        (&Schema::Variants { tagging, variants }, _) => variants.iter().any(|v| {
            if untagged(tagging, v) {
                content_fits(v.content, value)
            } else {
                tagged_fits(tagging, variants, value)
            }
        }),
        _ => false,
    }
}

/// An untagged variant's content: `null` for a unit variant.
fn content_fits(content: Option<&Schema>, value: &Json) -> bool {
    match content {
        Some(schema) => fits(schema, value),
        None => matches!(value, Json::Null),
    }
}

/// Whether `value` has the shape of a tagged variant: an object, or (externally tagged,
/// with unit variants) a string.
fn tagged_fits(tagging: Tagging, variants: &[Variant], value: &Json) -> bool {
    match (tagging, value) {
        (Tagging::External, Json::Str(_)) => variants
            .iter()
            .any(|v| !untagged(tagging, v) && (v.content.is_none() || v.other)),
        (Tagging::Untagged, _) => false,
        (_, Json::Obj(_)) => true,
        _ => false,
    }
}

/// An integer within `min..=max`; serde refuses `1.0` and `1e3` for an integer type.
fn integer(min: i128, max: i128, value: &Json) -> Step<'_> {
    let n = match *value {
        Json::Int(n) => i128::from(n),
        Json::Big(n) => i128::from(n),
        // serde_json reads an integer beyond 64 bits as a float, except for a 128-bit
        // integer type, which reads the digits: its bounds are not checked here.
        Json::Float(f)
            if (min < i64::MIN.into() || max > u64::MAX.into())
                && f.fract() == 0.0
                && f.abs() >= 9.2e18 =>
        {
            return Ok(())
        }
        _ => return Err(Mismatch::Type(value, Want::Range(min, max))),
    };
    if min <= n && n <= max {
        Ok(())
    } else {
        Err(Mismatch::Value(value, Want::Range(min, max)))
    }
}

/// `.name` for a plain name (ASCII letters, digits, `_`, `-`), else `["name"]` with `"`,
/// `\` and control characters escaped, as `cargo proxylet` writes paths.
#[allow(clippy::single_char_add_str)]
fn push_field(path: &mut String, name: &str) {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        path.push_str(".");
        path.push_str(name);
        return;
    }
    // Bytes, not chars: only ASCII is escaped, and a `char` would pull a UTF-8 encoder
    // into every module.
    path.push_str("[\"");
    let mut start = 0;
    for (i, b) in name.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f | 0x7f => "",
            _ => continue,
        };
        path.push_str(name.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            // `\u{1f}`, without `{:x}` (its padding code writes `char`s).
            const HEX: &str = "0123456789abcdef";
            path.push_str("\\u{");
            if b >= 0x10 {
                let high = usize::from(b >> 4);
                path.push_str(HEX.get(high..=high).unwrap_or_default());
            }
            let low = usize::from(b & 0xf);
            path.push_str(HEX.get(low..=low).unwrap_or_default());
            path.push_str("}");
        } else {
            path.push_str(escape);
        }
        start = i + 1;
    }
    path.push_str(name.get(start..).unwrap_or_default());
    path.push_str("\"]");
}

#[cfg(test)]
#[allow(dead_code)] // fields only deserialized
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::schema::ConfigSchema;

    fn located<T: ConfigSchema>(raw: &str) -> Option<String> {
        locate(T::SCHEMA, raw.as_bytes()).map(|e| e.to_string())
    }

    #[test]
    fn odd_names_are_quoted_and_escaped() {
        let mut path = String::from("config");
        push_field(&mut path, "plain_name-2");
        push_field(&mut path, "a b\"c\\d\ne\u{1}\u{7f}é");
        push_field(&mut path, "");
        assert_eq!(
            path,
            "config.plain_name-2[\"a b\\\"c\\\\d\\ne\\u{1}\\u{7f}é\"][\"\"]"
        );
    }

    #[derive(Deserialize, crate::schema::ConfigSchema)]
    #[config_schema(crate = "crate")]
    #[serde(deny_unknown_fields)]
    struct Leaf {
        n: u8,
    }

    #[derive(Deserialize, crate::schema::ConfigSchema)]
    #[config_schema(crate = "crate")]
    #[serde(tag = "inner")]
    enum Inner {
        Leaf(Leaf),
    }

    #[derive(Deserialize, crate::schema::ConfigSchema)]
    #[config_schema(crate = "crate")]
    #[serde(tag = "outer")]
    enum Outer {
        Inner(Inner),
        Map(std::collections::BTreeMap<String, u8>),
    }

    #[derive(Deserialize, crate::schema::ConfigSchema)]
    #[config_schema(crate = "crate")]
    struct Wide {
        big: u128,
        signed: i128,
    }

    /// serde hands each enum the object less the tags of the enums around it.
    #[test]
    fn nested_internal_tags_are_not_fields_of_the_innermost_struct() {
        let good = r#"{"outer": "Inner", "inner": "Leaf", "n": 1}"#;
        serde_json::from_str::<Outer>(good).unwrap();
        assert_eq!(located::<Outer>(good), None);
        assert_eq!(
            located::<Outer>(r#"{"outer": "Inner", "inner": "Leaf", "n": 300}"#).as_deref(),
            Some("config.n: invalid value: integer `300`, expected an integer from 0 to 255")
        );
        assert_eq!(
            located::<Outer>(r#"{"outer": "Inner", "inner": "Leaf", "n": 1, "m": 2}"#).as_deref(),
            Some("config.m: unknown field `m`, expected `n`")
        );
        assert_eq!(
            located::<Outer>(r#"{"outer": "Map", "a b": -1}"#).as_deref(),
            Some("config[\"a b\"]: invalid value: integer `-1`, expected an integer from 0 to 255")
        );
    }

    /// serde_json reads 128-bit integers from their digits; the walk, which sees a float
    /// beyond 64 bits, does not refuse them.
    #[test]
    fn integers_beyond_64_bits_are_left_to_128_bit_types() {
        let wide = r#"{"big": 100000000000000000000, "signed": -100000000000000000000}"#;
        serde_json::from_str::<Wide>(wide).unwrap();
        assert_eq!(located::<Wide>(wide), None);
        assert_eq!(
            located::<Wide>(r#"{"big": 1.5, "signed": 0}"#).as_deref(),
            Some(
                "config.big: invalid type: floating point `1.5`, expected an integer of at least 0"
            )
        );
        assert_eq!(located::<u64>("18446744073709551615"), None);
        assert_eq!(
            located::<i8>("-129").as_deref(),
            Some("config: invalid value: integer `-129`, expected an integer from -128 to 127")
        );
    }

    #[test]
    fn what_is_not_json_is_left_to_serde() {
        assert_eq!(located::<Outer>("{"), None);
        assert_eq!(located::<Outer>("{} x"), None);
        assert_eq!(located::<Outer>("\u{feff}{}"), None);
    }
}
