// Hand-written, not the jsonschema crate 0.61: it adds 46 crates, +32 s cold dev / +118 s release here, and reports a failed oneOf/anyOf at the enum, not the field inside (33 of the 48 agreement cases).
//! Checking a plugin configuration against the JSON Schema a module carries in its
//! `proxylet.config_schema` custom section, before anything is deployed. proxylet writes
//! one there for each filter whose config type derives `ConfigSchema`
//! ([`proxylet_artifact::config_schema_for`] reads it).
//!
//! The validator covers the subset of JSON Schema that config types derive to: `type`
//! (one or several), `properties`, `required`, `additionalProperties` (boolean or schema),
//! `minProperties`, `maxProperties`, `items`, `prefixItems`, `enum`, `const`, `not`,
//! `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `minLength`,
//! `maxLength`, `minItems`, `maxItems`, `allOf`, `anyOf`, `oneOf`, and local `$ref`s
//! (`#/definitions/…`, `#/$defs/…`). `default`, `description` and other annotations are
//! accepted and ignored; `title` names a form in messages. Every violation is reported,
//! each with the path of the offending field written the way the SDK writes it
//! (`config.value`, `config.rules[2].name`; a missing field at its object, as serde
//! does: `config.rules[2]: missing field `name``).
//!
//! Two readings follow serde, which parses the configuration in the end: an `integer` is
//! a number written without a fraction or an exponent (`1.0` and `1e3` are not; only a
//! number beyond 64 bits, which no 64-bit type takes, is read whole), and integer bounds
//! are compared exactly (`18446744073709551616` is above `18446744073709551615`).
//!
//! When no form of an `anyOf`/`oneOf` matches, the violations reported are those of the
//! form that was meant, so they name the field inside it, as the SDK does: the form whose
//! tag matches when every form has a tag property (an enum's `{"mode": {"const": …}}`),
//! else the only form of the value's kind (an object, a string...).
//!
//! ```
//! use serde_json::json;
//! let schema = json!({
//!     "type": "object",
//!     "properties": { "name": { "type": "string" }, "value": { "type": "string" } },
//!     "additionalProperties": false
//! });
//! let violations = cargo_proxylet::schema::validate(&schema, &json!({ "value": 5 }));
//! assert_eq!(violations[0].to_string(), "config.value: expected string, found integer 5");
//! ```

use std::fmt;

use serde_json::Value;

use crate::{err, Result};

/// The custom section holding a module's config schemas (a line of JSON per filter).
pub const CONFIG_SCHEMA_SECTION: &str = proxylet_artifact::CONFIG_SCHEMA_SECTION;

/// How deep `$ref`s may nest before the schema is considered cyclic.
const MAX_DEPTH: usize = 64;

/// One way a value breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: `config`, `config.value`, `config.items[2]`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The schema of filter `root_id` in the module's [`CONFIG_SCHEMA_SECTION`], if it has one
/// (a `.wasm` or a native module: [`crate::module::config_schema_for`]).
pub fn module_schema(wasm: &[u8], root_id: &str) -> Result<Option<Value>> {
    crate::module::config_schema_for(wasm, root_id)
}

/// Checks `config` against the schema of filter `root_id`. `Ok(false)` when the module
/// carries no schema for it (nothing was checked); an error lists every violation.
pub fn check_config(wasm: &[u8], root_id: &str, config: &Value) -> Result<bool> {
    let Some(schema) = module_schema(wasm, root_id)? else {
        return Ok(false);
    };
    let violations = validate(&schema, config);
    if violations.is_empty() {
        return Ok(true);
    }
    let list: Vec<String> = violations.iter().map(|v| format!("  {v}")).collect();
    Err(err!(
        "the plugin config does not match the filter's config schema (carried in the module's \
         `{CONFIG_SCHEMA_SECTION}` section):\n{}\nfix the config; `cargo proxylet check <module>` \
         prints the schema. Nothing was written.",
        list.join("\n")
    ))
}

/// Every violation of `schema` by `value`; empty when it conforms.
pub fn validate(schema: &Value, value: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    Validator {
        root: schema,
        out: &mut out,
    }
    .check(schema, value, "config", 0);
    out
}

struct Validator<'a> {
    root: &'a Value,
    out: &'a mut Vec<Violation>,
}

impl Validator<'_> {
    fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.out.push(Violation {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    fn check(&mut self, schema: &Value, value: &Value, path: &str, depth: usize) {
        if depth > MAX_DEPTH {
            self.fail(path, "the schema nests `$ref`s too deeply (is it cyclic?)");
            return;
        }
        let schema = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return self.fail(path, "no value is allowed here"),
            Value::Object(map) => map,
            _ => return,
        };
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            match resolve(self.root, reference) {
                Some(target) => self.check(target, value, path, depth + 1),
                None => self.fail(
                    path,
                    format!("the schema's `$ref` {reference:?} cannot be resolved"),
                ),
            }
        }
        if let Some(expected) = schema.get("type") {
            let types: Vec<&str> = match expected {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
                return self.fail(
                    path,
                    format!("expected {}, found {}", types.join(" or "), describe(value)),
                );
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
                self.fail(
                    path,
                    format!("{} is not one of {}", describe(value), list.join(", ")),
                );
            }
        }
        if let Some(constant) = schema.get("const") {
            if constant != value {
                self.fail(
                    path,
                    format!("expected {constant}, found {}", describe(value)),
                );
            }
        }
        if let Some(not) = schema.get("not") {
            if validate_at(self.root, not, value, path, depth + 1).is_empty() {
                self.fail(path, format!("{} is not allowed here", describe(value)));
            }
        }
        if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
            for branch in branches {
                self.check(branch, value, path, depth + 1);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = schema.get(key).and_then(Value::as_array) {
                self.alternatives(key == "oneOf", branches, value, path, depth);
            }
        }
        match value {
            Value::Number(n) => {
                let bound = |key: &str| schema.get(key).filter(|b| b.is_number());
                if let Some(min) = bound("minimum").filter(|min| below(n, min, false)) {
                    self.fail(path, format!("{n} is less than the minimum {min}"));
                }
                if let Some(max) = bound("maximum").filter(|max| above(n, max, false)) {
                    self.fail(path, format!("{n} is more than the maximum {max}"));
                }
                if let Some(min) = bound("exclusiveMinimum").filter(|min| below(n, min, true)) {
                    self.fail(path, format!("{n} must be more than {min}"));
                }
                if let Some(max) = bound("exclusiveMaximum").filter(|max| above(n, max, true)) {
                    self.fail(path, format!("{n} must be less than {max}"));
                }
            }
            Value::String(s) => {
                let len = s.chars().count() as u64;
                if let Some(min) = schema
                    .get("minLength")
                    .and_then(Value::as_u64)
                    .filter(|m| len < *m)
                {
                    self.fail(
                        path,
                        format!("the string is {len} characters long, at least {min} expected"),
                    );
                }
                if let Some(max) = schema
                    .get("maxLength")
                    .and_then(Value::as_u64)
                    .filter(|m| len > *m)
                {
                    self.fail(
                        path,
                        format!("the string is {len} characters long, at most {max} allowed"),
                    );
                }
            }
            Value::Array(items) => {
                let len = items.len() as u64;
                if let Some(min) = schema
                    .get("minItems")
                    .and_then(Value::as_u64)
                    .filter(|m| len < *m)
                {
                    self.fail(path, format!("{len} items, at least {min} expected"));
                }
                if let Some(max) = schema
                    .get("maxItems")
                    .and_then(Value::as_u64)
                    .filter(|m| len > *m)
                {
                    self.fail(path, format!("{len} items, at most {max} allowed"));
                }
                // `prefixItems` (draft 2020-12) or an `items` array (draft 7): by position;
                // then `items` for the rest.
                let positional = match (schema.get("prefixItems"), schema.get("items")) {
                    (Some(Value::Array(positional)), _)
                    | (None, Some(Value::Array(positional))) => positional.as_slice(),
                    _ => &[],
                };
                for (i, (item, item_schema)) in items.iter().zip(positional).enumerate() {
                    self.check(item_schema, item, &format!("{path}[{i}]"), depth + 1);
                }
                match schema.get("items") {
                    Some(Value::Array(_)) | None => {}
                    Some(item_schema) => {
                        for (i, item) in items.iter().enumerate().skip(positional.len()) {
                            self.check(item_schema, item, &format!("{path}[{i}]"), depth + 1);
                        }
                    }
                }
            }
            Value::Object(fields) => {
                let properties = schema.get("properties").and_then(Value::as_object);
                let len = fields.len() as u64;
                if let Some(min) = schema
                    .get("minProperties")
                    .and_then(Value::as_u64)
                    .filter(|m| len < *m)
                {
                    self.fail(path, format!("{len} fields, at least {min} expected"));
                }
                if let Some(max) = schema
                    .get("maxProperties")
                    .and_then(Value::as_u64)
                    .filter(|m| len > *m)
                {
                    self.fail(path, format!("{len} fields, at most {max} allowed"));
                }
                if let Some(required) = schema.get("required").and_then(Value::as_array) {
                    for name in required.iter().filter_map(Value::as_str) {
                        if !fields.contains_key(name) {
                            self.fail(path, format!("missing field `{name}`"));
                        }
                    }
                }
                for (name, field) in fields {
                    let child = field_path(path, name);
                    if let Some(field_schema) = properties.and_then(|p| p.get(name)) {
                        self.check(field_schema, field, &child, depth + 1);
                        continue;
                    }
                    match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            let known: Vec<&str> = properties
                                .map(|p| p.keys().map(String::as_str).collect())
                                .unwrap_or_default();
                            let expected = if known.is_empty() {
                                "no fields are allowed here".to_owned()
                            } else {
                                format!("expected one of: {}", known.join(", "))
                            };
                            self.fail(&child, format!("unknown field `{name}`; {expected}"));
                        }
                        Some(extra) => self.check(extra, field, &child, depth + 1),
                        None => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// `anyOf` (`one: false`) or `oneOf`. When no form matches, the violations of the form
    /// that was meant, so that they name the field inside it.
    fn alternatives(
        &mut self,
        one: bool,
        branches: &[Value],
        value: &Value,
        path: &str,
        depth: usize,
    ) {
        let results: Vec<Vec<Violation>> = branches
            .iter()
            .map(|branch| validate_at(self.root, branch, value, path, depth + 1))
            .collect();
        let matching = results.iter().filter(|v| v.is_empty()).count();
        if matching == 1 || (matching > 1 && !one) {
            return;
        }
        if matching > 1 {
            return self.fail(
                path,
                format!(
                    "{} matches {matching} of the `oneOf` forms, expected exactly one",
                    describe(value)
                ),
            );
        }
        // Only forms of the value's kind (an object, a string...) could have been meant.
        let plausible: Vec<usize> = (0..branches.len())
            .filter(|&i| plausible(self.root, &branches[i], value, depth))
            .collect();
        // Of those, a tag names the form: `{"mode": "jwt", …}`.
        let tagged: Vec<&Value> = plausible.iter().map(|&i| &branches[i]).collect();
        if let (Value::Object(fields), Some(tag)) = (value, discriminator(&tagged)) {
            let Some(name) = fields.get(tag) else {
                return self.fail(path, format!("missing field `{tag}`"));
            };
            let meant: Vec<usize> = plausible
                .iter()
                .copied()
                .filter(|&i| {
                    tag_schema(&branches[i], tag).is_some_and(|tag_schema| {
                        validate_at(self.root, tag_schema, name, path, depth + 1).is_empty()
                    })
                })
                .collect();
            match meant.as_slice() {
                [] => {
                    let names: Vec<&str> = tagged
                        .iter()
                        .filter_map(|b| tag_schema(b, tag)?.get("const")?.as_str())
                        .collect();
                    let message = match name {
                        Value::String(name) => {
                            format!("unknown variant `{name}`, expected {}", one_of(&names))
                        }
                        other => format!("expected {}, found {}", one_of(&names), describe(other)),
                    };
                    return self.fail(&field_path(path, tag), message);
                }
                [i] => return self.out.extend(results[*i].iter().cloned()),
                _ => {}
            }
        }
        // Else the only form of the value's kind.
        match plausible.as_slice() {
            [i] => self.out.extend(results[*i].iter().cloned()),
            [] => {
                let mut kinds = Vec::new();
                for branch in branches {
                    kinds_of(self.root, branch, &mut kinds, depth);
                }
                let expected = if kinds.is_empty() {
                    "another value".to_owned()
                } else {
                    kinds.join(" or ")
                };
                self.fail(
                    path,
                    format!("expected {expected}, found {}", describe(value)),
                );
            }
            candidates => {
                let titles: Vec<&str> = candidates
                    .iter()
                    .filter_map(|&i| branches[i].get("title")?.as_str())
                    .collect();
                let why = if titles.len() == candidates.len() {
                    format!(" ({})", titles.join(", "))
                } else {
                    results
                        .iter()
                        .find_map(|v| v.first())
                        .map(|v| format!(" (first alternative: {v})"))
                        .unwrap_or_default()
                };
                self.fail(
                    path,
                    format!("{} matches none of the allowed forms{why}", describe(value)),
                );
            }
        }
    }
}

fn validate_at(
    root: &Value,
    schema: &Value,
    value: &Value,
    path: &str,
    depth: usize,
) -> Vec<Violation> {
    let mut out = Vec::new();
    Validator {
        root,
        out: &mut out,
    }
    .check(schema, value, path, depth);
    out
}

/// A local reference: `#`, `#/definitions/Name`, `#/$defs/Name` (any JSON pointer).
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

/// The property every form requires and constrains to its own values (`const`, `enum`,
/// or `not` for an enum's catch-all): an enum's tag.
fn discriminator<'a>(branches: &[&'a Value]) -> Option<&'a str> {
    let required = |branch: &Value, tag: &str| {
        branch
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|n| n == tag))
    };
    let first = branches.first()?.get("required")?.as_array()?;
    first.iter().filter_map(Value::as_str).find(|tag| {
        branches.iter().all(|branch| {
            required(branch, tag)
                && tag_schema(branch, tag).is_some_and(|t| {
                    t.get("const").is_some() || t.get("enum").is_some() || t.get("not").is_some()
                })
        }) && branches
            .iter()
            .any(|branch| tag_schema(branch, tag).is_some_and(|t| t.get("const").is_some()))
    })
}

fn tag_schema<'a>(branch: &'a Value, tag: &str) -> Option<&'a Value> {
    branch.get("properties")?.get(tag)
}

/// Whether `schema` takes values of `value`'s kind (object, string, number...), whatever
/// the rest of it says.
fn plausible(root: &Value, schema: &Value, value: &Value, depth: usize) -> bool {
    let Value::Object(map) = schema else {
        return *schema != Value::Bool(false);
    };
    if depth > MAX_DEPTH {
        return true;
    }
    if let Some(target) = map
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve(root, r))
    {
        if !plausible(root, target, value, depth + 1) {
            return false;
        }
    }
    if let Some(types) = map.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let fits = |t: &&str| match *t {
            "integer" | "number" => value.is_number(),
            t => has_type(value, t),
        };
        if !types.is_empty() && !types.iter().any(fits) {
            return false;
        }
    }
    if let Some(members) = map.get("enum").and_then(Value::as_array) {
        if !members.iter().any(|m| kind(m) == kind(value)) {
            return false;
        }
    }
    if map.get("const").is_some_and(|c| kind(c) != kind(value)) {
        return false;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = map.get(key).and_then(Value::as_array) {
            if !branches
                .iter()
                .any(|b| plausible(root, b, value, depth + 1))
            {
                return false;
            }
        }
    }
    true
}

/// The kinds of value `schema` takes, added to `kinds` (`object`, `string`...).
fn kinds_of(root: &Value, schema: &Value, kinds: &mut Vec<&'static str>, depth: usize) {
    let mut add = |k: &'static str| {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    };
    let Value::Object(map) = schema else { return };
    if depth > MAX_DEPTH {
        return;
    }
    match map.get("type") {
        Some(Value::String(t)) => add(kind_name(t)),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .for_each(|t| add(kind_name(t))),
        _ => {}
    }
    if let Some(members) = map.get("enum").and_then(Value::as_array) {
        members.iter().for_each(|m| add(kind(m)));
    }
    if let Some(constant) = map.get("const") {
        add(kind(constant));
    }
    for key in ["anyOf", "oneOf"] {
        for branch in map.get(key).and_then(Value::as_array).into_iter().flatten() {
            kinds_of(root, branch, kinds, depth + 1);
        }
    }
    if let Some(target) = map
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve(root, r))
    {
        kinds_of(root, target, kinds, depth + 1);
    }
}

fn kind_name(t: &str) -> &'static str {
    match t {
        "null" => "null",
        "boolean" => "boolean",
        "object" => "object",
        "array" => "array",
        "string" => "string",
        "integer" => "integer",
        _ => "number",
    }
}

/// A value's JSON kind.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// serde's list of names: `` `a` ``, `` `a` or `b` ``, `` one of `a`, `b`, `c` ``.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".to_owned(),
        [a] => format!("`{a}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        _ => {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("one of {}", quoted.join(", "))
        }
    }
}

/// A number as an exact integer, when it is one (a float that is a whole number is read
/// whole, so that `18446744073709551616` compares above `u64::MAX`).
fn exact(n: &serde_json::Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i.into());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.into());
    }
    let f = n.as_f64()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 1.0e38).then_some(f as i128)
}

/// `n < bound` (`n <= bound` when `exclusive`), exactly for integers.
fn below(n: &serde_json::Number, bound: &Value, exclusive: bool) -> bool {
    let Value::Number(bound) = bound else {
        return false;
    };
    match (exact(n), exact(bound)) {
        (Some(n), Some(b)) => n < b || (exclusive && n == b),
        _ => {
            let (n, b) = (
                n.as_f64().unwrap_or(f64::NAN),
                bound.as_f64().unwrap_or(f64::NAN),
            );
            n < b || (exclusive && n == b)
        }
    }
}

/// `n > bound` (`n >= bound` when `exclusive`), exactly for integers.
fn above(n: &serde_json::Number, bound: &Value, exclusive: bool) -> bool {
    let Value::Number(bound) = bound else {
        return false;
    };
    match (exact(n), exact(bound)) {
        (Some(n), Some(b)) => n > b || (exclusive && n == b),
        _ => {
            let (n, b) = (
                n.as_f64().unwrap_or(f64::NAN),
                bound.as_f64().unwrap_or(f64::NAN),
            );
            n > b || (exclusive && n == b)
        }
    }
}

fn has_type(value: &Value, expected: &str) -> bool {
    match expected {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => is_integer(value),
        _ => true,
    }
}

/// An integer as serde reads one: written without a fraction or an exponent (serde_json
/// reads `1.0` and `1e3` as floats, which integer types refuse), or a whole number beyond
/// 64 bits (out of every 64-bit type's range; the bounds then say so).
fn is_integer(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.is_i64()
                || n.is_u64()
                || n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() >= 9.2e18)
        }
        _ => false,
    }
}

/// `integer 5`, `string "x"`, `object`, ...
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if is_integer(value) => format!("integer {n}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            format!("string {:?}…", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

/// `parent.name` for a plain name (ASCII letters, digits, `_`, `-`), else
/// `parent["name"]` with `"`, `\` and control characters escaped: as the SDK writes it.
fn field_path(parent: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        return format!("{parent}.{name}");
    }
    let mut path = format!("{parent}[\"");
    for c in name.chars() {
        match c {
            '"' => path.push_str("\\\""),
            '\\' => path.push_str("\\\\"),
            '\n' => path.push_str("\\n"),
            '\r' => path.push_str("\\r"),
            '\t' => path.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                path.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => path.push(c),
        }
    }
    path.push_str("\"]");
    path
}

#[cfg(test)]
mod tests {
    use proxylet_artifact::tests_support::module_with_section;
    use serde_json::json;

    use super::*;

    fn add_header_schema() -> Value {
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "AddHeader",
            "type": "object",
            "properties": {
                "name": { "type": "string", "default": "hello", "minLength": 1 },
                "value": { "type": "string", "default": "melon" },
                "mode": { "enum": ["set", "append"] },
                "status": { "type": "integer", "minimum": 100, "maximum": 599 },
                "rules": { "type": "array", "items": { "$ref": "#/definitions/Rule" } }
            },
            "additionalProperties": false,
            "definitions": {
                "Rule": {
                    "type": "object",
                    "required": ["prefix"],
                    "properties": { "prefix": { "type": "string" }, "weight": { "type": ["number", "null"] } }
                }
            }
        })
    }

    fn messages(value: Value) -> Vec<String> {
        validate(&add_header_schema(), &value)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_conforming_config_has_no_violations() {
        assert!(messages(json!({})).is_empty());
        assert!(messages(json!({
            "name": "x-fruit", "value": "kiwi", "mode": "append", "status": 200,
            "rules": [{ "prefix": "/a", "weight": 0.5 }, { "prefix": "/b", "weight": null }]
        }))
        .is_empty());
    }

    #[test]
    fn every_violation_names_its_field() {
        assert_eq!(
            messages(json!({
                "value": 5, "mode": "replace", "status": 600, "colour": "red", "name": "",
                "rules": [{ "weight": "heavy" }, 3]
            })),
            [
                "config.colour: unknown field `colour`; expected one of: mode, name, rules, status, value",
                "config.mode: string \"replace\" is not one of \"set\", \"append\"",
                "config.name: the string is 0 characters long, at least 1 expected",
                "config.rules[0]: missing field `prefix`",
                "config.rules[0].weight: expected number or null, found string \"heavy\"",
                "config.rules[1]: expected object, found integer 3",
                "config.status: 600 is more than the maximum 599",
                "config.value: expected string, found integer 5",
            ]
        );
        assert_eq!(
            messages(json!("x")),
            ["config: expected object, found string \"x\""]
        );
        assert_eq!(
            messages(json!({ "status": 2.5 })),
            ["config.status: expected integer, found number 2.5"]
        );
    }

    #[test]
    fn combinators_and_odd_names() {
        let schema = json!({
            "type": "object",
            "additionalProperties": { "anyOf": [{ "type": "string" }, { "type": "integer", "minimum": 0 }] },
            "properties": { "one": { "oneOf": [{ "type": "number" }, { "type": "integer" }] } }
        });
        let found: Vec<String> = validate(&schema, &json!({ "a b": -1, "ok": "x", "one": 3 }))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                // Of the two forms, only the integer takes a number: its violation.
                "config[\"a b\"]: -1 is less than the minimum 0",
                "config.one: integer 3 matches 2 of the `oneOf` forms, expected exactly one",
            ]
        );
        assert_eq!(
            validate(&json!({ "$ref": "#/nowhere" }), &json!(1))[0].message,
            "the schema's `$ref` \"#/nowhere\" cannot be resolved"
        );
        assert_eq!(
            validate(&json!({ "$ref": "#" }), &json!(1))[0].message,
            "the schema nests `$ref`s too deeply (is it cyclic?)"
        );
    }

    fn found(schema: &Value, value: Value) -> Vec<String> {
        validate(schema, &value)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn integers_are_read_as_serde_reads_them_and_bounds_are_exact() {
        let u64_schema = json!({ "type": "integer", "minimum": 0, "maximum": u64::MAX });
        assert!(found(&u64_schema, json!(u64::MAX)).is_empty());
        assert!(found(&u64_schema, json!(0)).is_empty());
        // 2^64 reaches serde_json as a float equal to `u64::MAX as f64`: compared whole.
        let beyond: Value = serde_json::from_str("18446744073709551616").unwrap();
        assert_eq!(
            found(&u64_schema, beyond),
            ["config: 1.8446744073709552e+19 is more than the maximum 18446744073709551615"]
        );
        assert_eq!(
            found(&u64_schema, json!(-1)),
            ["config: -1 is less than the minimum 0"]
        );
        for float in ["1.0", "1e3", "1.5"] {
            let value: Value = serde_json::from_str(float).unwrap();
            assert_eq!(
                found(&u64_schema, value),
                [format!(
                    "config: expected integer, found number {}",
                    serde_json::from_str::<Value>(float).unwrap()
                )],
                "{float}"
            );
        }
        let i64_schema = json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX });
        assert!(found(&i64_schema, json!(i64::MIN)).is_empty());
        assert_eq!(
            found(&i64_schema, json!(i64::MAX as u64 + 1)),
            ["config: 9223372036854775808 is more than the maximum 9223372036854775807"]
        );
        assert_eq!(
            found(
                &json!({ "exclusiveMaximum": 10, "exclusiveMinimum": 0 }),
                json!(10)
            ),
            ["config: 10 must be less than 10"]
        );
    }

    #[test]
    fn tuples_counts_and_negation() {
        let pair = json!({
            "type": "array",
            "prefixItems": [{ "type": "integer", "minimum": 0, "maximum": 255 }, { "type": "string" }],
            "minItems": 2,
            "maxItems": 2
        });
        assert!(found(&pair, json!([1, "x"])).is_empty());
        assert_eq!(
            found(&pair, json!([-1, 2])),
            [
                "config[0]: -1 is less than the minimum 0",
                "config[1]: expected string, found integer 2"
            ]
        );
        assert_eq!(
            found(&pair, json!([1, "x", 3])),
            ["config: 3 items, at most 2 allowed"]
        );
        let rest = json!({ "prefixItems": [{ "type": "string" }], "items": { "type": "boolean" } });
        assert_eq!(
            found(&rest, json!(["a", true, 3])),
            ["config[2]: expected boolean, found integer 3"]
        );
        let one = json!({ "type": "object", "minProperties": 1, "maxProperties": 1 });
        assert_eq!(
            found(&one, json!({})),
            ["config: 0 fields, at least 1 expected"]
        );
        assert_eq!(
            found(&one, json!({ "a": 1, "b": 2 })),
            ["config: 2 fields, at most 1 allowed"]
        );
        let not = json!({ "type": "string", "not": { "enum": ["a", "b"] } });
        assert!(found(&not, json!("c")).is_empty());
        assert_eq!(
            found(&not, json!("a")),
            ["config: string \"a\" is not allowed here"]
        );
    }

    /// `{"mode": "jwt", …}`: the form is chosen by its tag, so a violation names the field
    /// inside it, as the SDK does.
    #[test]
    fn a_tag_chooses_the_form_whose_violations_are_reported() {
        let tagged = json!({ "oneOf": [
            { "type": "object", "properties": { "mode": { "const": "open" } }, "required": ["mode"] },
            {
                "type": "object",
                "properties": {
                    "mode": { "const": "external" },
                    "timeout_ms": { "type": "integer", "minimum": 0, "maximum": u64::MAX },
                    "on_error": { "enum": ["deny", "allow"] }
                },
                "required": ["mode", "timeout_ms"],
                "additionalProperties": false
            },
            {
                "type": "object",
                "properties": { "mode": { "type": "string", "not": { "enum": ["open", "external"] } } },
                "required": ["mode"]
            }
        ]});
        assert!(found(&tagged, json!({ "mode": "open", "x": 1 })).is_empty());
        assert!(found(&tagged, json!({ "mode": "anything" })).is_empty());
        assert_eq!(
            found(&tagged, json!({ "mode": "external", "timeout_ms": -1 })),
            ["config.timeout_ms: -1 is less than the minimum 0"]
        );
        assert_eq!(
            found(
                &tagged,
                json!({ "mode": "external", "timeout_ms": 1, "on_error": "open" })
            ),
            ["config.on_error: string \"open\" is not one of \"deny\", \"allow\""]
        );
        assert_eq!(
            found(&tagged, json!({ "mode": "external" })),
            ["config: missing field `timeout_ms`"]
        );
        assert_eq!(
            found(&tagged, json!({ "timeout_ms": 1 })),
            ["config: missing field `mode`"]
        );
        assert_eq!(
            found(&tagged, json!("open")),
            ["config: expected object, found string \"open\""]
        );
        let closed = json!({ "oneOf": [
            { "type": "object", "properties": { "t": { "const": "a" } }, "required": ["t"] },
            { "type": "object", "properties": { "t": { "const": "b" } }, "required": ["t"] },
            { "type": "object", "properties": { "t": { "const": "c" } }, "required": ["t"] }
        ]});
        assert_eq!(
            found(&closed, json!({ "t": "d" })),
            ["config.t: unknown variant `d`, expected one of `a`, `b`, `c`"]
        );
        assert_eq!(
            found(&closed, json!({ "t": 0 })),
            ["config.t: expected one of `a`, `b`, `c`, found integer 0"]
        );
    }

    #[test]
    fn without_a_tag_the_only_form_of_the_values_kind_is_reported() {
        let untagged = json!({ "anyOf": [
            { "title": "Millis", "type": "integer", "minimum": 0 },
            { "title": "Spec", "type": "object", "properties": { "secs": { "type": "integer", "minimum": 0 } } },
            { "title": "Named", "type": "string" },
            { "title": "Pair", "type": "array" }
        ]});
        assert_eq!(
            found(&untagged, json!({ "secs": -1 })),
            ["config.secs: -1 is less than the minimum 0"]
        );
        assert_eq!(
            found(&untagged, json!(true)),
            ["config: expected integer or object or string or array, found boolean true"]
        );
        let two_numbers = json!({ "anyOf": [
            { "title": "Small", "type": "integer", "maximum": 9 },
            { "title": "Even", "type": "integer", "minimum": 100 }
        ]});
        assert_eq!(
            found(&two_numbers, json!(50)),
            ["config: integer 50 matches none of the allowed forms (Small, Even)"]
        );
        let external = json!({ "oneOf": [
            { "enum": ["pass"] },
            {
                "type": "object",
                "properties": { "pass": { "type": "null" }, "status": { "type": "integer" } },
                "minProperties": 1, "maxProperties": 1, "additionalProperties": false
            }
        ]});
        assert!(found(&external, json!("pass")).is_empty());
        assert!(found(&external, json!({ "status": 503 })).is_empty());
        assert_eq!(
            found(&external, json!("status")),
            ["config: string \"status\" is not one of \"pass\""]
        );
        assert_eq!(
            found(&external, json!({ "teleport": 1 })),
            ["config.teleport: unknown field `teleport`; expected one of: pass, status"]
        );
        assert_eq!(
            found(&external, json!(7)),
            ["config: expected string or object, found integer 7"]
        );
    }

    #[test]
    fn odd_names_are_quoted_like_the_sdk_quotes_them() {
        let open = json!({ "type": "object", "additionalProperties": { "type": "string" } });
        assert_eq!(
            found(&open, json!({ "a\"b\\c\nd\u{1}e é": 1 })),
            ["config[\"a\\\"b\\\\c\\nd\\u{1}e é\"]: expected string, found integer 1"]
        );
    }

    #[test]
    fn the_schema_is_read_from_the_module_section() {
        let line = json!({ "rootId": "add_header", "schema": add_header_schema() }).to_string();
        let wasm = module_with_section(CONFIG_SCHEMA_SECTION, format!("{line}\n").as_bytes());
        assert_eq!(
            module_schema(&wasm, "add_header").unwrap(),
            Some(add_header_schema())
        );
        assert_eq!(module_schema(&wasm, "other").unwrap(), None);
        assert!(check_config(&wasm, "add_header", &json!({ "name": "x" })).unwrap());
        let error = check_config(&wasm, "add_header", &json!({ "value": 5 })).unwrap_err();
        assert!(
            error
                .message()
                .contains("config.value: expected string, found integer 5"),
            "{error}"
        );
        assert!(error.message().contains("Nothing was written"), "{error}");

        let without = module_with_section("other", b"{}");
        assert_eq!(module_schema(&without, "add_header").unwrap(), None);
        assert!(!check_config(&without, "add_header", &json!({ "value": 5 })).unwrap());

        let broken = module_with_section(CONFIG_SCHEMA_SECTION, b"{");
        assert!(module_schema(&broken, "add_header")
            .unwrap_err()
            .message()
            .contains("section is malformed"));
    }
}
