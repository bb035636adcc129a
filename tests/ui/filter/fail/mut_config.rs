use proxylet::prelude::*;

#[derive(Deserialize)]
struct Config {
    hits: u64,
}

#[proxylet::filter]
fn on_request_headers(_headers: &mut Headers, config: &mut Config) {
    config.hits += 1;
}

fn main() {}
