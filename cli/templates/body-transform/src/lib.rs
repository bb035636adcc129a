//! Rewrites JSON request bodies on their way to the upstream: removes, renames and sets
//! top-level fields of the JSON object, and fixes `content-length` to match.
//!
//! The body is buffered whole (the hook runs once, at the end of the request) up to a
//! size cap: a larger body is answered `413`; a body that is not a JSON object, `400`.
//! Neither body is forwarded, but a refusal decided from the body comes after the request
//! headers went upstream (Envoy gives a filter holding the headers no body): the upstream
//! sees a head, then a reset, unless Envoy's buffer filter is in the chain. See README.md
//! for the measurements and the configuration.

use std::collections::BTreeMap;

use proxylet::http::{BodyError, BodyMode, HttpFilter, Response};
use proxylet::prelude::*;
use serde_json::{Map, Value};

// ANCHOR: config
/// The plugin configuration (JSON). Rules apply in this order: `remove`, `rename`, `set`.
#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The largest request body accepted, in bytes (at most [`HARD_MAX_BODY`]).
    pub max_body_bytes: usize,
    /// Fields removed, e.g. `["password"]`.
    pub remove: Vec<String>,
    /// Fields renamed, old name to new name, e.g. `{"user_name": "username"}`.
    pub rename: BTreeMap<String, String>,
    /// Fields set to a JSON value (replacing what was there), e.g. `{"source": "edge"}`.
    pub set: Map<String, Value>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_body_bytes: 64 * 1024,
            remove: Vec::new(),
            rename: BTreeMap::new(),
            set: Map::new(),
        }
    }
}
// ANCHOR_END: config

// ANCHOR: filter
/// The per-request state: none, every rule is in the plugin's [`Rules`].
#[derive(Default)]
pub struct Transform;

/// The most any configuration can ask for: the `max_body` below, fixed at compile time
/// (the host buffers up to it before the hook runs; `max_body_bytes` only lowers it).
pub const HARD_MAX_BODY: usize = match <Transform as HttpFilter>::REQUEST_BODY {
    BodyMode::Buffered { max } => max,
    BodyMode::Streaming => 0,
};

#[proxylet::filter(plugin = Rules, max_body = 1_048_576)]
impl Transform {
    /// Refuses a body announced too large before any of it is buffered.
    fn on_request_headers(&mut self, headers: &Headers, rules: &Rules) -> Action {
        // As u64: a length beyond wasm32's `usize` is still a length, and too large.
        let announced = headers
            .get("content-length")
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        match announced {
            Some(length) if length > rules.max_body as u64 => too_large(rules.max_body),
            _ => Action::Continue,
        }
    }

    /// Runs once with the whole body (`max_body` buffers it).
    fn on_request_body(&mut self, body: &mut Body, rules: &Rules) -> Result<Action, BodyError> {
        // Chunked requests announce no length: the cap is checked here.
        if body.len() > rules.max_body {
            return Ok(too_large(rules.max_body));
        }
        if body.is_empty() {
            return Ok(Action::Continue);
        }
        let mut value: Value = match body.json() {
            Ok(value) => value,
            Err(BodyError::Json(why)) => {
                return Ok(bad_request(&format!(
                    "request body is not valid JSON: {why}"
                )))
            }
            // The host refused the read: `Err` answers 500 and logs it.
            Err(error) => return Err(error),
        };
        let Value::Object(fields) = &mut value else {
            return Ok(bad_request("request body must be a JSON object"));
        };
        rules.apply(fields);
        // The request headers went on without `content-length` (a buffered body's length
        // is only known now): Envoy sends this body chunked, or with the right length
        // when its buffer filter follows this one (see README).
        body.set_json(&value)?;
        Ok(Action::Continue)
    }
}
// ANCHOR_END: filter

// ANCHOR: rules
/// The configuration, checked once per plugin.
pub struct Rules {
    max_body: usize,
    remove: Vec<String>,
    rename: BTreeMap<String, String>,
    set: Map<String, Value>,
}

impl proxylet::Plugin for Rules {
    type Config = Config;

    fn new(config: &Config, _cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        if config.max_body_bytes > HARD_MAX_BODY {
            return Err(ConfigError::new(
                "config.max_body_bytes",
                format!(
                    "{} is above this module's limit of {HARD_MAX_BODY} bytes (`max_body` in its source)",
                    config.max_body_bytes
                ),
            ));
        }
        Ok(Rules {
            max_body: config.max_body_bytes,
            remove: config.remove.clone(),
            rename: config.rename.clone(),
            set: config.set.clone(),
        })
    }
}

impl Rules {
    /// Applies the rules to the top-level fields of an object.
    pub fn apply(&self, fields: &mut Map<String, Value>) {
        for name in &self.remove {
            fields.remove(name);
        }
        for (from, to) in &self.rename {
            if let Some(value) = fields.remove(from) {
                fields.insert(to.clone(), value);
            }
        }
        for (name, value) in &self.set {
            fields.insert(name.clone(), value.clone());
        }
    }
}
// ANCHOR_END: rules

/// A JSON error reply: `{"error": "…"}`.
fn json_error(status: u16, message: &str, details: &str) -> Action {
    let body = serde_json::json!({ "error": message }).to_string() + "\n";
    Action::Reply(
        Response::new(status)
            .header("content-type", "application/json")
            .body(body)
            .details(details),
    )
}

fn too_large(max: usize) -> Action {
    json_error(
        413,
        &format!("request body larger than {max} bytes"),
        "body_transform_too_large",
    )
}

fn bad_request(message: &str) -> Action {
    json_error(400, message, "body_transform_bad_json")
}

// The tests that link this filter natively (the test host) are unit tests: a `cdylib`-only
// crate cannot be linked by the integration tests in tests/, and a `cdylib` alone keeps the
// module small whatever command builds it.
#[cfg(test)]
mod tests {
    mod host;
}
