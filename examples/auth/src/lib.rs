//! Authentication at the edge, three ways; one plugin runs one of them, picked by `mode`:
//!
//! - `api_key`: the request must carry one of the configured keys in a header;
//! - `jwt`: the request must carry `authorization: Bearer <JWT>` signed with HS256 by the
//!   configured secret and not expired (checked against the host's clock);
//! - `external`: an HTTP callout asks an auth service; its 2xx lets the request through
//!   (optionally copying headers from its answer onto the request), its 4xx is passed to
//!   the client, and when it cannot answer (down, timeout, 5xx) `on_error` decides.
//!
//! Rejected requests get a local reply (`401` with `www-authenticate`, the service's 4xx,
//! or `503`) and never reach the upstream. See README.md for the configuration.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proxylet::prelude::*;
use proxylet::ConfigError;
use serde_json::{Map, Value};
use sha2::Sha256;

// ANCHOR: config
/// The plugin configuration (JSON): one mode per plugin, chosen by `"mode"`.
#[derive(Deserialize, ConfigSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Config {
    /// `{"mode": "api_key", "keys": ["k1", "k2"], "header": "x-api-key"}`
    ApiKey(ApiKeyConfig),
    /// `{"mode": "jwt", "secret": "…32 bytes or more…", "claim_headers": {"sub": "x-user"}}`
    Jwt(JwtConfig),
    /// `{"mode": "external", "cluster": "auth", "on_error": "deny"}`
    External(ExternalConfig),
}

/// `mode: api_key`.
#[derive(Deserialize, ConfigSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// The accepted keys (at least one).
    pub keys: Vec<String>,
    /// The request header carrying the key.
    #[serde(default = "default_api_key_header")]
    pub header: String,
}

/// `mode: jwt`. The token comes from `authorization: Bearer <token>`.
#[derive(Deserialize, ConfigSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The HMAC key, as text; at least 32 bytes (RFC 7518 §3.2: no shorter than the hash).
    pub secret: String,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    #[serde(default)]
    pub leeway_secs: u64,
    /// Claims copied into request headers for the upstream, e.g. `{"sub": "x-user"}`. A
    /// header of that name sent by the client is always removed first, so it cannot be
    /// forged.
    #[serde(default)]
    pub claim_headers: BTreeMap<String, String>,
}

/// `mode: external`.
#[derive(Deserialize, ConfigSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalConfig {
    /// The Envoy cluster of the auth service.
    pub cluster: String,
    /// The path asked (`GET`).
    #[serde(default = "default_check_path")]
    pub path: String,
    /// How long the service may take, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// What happens when the service gives no verdict (unreachable, timeout, 5xx).
    #[serde(default)]
    pub on_error: OnError,
    /// Request headers sent along to the service.
    #[serde(default = "default_forward_headers")]
    pub forward_headers: Vec<String>,
    /// Headers copied from the service's 2xx answer onto the request (e.g. `x-user`); a
    /// client-sent header of that name is removed first.
    #[serde(default)]
    pub copy_headers: Vec<String>,
}

/// What to do with a request the auth service could not judge.
#[derive(Deserialize, ConfigSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Answer `503` (fail closed).
    #[default]
    Deny,
    /// Let it through with `x-auth-error: <reason>` (fail open).
    Allow,
}

fn default_api_key_header() -> String {
    "x-api-key".into()
}
fn default_check_path() -> String {
    "/check".into()
}
fn default_timeout_ms() -> u64 {
    500
}
fn default_forward_headers() -> Vec<String> {
    vec!["authorization".into()]
}
// ANCHOR_END: config

/// The header that tells the upstream the auth service gave no verdict (`on_error:
/// allow`): `timeout`, `failed`, `rejected` or `status_5xx`.
pub const AUTH_ERROR_HEADER: &str = "x-auth-error";

/// The shortest HS256 key accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

// ANCHOR: plugin
/// The configuration checked and prepared once per plugin (the HMAC key is set up here,
/// not per request); every request of the plugin shares it.
pub enum Checker {
    /// `mode: api_key`.
    ApiKey {
        /// Lowercase header name.
        header: String,
        /// Accepted keys.
        keys: Vec<String>,
    },
    /// `mode: jwt`.
    Jwt(Jwt),
    /// `mode: external`. In an `Rc`: the callout's callback keeps its own handle.
    External(Rc<External>),
}

impl proxylet::Plugin for Checker {
    type Config = Config;

    fn new(config: &Config, _cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        Ok(match config {
            Config::ApiKey(c) => {
                if c.keys.is_empty() || c.keys.iter().any(String::is_empty) {
                    return Err(ConfigError::new(
                        "config.keys",
                        "give at least one key, none of them empty",
                    ));
                }
                Checker::ApiKey {
                    header: c.header.to_ascii_lowercase(),
                    keys: c.keys.clone(),
                }
            }
            Config::Jwt(c) => {
                if c.secret.len() < MIN_SECRET_LEN {
                    return Err(ConfigError::new(
                        "config.secret",
                        format!(
                            "an HS256 secret needs at least {MIN_SECRET_LEN} bytes, this one has {}",
                            c.secret.len()
                        ),
                    ));
                }
                Checker::Jwt(Jwt {
                    key: Hmac::new_from_slice(c.secret.as_bytes())
                        .map_err(|e| ConfigError::new("config.secret", e.to_string()))?,
                    leeway_secs: c.leeway_secs,
                    claim_headers: c.claim_headers.clone(),
                })
            }
            Config::External(c) => {
                if c.cluster.is_empty() {
                    return Err(ConfigError::new(
                        "config.cluster",
                        "name the auth service's cluster",
                    ));
                }
                if !c.path.starts_with('/') {
                    return Err(ConfigError::new(
                        "config.path",
                        "the path must start with `/`",
                    ));
                }
                if c.timeout_ms == 0 {
                    return Err(ConfigError::new(
                        "config.timeout_ms",
                        "the timeout must be above 0",
                    ));
                }
                Checker::External(Rc::new(External {
                    cluster: c.cluster.clone(),
                    path: c.path.clone(),
                    timeout: Duration::from_millis(c.timeout_ms),
                    on_error: c.on_error,
                    forward_headers: c.forward_headers.clone(),
                    copy_headers: c.copy_headers.clone(),
                }))
            }
        })
    }
}
// ANCHOR_END: plugin

// ANCHOR: filter
#[proxylet::filter(plugin = Checker)]
fn on_request_headers(headers: &mut Headers, checker: &Checker, stream: &mut Stream<'_>) -> Action {
    match checker {
        Checker::ApiKey { header, keys } => check_api_key(headers, header, keys),
        Checker::Jwt(jwt) => jwt.check(headers),
        Checker::External(external) => ask_auth_service(headers, external, stream),
    }
}
// ANCHOR_END: filter

/// `401` with a `www-authenticate` challenge; the body says why.
fn unauthorized(challenge: &str, why: &str) -> Action {
    Action::Reply(
        Response::new(401)
            .header("www-authenticate", challenge)
            .header("content-type", "text/plain")
            .body(format!("unauthorized: {why}\n"))
            .details("auth_unauthorized"),
    )
}

// ANCHOR: api_key
fn check_api_key(headers: &Headers, header: &str, keys: &[String]) -> Action {
    let challenge = format!("ApiKey header=\"{header}\"");
    let Some(presented) = headers.get(header) else {
        return unauthorized(&challenge, "missing API key");
    };
    // Compare with every key, each in constant time: how long the check takes tells an
    // attacker nothing about how close a guess was.
    let known = keys.iter().fold(false, |found, key| {
        found | constant_time_eq(key.as_bytes(), presented.as_bytes())
    });
    if known {
        Action::Continue
    } else {
        unauthorized(&challenge, "invalid API key")
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}
// ANCHOR_END: api_key

// ANCHOR: jwt
/// `mode: jwt`, prepared.
pub struct Jwt {
    key: Hmac<Sha256>,
    leeway_secs: u64,
    claim_headers: BTreeMap<String, String>,
}

/// Why a JWT was refused (the text goes into `error_description`; no quotes in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    Malformed,
    /// `alg` is not `HS256` (`none` included).
    UnsupportedAlgorithm(String),
    /// The signature does not match.
    BadSignature,
    /// No numeric `exp` claim.
    MissingExp,
    /// `exp` has passed.
    Expired,
    /// `nbf` is still to come.
    NotYetValid,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Malformed => write!(f, "malformed token"),
            // `alg` comes from the client and goes into a response header: escaped (no
            // quote, no line break) and cut short.
            JwtError::UnsupportedAlgorithm(alg) => {
                let alg: String = alg.chars().take(16).collect();
                write!(
                    f,
                    "unsupported algorithm {}, expected HS256",
                    alg.escape_default()
                )
            }
            JwtError::BadSignature => write!(f, "bad signature"),
            JwtError::MissingExp => write!(f, "token has no exp claim"),
            JwtError::Expired => write!(f, "token expired"),
            JwtError::NotYetValid => write!(f, "token not valid yet"),
        }
    }
}

#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
}

impl Jwt {
    fn check(&self, headers: &mut Headers) -> Action {
        const CHALLENGE: &str = "Bearer realm=\"proxylet\"";
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok().and_then(bearer_token).map(str::to_owned));
        let Some(token) = token else {
            return unauthorized(CHALLENGE, "missing bearer token");
        };
        let now = proxylet::property::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match self.verify(&token, now) {
            Ok(claims) => {
                for (claim, header) in &self.claim_headers {
                    headers.remove(header);
                    if let Some(value) = claims.get(claim).and_then(claim_text) {
                        headers.set(header, value);
                    }
                }
                Action::Continue
            }
            Err(error) => unauthorized(
                &format!("{CHALLENGE}, error=\"invalid_token\", error_description=\"{error}\""),
                &error.to_string(),
            ),
        }
    }

    /// Checks `token` at time `now` (seconds since the epoch) and returns its claims.
    pub fn verify(&self, token: &str, now: u64) -> Result<Map<String, Value>, JwtError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        // The algorithm first: a token that names another one (`none`!) is never checked
        // with a key meant for HS256.
        let jose: JoseHeader = decode_json(header)?;
        if jose.alg != "HS256" {
            return Err(JwtError::UnsupportedAlgorithm(jose.alg));
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| JwtError::Malformed)?;
        let mut mac = self.key.clone();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&signature)
            .map_err(|_| JwtError::BadSignature)?;

        let claims: Map<String, Value> = decode_json(payload)?;
        let exp = claims
            .get("exp")
            .and_then(numeric_date)
            .ok_or(JwtError::MissingExp)?;
        if now >= exp.saturating_add(self.leeway_secs) {
            return Err(JwtError::Expired);
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = numeric_date(nbf).ok_or(JwtError::Malformed)?;
            if now.saturating_add(self.leeway_secs) < nbf {
                return Err(JwtError::NotYetValid);
            }
        }
        Ok(claims)
    }
}

/// The token of an `authorization: Bearer <token>` value (the scheme is case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

/// A JWT `NumericDate`: seconds since the epoch, possibly with a fraction.
fn numeric_date(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        let seconds = value.as_f64()?;
        // Truncation is the intent: a fraction of a second does not matter here.
        (seconds.is_finite() && seconds >= 0.0).then_some(seconds as u64)
    })
}

/// A claim as header text: strings as they are, numbers and booleans printed.
fn claim_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
// ANCHOR_END: jwt

// ANCHOR: external
/// `mode: external`, prepared.
pub struct External {
    cluster: String,
    path: String,
    timeout: Duration,
    on_error: OnError,
    forward_headers: Vec<String>,
    copy_headers: Vec<String>,
}

fn ask_auth_service(headers: &Headers, external: &Rc<External>, stream: &mut Stream<'_>) -> Action {
    let mut check = HttpCall::get(&external.path);
    for name in &external.forward_headers {
        if let Some(value) = headers.get(name) {
            check = check.header(name, value.as_bytes());
        }
    }
    // What is being accessed, for services that decide per path.
    for (from, to) in [
        (":method", "x-original-method"),
        (":path", "x-original-path"),
    ] {
        if let Some(value) = headers.get(from) {
            check = check.header(to, value.as_bytes());
        }
    }
    // The stream pauses here; the callback runs when the service answers (or fails) and
    // its `Action` resumes the request or answers it.
    let this = Rc::clone(external);
    stream.http_call(
        &external.cluster,
        check,
        external.timeout,
        move |result, stream| this.decide(result, stream),
    )
}

impl External {
    fn decide(&self, result: Result<CallResponse, CallError>, stream: &mut Stream<'_>) -> Action {
        let reason = match result {
            Ok(answer) if (200..300).contains(&answer.status()) => {
                let mut request = stream.request_headers();
                request.remove(AUTH_ERROR_HEADER);
                for name in &self.copy_headers {
                    request.remove(name);
                    if let Some(value) = answer.header(name) {
                        request.set(name, value.as_bytes());
                    }
                }
                return Action::Continue;
            }
            // The service's verdict (401, 403...) goes to the client as it is.
            Ok(answer) if (400..500).contains(&answer.status()) => {
                let mut reply = Response::new(answer.status())
                    .body(answer.body().to_vec())
                    .details("auth_denied");
                for name in ["www-authenticate", "content-type"] {
                    if let Some(value) = answer.header(name) {
                        reply = reply.header(name, value.as_bytes());
                    }
                }
                return Action::Reply(reply);
            }
            // Anything else (the service's own 5xx) is no verdict. When Envoy cannot reach
            // the service or it is too slow, proxylet reports `Failed` or `Timeout`.
            Ok(answer) => format!("status_{}", answer.status()),
            Err(CallError::Timeout) => "timeout".into(),
            Err(CallError::Failed) => "failed".into(),
            Err(CallError::Rejected(_)) => "rejected".into(),
        };
        match self.on_error {
            OnError::Deny => Action::Reply(
                Response::new(503)
                    .header("content-type", "text/plain")
                    .body("auth service unavailable\n")
                    .details(format!("auth_service_{reason}")),
            ),
            OnError::Allow => {
                stream.request_headers().set(AUTH_ERROR_HEADER, reason);
                Action::Continue
            }
        }
    }
}
// ANCHOR_END: external
