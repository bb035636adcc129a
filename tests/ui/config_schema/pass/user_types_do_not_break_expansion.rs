// A user's own `Option`, `Schema`, `Field` and `ConfigSchema` must not break generated code.
#![allow(dead_code)]
use proxylet::prelude::*;

enum Option {
    Nothing,
}
struct Schema;
struct Field;
trait ConfigSchema {}

#[derive(Deserialize, proxylet::schema::ConfigSchema)]
struct Config {
    tag: std::option::Option<String>,
}

#[proxylet::filter(root_id = "hygiene")]
fn on_request_headers(headers: &mut Headers, config: &Config) {
    if let std::option::Option::Some(tag) = &config.tag {
        headers.set("x-tag", tag);
    }
}

fn main() {
    assert!(<on_request_headers as proxylet::Filter>::CONFIG_SCHEMA.is_some());
}
