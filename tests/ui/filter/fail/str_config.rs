use proxylet::prelude::*;

#[proxylet::filter]
fn on_request_headers(headers: &mut Headers, config: &str) {
    headers.set("x-config", config);
}

fn main() {}
