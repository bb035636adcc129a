use proxylet::prelude::*;

#[proxylet::filter]
async fn on_request_headers(headers: &mut Headers) {
    headers.set("x", "y");
}

fn main() {}
