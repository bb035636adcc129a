// Generic config types get `T: ConfigSchema` bounds.
use proxylet::prelude::*;
use proxylet::schema::to_json;

#[derive(Deserialize, ConfigSchema)]
struct Rules<T> {
    rules: Vec<T>,
}

#[derive(Deserialize, ConfigSchema)]
struct Rule {
    prefix: String,
}

fn main() {
    assert_eq!(
        to_json(<Rules<Rule>>::SCHEMA),
        concat!(
            r#"{"type":"object","properties":{"rules":{"type":"array","items":"#,
            r#"{"type":"object","properties":{"prefix":{"type":"string"}},"required":["prefix"]}}},"#,
            r#""required":["rules"]}"#,
        )
    );
}
