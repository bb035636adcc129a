#[proxylet::filter]
struct AddHeader;

fn main() {}
