use proxylet::prelude::*;

#[proxylet::filter]
fn on_log(_stream: &mut Stream) -> Action {
    Action::Continue
}

fn main() {}
