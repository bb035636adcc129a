//! Checking a plugin configuration against the JSON Schema a module carries in its
//! `proxylet.config_schema` custom section, before anything is deployed. proxylet writes
//! one there for each filter whose config type derives `ConfigSchema`
//! ([`proxylet_artifact::config_schema_for`] reads it).
//!
//! The validator covers the subset of JSON Schema that config types derive to: `type`
//! (one or several), `properties`, `required`, `additionalProperties` (boolean or schema),
//! `items`, `enum`, `const`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`,
//! `minLength`, `maxLength`, `minItems`, `maxItems`, `allOf`, `anyOf`, `oneOf`, and local
//! `$ref`s (`#/definitions/…`, `#/$defs/…`). `default`, `title`, `description` and other
//! annotations are accepted and ignored. Every violation is reported, each with the path
//! of the offending field written the way the SDK writes it (`config.value`,
//! `config.rules[2].name`).
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

/// The schema of filter `root_id` in the module's [`CONFIG_SCHEMA_SECTION`], if it has one.
pub fn module_schema(wasm: &[u8], root_id: &str) -> Result<Option<Value>> {
    proxylet_artifact::config_schema_for(wasm, root_id).map_err(|e| err!("{e}"))
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
         `{CONFIG_SCHEMA_SECTION}` section):\n{}\nfix the config; `cargo proxylet check <module>.wasm` \
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
        for key in ["allOf", "anyOf", "oneOf"] {
            let Some(branches) = schema.get(key).and_then(Value::as_array) else {
                continue;
            };
            if key == "allOf" {
                for branch in branches {
                    self.check(branch, value, path, depth + 1);
                }
                continue;
            }
            let mut first_failure = None;
            let mut matching = 0;
            for branch in branches {
                let violations = validate_at(self.root, branch, value, path, depth + 1);
                if violations.is_empty() {
                    matching += 1;
                } else if first_failure.is_none() {
                    first_failure = Some(violations);
                }
            }
            if matching == 0 {
                let why = first_failure
                    .and_then(|v| v.into_iter().next())
                    .map(|v| format!(" (first alternative: {v})"))
                    .unwrap_or_default();
                self.fail(
                    path,
                    format!("{} matches none of the allowed forms{why}", describe(value)),
                );
            } else if key == "oneOf" && matching > 1 {
                self.fail(
                    path,
                    format!(
                        "{} matches {matching} of the `oneOf` forms, expected exactly one",
                        describe(value)
                    ),
                );
            }
        }
        match value {
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
                if let Some(min) = bound("minimum").filter(|min| x < *min) {
                    self.fail(path, format!("{n} is less than the minimum {min}"));
                }
                if let Some(max) = bound("maximum").filter(|max| x > *max) {
                    self.fail(path, format!("{n} is more than the maximum {max}"));
                }
                if let Some(min) = bound("exclusiveMinimum").filter(|min| x <= *min) {
                    self.fail(path, format!("{n} must be more than {min}"));
                }
                if let Some(max) = bound("exclusiveMaximum").filter(|max| x >= *max) {
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
                match schema.get("items") {
                    Some(Value::Array(positional)) => {
                        for (i, (item, item_schema)) in items.iter().zip(positional).enumerate() {
                            self.check(item_schema, item, &format!("{path}[{i}]"), depth + 1);
                        }
                    }
                    Some(item_schema) => {
                        for (i, item) in items.iter().enumerate() {
                            self.check(item_schema, item, &format!("{path}[{i}]"), depth + 1);
                        }
                    }
                    None => {}
                }
            }
            Value::Object(fields) => {
                let properties = schema.get("properties").and_then(Value::as_object);
                if let Some(required) = schema.get("required").and_then(Value::as_array) {
                    for name in required.iter().filter_map(Value::as_str) {
                        if !fields.contains_key(name) {
                            self.fail(&field_path(path, name), "missing required field");
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

fn is_integer(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
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

fn field_path(parent: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("{parent}.{name}")
    } else {
        format!("{parent}[{name:?}]")
    }
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
                "config.rules[0].prefix: missing required field",
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
                "config[\"a b\"]: integer -1 matches none of the allowed forms (first alternative: config[\"a b\"]: expected string, found integer -1)",
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
