use proxylet::prelude::*;

#[proxylet::filter]
fn on_request_headers(headers: &mut Headers) -> u16 {
    headers.set("x", "y");
    200
}

fn main() {}
