// An internally tagged variant is read from the object that holds its tag: a newtype of a
// string, a number or a sequence can never be read, whatever the configuration.
use proxylet::prelude::*;

#[derive(Deserialize, ConfigSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum Config {
    Header(String),
    Limit(Option<Box<u32>>),
    Prefixes(Vec<String>),
    Pair((u8, u8)),
    Fine(Settings),
}

#[derive(Deserialize, ConfigSchema)]
struct Settings {
    name: String,
}

fn main() {
    let _ = Config::SCHEMA;
}
