// A user's own `Result`, `Option`, `Ok` and `Some` must not break generated code.
#![allow(dead_code)]
use proxylet::prelude::*;

type Result<T> = std::result::Result<T, u8>;
enum Option {
    Nothing,
}
struct Ok;
struct Some;

#[derive(Deserialize, Default)]
struct Config {
    tag: String,
}

#[proxylet::filter(root_id = "hygiene")]
fn on_request_headers(headers: &mut Headers, config: &Config) {
    headers.set("x-tag", &config.tag);
}

fn main() {}
