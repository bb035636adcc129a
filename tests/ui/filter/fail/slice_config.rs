use proxylet::prelude::*;

#[proxylet::filter]
fn on_request_headers(headers: &mut Headers, config: &[u8]) {
    headers.set("x-config-len", config.len().to_string());
}

fn main() {}
