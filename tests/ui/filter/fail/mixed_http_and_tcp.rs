use proxylet::prelude::*;

#[derive(Default)]
struct State;

#[proxylet::filter]
impl State {
    fn on_request_headers(&mut self, _headers: &mut Headers) {}
    fn on_downstream_data(&mut self, _data: &mut Data) {}
}

fn main() {}
