use proxylet::prelude::*;

#[proxylet::filter(root_id = "add header")]
fn on_request_headers(_headers: &mut Headers) {}

fn main() {}
