// Every serde enum representation derives a schema, and its JSON is what validators read.
use proxylet::prelude::*;
use proxylet::schema::{json, json_len, Schema, Tagging};

#[derive(Deserialize, ConfigSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum External {
    Pass,
    Status(u16),
    Redirect {
        location: String,
    },
    Pair(u8, String),
    #[serde(skip)]
    Internal,
}

#[derive(Deserialize, ConfigSchema)]
#[serde(
    tag = "mode",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
enum Internal {
    Open,
    Keys(Keys),
    External {
        cluster_name: String,
        #[serde(default)]
        timeout_ms: u64,
    },
    #[serde(rename_all = "UPPERCASE")]
    Shout {
        cluster_name: String,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize, ConfigSchema)]
#[serde(deny_unknown_fields)]
struct Keys {
    keys: Vec<String>,
}

#[derive(Deserialize, ConfigSchema)]
#[serde(tag = "t", content = "c", deny_unknown_fields)]
enum Adjacent {
    A,
    B(u8),
    C { x: i8 },
    D(u8, u8),
}

#[derive(Deserialize, ConfigSchema)]
#[serde(untagged)]
enum Untagged {
    Millis(u64),
    Text(String),
    Nothing,
}

#[derive(Deserialize, ConfigSchema)]
enum Mixed {
    Tagged(bool),
    #[serde(untagged)]
    Raw(String),
}

#[derive(Deserialize, ConfigSchema)]
struct Config {
    external: External,
    internal: Vec<Internal>,
    adjacent: Option<Adjacent>,
    untagged: Untagged,
    mixed: Mixed,
}

// The JSON is built at compile time, like the module's section.
const JSON: [u8; json_len(Config::SCHEMA)] = json(Config::SCHEMA);

fn main() {
    let text = std::str::from_utf8(&JSON).unwrap();
    assert!(text.contains(r#""mode":{"const":"keys"}"#), "{text}");
    assert!(text.contains(r#""clusterName""#), "{text}");
    assert!(text.contains(r#""CLUSTER_NAME""#), "{text}");
    assert!(
        text.contains(r#"{"title":"Nothing","type":"null"}"#),
        "{text}"
    );
    assert!(matches!(
        Internal::SCHEMA,
        Schema::Variants {
            tagging: Tagging::Internal { tag: "mode" },
            ..
        }
    ));
    assert!(Config::SCHEMA.hides_error_paths());
    assert!(!External::SCHEMA.hides_error_paths());
}
