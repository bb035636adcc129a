use proxylet::prelude::*;

#[derive(Default)]
struct State;

#[proxylet::filter]
impl State {
    fn on_request_headers(&mut self, _headers: &mut Headers) {}
    fn on_respnse_body(&mut self, _body: &mut Body) {}
}

fn main() {}
