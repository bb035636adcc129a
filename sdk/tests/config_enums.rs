//! Config errors inside enums of every serde representation name the full path, and the
//! JSON Schema describes those enums. The schemas (snapshots) and the cases live in
//! `tests/config_enums/`, which the CLI's validator tests read too: both must refuse the
//! same configurations at the same path.
#![allow(dead_code)]

use proxylet::config::from_json;
use proxylet::prelude::*;
use proxylet::schema::{to_json, Schema};
use serde_json::Value;

/// What an auth service's failure does.
#[derive(Deserialize, ConfigSchema, Debug, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    #[default]
    Deny,
    Allow,
}

/// Externally tagged (serde's default), with every kind of variant.
#[derive(Deserialize, ConfigSchema, Debug)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Pass,
    Status(u16),
    Redirect { location: String, code: Option<u16> },
    Pair(u8, String),
}

/// An API key check's settings.
#[derive(Deserialize, ConfigSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub keys: Vec<String>,
    #[serde(default)]
    pub header: Option<String>,
}

/// Internally tagged, like `examples/auth`.
#[derive(Deserialize, ConfigSchema, Debug)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Check {
    Open,
    ApiKey(ApiKey),
    #[serde(alias = "ext")]
    External {
        cluster: String,
        timeout_ms: u64,
        #[serde(default)]
        on_error: OnError,
        #[serde(default)]
        fallback: Vec<Action>,
    },
}

/// Adjacently tagged.
#[derive(Deserialize, ConfigSchema, Debug)]
#[serde(
    tag = "kind",
    content = "spec",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum Limit {
    Unlimited,
    Fixed(u32),
    Window { max: u32, per_ms: u64 },
    Range(i8, i8),
}

/// Untagged.
#[derive(Deserialize, ConfigSchema, Debug)]
#[serde(untagged, deny_unknown_fields)]
pub enum Timeout {
    Millis(u64),
    Spec {
        secs: u32,
        #[serde(default)]
        nanos: u32,
    },
    Named(String),
}

/// Externally tagged with an untagged fallback.
#[derive(Deserialize, ConfigSchema, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Header {
    Remove(String),
    Set {
        name: String,
        value: String,
    },
    #[serde(untagged)]
    Raw(String),
}

/// Internally tagged with an `other` variant.
#[derive(Deserialize, ConfigSchema, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Plugin {
    Known {
        level: u8,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize, ConfigSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub prefix: String,
    pub action: Action,
    pub limit: Option<Limit>,
    pub check: Option<Check>,
    #[serde(default)]
    pub headers: Vec<Header>,
}

/// Every representation, nested in structs, vectors and options.
#[derive(Deserialize, ConfigSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub check: Check,
    #[serde(default)]
    pub routes: Vec<Route>,
    pub timeout: Option<Timeout>,
    #[serde(default)]
    pub plugins: Vec<Plugin>,
}

/// Reads the config error's path and message, or `Ok` when the config type took it.
type Parse = fn(&[u8], bool) -> Result<(), proxylet::config::ConfigError>;

/// A type of this file by name: how to parse into it (`true`: with its schema), and its schema.
fn by_name(name: &str) -> (Parse, &'static Schema) {
    fn parse<T: serde::de::DeserializeOwned + ConfigSchema>(
        raw: &[u8],
        schema: bool,
    ) -> Result<(), proxylet::config::ConfigError> {
        from_json::<T>(raw, None, schema.then_some(T::SCHEMA)).map(drop)
    }
    match name {
        "Config" => (parse::<Config>, Config::SCHEMA),
        "Check" => (parse::<Check>, Check::SCHEMA),
        "Action" => (parse::<Action>, Action::SCHEMA),
        "Limit" => (parse::<Limit>, Limit::SCHEMA),
        "Timeout" => (parse::<Timeout>, Timeout::SCHEMA),
        "Header" => (parse::<Header>, Header::SCHEMA),
        "Plugin" => (parse::<Plugin>, Plugin::SCHEMA),
        other => panic!("no type {other} in this test"),
    }
}

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/config_enums");

fn read(file: &str) -> Value {
    let path = format!("{DATA}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `PROXYLET_BLESS=1` rewrites the expectations with what the code does: read the diff.
fn bless(file: &str, value: &Value) -> bool {
    if std::env::var_os("PROXYLET_BLESS").is_none_or(|v| v != "1") {
        return false;
    }
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    std::fs::write(format!("{DATA}/{file}"), text).unwrap();
    true
}

#[test]
fn every_enum_representation_has_its_json_schema() {
    let mut snapshots = read("schemas.json");
    let mut changed = Vec::new();
    for name in [
        "Action", "Check", "Limit", "Timeout", "Header", "Plugin", "Config",
    ] {
        let (_, schema) = by_name(name);
        let text = to_json(schema);
        let actual: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {text}"));
        if snapshots[name] != actual {
            changed.push(name);
            snapshots[name] = actual;
        }
    }
    if !bless("schemas.json", &snapshots) {
        assert!(
            changed.is_empty(),
            "the schemas of {changed:?} differ from tests/config_enums/schemas.json \
             (PROXYLET_BLESS=1 rewrites it)"
        );
    }
}

#[test]
fn refused_configs_name_the_field_inside_every_enum_representation() {
    let mut cases = read("cases.json");
    let mut failures = Vec::new();
    let mut serde_alone_lost_the_path = 0;
    for case in cases["refused"].as_array_mut().unwrap() {
        let (parse, _) = by_name(case["type"].as_str().unwrap());
        let config = case["config"].as_str().unwrap().to_owned();
        let error = match parse(config.as_bytes(), true) {
            Ok(()) => {
                failures.push(format!("{config}: accepted"));
                continue;
            }
            Err(error) => error,
        };
        let expected = (
            case["path"].as_str().unwrap_or_default(),
            case["message"].as_str().unwrap_or_default(),
        );
        if (error.path(), error.message()) != expected {
            failures.push(format!(
                "{config}:\n  expected {expected:?}\n  found    {error}"
            ));
            case["path"] = error.path().into();
            case["message"] = error.message().into();
        }
        let without = parse(config.as_bytes(), false).unwrap_err();
        if without.path() != error.path() {
            serde_alone_lost_the_path += 1;
        }
    }
    if !bless("cases.json", &cases) {
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    // Most cases reach where serde's own path tracking cannot (inside tagged and
    // untagged enums): without the schema, their path is the enum's, or `config`.
    assert!(
        serde_alone_lost_the_path >= 15,
        "{serde_alone_lost_the_path}"
    );
}

/// Parses `T`, then fails: what the walk makes of a configuration serde accepted.
struct ThenFail<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ThenFail<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer)?;
        Err(serde::de::Error::custom("refused after parsing"))
    }
}

#[test]
fn accepted_configs_pass_serde_and_the_schema_walk() {
    fn walk_finds_nothing<T: serde::de::DeserializeOwned + ConfigSchema>(raw: &[u8]) -> bool {
        let error = from_json::<ThenFail<T>>(raw, None, Some(T::SCHEMA))
            .err()
            .unwrap();
        error.to_string() == "config: refused after parsing"
    }
    for case in read("cases.json")["accepted"].as_array().unwrap() {
        let name = case["type"].as_str().unwrap();
        let config = case["config"].as_str().unwrap().as_bytes();
        let (parse, _) = by_name(name);
        parse(config, true).unwrap_or_else(|e| panic!("{case}: {e}"));
        let quiet = match name {
            "Config" => walk_finds_nothing::<Config>(config),
            "Check" => walk_finds_nothing::<Check>(config),
            other => panic!("{other}"),
        };
        assert!(quiet, "the walk refused what serde accepted: {case}");
    }
}
