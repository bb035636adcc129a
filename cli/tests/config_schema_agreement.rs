//! The validator of `cargo proxylet deploy`/`run` refuses the configurations the SDK
//! refuses, naming the same field: both read the schemas and cases of the SDK's
//! `tests/config_enums/` (every serde enum representation, nested in structs, vectors
//! and options). The SDK's test checks there that the schemas are what
//! `#[derive(ConfigSchema)]` emits and that `proxylet::config::from_json` names these
//! paths.

use cargo_proxylet::schema::validate;
use serde_json::Value;

fn read(file: &str) -> Value {
    let path = format!(
        "{}/../sdk/tests/config_enums/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_validator_refuses_what_the_sdk_refuses_at_the_same_path() {
    let schemas = read("schemas.json");
    let cases = read("cases.json");
    let mut disagreements = Vec::new();
    for case in cases["refused"].as_array().unwrap() {
        let schema = &schemas[case["type"].as_str().unwrap()];
        assert!(schema.is_object(), "{case}");
        let raw = case["config"].as_str().unwrap();
        let config: Value = serde_json::from_str(raw).unwrap();
        let violations = validate(schema, &config);
        let expected = case["path"].as_str().unwrap();
        match violations.as_slice() {
            [only] if only.path == expected => {}
            _ => disagreements.push(format!(
                "{raw}\n  the SDK: {expected}: {}\n  the CLI: {violations:?}",
                case["message"].as_str().unwrap_or_default()
            )),
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn the_validator_accepts_what_the_sdk_accepts() {
    let schemas = read("schemas.json");
    for case in read("cases.json")["accepted"].as_array().unwrap() {
        let schema = &schemas[case["type"].as_str().unwrap()];
        let config: Value = serde_json::from_str(case["config"].as_str().unwrap()).unwrap();
        let violations = validate(schema, &config);
        assert!(violations.is_empty(), "{case}: {violations:?}");
    }
}
