use proxylet::prelude::*;

#[proxylet::filter]
fn on_request_headers<C: serde::de::DeserializeOwned>(headers: &mut Headers, _config: &C) {
    headers.set("x", "y");
}

fn main() {}
