//! A structural OpenAPI v3 validator for Kubernetes CRD schemas, as the API server applies
//! them to a manifest (strict field validation): `type`, `properties`, `required`, `enum`,
//! `items`, `additionalProperties`, `x-kubernetes-preserve-unknown-fields`, `nullable`,
//! `allOf`, `minLength`/`maxLength`, `minimum`/`maximum`, `maxItems`. CEL rules
//! (`x-kubernetes-validations`) and `pattern` are not evaluated.

use serde_json::Value;

/// Reads `spec.versions[version].schema.openAPIV3Schema` of the CRD file `name` in
/// `../shared/schemas/` beside the checkout.
pub fn crd_schema(name: &str, version: &str) -> Value {
    let root = proxylet_artifact::build::workspace_root(env!("CARGO_MANIFEST_DIR").as_ref())
        .expect("the workspace root");
    let path = root.join("..").join("shared").join("schemas").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the CRD schema {}: {e}", path.display()));
    let crd: Value = serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    crd["spec"]["versions"]
        .as_array()
        .and_then(|versions| versions.iter().find(|v| v["name"] == version))
        .map(|v| v["schema"]["openAPIV3Schema"].clone())
        .unwrap_or_else(|| panic!("{} has no version {version}", path.display()))
}

/// The `apiVersion` (`group/version`, for the served version) and `kind` of the CRD in
/// file `name`.
pub fn crd_identity(name: &str, version: &str) -> (String, String) {
    let root = proxylet_artifact::build::workspace_root(env!("CARGO_MANIFEST_DIR").as_ref())
        .expect("the workspace root");
    let path = root.join("..").join("shared").join("schemas").join(name);
    let crd: Value = serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let group = crd["spec"]["group"].as_str().unwrap();
    let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
    (format!("{group}/{version}"), kind.to_owned())
}

/// Every violation of `schema` by `value`, as `path: message`.
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(schema, value, "", &mut out);
    out
}

fn check(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let here = if path.is_empty() { "<root>" } else { path };
    if value.is_null() && schema["nullable"] == true {
        return;
    }
    if let Some(all) = schema["allOf"].as_array() {
        for sub in all {
            check(sub, value, path, out);
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            out.push(format!("{here}: {value} is not one of {allowed:?}"));
        }
    }
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == true;
    let expected = schema["type"].as_str();
    let type_ok = match expected {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some(other) => panic!("unknown OpenAPI type {other} at {here}"),
    };
    if !type_ok {
        out.push(format!(
            "{here}: expected {}, found {value}",
            expected.unwrap_or("?")
        ));
        return;
    }
    match value {
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if schema["minLength"].as_u64().is_some_and(|m| len < m) {
                out.push(format!(
                    "{here}: shorter than minLength {}",
                    schema["minLength"]
                ));
            }
            if schema["maxLength"].as_u64().is_some_and(|m| len > m) {
                out.push(format!(
                    "{here}: longer than maxLength {}",
                    schema["maxLength"]
                ));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if schema["minimum"].as_f64().is_some_and(|m| x < m) {
                out.push(format!("{here}: below minimum {}", schema["minimum"]));
            }
            if schema["maximum"].as_f64().is_some_and(|m| x > m) {
                out.push(format!("{here}: above maximum {}", schema["maximum"]));
            }
        }
        Value::Array(items) => {
            if schema["maxItems"]
                .as_u64()
                .is_some_and(|m| items.len() as u64 > m)
            {
                out.push(format!("{here}: more than maxItems {}", schema["maxItems"]));
            }
            if schema.get("items").is_some() {
                for (i, item) in items.iter().enumerate() {
                    check(&schema["items"], item, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(fields) => {
            if let Some(required) = schema["required"].as_array() {
                for name in required.iter().filter_map(Value::as_str) {
                    if !fields.contains_key(name) {
                        out.push(format!("{path}.{name}: required field missing"));
                    }
                }
            }
            let properties = schema["properties"].as_object();
            for (name, field) in fields {
                let child = format!("{path}.{name}");
                if path.is_empty() && (name == "apiVersion" || name == "kind") {
                    // Implicit in every object; checked against the CRD by `crd_identity`.
                    if !field.is_string() {
                        out.push(format!("{child}: expected a string"));
                    }
                    continue;
                }
                if path.is_empty() && name == "metadata" {
                    // ObjectMeta is validated by the API server itself, not by the CRD.
                    if !field["name"].is_string() {
                        out.push(".metadata.name: a string is required".into());
                    }
                    continue;
                }
                if let Some(field_schema) = properties.and_then(|p| p.get(name)) {
                    check(field_schema, field, &child, out);
                } else if schema["additionalProperties"].is_object() {
                    check(&schema["additionalProperties"], field, &child, out);
                } else if !preserve && schema["additionalProperties"] != true {
                    out.push(format!("{child}: unknown field"));
                }
            }
        }
        _ => {}
    }
}
