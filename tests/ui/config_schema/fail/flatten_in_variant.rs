use proxylet::prelude::*;
use std::collections::HashMap;

#[derive(Deserialize, ConfigSchema)]
#[serde(tag = "mode")]
enum Config {
    Open {
        name: String,
        #[serde(flatten)]
        extra: HashMap<String, String>,
    },
}

fn main() {
    let _ = Config::SCHEMA;
}
