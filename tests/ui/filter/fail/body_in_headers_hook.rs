use proxylet::prelude::*;

#[proxylet::filter]
fn on_request_headers(body: &mut Body) {
    let _ = body.len();
}

fn main() {}
