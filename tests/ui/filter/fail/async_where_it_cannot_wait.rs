use proxylet::prelude::*;

// A hook that runs once the stream is over has nothing to wait for.
#[proxylet::filter(root_id = "log", export = false)]
async fn on_log() {}

// TCP hooks are not async.
#[proxylet::filter(root_id = "tcp", export = false)]
async fn on_downstream_data(data: &mut Data) -> Action {
    let _ = data;
    Action::Continue
}

// The host lends the body only until the hook first waits.
#[proxylet::filter(root_id = "body", export = false)]
async fn on_request_body(body: &mut Body) -> Action {
    let _ = body;
    Action::Continue
}

#[derive(Default)]
struct Stateful;

// The per-stream state of an impl filter cannot be held across `.await`.
#[proxylet::filter(root_id = "method", export = false)]
impl Stateful {
    async fn on_request_headers(&mut self, headers: &mut Headers) {
        let _ = headers;
    }
}

fn main() {}
