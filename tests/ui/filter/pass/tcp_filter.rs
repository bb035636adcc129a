// A TCP (network) filter.
use proxylet::prelude::*;

#[derive(Deserialize, Default)]
struct Guard {
    max_bytes: usize,
}

#[proxylet::filter(root_id = "guard")]
fn on_downstream_data(data: &mut Data, end: EndOfStream, config: &Guard) -> Action {
    if data.len() > config.max_bytes && !end.0 {
        Action::Close
    } else {
        Action::Continue
    }
}

fn main() {}
