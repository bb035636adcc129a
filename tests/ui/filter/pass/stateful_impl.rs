// The impl-block form: per-request state in `Self`, several hooks, a plugin, buffering.
use proxylet::prelude::*;
use std::cell::Cell;

#[derive(Deserialize, Default)]
struct Config {
    header: String,
}

struct Totals {
    requests: Cell<u64>,
}

impl proxylet::Plugin for Totals {
    type Config = Config;

    fn new(_config: &Config, _cx: &mut PluginCx<'_>) -> Result<Self, proxylet::config::ConfigError> {
        Ok(Totals { requests: Cell::new(0) })
    }
}

#[derive(Default)]
struct Timing {
    bytes: usize,
}

#[proxylet::filter(root_id = "timing", plugin = Totals, max_body = 1024)]
impl Timing {
    fn on_request_headers(&mut self, headers: &Headers, totals: &Totals, config: &Config) {
        totals.requests.set(totals.requests.get() + 1);
        let _ = headers.get(&config.header);
    }

    fn on_request_body(&mut self, body: &mut Body, end: EndOfStream) -> Action {
        self.bytes += body.len();
        let _ = end;
        Action::Continue
    }

    fn on_response_headers(&mut self, headers: &mut Headers, stream: &mut Stream) {
        headers.set("x-request-bytes", self.bytes.to_string());
        let _ = stream.pending_calls();
    }

    fn on_log(&self, stream: &mut Stream) {
        let _ = stream.request_headers();
    }

    fn helper(&self) -> usize {
        self.bytes
    }
}

fn main() {
    let _ = Timing::default().helper();
}
