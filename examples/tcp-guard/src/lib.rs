//! A TCP (L4) filter for Envoy's `tcp_proxy`: counts connections and guards what clients
//! send.
//!
//! - Metrics: `tcp_guard.connections` (counter), `tcp_guard.active` (gauge),
//!   `tcp_guard.denied.reason.prefix` and `tcp_guard.denied.reason.budget` (counters).
//! - A connection whose first bytes start with one of `deny_prefixes` (ASCII text) or
//!   `deny_prefixes_hex` (bytes in hex) is closed before the bytes that complete the
//!   prefix reach the upstream (so the upstream never sees a whole denied prefix, even
//!   when it arrives split over several reads).
//! - A connection on which the client sends more than `max_bytes` is closed; the chunk
//!   that crosses the budget is not forwarded.
//!
//! See README.md for the configuration.

use proxylet::prelude::*;

// ANCHOR: config
/// The plugin configuration (JSON).
#[derive(Deserialize, ConfigSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Connections whose first bytes start with one of these are closed, e.g.
    /// `["CONNECT ", "\u0016\u0003"]`: ASCII text, each character one byte (`\u0000` to
    /// `\u007f`); anything else is refused. For other bytes use `deny_prefixes_hex`.
    pub deny_prefixes: Vec<String>,
    /// The same, written as bytes in hex, e.g. `["16 03", "fffe"]` (two digits a byte,
    /// whitespace between bytes allowed).
    pub deny_prefixes_hex: Vec<String>,
    /// The most bytes a client may send on one connection (at most [`MAX_BYTES`]); `0`
    /// for no limit.
    pub max_bytes: u64,
}

/// The longest prefix, in bytes: a connection keeps up to that many first bytes.
pub const MAX_PREFIX_BYTES: usize = 1024;
/// The largest `max_bytes`: 2^53 - 1, the largest integer every JSON reader keeps exact.
pub const MAX_BYTES: u64 = (1 << 53) - 1;
// ANCHOR_END: config

// ANCHOR: policy
/// The plugin state, shared by every connection: the checked rules and the metrics.
pub struct Policy {
    deny_prefixes: Vec<Vec<u8>>,
    /// The length of the longest prefix: how many first bytes a connection keeps.
    longest: usize,
    max_bytes: u64,
    connections: Counter,
    active: Gauge,
    denied_prefix: Counter,
    denied_budget: Counter,
}

impl proxylet::Plugin for Policy {
    type Config = Config;

    fn new(config: &Config, _cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        let mut deny_prefixes: Vec<Vec<u8>> = Vec::new();
        for (i, text) in config.deny_prefixes.iter().enumerate() {
            let at = format!("config.deny_prefixes[{i}]");
            if let Some(c) = text.chars().find(|c| !c.is_ascii()) {
                return Err(ConfigError::new(
                    at,
                    format!(
                        "{c:?} is not ASCII (it would match its {} UTF-8 bytes); write bytes above 0x7f in `deny_prefixes_hex`",
                        c.len_utf8()
                    ),
                ));
            }
            deny_prefixes.push(checked_prefix(text.as_bytes().to_vec(), &at)?);
        }
        for (i, hex) in config.deny_prefixes_hex.iter().enumerate() {
            let at = format!("config.deny_prefixes_hex[{i}]");
            let bytes = parse_hex(hex).map_err(|why| ConfigError::new(&at, why))?;
            deny_prefixes.push(checked_prefix(bytes, &at)?);
        }
        if config.max_bytes > MAX_BYTES {
            return Err(ConfigError::new(
                "config.max_bytes",
                format!(
                    "must be at most {MAX_BYTES} (or 0 for no limit); got {}",
                    config.max_bytes
                ),
            ));
        }
        let metric = |e: proxylet::HostError| ConfigError::new("metrics", e.to_string());
        Ok(Policy {
            longest: deny_prefixes.iter().map(Vec::len).max().unwrap_or(0),
            deny_prefixes,
            max_bytes: config.max_bytes,
            connections: Counter::define("tcp_guard.connections").map_err(metric)?,
            active: Gauge::define("tcp_guard.active").map_err(metric)?,
            denied_prefix: Counter::tagged("tcp_guard.denied", &[("reason", "prefix")])
                .map_err(metric)?,
            denied_budget: Counter::tagged("tcp_guard.denied", &[("reason", "budget")])
                .map_err(metric)?,
        })
    }
}

fn checked_prefix(prefix: Vec<u8>, at: &str) -> Result<Vec<u8>, ConfigError> {
    if prefix.is_empty() {
        return Err(ConfigError::new(
            at,
            "an empty prefix would deny every connection",
        ));
    }
    if prefix.len() > MAX_PREFIX_BYTES {
        return Err(ConfigError::new(
            at,
            format!(
                "{} bytes is longer than the {MAX_PREFIX_BYTES} bytes a prefix may have",
                prefix.len()
            ),
        ));
    }
    Ok(prefix)
}

/// Reads `"16 03"` or `"1603"`: two hex digits a byte, whitespace between bytes.
fn parse_hex(hex: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    for group in hex.split_ascii_whitespace() {
        if group.len() % 2 != 0 {
            return Err(format!(
                "`{group}` has an odd number of hex digits; write two digits a byte, e.g. `0f`"
            ));
        }
        for pair in group.as_bytes().chunks(2) {
            let digits = std::str::from_utf8(pair).ok();
            match digits.and_then(|d| u8::from_str_radix(d, 16).ok()) {
                // `from_str_radix` takes a sign; a byte is two digits, nothing else.
                Some(byte) if pair.iter().all(u8::is_ascii_hexdigit) => bytes.push(byte),
                _ => {
                    return Err(format!(
                        "`{}` is not a hex byte; write two digits from 0-9 and a-f",
                        String::from_utf8_lossy(pair)
                    ))
                }
            }
        }
    }
    Ok(bytes)
}

/// What the first bytes of a connection say.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// They start with a denied prefix.
    Deny,
    /// No denied prefix can match any more.
    Allow,
    /// Too few bytes yet: a denied prefix could still match.
    Undecided,
}

impl Policy {
    fn judge(&self, head: &[u8]) -> Verdict {
        if self.deny_prefixes.iter().any(|p| head.starts_with(p)) {
            Verdict::Deny
        } else if self
            .deny_prefixes
            .iter()
            .any(|p| head.len() < p.len() && p.starts_with(head))
        {
            Verdict::Undecided
        } else {
            Verdict::Allow
        }
    }
}
// ANCHOR_END: policy

// ANCHOR: filter
/// The state of one connection.
#[derive(Default)]
pub struct Guard {
    /// The first bytes, kept until the prefix check is decided.
    head: Vec<u8>,
    decided: bool,
    /// Bytes the client sent so far.
    sent: u64,
    /// Whether this connection was already taken off `tcp_guard.active`.
    gone: bool,
}

#[proxylet::filter(plugin = Policy)]
impl Guard {
    fn on_new_connection(&mut self, policy: &Policy) {
        policy.connections.increment(1);
        policy.active.add(1);
    }

    fn on_downstream_data(&mut self, data: &mut Data, policy: &Policy) -> Action {
        self.sent = self.sent.saturating_add(data.len() as u64);
        if policy.max_bytes > 0 && self.sent > policy.max_bytes {
            policy.denied_budget.increment(1);
            // `Close` closes the connection; this chunk is not forwarded.
            return Action::Close;
        }
        if !self.decided {
            let missing = policy.longest - self.head.len();
            let chunk = data.read(0, missing.min(data.len())).unwrap_or_default();
            self.head.extend_from_slice(&chunk);
            match policy.judge(&self.head) {
                Verdict::Deny => {
                    policy.denied_prefix.increment(1);
                    return Action::Close;
                }
                Verdict::Allow => {
                    self.decided = true;
                    self.head = Vec::new();
                }
                // Forwarded: these bytes are only part of a denied prefix so far.
                Verdict::Undecided => {}
            }
        }
        Action::Continue
    }

    fn on_downstream_close(&mut self, policy: &Policy) {
        self.leave(policy);
    }

    fn on_upstream_close(&mut self, policy: &Policy) {
        self.leave(policy);
    }
}

impl Guard {
    /// Both sides report their close: count the connection out once.
    fn leave(&mut self, policy: &Policy) {
        if !self.gone {
            self.gone = true;
            policy.active.add(-1);
        }
    }
}
// ANCHOR_END: filter

// The tests that link this filter natively (the test host) are unit tests: a `cdylib`-only
// crate cannot be linked by the integration tests in tests/, and a `cdylib` alone keeps the
// module small whatever command builds it.
#[cfg(test)]
mod tests {
    mod host;
}
