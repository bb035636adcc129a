use proxylet::prelude::*;

#[proxylet::filter(rootid = "x")]
fn on_request_headers(_headers: &mut Headers) {}

fn main() {}
