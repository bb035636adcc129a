use proxylet::prelude::*;

struct Config {
    value: String,
}

#[proxylet::filter]
fn on_request_headers(headers: &mut Headers, config: &Config) {
    headers.set("x-value", &config.value);
}

fn main() {}
