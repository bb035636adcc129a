//! `#[derive(ConfigSchema)]` against serde: the schema follows the serde attributes, and a
//! configuration serde accepts is never refused by it.
#![allow(dead_code)]

use std::collections::BTreeMap;

use proxylet::prelude::*;
use proxylet::schema::{to_json, Schema};
use proxylet::Filter;
use serde_json::{json, Value};

fn schema_of<T: ConfigSchema>() -> Value {
    let text = to_json(T::SCHEMA);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The property names of an object schema.
fn properties(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AddHeader {
    pub name: String,
    pub value: String,
}

impl Default for AddHeader {
    fn default() -> Self {
        AddHeader {
            name: "hello".into(),
            value: "melon".into(),
        }
    }
}

#[test]
fn the_flagship_config_is_an_object_of_two_optional_strings() {
    assert_eq!(
        schema_of::<AddHeader>(),
        json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
            "additionalProperties": false
        })
    );
}

#[derive(Deserialize, ConfigSchema)]
struct Fields {
    plain: u16,
    maybe: Option<bool>,
    #[serde(default)]
    defaulted: Vec<String>,
    #[serde(default = "seven")]
    seven: i8,
    #[serde(rename = "renamed")]
    original: f64,
    #[serde(rename(serialize = "out", deserialize = "in"))]
    two_names: String,
    #[serde(alias = "colour")]
    color: String,
    #[serde(skip)]
    skipped: u8,
    #[serde(skip_deserializing)]
    also_skipped: u8,
    #[serde(deserialize_with = "any_value")]
    custom: String,
    r#type: String,
    map: BTreeMap<String, Option<u8>>,
}

fn seven() -> i8 {
    7
}

fn any_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Value::deserialize(d).map(|v| v.to_string())
}

#[test]
fn fields_follow_their_serde_attributes() {
    assert_eq!(
        schema_of::<Fields>(),
        json!({
            "type": "object",
            "properties": {
                "plain": {"type": "integer", "minimum": 0, "maximum": 65535},
                "maybe": {"type": ["boolean", "null"]},
                "defaulted": {"type": "array", "items": {"type": "string"}},
                "seven": {"type": "integer", "minimum": -128, "maximum": 127},
                "renamed": {"type": "number"},
                "in": {"type": "string"},
                "color": {"type": "string"},
                "colour": {"type": "string"},
                "custom": {},
                "type": {"type": "string"},
                "map": {"type": "object", "additionalProperties": {"type": ["integer", "null"], "minimum": 0, "maximum": 255}}
            },
            "required": ["plain", "renamed", "in", "custom", "type", "map"]
        })
    );
    // serde agrees: the required fields alone make a valid config, with the alias too.
    let minimal = json!({"plain": 1, "renamed": 1.5, "in": "x", "custom": [1], "type": "t", "map": {}, "colour": "red"});
    serde_json::from_value::<Fields>(minimal).unwrap();
}

macro_rules! casing {
    ($($rule:literal => $field_struct:ident, $variant_enum:ident;)*) => {$(
        #[derive(Deserialize, ConfigSchema)]
        #[serde(rename_all = $rule, deny_unknown_fields)]
        struct $field_struct {
            header_name: u8,
            max_age_secs: u8,
            x: u8,
        }

        #[derive(Deserialize, ConfigSchema)]
        #[serde(rename_all = $rule)]
        enum $variant_enum {
            VeryTasty,
            A,
            HTTPStatus,
        }
    )*

        #[test]
        fn every_serde_casing_names_fields_and_variants_as_serde_does() {
            $(
                let schema = schema_of::<$field_struct>();
                let names = properties(&schema);
                assert_eq!(names.len(), 3, "{}", $rule);
                let config: serde_json::Map<String, Value> =
                    names.iter().map(|n| (n.clone(), json!(1))).collect();
                serde_json::from_value::<$field_struct>(Value::Object(config))
                    .unwrap_or_else(|e| panic!("{}: {names:?}: {e}", $rule));

                let schema = schema_of::<$variant_enum>();
                let variants = schema["enum"].as_array().unwrap();
                assert_eq!(variants.len(), 3, "{}", $rule);
                for variant in variants {
                    serde_json::from_value::<$variant_enum>(variant.clone())
                        .unwrap_or_else(|e| panic!("{}: {variant}: {e}", $rule));
                }
            )*
        }
    };
}

casing! {
    "lowercase" => LowerFields, LowerVariants;
    "UPPERCASE" => UpperFields, UpperVariants;
    "PascalCase" => PascalFields, PascalVariants;
    "camelCase" => CamelFields, CamelVariants;
    "snake_case" => SnakeFields, SnakeVariants;
    "SCREAMING_SNAKE_CASE" => ScreamingSnakeFields, ScreamingSnakeVariants;
    "kebab-case" => KebabFields, KebabVariants;
    "SCREAMING-KEBAB-CASE" => ScreamingKebabFields, ScreamingKebabVariants;
}

#[test]
fn casings_give_the_expected_names() {
    assert_eq!(
        properties(&schema_of::<CamelFields>()),
        ["headerName", "maxAgeSecs", "x"]
    );
    assert_eq!(
        schema_of::<KebabVariants>(),
        json!({"enum": ["very-tasty", "a", "h-t-t-p-status"]})
    );
}

#[derive(Deserialize, ConfigSchema)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Set,
    #[serde(rename = "add", alias = "append")]
    Append,
    #[serde(skip)]
    Internal,
}

#[derive(Deserialize, ConfigSchema)]
enum WithData {
    Unit,
    Pair(u8, u8),
}

#[derive(Deserialize, ConfigSchema)]
#[serde(tag = "kind")]
enum Tagged {
    A,
    B,
}

#[derive(Deserialize, ConfigSchema)]
#[serde(untagged)]
enum Untagged {
    A,
}

#[test]
fn unit_enums_list_their_names_and_others_describe_their_variants() {
    assert_eq!(
        schema_of::<Mode>(),
        json!({"enum": ["set", "add", "append"]})
    );
    let byte = json!({"type": "integer", "minimum": 0, "maximum": 255});
    assert_eq!(
        schema_of::<WithData>(),
        json!({"oneOf": [
            {"enum": ["Unit"]},
            {
                "type": "object",
                "properties": {
                    "Unit": {"type": "null"},
                    "Pair": {"type": "array", "prefixItems": [byte, byte], "minItems": 2, "maxItems": 2}
                },
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": false
            }
        ]})
    );
    assert_eq!(
        schema_of::<Tagged>(),
        json!({"oneOf": [
            {"type": "object", "properties": {"kind": {"const": "A"}}, "required": ["kind"]},
            {"type": "object", "properties": {"kind": {"const": "B"}}, "required": ["kind"]}
        ]})
    );
    assert_eq!(
        schema_of::<Untagged>(),
        json!({"anyOf": [{"title": "A", "type": "null"}]})
    );
    serde_json::from_value::<Mode>(json!("append")).unwrap();
    serde_json::from_value::<WithData>(json!({"Unit": null})).unwrap();
    serde_json::from_value::<WithData>(json!({"Pair": [1, 2]})).unwrap();
    serde_json::from_value::<Tagged>(json!({"kind": "B"})).unwrap();
    serde_json::from_value::<Untagged>(json!(null)).unwrap();
}

#[derive(Deserialize, ConfigSchema)]
struct Newtype(Vec<u8>);

#[derive(Deserialize, ConfigSchema)]
struct Pair(u8, String);

#[derive(Deserialize, ConfigSchema)]
struct Unit;

#[derive(Deserialize, ConfigSchema)]
#[serde(transparent)]
struct Transparent {
    inner: bool,
}

#[derive(Deserialize, ConfigSchema)]
#[serde(try_from = "u64")]
struct Percent(u8);

impl TryFrom<u64> for Percent {
    type Error = String;
    fn try_from(value: u64) -> Result<Self, String> {
        u8::try_from(value)
            .ok()
            .filter(|v| *v <= 100)
            .map(Percent)
            .ok_or_else(|| format!("{value} is not a percentage"))
    }
}

#[test]
fn struct_forms_read_as_serde_reads_them() {
    assert_eq!(
        schema_of::<Newtype>(),
        json!({"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}})
    );
    assert_eq!(
        schema_of::<Pair>(),
        json!({
            "type": "array",
            "prefixItems": [{"type": "integer", "minimum": 0, "maximum": 255}, {"type": "string"}],
            "minItems": 2,
            "maxItems": 2
        })
    );
    assert_eq!(schema_of::<Unit>(), json!({}));
    assert_eq!(schema_of::<Transparent>(), json!({"type": "boolean"}));
    assert_eq!(
        schema_of::<Percent>(),
        json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})
    );
}

#[derive(Deserialize, ConfigSchema)]
struct Generic<T> {
    items: Vec<T>,
}

#[derive(Deserialize, ConfigSchema)]
struct Tree {
    label: String,
    children: Vec<Tree>,
    parent: Option<Box<Self>>,
}

#[test]
fn generic_and_self_referential_types() {
    assert_eq!(
        schema_of::<Generic<bool>>(),
        json!({
            "type": "object",
            "properties": {"items": {"type": "array", "items": {"type": "boolean"}}},
            "required": ["items"]
        })
    );
    assert_eq!(
        schema_of::<Tree>(),
        json!({
            "type": "object",
            "properties": {"label": {"type": "string"}, "children": {}, "parent": {}},
            "required": ["label", "children"]
        })
    );
}

// `#[filter]` fills in `CONFIG_SCHEMA` from the config type, when it has a schema.
mod with_schema {
    use super::AddHeader;
    use proxylet::prelude::*;

    #[proxylet::filter(root_id = "with_schema", export = false)]
    pub fn on_response_headers(headers: &mut Headers, config: &AddHeader) {
        headers.set(&config.name, &config.value);
    }
}

mod without_schema {
    use proxylet::prelude::*;

    #[derive(Deserialize, Default)]
    pub struct Plain {
        pub name: String,
    }

    #[proxylet::filter(root_id = "without_schema", export = false)]
    pub fn on_request_headers(headers: &Headers, config: &Plain) {
        let _ = (headers, config);
    }
}

mod no_config {
    use proxylet::prelude::*;

    #[proxylet::filter(root_id = "no_config", export = false)]
    pub fn on_request_headers(headers: &Headers) {
        let _ = headers;
    }
}

mod with_plugin {
    use proxylet::prelude::*;

    #[derive(Deserialize, ConfigSchema)]
    pub struct Limits {
        pub max: u8,
    }

    pub struct Limiter;

    impl proxylet::Plugin for Limiter {
        type Config = Limits;
        fn new(
            _config: &Limits,
            _cx: &mut PluginCx<'_>,
        ) -> Result<Self, proxylet::config::ConfigError> {
            Ok(Limiter)
        }
    }

    #[proxylet::filter(root_id = "with_plugin", plugin = Limiter, export = false)]
    pub fn on_request_headers(headers: &Headers, limiter: &Limiter) {
        let _ = (headers, limiter);
    }
}

#[test]
fn filters_carry_the_schema_of_their_config_type() {
    assert_eq!(
        with_schema::on_response_headers::CONFIG_SCHEMA,
        Some(AddHeader::SCHEMA)
    );
    assert_eq!(without_schema::on_request_headers::CONFIG_SCHEMA, None);
    assert_eq!(no_config::on_request_headers::CONFIG_SCHEMA, None);
    assert_eq!(
        with_plugin::on_request_headers::CONFIG_SCHEMA,
        Some(&Schema::Object {
            fields: &[proxylet::schema::Field {
                name: "max",
                schema: &Schema::Integer { min: 0, max: 255 },
                required: true
            }],
            deny_unknown: false
        })
    );
}
