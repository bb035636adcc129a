use proxylet::prelude::*;

#[derive(Deserialize)]
struct Limit {
    max: u32,
}

#[derive(Deserialize, ConfigSchema)]
struct Config {
    limit: Limit,
}

fn main() {}
