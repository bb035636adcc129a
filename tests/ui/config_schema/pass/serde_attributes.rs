// The schema follows serde: renames, defaults, unknown fields, skipped fields, options.
use proxylet::prelude::*;
use proxylet::schema::to_json;

#[derive(Deserialize, ConfigSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    header_name: String,
    #[serde(default)]
    max_age: u32,
    #[serde(rename = "on")]
    enabled: Option<bool>,
    #[serde(skip)]
    cache: Vec<u8>,
    mode: Mode,
}

#[derive(Deserialize, ConfigSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Mode {
    SetOnce,
    Append,
}

fn main() {
    assert_eq!(
        to_json(Config::SCHEMA),
        concat!(
            r#"{"type":"object","properties":{"headerName":{"type":"string"},"#,
            r#""maxAge":{"type":"integer","minimum":0,"maximum":4294967295},"#,
            r#""on":{"type":["boolean","null"]},"mode":{"enum":["SET_ONCE","APPEND"]}},"#,
            r#""required":["headerName","mode"],"additionalProperties":false}"#,
        )
    );
}
