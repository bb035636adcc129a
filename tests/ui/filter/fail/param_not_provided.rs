use proxylet::prelude::*;

#[proxylet::filter]
fn on_request_headers(headers: &mut Headers, path: String) {
    headers.set("x-path", path);
}

fn main() {}
