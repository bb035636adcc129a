//! Benchmark pair, proxylet side (benches/callout-raw is the raw proxy-wasm side; both
//! must keep doing exactly the same thing): on the request headers, asks an HTTP service
//! (`GET <path>` on cluster `cluster`, forwarding the `header` request header) whether the
//! request may pass; a `200` resumes the request, anything else (another status, a
//! failure, a timeout) answers `403`.
//!
//! Plugin configuration (JSON), every field optional:
//! `{"cluster": "auth", "path": "/check", "header": "authorization", "timeout_ms": 500}`.

use std::time::Duration;

use proxylet::prelude::*;

/// Where to ask.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Check {
    /// The Envoy cluster of the service.
    pub cluster: String,
    /// The path asked.
    pub path: String,
    /// The request header forwarded to the service.
    pub header: String,
    /// How long to wait for the answer.
    pub timeout_ms: u64,
}

impl Default for Check {
    fn default() -> Self {
        Check {
            cluster: "auth".into(),
            path: "/check".into(),
            header: "authorization".into(),
            timeout_ms: 500,
        }
    }
}

#[proxylet::filter]
async fn on_request_headers(headers: &Headers, config: &Check, stream: &mut Stream) -> Action {
    let mut call = HttpCall::get(config.path.as_str());
    if let Some(value) = headers.get(&config.header) {
        call = call.header(config.header.as_str(), value.as_bytes());
    }
    let timeout = Duration::from_millis(config.timeout_ms);
    match stream.call(&config.cluster, call, timeout).await {
        Ok(response) if response.status() == 200 => Action::Continue,
        _ => Action::Reply(
            Response::new(403)
                .header("content-type", "text/plain")
                .body("denied\n"),
        ),
    }
}
