use proxylet::prelude::*;
use std::collections::HashMap;

#[derive(Deserialize, ConfigSchema)]
struct Config {
    name: String,
    #[serde(flatten)]
    extra: HashMap<String, String>,
}

fn main() {
    let _ = Config::SCHEMA;
}
