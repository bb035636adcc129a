use proxylet::prelude::*;

#[derive(ConfigSchema)]
union Config {
    a: u32,
    b: f32,
}

fn main() {}
