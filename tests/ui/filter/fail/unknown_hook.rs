use proxylet::prelude::*;

#[proxylet::filter]
fn on_respons_headers(headers: &mut Headers) {
    headers.set("hello", "melon");
}

fn main() {}
