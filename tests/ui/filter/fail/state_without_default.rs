use proxylet::prelude::*;

struct State {
    started: u64,
}

#[proxylet::filter]
impl State {
    fn on_request_headers(&mut self, _headers: &mut Headers) {
        self.started += 1;
    }
}

fn main() {}
