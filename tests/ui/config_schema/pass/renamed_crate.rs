// `#[config_schema(crate = "…")]` for a renamed `proxylet` dependency.
extern crate proxylet as px;

use px::schema::ConfigSchema;
use serde::Deserialize;

#[derive(Deserialize, ConfigSchema)]
#[config_schema(crate = "px")]
struct Config {
    name: String,
}

fn main() {
    assert_eq!(
        px::schema::to_json(Config::SCHEMA),
        r#"{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"#
    );
}
