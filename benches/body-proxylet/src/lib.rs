//! Benchmark pair, proxylet side (benches/body-raw is the raw proxy-wasm side; both must
//! keep doing exactly the same thing): rewrites JSON request bodies, removing the fields
//! listed in `remove` and setting those in `set`. The body is buffered whole, up to 64 KiB:
//! a larger one is answered `413`, one that is not a JSON object `400`.
//!
//! Plugin configuration (JSON): `{"remove": ["password"], "set": {"source": "edge"}}`.

use proxylet::http::BodyError;
use proxylet::prelude::*;
use serde_json::{Map, Value};

/// The rewrite.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Rewrite {
    /// Top-level fields removed.
    pub remove: Vec<String>,
    /// Top-level fields set (replacing what was there).
    pub set: Map<String, Value>,
}

#[proxylet::filter(max_body = 65536)]
fn on_request_body(body: &mut Body, config: &Rewrite) -> Result<Action, BodyError> {
    if body.is_empty() {
        return Ok(Action::Continue);
    }
    let mut fields = match body.json::<Value>() {
        Ok(Value::Object(fields)) => fields,
        Ok(_) | Err(BodyError::Json(_)) => {
            return Ok(Action::Reply(
                Response::new(400)
                    .header("content-type", "text/plain")
                    .body("request body must be a JSON object\n"),
            ))
        }
        Err(error) => return Err(error),
    };
    for name in &config.remove {
        fields.remove(name);
    }
    for (name, value) in &config.set {
        fields.insert(name.clone(), value.clone());
    }
    body.set_json(&fields)?;
    Ok(Action::Continue)
}
