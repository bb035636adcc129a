//! Rate limiting with token buckets shared by every Envoy worker.
//!
//! Each rule covers the requests whose path starts with its `path_prefix` (the first rule
//! that matches wins; unmatched requests are not limited). Paths are compared after
//! [`normalize_path`] (dot segments, merged slashes, decoded escapes, case), so `//login`,
//! `/./login`, `/x/../login` and `/%6cogin` all count as `/login`. A rule has one bucket, or, with
//! `key_header`, one bucket per value of that header (an API key), with per-key limits for
//! the keys listed in `keys`; a request with the key header more than once (counting case
//! and `_`/`-` variants) is answered `400 Bad Request` and takes no token. A bucket holds up to `max_tokens`; every request takes one,
//! and `tokens_per_fill` come back every `fill_interval_ms` (Envoy's `local_ratelimit`
//! vocabulary). An empty bucket answers `429 Too Many Requests` with `retry-after`: the
//! seconds until the next fill.
//!
//! Buckets live in proxy-wasm shared data, which every VM with the same `vm_id` (every
//! Envoy worker) sees, and each request updates its bucket with compare-and-swap, so the
//! limit holds for the whole Envoy, not per worker.
//!
//! Plugin configuration (JSON):
//! `{"rules": [{"name": "api", "path_prefix": "/api/", "key_header": "x-api-key",
//!   "limit": {"max_tokens": 100, "fill_interval_ms": 60000},
//!   "keys": {"partner-gold": {"max_tokens": 1000, "fill_interval_ms": 60000}}}]}`

use std::collections::{BTreeMap, HashMap};
use std::time::UNIX_EPOCH;

use proxylet::http::HeaderError;
use proxylet::prelude::*;
use proxylet::shared::SharedData;

mod path;
pub use path::normalize_path;

// ANCHOR: config
/// The plugin configuration.
#[derive(Deserialize, ConfigSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimit {
    /// The rules, tried in order; the first whose `path_prefix` matches applies.
    pub rules: Vec<Rule>,
}

/// The limit of one group of requests.
#[derive(Deserialize, ConfigSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Names the rule's buckets in shared data; default: `path_prefix`. Keep it when
    /// editing the rules, or the buckets start over.
    #[serde(default)]
    pub name: Option<String>,
    /// Requests whose normalized `:path` ([`normalize_path`]) starts with this. It must
    /// start with `/` and be normalized itself (any case: matching ignores it).
    pub path_prefix: String,
    /// When set, one bucket per value of this request header (e.g. `x-api-key`); requests
    /// without it share one bucket. When unset, one bucket for the rule. A valid header
    /// name, not a pseudo-header. A request with it more than once (counting case and
    /// `_`/`-` variants: `x_api_key`) is answered `400`.
    #[serde(default)]
    pub key_header: Option<HeaderName>,
    /// The limit of each bucket.
    pub limit: Limit,
    /// Limits for particular values of `key_header`, instead of `limit`.
    #[serde(default)]
    pub keys: BTreeMap<String, Limit>,
}

/// A token bucket's size and refill.
#[derive(Deserialize, ConfigSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// The bucket's size: the burst allowed (1 to [`MAX_TOKENS`]).
    pub max_tokens: u64,
    /// Tokens added every `fill_interval_ms` (1 to [`MAX_TOKENS`]); default: `max_tokens`.
    #[serde(default)]
    pub tokens_per_fill: Option<u64>,
    /// The refill period in milliseconds (1 to [`MAX_FILL_INTERVAL_MS`]).
    pub fill_interval_ms: u64,
}

/// The most tokens a bucket may hold, or get back in one fill.
pub const MAX_TOKENS: u64 = 1_000_000_000_000;
/// The longest refill period: 365 days, in milliseconds. In nanoseconds it stays far
/// below `u64::MAX`, so the bucket's clock arithmetic cannot overflow.
pub const MAX_FILL_INTERVAL_MS: u64 = 365 * 24 * 60 * 60 * 1000;
// ANCHOR_END: config

// ANCHOR: bucket
/// A bucket as stored in shared data: 16 bytes, little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Tokens left.
    pub tokens: u64,
    /// When tokens were last added, in nanoseconds since the Unix epoch (host time).
    pub last_fill_nanos: u64,
}

/// What a bucket said about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A token was taken; `remaining` are left.
    Allowed {
        /// Tokens left after this request.
        remaining: u64,
    },
    /// The bucket is empty; the next fill comes in `retry_after_nanos`.
    Limited {
        /// Time until the next fill, in nanoseconds.
        retry_after_nanos: u64,
    },
}

impl Bucket {
    /// A full bucket.
    pub fn full(limit: &Limit, now_nanos: u64) -> Bucket {
        Bucket {
            tokens: limit.max_tokens,
            last_fill_nanos: now_nanos,
        }
    }

    /// Adds the fills due at `now_nanos`, then takes one token if there is one.
    pub fn take(mut self, limit: &Limit, now_nanos: u64) -> (Bucket, Decision) {
        let interval = limit.fill_interval_ms.saturating_mul(1_000_000).max(1);
        // A clock that went backwards adds nothing.
        let elapsed = now_nanos.saturating_sub(self.last_fill_nanos);
        let fills = elapsed / interval;
        if fills > 0 {
            let per_fill = limit.tokens_per_fill.unwrap_or(limit.max_tokens);
            self.tokens = self.tokens.saturating_add(fills.saturating_mul(per_fill));
            self.last_fill_nanos += fills * interval;
        }
        // A lowered limit applies at once.
        self.tokens = self.tokens.min(limit.max_tokens);
        if self.tokens > 0 {
            self.tokens -= 1;
            let remaining = self.tokens;
            (self, Decision::Allowed { remaining })
        } else {
            let next_fill = self.last_fill_nanos.saturating_add(interval);
            let retry_after_nanos = next_fill.saturating_sub(now_nanos);
            (self, Decision::Limited { retry_after_nanos })
        }
    }

    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        [
            self.tokens.to_le_bytes(),
            self.last_fill_nanos.to_le_bytes(),
        ]
        .concat()
    }

    /// Reads stored bytes; `None` when they are not a bucket.
    pub fn decode(bytes: &[u8]) -> Option<Bucket> {
        let (tokens, last) = bytes.split_at_checked(8)?;
        Some(Bucket {
            tokens: u64::from_le_bytes(tokens.try_into().ok()?),
            last_fill_nanos: u64::from_le_bytes(last.try_into().ok()?),
        })
    }
}
// ANCHOR_END: bucket

// ANCHOR: plugin
/// The rules, checked and ready (one per worker; the buckets are in shared data).
pub struct Limiter {
    rules: Vec<CheckedRule>,
}

struct CheckedRule {
    name: String,
    path_prefix: Vec<u8>,
    key_header: Option<HeaderName>,
    limit: Limit,
    keys: HashMap<Vec<u8>, Limit>,
}

impl proxylet::Plugin for Limiter {
    type Config = RateLimit;

    fn new(config: &RateLimit, _cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        let mut rules: Vec<CheckedRule> = Vec::new();
        for (i, rule) in config.rules.iter().enumerate() {
            let at = |field: &str| format!("config.rules[{i}].{field}");
            let name = rule
                .name
                .clone()
                .unwrap_or_else(|| rule.path_prefix.clone());
            if rules.iter().any(|r| r.name == name) {
                return Err(ConfigError::new(
                    at("name"),
                    format!("two rules are named `{name}`; their buckets would be one"),
                ));
            }
            let path_prefix = check_prefix(&rule.path_prefix, &at("path_prefix"))?;
            check(&rule.limit, &at("limit"))?;
            for (key, limit) in &rule.keys {
                check(limit, &at(&format!("keys.{key}")))?;
            }
            if rule.key_header.is_none() && !rule.keys.is_empty() {
                return Err(ConfigError::new(at("keys"), "needs `key_header`"));
            }
            rules.push(CheckedRule {
                name,
                path_prefix,
                key_header: rule.key_header.clone(),
                limit: rule.limit,
                keys: rule
                    .keys
                    .iter()
                    .map(|(key, limit)| (key.as_bytes().to_vec(), *limit))
                    .collect(),
            });
        }
        // Create the buckets known now, before traffic: writing an absent key cannot be
        // conditional (see `SharedData::update`), so concurrent first requests on two
        // workers could each take "the first token" of a bucket they both create.
        // Existing buckets (a configuration reload) keep their tokens.
        let now = now_nanos();
        for rule in &rules {
            let known: Vec<(Option<&[u8]>, &Limit)> = match rule.key_header {
                None => vec![(None, &rule.limit)],
                Some(_) => rule.keys.iter().map(|(k, l)| (Some(&k[..]), l)).collect(),
            };
            for (key, limit) in known {
                let shared_key = bucket_key(&rule.name, key);
                let absent = SharedData::get(&shared_key)
                    .map_err(|e| ConfigError::new("config", e.to_string()))?
                    .is_none();
                if absent {
                    SharedData::set(&shared_key, &Bucket::full(limit, now).encode())
                        .map_err(|e| ConfigError::new("config", e.to_string()))?;
                }
            }
        }
        Ok(Limiter { rules })
    }
}

fn check(limit: &Limit, at: &str) -> Result<(), ConfigError> {
    let fields = [
        ("max_tokens", Some(limit.max_tokens), MAX_TOKENS, ""),
        ("tokens_per_fill", limit.tokens_per_fill, MAX_TOKENS, ""),
        (
            "fill_interval_ms",
            Some(limit.fill_interval_ms),
            MAX_FILL_INTERVAL_MS,
            " (365 days)",
        ),
    ];
    for (field, value, max, unit) in fields {
        match value {
            Some(0) => {
                return Err(ConfigError::new(
                    format!("{at}.{field}"),
                    "must be at least 1",
                ))
            }
            Some(value) if value > max => {
                return Err(ConfigError::new(
                    format!("{at}.{field}"),
                    format!("must be at most {max}{unit}; got {value}"),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// A rule's prefix as it is matched: normalized like every path, so it must be written
/// normalized (a prefix such as `/a/../b` would silently mean `/b`).
fn check_prefix(prefix: &str, at: &str) -> Result<Vec<u8>, ConfigError> {
    if !prefix.starts_with('/') {
        return Err(ConfigError::new(
            at,
            format!("`{prefix}` must start with `/`"),
        ));
    }
    let normalized = normalize_path(prefix.as_bytes());
    if !normalized.eq_ignore_ascii_case(prefix.as_bytes()) {
        return Err(ConfigError::new(
            at,
            format!(
                "`{prefix}` is matched against normalized paths and reads as `{}` there; write that",
                String::from_utf8_lossy(&normalized)
            ),
        ));
    }
    Ok(normalized)
}

/// The shared-data key of a bucket. A key value is hashed (FNV-1a, hex), so a client
/// cannot make entries of any size, and any bytes (not only UTF-8) work.
pub fn bucket_key(rule: &str, key: Option<&[u8]>) -> String {
    match key {
        None => format!("rate-limit/{rule}"),
        Some(key) => format!("rate-limit/{rule}/{:016x}", fnv1a(key)),
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn now_nanos() -> u64 {
    let since_epoch = proxylet::property::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
}
// ANCHOR_END: plugin

// ANCHOR: filter
#[proxylet::filter(plugin = Limiter)]
fn on_request_headers(headers: &Headers, limiter: &Limiter) -> Action {
    // Match what an upstream may resolve, not the raw bytes: `//login` is `/login`.
    let path = normalize_path(headers.get(":path").unwrap_or_default().as_bytes());
    let Some(rule) = limiter
        .rules
        .iter()
        .find(|rule| path.starts_with(&rule.path_prefix))
    else {
        return Action::Continue; // no rule: not limited
    };
    // Exactly one key, or none: with two (`x-api-key: junk` and `x-api-key: gold`, or
    // `x_api_key: gold`), which bucket to draw from, and which value the upstream reads,
    // is a guess; refuse it.
    let key = match &rule.key_header {
        None => None,
        Some(name) => match headers.get_unique(name) {
            Ok(value) => Some(value.unwrap_or_default().into_bytes()),
            Err(error @ HeaderError::Repeated { .. }) => {
                return Action::Reply(
                    Response::new(400)
                        .header("content-type", "text/plain")
                        .body(format!("ambiguous request: {error}\n"))
                        .details("rate_limit_repeated_key"),
                )
            }
            // The host refused the read: as without the header.
            Err(_) => Some(Vec::new()),
        },
    };
    let limit = key
        .as_ref()
        .and_then(|key| rule.keys.get(key))
        .unwrap_or(&rule.limit);

    // Take a token: read, compute, compare-and-swap; retried when another worker wrote
    // the bucket in between, so every token is taken once.
    let now = now_nanos();
    let taken = SharedData::update(&bucket_key(&rule.name, key.as_deref()), |stored| {
        let bucket = stored
            .as_deref()
            .and_then(Bucket::decode)
            .unwrap_or_else(|| Bucket::full(limit, now));
        let (bucket, decision) = bucket.take(limit, now);
        (bucket.encode(), decision)
    });
    match taken {
        Ok(Decision::Allowed { .. }) => Action::Continue,
        Ok(Decision::Limited { retry_after_nanos }) => {
            // Whole seconds, rounded up: retrying earlier would be limited again.
            let seconds = retry_after_nanos.div_ceil(1_000_000_000).max(1);
            Action::Reply(
                Response::new(429)
                    .header("retry-after", seconds.to_string())
                    .header("content-type", "text/plain")
                    .body("rate limit exceeded\n")
                    .details("rate_limited"),
            )
        }
        // The host refused shared data: let the request through rather than take the
        // service down with the limiter.
        Err(_) => Action::Continue,
    }
}
// ANCHOR_END: filter

// The tests that link this filter natively (the test host) are unit tests: a `cdylib`-only
// crate cannot be linked by the integration tests in tests/, and a `cdylib` alone keeps the
// module small whatever command builds it.
#[cfg(test)]
mod tests {
    mod host;
    mod path;
}
