//! Token exchange at the edge: two HTTP callouts in a chain, written one after the other
//! in an `async` hook.
//!
//! 1. The client's credential (`authorization` by default) goes to a **token service**,
//!    which answers an internal token (`{"access_token": "…"}`). A failure, a timeout or
//!    a 5xx is retried after a backoff (exponential, capped, a bounded number of times).
//! 2. The internal token (`authorization: Bearer <token>`) goes to a **profile service**,
//!    whose answer carries the caller's identity in headers (`x-user`, `x-tenant`...).
//! 3. Those headers are copied onto the request (every spelling the client sent removed
//!    first), the upstream `authorization` is replaced with the internal token (unless
//!    configured otherwise), and the request goes on.
//!
//! Whatever goes wrong, the request does not reach the upstream without an identity: a
//! missing credential or a refusal of the token service is `401`, a credential sent twice
//! (in any spelling) is `400` before any call, and a service that is down, slow, or answers
//! something that is not a valid token or identity is `503` (fail closed). See README.md
//! for the configuration.

use std::time::Duration;

use proxylet::http::{HeaderError, HeaderName, HeaderValue};
use proxylet::prelude::*;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

mod bounded;
pub use bounded::Bounded;

// ANCHOR: config
/// The plugin configuration (JSON). Only the two clusters are required:
/// `{"token": {"cluster": "tokens"}, "profile": {"cluster": "profiles"}}`.
#[derive(Deserialize, ConfigSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The token service: step one.
    pub token: TokenService,
    /// The profile service: step two.
    pub profile: ProfileService,
    /// The request headers carrying the client's credential, forwarded to the token
    /// service. Each may come once at most (counting `_`/case spellings), and at least one
    /// must come.
    #[serde(default = "default_credential_headers")]
    pub credential_headers: Vec<HeaderName>,
    /// Headers of the profile service's 2xx answer copied onto the request, each required
    /// exactly once; every client-sent spelling of them is removed first.
    #[serde(default = "default_copy_headers")]
    pub copy_headers: Vec<HeaderName>,
    /// Whether the upstream gets `authorization: Bearer <internal token>` in place of
    /// whatever `authorization` the client sent.
    #[serde(default = "default_true")]
    pub replace_authorization: bool,
    /// The `www-authenticate` challenge of a `401`.
    #[serde(default = "default_challenge")]
    pub challenge: HeaderValue,
}

/// `token`: where the internal token comes from, and how hard to try.
#[derive(Deserialize, ConfigSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenService {
    /// The Envoy cluster of the token service.
    pub cluster: String,
    /// `POST` (no body: the credential travels in its headers) or `GET`.
    #[serde(default)]
    pub method: Method,
    /// The path asked.
    #[serde(default = "default_token_path")]
    pub path: String,
    /// How long one attempt may take, in milliseconds: 1 to 30000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: TimeoutMs,
    /// How many times a failed attempt (no answer, a timeout, a 5xx) is tried again: 0 to 5.
    #[serde(default = "default_retries")]
    pub retries: Retries,
    /// The wait before the first retry, in milliseconds (1 to 30000); it doubles for each
    /// next one.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: BackoffMs,
    /// The longest wait between two attempts, in milliseconds (1 to 30000); at least
    /// `backoff_ms`.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: BackoffMs,
    /// The field of the answer's JSON object holding the token.
    #[serde(default = "default_token_field")]
    pub token_field: String,
}

/// `profile`: who the token belongs to.
#[derive(Deserialize, ConfigSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileService {
    /// The Envoy cluster of the profile service.
    pub cluster: String,
    /// The path asked (`GET`, with `authorization: Bearer <internal token>`).
    #[serde(default = "default_profile_path")]
    pub path: String,
    /// How long it may take, in milliseconds: 1 to 30000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: TimeoutMs,
}

/// The token service's method.
#[derive(Deserialize, ConfigSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`, without a body.
    #[default]
    Post,
}

/// `timeout_ms`: from 1 ms to 30 s per call.
pub type TimeoutMs = Bounded<1, 30_000>;
/// `retries`: at most 5, so at most 6 attempts per request.
pub type Retries = Bounded<0, 5>;
/// `backoff_ms` and `max_backoff_ms`: from 1 ms to 30 s.
pub type BackoffMs = Bounded<1, 30_000>;

const fn bounded<const MIN: u64, const MAX: u64>(value: u64) -> Bounded<MIN, MAX> {
    match Bounded::new(value) {
        Some(value) => value,
        None => panic!("a default is out of bounds"),
    }
}
fn default_credential_headers() -> Vec<HeaderName> {
    vec![HeaderName::from("authorization")]
}
fn default_copy_headers() -> Vec<HeaderName> {
    vec![HeaderName::from("x-user")]
}
fn default_true() -> bool {
    true
}
fn default_challenge() -> HeaderValue {
    HeaderValue::from("Bearer")
}
fn default_token_path() -> String {
    "/token".into()
}
fn default_profile_path() -> String {
    "/profile".into()
}
fn default_timeout_ms() -> TimeoutMs {
    bounded(500)
}
fn default_retries() -> Retries {
    bounded(2)
}
fn default_backoff_ms() -> BackoffMs {
    bounded(100)
}
fn default_max_backoff_ms() -> BackoffMs {
    bounded(1000)
}
fn default_token_field() -> String {
    "access_token".into()
}
// ANCHOR_END: config

/// The largest token service answer read, in bytes: a larger one is no token.
pub const MAX_TOKEN_ANSWER: usize = 16 * 1024;

/// The longest internal token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 4096;

/// The longest value copied from the profile service's answer, in bytes.
pub const MAX_COPIED_VALUE: usize = 1024;

// ANCHOR: plugin
/// The configuration, checked once per plugin; every request of the plugin shares it.
pub struct Exchange {
    token: Token,
    profile: Profile,
    credential_headers: Vec<HeaderName>,
    copy_headers: Vec<HeaderName>,
    replace_authorization: bool,
    challenge: HeaderValue,
}

struct Token {
    cluster: String,
    method: Method,
    path: String,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    max_backoff: Duration,
    field: String,
}

struct Profile {
    cluster: String,
    path: String,
    timeout: Duration,
}

impl proxylet::Plugin for Exchange {
    type Config = Config;

    fn new(config: &Config, _cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        let (token, profile) = (&config.token, &config.profile);
        for (field, cluster) in [
            ("token.cluster", &token.cluster),
            ("profile.cluster", &profile.cluster),
        ] {
            if cluster.is_empty() {
                return Err(ConfigError::new(
                    format!("config.{field}"),
                    "name a cluster",
                ));
            }
        }
        check_path("config.token.path", &token.path)?;
        check_path("config.profile.path", &profile.path)?;
        if token.max_backoff_ms < token.backoff_ms {
            return Err(ConfigError::new(
                "config.token.max_backoff_ms",
                format!(
                    "is less than `backoff_ms` ({} ms): the first wait would be longer than the longest",
                    token.backoff_ms.get()
                ),
            ));
        }
        if token.token_field.is_empty() {
            return Err(ConfigError::new(
                "config.token.token_field",
                "name the field of the answer holding the token",
            ));
        }
        if config.challenge.is_empty() {
            return Err(ConfigError::new(
                "config.challenge",
                "a `401` needs a challenge (RFC 9110 §11.6.1), e.g. `Bearer`",
            ));
        }
        if config.credential_headers.is_empty() {
            return Err(ConfigError::new(
                "config.credential_headers",
                "name at least one header carrying the client's credential",
            ));
        }
        distinct("config.credential_headers", &config.credential_headers, &[])?;
        let mut owned = config.credential_headers.clone();
        if config.replace_authorization {
            owned.push(HeaderName::from("authorization"));
        }
        // The filter sets these: a client's credential, `authorization` when the filter
        // replaces it, or `host` (where the request goes) cannot be one of them.
        owned.push(HeaderName::from("host"));
        distinct("config.copy_headers", &config.copy_headers, &owned)?;
        Ok(Exchange {
            token: Token {
                cluster: token.cluster.clone(),
                method: token.method,
                path: token.path.clone(),
                timeout: Duration::from_millis(token.timeout_ms.get()),
                // At most 5: the conversion cannot fail.
                retries: u32::try_from(token.retries.get()).unwrap_or(0),
                backoff: Duration::from_millis(token.backoff_ms.get()),
                max_backoff: Duration::from_millis(token.max_backoff_ms.get()),
                field: token.token_field.clone(),
            },
            profile: Profile {
                cluster: profile.cluster.clone(),
                path: profile.path.clone(),
                timeout: Duration::from_millis(profile.timeout_ms.get()),
            },
            credential_headers: config.credential_headers.clone(),
            copy_headers: config.copy_headers.clone(),
            replace_authorization: config.replace_authorization,
            challenge: config.challenge.clone(),
        })
    }
}

/// A path the SDK will send: `/`, then printable ASCII without spaces.
fn check_path(field: &str, path: &str) -> Result<(), ConfigError> {
    if !path.starts_with('/') {
        return Err(ConfigError::new(field, "the path must start with `/`"));
    }
    if !path.bytes().all(|b| b.is_ascii_graphic() && b != b'#') {
        return Err(ConfigError::new(
            field,
            "the path must be printable ASCII without spaces or `#`; percent-encode the rest",
        ));
    }
    Ok(())
}

/// Refuses two names of `names` that an upstream reads as one header (`x-user` and
/// `X_User`), and a name that is one of `taken`.
fn distinct(field: &str, names: &[HeaderName], taken: &[HeaderName]) -> Result<(), ConfigError> {
    for (i, name) in names.iter().enumerate() {
        let same = |other: &HeaderName| HeaderName::same_for_cgi(name.as_bytes(), other.as_bytes());
        if let Some(first) = names[..i].iter().find(|other| same(other)) {
            return Err(ConfigError::new(
                format!("{field}[{i}]"),
                format!("`{name}` is already listed as `{first}`"),
            ));
        }
        if let Some(owned) = taken.iter().find(|other| same(other)) {
            return Err(ConfigError::new(
                format!("{field}[{i}]"),
                format!("`{owned}` is not a header the profile service may set: the client sends it, or the filter sets it itself"),
            ));
        }
    }
    Ok(())
}
// ANCHOR_END: plugin

// ANCHOR: filter
#[proxylet::filter(plugin = Exchange)]
async fn on_request_headers(
    headers: &mut Headers,
    exchange: &Exchange,
    stream: &mut Stream<'_>,
) -> Result<Action, HeaderError> {
    // Each step either gives what the next one needs or the reply that ends the request.
    if let Some(reply) = exchange.credentials(headers)? {
        return Ok(reply);
    }
    let token = match exchange.token(headers, stream).await {
        Ok(token) => token,
        Err(reply) => return Ok(reply),
    };
    let identity = match exchange.profile(&token, stream).await {
        Ok(identity) => identity,
        Err(reply) => return Ok(reply),
    };
    exchange.pass(headers, &token, identity)
}
// ANCHOR_END: filter

/// The local reply that ends a request in place of the upstream's answer (always an
/// [`Action::Reply`]).
type Reply = Action;

impl Exchange {
    /// `401` with the configured challenge.
    fn unauthorized(&self, why: &str) -> Reply {
        Action::Reply(
            Response::new(401)
                .header("www-authenticate", self.challenge.as_bytes())
                .header("content-type", "text/plain")
                .body(format!("unauthorized: {why}\n"))
                .details("token_exchange_unauthorized"),
        )
    }
}

/// `503`: the chain could not establish who the caller is; `details` says where and why
/// (`token_exchange_token_timeout`, `token_exchange_profile_invalid_answer`...).
fn unavailable(details: &str) -> Reply {
    Action::Reply(
        Response::new(503)
            .header("content-type", "text/plain")
            .body("identity service unavailable\n")
            .details(format!("token_exchange_{details}")),
    )
}

/// `400`: the client's request cannot be judged as sent.
fn bad_request(why: &str, details: &str) -> Reply {
    Action::Reply(
        Response::new(400)
            .header("content-type", "text/plain")
            .body(format!("bad request: {why}\n"))
            .details(format!("token_exchange_{details}")),
    )
}

// ANCHOR: credentials
impl Exchange {
    /// Checks the credential headers before anything is asked: each comes once at most,
    /// in one spelling, and one comes at least. Envoy joins a repeated `authorization`
    /// into one value with `,`, which no bearer token, API key or cookie holds: a comma
    /// counts as a repeat. The token service then gets exactly what the upstream would
    /// read. `Some` reply when the request ends here.
    fn credentials(&self, headers: &Headers) -> Result<Option<Reply>, HeaderError> {
        let mut present = false;
        for name in &self.credential_headers {
            match headers.get_unique(name) {
                Ok(None) => {}
                Ok(Some(value)) if value.as_bytes().contains(&b',') => {
                    return Ok(Some(repeated(name)));
                }
                Ok(Some(_)) => present = true,
                Err(HeaderError::Repeated { .. }) => return Ok(Some(repeated(name))),
                Err(error) => return Err(error),
            }
        }
        Ok((!present).then(|| self.unauthorized("missing credentials")))
    }
}

fn repeated(name: &HeaderName) -> Reply {
    bad_request(
        &format!("repeated {} header", name.to_string_lossy()),
        "ambiguous_credential",
    )
}
// ANCHOR_END: credentials

// ANCHOR: token
/// Why one attempt at the token service gave no token, when it is worth another.
enum Retryable {
    Failed,
    Timeout,
    Status(u16),
}

impl Retryable {
    fn details(&self) -> String {
        match self {
            Retryable::Failed => "token_failed".into(),
            Retryable::Timeout => "token_timeout".into(),
            Retryable::Status(status) => format!("token_status_{status}"),
        }
    }
}

impl Exchange {
    /// Asks the token service, again after each retryable failure (with a backoff), and
    /// returns the internal token or the reply that ends the request.
    async fn token(&self, headers: &Headers, stream: &mut Stream<'_>) -> Result<String, Reply> {
        let token = &self.token;
        let mut attempt = 0;
        loop {
            let ask = match token.method {
                Method::Get => HttpCall::get(&token.path),
                Method::Post => HttpCall::post(&token.path, Vec::new()),
            };
            // Every value in every spelling: checked above to be one value, once.
            let ask = ask.forward(headers, &self.credential_headers);
            let failure = match stream.call(&token.cluster, ask, token.timeout).await {
                Ok(answer) => match answer.status() {
                    200..=299 => {
                        return read_token(&answer, &token.field).map_err(|why| {
                            log::warn!(
                                "token-exchange: the token service's answer is no token: {why}"
                            );
                            unavailable("token_invalid_answer")
                        })
                    }
                    // The service refused the credential. Its body stays internal.
                    401 | 403 => return Err(self.unauthorized("credentials refused")),
                    500..=599 => Retryable::Status(answer.status()),
                    status => {
                        log::warn!("token-exchange: the token service answered {status}");
                        return Err(unavailable(&format!("token_status_{status}")));
                    }
                },
                Err(CallError::Timeout) => Retryable::Timeout,
                Err(CallError::Failed) => Retryable::Failed,
                // A client value the SDK will not send (a control byte): the client's fault.
                Err(CallError::InvalidHeader(error)) => {
                    log::info!("token-exchange: a credential cannot be forwarded: {error}");
                    return Err(bad_request(
                        "a credential cannot be forwarded",
                        "unforwardable_credential",
                    ));
                }
                // Not sent: the host refused it (an unknown cluster). Trying again would not help.
                Err(error) => {
                    log::warn!("token-exchange: the token service was not asked: {error}");
                    return Err(unavailable("token_rejected"));
                }
            };
            if attempt == token.retries {
                return Err(unavailable(&failure.details()));
            }
            // The stream stays paused meanwhile; if the client leaves, the hook ends here.
            stream.sleep(token.backoff(attempt)).await;
            attempt += 1;
        }
    }
}

impl Token {
    /// The wait before retry `attempt + 1`: `backoff`, doubled each time, at most
    /// `max_backoff`.
    fn backoff(&self, attempt: u32) -> Duration {
        self.backoff
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_backoff)
    }
}

/// The token in a token service's 2xx answer: field `field` of its JSON object, once, a
/// string of RFC 6750 `b64token` characters (no space, comma or control character: it
/// goes into an `authorization` header), at most [`MAX_TOKEN_LEN`] bytes.
pub fn read_token(answer: &CallResponse, field: &str) -> Result<String, String> {
    let body = answer.body();
    if body.len() > MAX_TOKEN_ANSWER {
        return Err(format!(
            "{} bytes, more than {MAX_TOKEN_ANSWER}",
            body.len()
        ));
    }
    let mut json = serde_json::Deserializer::from_slice(body);
    let token = FieldOnce(field)
        .deserialize(&mut json)
        .and_then(|token| json.end().map(|()| token))
        .map_err(|e| format!("not a JSON object with a string `{field}`: {e}"))?
        .ok_or_else(|| format!("no `{field}`"))?;
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(format!("a token of {} bytes", token.len()));
    }
    if !is_b64token(token.as_bytes()) {
        return Err("the token holds characters no bearer token has".into());
    }
    Ok(token)
}

/// RFC 6750 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let body = token.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    body > 0
        && token[..body]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b))
}

/// Reads one field of a JSON object as a string, refusing an object that has it twice
/// (`serde_json`'s maps keep the last one silently: which one would the service mean?).
struct FieldOnce<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for FieldOnce<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldOnce<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != self.0 {
                map.next_value::<IgnoredAny>()?;
            } else if found.is_some() {
                return Err(de::Error::custom(format_args!("`{key}` is repeated")));
            } else {
                found = Some(map.next_value::<String>()?);
            }
        }
        Ok(found)
    }
}
// ANCHOR_END: token

// ANCHOR: profile
impl Exchange {
    /// Asks the profile service who the token belongs to: the values of `copy_headers`
    /// in its 2xx answer, or the reply that ends the request.
    async fn profile(
        &self,
        token: &str,
        stream: &mut Stream<'_>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, Reply> {
        let profile = &self.profile;
        let ask = HttpCall::get(&profile.path).header("authorization", format!("Bearer {token}"));
        match stream.call(&profile.cluster, ask, profile.timeout).await {
            Ok(answer) => match answer.status() {
                200..=299 => self.identity(&answer).map_err(|why| {
                    log::warn!(
                        "token-exchange: the profile service's answer is no identity: {why}"
                    );
                    unavailable("profile_invalid_answer")
                }),
                // The internal token was just issued: a refusal means this caller has no
                // profile (disabled, unknown), not that the service is down.
                401 | 403 => Err(self.unauthorized("no profile for these credentials")),
                status => {
                    log::warn!("token-exchange: the profile service answered {status}");
                    Err(unavailable(&format!("profile_status_{status}")))
                }
            },
            Err(CallError::Timeout) => Err(unavailable("profile_timeout")),
            Err(CallError::Failed) => Err(unavailable("profile_failed")),
            Err(error) => {
                log::warn!("token-exchange: the profile service was not asked: {error}");
                Err(unavailable("profile_rejected"))
            }
        }
    }

    /// Each of `copy_headers` in `answer`: exactly once (counting `_`/case spellings), a
    /// non-empty header value without control characters, at most [`MAX_COPIED_VALUE`]
    /// bytes. Anything else is no identity: the upstream would get the wrong one, or none.
    fn identity(&self, answer: &CallResponse) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
        let mut identity = Vec::with_capacity(self.copy_headers.len());
        for name in &self.copy_headers {
            let mut values = answer
                .headers()
                .iter()
                .filter(|(n, _)| HeaderName::same_for_cgi(n.as_bytes(), name.as_bytes()))
                .map(|(_, v)| v);
            let value = match (values.next(), values.next()) {
                (None, _) => return Err(format!("no `{name}`")),
                (Some(_), Some(_)) => return Err(format!("`{name}` is repeated")),
                (Some(value), None) => value,
            };
            if value.is_empty() || value.len() > MAX_COPIED_VALUE {
                return Err(format!("`{name}` has {} bytes", value.len()));
            }
            if HeaderValue::new(value.as_bytes()).is_err() {
                return Err(format!("`{name}` holds control characters"));
            }
            identity.push((name.clone(), value.clone()));
        }
        Ok(identity)
    }
}
// ANCHOR_END: profile

// ANCHOR: pass
impl Exchange {
    /// Resumes the request with the caller's identity: every client-sent spelling of the
    /// headers the filter owns removed, then its own values set.
    fn pass(
        &self,
        headers: &mut Headers,
        token: &str,
        identity: Vec<(HeaderName, HeaderValue)>,
    ) -> Result<Action, HeaderError> {
        for name in &self.copy_headers {
            remove_every_spelling(headers, name)?;
        }
        if self.replace_authorization {
            let authorization = HeaderName::from("authorization");
            remove_every_spelling(headers, &authorization)?;
            headers.try_set(&authorization, format!("Bearer {token}"))?;
        }
        for (name, value) in identity {
            headers.try_set(&name, value)?;
        }
        Ok(Action::Continue)
    }
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
// ANCHOR_END: pass

// The tests that link this filter natively (the test host) are unit tests: a `cdylib`-only
// crate cannot be linked by integration tests, and a `cdylib` alone keeps the module small
// whatever command builds it.
#[cfg(test)]
mod tests {
    mod envoy;
    mod host;
}
