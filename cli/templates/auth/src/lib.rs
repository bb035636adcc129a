//! Authentication at the edge, three ways; one plugin runs one of them, picked by `mode`:
//!
//! - `api_key`: the request must carry one of the configured keys in a header, once;
//! - `jwt`: the request must carry `authorization: Bearer <JWT>` (once) signed with HS256
//!   by the configured secret and not expired (checked against the host's clock), and,
//!   when configured, meant for this audience and from this issuer;
//! - `external`: an HTTP callout asks an auth service; its 2xx lets the request through
//!   (optionally copying headers from its answer onto the request), any other verdict
//!   (3xx, 4xx) is passed to the client, and when it cannot answer (down, timeout, 5xx, an
//!   answer that is not a valid verdict) `on_error` decides.
//!
//! Rejected requests get a local reply (`401` with `www-authenticate`, `400` when a header
//! the check reads is repeated, the service's verdict, or `503`) and never reach the
//! upstream. Every header the filter sets for the upstream is first removed in every
//! spelling the client may have sent (`X-User`, `x_user`...). See README.md for the
//! configuration.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proxylet::http::{HeaderError, HeaderName};
use proxylet::prelude::*;
use serde_json::{Map, Value};
use sha2::Sha256;

mod bounded;
pub use bounded::Bounded;

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
    /// The accepted keys (at least one; none empty, none holding `,`, control characters
    /// or surrounding whitespace, which no header value could match).
    pub keys: Vec<String>,
    /// The request header carrying the key: an RFC 9110 token, not a pseudo-header nor a
    /// framing header (checked when the plugin starts).
    #[serde(default = "default_api_key_header")]
    pub header: String,
}

/// `mode: jwt`. The token comes from `authorization: Bearer <token>`.
#[derive(Deserialize, ConfigSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The HMAC key, as text; at least 32 bytes (RFC 7518 §3.2: no shorter than the hash).
    pub secret: String,
    /// Seconds of clock skew tolerated on `exp` and `nbf`, 0 to 600.
    #[serde(default)]
    pub leeway_secs: LeewaySecs,
    /// When set, the token's `aud` (a string, or an array of strings) must hold it.
    #[serde(default)]
    pub audience: Option<String>,
    /// When set, the token's `iss` must be exactly this.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Claims copied into request headers for the upstream, e.g. `{"sub": "x-user"}`. The
    /// header, in every spelling the client may have sent (`X-User`, `x_user`), is always
    /// removed first, so it cannot be forged.
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
    /// How long the service may take, in milliseconds: 1 to 60000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: TimeoutMs,
    /// What happens when the service gives no verdict (unreachable, timeout, 5xx).
    #[serde(default)]
    pub on_error: OnError,
    /// Request headers sent along to the service: every value, in every spelling.
    #[serde(default = "default_forward_headers")]
    pub forward_headers: Vec<String>,
    /// Headers copied from the service's 2xx answer onto the request (e.g. `x-user`);
    /// client-sent ones, in every spelling, are removed first.
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

/// `leeway_secs`: up to ten minutes of clock skew.
pub type LeewaySecs = Bounded<0, 600>;
/// `timeout_ms`: from 1 ms to one minute.
pub type TimeoutMs = Bounded<1, 60_000>;

fn default_api_key_header() -> String {
    "x-api-key".into()
}
fn default_check_path() -> String {
    "/check".into()
}
fn default_timeout_ms() -> TimeoutMs {
    const DEFAULT: TimeoutMs = match TimeoutMs::new(500) {
        Some(timeout) => timeout,
        None => panic!("the default timeout is out of bounds"),
    };
    DEFAULT
}
fn default_forward_headers() -> Vec<String> {
    vec!["authorization".into()]
}
// ANCHOR_END: config

/// The header that tells the upstream the auth service gave no verdict (`on_error:
/// allow`): `timeout`, `failed`, `rejected`, `status_5xx` or `invalid_answer`.
pub const AUTH_ERROR_HEADER: &str = "x-auth-error";

/// The largest body of an auth service's non-2xx answer passed to the client, in bytes.
pub const MAX_VERDICT_BODY: usize = 64 * 1024;

/// The most values of one header passed on from an auth service's non-2xx answer.
pub const MAX_VERDICT_VALUES: usize = 16;

/// The shortest HS256 key accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

// ANCHOR: plugin
/// The configuration checked and prepared once per plugin (the HMAC key is set up here,
/// not per request); every request of the plugin shares it.
pub enum Checker {
    /// `mode: api_key`.
    ApiKey {
        /// The header carrying the key.
        header: HeaderName,
        /// Accepted keys.
        keys: Vec<String>,
    },
    /// `mode: jwt`.
    Jwt(Jwt),
    /// `mode: external`. In an `Rc`: the callout's callback keeps its own handle.
    External(External),
}

impl proxylet::Plugin for Checker {
    type Config = Config;

    fn new(config: &Config, _cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        Ok(match config {
            Config::ApiKey(c) => {
                if c.keys.is_empty() {
                    return Err(ConfigError::new(
                        "config.keys",
                        "give at least one key, none of them empty",
                    ));
                }
                for (i, key) in c.keys.iter().enumerate() {
                    check_key(key)
                        .map_err(|why| ConfigError::new(format!("config.keys[{i}]"), why))?;
                }
                Checker::ApiKey {
                    header: header_name("config.header", &c.header)?,
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
                for (field, value) in [("audience", &c.audience), ("issuer", &c.issuer)] {
                    if value.as_deref() == Some("") {
                        return Err(ConfigError::new(
                            format!("config.{field}"),
                            format!("give a non-empty {field}, or leave the field out"),
                        ));
                    }
                }
                let mut claim_headers: Vec<(String, HeaderName)> = Vec::new();
                for (claim, header) in &c.claim_headers {
                    let path = format!("config.claim_headers.{claim}");
                    let header = header_name(&path, header)?;
                    // Two claims into one header (`x-user` and `X_User` are one header to
                    // an upstream): one would silently replace the other.
                    if let Some((first, _)) = claim_headers
                        .iter()
                        .find(|(_, h)| HeaderName::same_for_cgi(h.as_bytes(), header.as_bytes()))
                    {
                        return Err(ConfigError::new(
                            path,
                            format!("header `{header}` is already set from claim `{first}`"),
                        ));
                    }
                    claim_headers.push((claim.clone(), header));
                }
                Checker::Jwt(Jwt {
                    key: Hmac::new_from_slice(c.secret.as_bytes())
                        .map_err(|e| ConfigError::new("config.secret", e.to_string()))?,
                    leeway_secs: c.leeway_secs.get(),
                    audience: c.audience.clone(),
                    issuer: c.issuer.clone(),
                    claim_headers,
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
                if !c.path.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(ConfigError::new(
                        "config.path",
                        "the path must be printable ASCII without spaces; percent-encode the rest",
                    ));
                }
                let forward_headers = c
                    .forward_headers
                    .iter()
                    .enumerate()
                    .map(|(i, name)| header_name(format!("config.forward_headers[{i}]"), name))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut copy_headers: Vec<HeaderName> = Vec::new();
                for (i, name) in c.copy_headers.iter().enumerate() {
                    let path = format!("config.copy_headers[{i}]");
                    let header = header_name(&path, name)?;
                    if let Some(first) = copy_headers
                        .iter()
                        .find(|h| HeaderName::same_for_cgi(h.as_bytes(), header.as_bytes()))
                    {
                        return Err(ConfigError::new(
                            path,
                            format!("header `{header}` is already listed as `{first}`"),
                        ));
                    }
                    copy_headers.push(header);
                }
                Checker::External(External {
                    cluster: c.cluster.clone(),
                    path: c.path.clone(),
                    timeout: Duration::from_millis(c.timeout_ms.get()),
                    on_error: c.on_error,
                    forward_headers,
                    copy_headers,
                })
            }
        })
    }
}

/// `name` as a header the filter reads or sets: an RFC 9110 token (lowercased here), not
/// a pseudo-header (`:path`), not a framing header (`content-length`). Checked here rather
/// than by a `HeaderName` field: inside the `mode`-tagged enum, serde could not say which
/// field an invalid name was in.
fn header_name(path: impl Into<String>, name: &str) -> Result<HeaderName, ConfigError> {
    let path = path.into();
    let header =
        HeaderName::new(name).map_err(|e| ConfigError::new(path.clone(), e.to_string()))?;
    if header.is_framing() {
        return Err(ConfigError::new(
            path,
            format!("`{header}` frames the message, which only Envoy writes; pick another header"),
        ));
    }
    Ok(header)
}

/// Why `key` could never match a header value, if it could not.
fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        Err("a key cannot be empty")
    } else if key.contains(',') {
        Err("a key cannot hold `,` (Envoy joins repeated headers with it)")
    } else if !is_header_value(key.as_bytes()) {
        Err("a key cannot hold control characters (no header value carries them)")
    } else if key.trim() != key {
        Err("a key cannot start or end with whitespace (Envoy trims header values)")
    } else {
        Ok(())
    }
}
// ANCHOR_END: plugin

// ANCHOR: filter
#[proxylet::filter(plugin = Checker)]
async fn on_request_headers(
    headers: &mut Headers,
    checker: &Checker,
    stream: &mut Stream<'_>,
) -> Result<Action, HeaderError> {
    match checker {
        Checker::ApiKey { header, keys } => check_api_key(headers, header, keys),
        Checker::Jwt(jwt) => jwt.check(headers),
        Checker::External(external) => Ok(external.ask(headers, stream).await),
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

// ANCHOR: headers
/// `400`: a header the check reads came more than once (or in several spellings), so the
/// filter cannot know which one the upstream would read. Never "first wins".
fn ambiguous(header: &str) -> Action {
    Action::Reply(
        Response::new(400)
            .header("content-type", "text/plain")
            .body(format!("bad request: repeated {header} header\n"))
            .details("auth_ambiguous"),
    )
}

/// Header `name`, demanded once: repeated, in any spelling (`X-Api-Key`, `x_api_key`), or
/// joined into one value by Envoy, it is [`Single::Repeated`].
fn single(headers: &Headers, name: &HeaderName) -> Result<Single, HeaderError> {
    match headers.get_unique(name) {
        Ok(None) => Ok(Single::Absent),
        // Envoy joins some repeated headers (`authorization` among them) into one value
        // with `,`: no key and no bearer token holds one (RFC 6750 §2.1).
        Ok(Some(value)) if value.as_bytes().contains(&b',') => Ok(Single::Repeated),
        Ok(Some(value)) => Ok(Single::One(value)),
        Err(HeaderError::Repeated { .. }) => Ok(Single::Repeated),
        Err(error) => Err(error),
    }
}

/// What [`single`] found.
enum Single {
    Absent,
    One(HeaderValue),
    Repeated,
}

/// Removes header `name` in every spelling the client may have sent it, before the
/// filter sets it: `x-user`, `X-User`, `x_user`, `X_USER`...
fn remove_every_spelling(headers: &mut Headers, name: &HeaderName) -> Result<(), HeaderError> {
    let spellings: Vec<HeaderName> = headers
        .try_all()?
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| HeaderName::same_for_cgi(n.as_bytes(), name.as_bytes()))
        .collect();
    for spelling in spellings {
        headers.try_remove(&spelling)?;
    }
    headers.try_remove(name)
}

/// Whether `value` can be a header value: no control characters but tab (CR, LF and NUL
/// above all: they would end the header line, or make Envoy's router answer 503).
fn is_header_value(value: &[u8]) -> bool {
    HeaderValue::new(value).is_ok()
}
// ANCHOR_END: headers

// ANCHOR: api_key
fn check_api_key(
    headers: &Headers,
    header: &HeaderName,
    keys: &[String],
) -> Result<Action, HeaderError> {
    let name = header.to_string_lossy();
    let challenge = format!("ApiKey header=\"{name}\"");
    let presented = match single(headers, header)? {
        Single::One(value) => value,
        Single::Absent => return Ok(unauthorized(&challenge, "missing API key")),
        // `x-api-key: good` next to `x-api-key: junk` (or `x_api_key: junk`): the upstream
        // may read the other one, and a rate limit may count the wrong one.
        Single::Repeated => return Ok(ambiguous(&name)),
    };
    // Compare with every key, each in constant time: how long the check takes tells an
    // attacker nothing about how close a guess was.
    let known = keys.iter().fold(false, |found, key| {
        found | constant_time_eq(key.as_bytes(), presented.as_bytes())
    });
    Ok(if known {
        Action::Continue
    } else {
        unauthorized(&challenge, "invalid API key")
    })
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
    audience: Option<String>,
    issuer: Option<String>,
    /// `(claim, header)`, in the claims' order.
    claim_headers: Vec<(String, HeaderName)>,
}

/// Why a JWT was refused (the text goes into `error_description`; no quotes in it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// `audience` is configured and the token has no `aud`.
    MissingAudience,
    /// `aud` does not hold the configured `audience`.
    WrongAudience,
    /// `issuer` is configured and the token has no `iss`.
    MissingIssuer,
    /// `iss` is not the configured `issuer`.
    WrongIssuer,
    /// A claim copied into a header holds control characters (CR, LF, NUL...).
    UnusableClaim,
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
            JwtError::MissingAudience => write!(f, "token has no aud claim"),
            JwtError::WrongAudience => write!(f, "token not meant for this audience"),
            JwtError::MissingIssuer => write!(f, "token has no iss claim"),
            JwtError::WrongIssuer => write!(f, "token issuer not trusted"),
            JwtError::UnusableClaim => write!(f, "claim not usable as a header value"),
        }
    }
}

#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
}

impl Jwt {
    fn check(&self, headers: &mut Headers) -> Result<Action, HeaderError> {
        const CHALLENGE: &str = "Bearer realm=\"proxylet\"";
        let authorization = match single(headers, &HeaderName::from("authorization"))? {
            Single::One(value) => Some(value),
            Single::Absent => None,
            Single::Repeated => return Ok(ambiguous("authorization")),
        };
        let token =
            authorization.and_then(|v| v.to_str().ok().and_then(bearer_token).map(str::to_owned));
        let Some(token) = token else {
            return Ok(unauthorized(CHALLENGE, "missing bearer token"));
        };
        let now = proxylet::property::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let invalid = |error: JwtError| {
            unauthorized(
                &format!("{CHALLENGE}, error=\"invalid_token\", error_description=\"{error}\""),
                &error.to_string(),
            )
        };
        let claims = match self.verify(&token, now) {
            Ok(claims) => claims,
            Err(error) => return Ok(invalid(error)),
        };
        // Every value is checked before the request changes: a signed claim holding CR,
        // LF or NUL would otherwise make Envoy's router answer 503.
        let mut values = Vec::with_capacity(self.claim_headers.len());
        for (claim, header) in &self.claim_headers {
            let value = claims.get(claim).and_then(claim_text);
            if value
                .as_deref()
                .is_some_and(|v| !is_header_value(v.as_bytes()))
            {
                return Ok(invalid(JwtError::UnusableClaim));
            }
            values.push((header, value));
        }
        for (header, value) in values {
            remove_every_spelling(headers, header)?;
            if let Some(value) = value {
                headers.try_set(header, value)?;
            }
        }
        Ok(Action::Continue)
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
        // Differences, never sums: no `exp` or `nbf` a token may carry overflows.
        let exp = claims
            .get("exp")
            .and_then(numeric_date)
            .ok_or(JwtError::MissingExp)?;
        if now
            .checked_sub(exp)
            .is_some_and(|late| late >= self.leeway_secs)
        {
            return Err(JwtError::Expired);
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = numeric_date(nbf).ok_or(JwtError::Malformed)?;
            if nbf
                .checked_sub(now)
                .is_some_and(|early| early > self.leeway_secs)
            {
                return Err(JwtError::NotYetValid);
            }
        }
        if let Some(audience) = &self.audience {
            // RFC 7519 §4.1.3: one string, or an array of strings.
            match claims.get("aud") {
                None | Some(Value::Null) => return Err(JwtError::MissingAudience),
                Some(Value::String(aud)) if aud == audience => {}
                Some(Value::Array(auds)) if auds.iter().any(|a| a.as_str() == Some(audience)) => {}
                Some(_) => return Err(JwtError::WrongAudience),
            }
        }
        if let Some(issuer) = &self.issuer {
            match claims.get("iss") {
                None | Some(Value::Null) => return Err(JwtError::MissingIssuer),
                Some(Value::String(iss)) if iss == issuer => {}
                Some(_) => return Err(JwtError::WrongIssuer),
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

/// A JWT `NumericDate`: seconds since the epoch, possibly with a fraction. Negative
/// values are none; values past `u64::MAX` are `u64::MAX`.
fn numeric_date(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        let seconds = value.as_f64()?;
        // Truncation (and saturation) is the intent: a fraction of a second does not
        // matter here.
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
    forward_headers: Vec<HeaderName>,
    copy_headers: Vec<HeaderName>,
}

impl External {
    /// Asks the service about the request, and acts on its verdict.
    async fn ask(&self, headers: &mut Headers, stream: &mut Stream<'_>) -> Action {
        // Every value in every spelling, in order: the service judges what the upstream gets.
        let mut check = HttpCall::get(&self.path).forward(headers, &self.forward_headers);
        // What is being accessed, for services that decide per path.
        for (from, to) in [
            (":method", "x-original-method"),
            (":path", "x-original-path"),
        ] {
            if let Some(value) = headers.get(from) {
                check = check.header(to, value.as_bytes());
            }
        }
        // The request waits here until the service answers (or fails, or times out).
        let answer = stream.call(&self.cluster, check, self.timeout).await;
        self.decide(answer, headers)
    }
}

/// Headers of the service's non-2xx verdict passed to the client, and whether one may
/// come several times: what a login redirect, a challenge or a rate limit needs. Each
/// value is checked (no control characters); a header that must come once and came
/// more often is dropped, as is every other header of the answer.
pub const VERDICT_HEADERS: [(&str, bool); 7] = [
    ("location", false),
    ("content-type", false),
    ("retry-after", false),
    ("www-authenticate", true),
    ("proxy-authenticate", true),
    ("set-cookie", true),
    ("cache-control", true),
];

impl External {
    fn decide(&self, result: Result<CallResponse, CallError>, request: &mut Headers) -> Action {
        let reason = match result {
            Ok(answer) => match answer.status() {
                200..=299 => match self.copied(&answer) {
                    Ok(copied) => return self.pass(request, &copied, None),
                    Err(why) => {
                        log::warn!(
                            "the auth service's {} is no verdict: {why}",
                            answer.status()
                        );
                        "invalid_answer".to_owned()
                    }
                },
                // Every other verdict (a redirect to a login page, 401, 403, 429...) goes
                // to the client, whatever `on_error` says: the service did answer.
                300..=499 => return Action::Reply(verdict(&answer)),
                // The service's own 5xx is no verdict. When Envoy cannot reach the service
                // or it is too slow, proxylet reports `Failed` or `Timeout`.
                500..=599 => format!("status_{}", answer.status()),
                status => {
                    log::warn!("the auth service answered status {status}, which is no verdict");
                    "invalid_answer".to_owned()
                }
            },
            Err(CallError::Timeout) => "timeout".into(),
            Err(CallError::Failed) => "failed".into(),
            // A client header the SDK will not forward (a control byte: Envoy 1.40's codecs
            // refuse them first, other hosts and settings may not): the client's fault, and
            // never "the service is down", or a client could skip the check under
            // `on_error: allow` by sending one.
            Err(CallError::InvalidHeader(error)) => {
                log::info!("refusing a request the auth service cannot be asked about: {error}");
                return Action::Reply(
                    Response::new(400)
                        .header("content-type", "text/plain")
                        .body("bad request: a header cannot be forwarded to the auth service\n")
                        .details("auth_unforwardable_header"),
                );
            }
            // Not sent: the host refused it (an unknown cluster).
            Err(error) => {
                log::warn!("the auth service was not asked: {error}");
                "rejected".into()
            }
        };
        match self.on_error {
            OnError::Deny => Action::Reply(
                Response::new(503)
                    .header("content-type", "text/plain")
                    .body("auth service unavailable\n")
                    .details(format!("auth_service_{reason}")),
            ),
            OnError::Allow => self.pass(request, &[], Some(&reason)),
        }
    }

    /// The values of `copy_headers` in a 2xx answer; an error when one is repeated (in any
    /// spelling) or not a valid header value: the upstream would get the wrong identity.
    fn copied<'a>(
        &'a self,
        answer: &CallResponse,
    ) -> Result<Vec<(&'a HeaderName, HeaderValue)>, String> {
        let mut copied = Vec::new();
        for name in &self.copy_headers {
            let mut values = answer
                .headers()
                .iter()
                .filter(|(n, _)| HeaderName::same_for_cgi(n.as_bytes(), name.as_bytes()))
                .map(|(_, v)| v);
            match (values.next(), values.next()) {
                (None, _) => {}
                (Some(_), Some(_)) => return Err(format!("`{name}` is repeated")),
                (Some(value), None) if !is_header_value(value.as_bytes()) => {
                    return Err(format!("`{name}` holds control characters"))
                }
                (Some(value), None) => copied.push((name, value.clone())),
            }
        }
        Ok(copied)
    }

    /// Resumes the request: the headers the filter owns are removed in every spelling the
    /// client sent, then set from `copied` (and `x-auth-error: reason`).
    fn pass(
        &self,
        request: &mut Headers,
        copied: &[(&HeaderName, HeaderValue)],
        reason: Option<&str>,
    ) -> Action {
        let result = (|| {
            remove_every_spelling(request, &HeaderName::from(AUTH_ERROR_HEADER))?;
            for name in &self.copy_headers {
                remove_every_spelling(request, name)?;
            }
            for (name, value) in copied {
                request.try_set(*name, value)?;
            }
            if let Some(reason) = reason {
                request.try_set(AUTH_ERROR_HEADER, reason)?;
            }
            Ok::<(), HeaderError>(())
        })();
        match result {
            Ok(()) => Action::Continue,
            Err(error) => {
                log::error!("auth: cannot set the request's headers: {error}");
                Action::Reply(Response::filter_error())
            }
        }
    }
}

/// The client's copy of the service's verdict: its status, its body (when it is no
/// larger than [`MAX_VERDICT_BODY`]) and its [`VERDICT_HEADERS`], each checked.
fn verdict(answer: &CallResponse) -> Response {
    let body_fits = answer.body().len() <= MAX_VERDICT_BODY;
    let mut reply = Response::new(answer.status()).details("auth_denied");
    if body_fits {
        reply = reply.body(answer.body().to_vec());
    } else {
        log::warn!(
            "the auth service's {} has a body of {} bytes; it is not passed on",
            answer.status(),
            answer.body().len()
        );
    }
    for (name, repeatable) in VERDICT_HEADERS {
        if name == "content-type" && !body_fits {
            continue;
        }
        let values: Vec<&HeaderValue> = answer
            .headers()
            .iter()
            .filter(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
            .collect();
        if values.len() > 1 && !repeatable {
            log::warn!(
                "the auth service sent {} `{name}` headers; none is passed on",
                values.len()
            );
            continue;
        }
        let mut passed = 0;
        for value in values {
            if !is_header_value(value.as_bytes()) {
                log::warn!("the auth service sent `{name}: {value}`, which holds control characters; it is not passed on");
            } else if passed == MAX_VERDICT_VALUES {
                log::warn!("the auth service sent more than {MAX_VERDICT_VALUES} `{name}` headers; the rest are not passed on");
                break;
            } else {
                reply = reply.header(name, value.as_bytes());
                passed += 1;
            }
        }
    }
    reply
}
// ANCHOR_END: external

// The tests that link this filter natively (the test host) are unit tests: a `cdylib`-only
// crate cannot be linked by the integration tests in tests/, and a `cdylib` alone keeps the
// module small whatever command builds it.
#[cfg(test)]
mod tests {
    mod host;
}
