#[derive(Default)]
struct Filter;

#[proxylet::filter]
impl Filter {
    fn on_request_headers(&mut self, config: &str) {
        let _ = config;
    }

    fn on_response_headers(&mut self, config: &[u8]) {
        let _ = config;
    }
}

fn main() {}
