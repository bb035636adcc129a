use proxylet::prelude::*;

#[derive(Deserialize, ConfigSchema)]
#[config_schema(crat = "proxylet")]
struct Config {
    name: String,
}

fn main() {}
