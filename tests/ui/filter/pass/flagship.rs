use proxylet::prelude::*;

#[derive(Deserialize)]
struct AddHeader {
    name: String,
    value: String,
}

#[proxylet::filter]
fn on_response_headers(headers: &mut Headers, config: &AddHeader) {
    headers.set(&config.name, &config.value);
}

fn main() {}
