mod auth {
    use proxylet::prelude::*;
    #[proxylet::filter(root_id = "gate", export = false)]
    pub fn on_request_headers(_headers: &mut Headers) {}
}

mod tag {
    use proxylet::prelude::*;
    #[proxylet::filter(root_id = "gate", export = false)]
    pub fn on_response_headers(_headers: &mut Headers) {}
}

proxylet::main!(auth::on_request_headers, tag::on_response_headers);

fn main() {}
