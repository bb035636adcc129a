//! A TCP (L4) filter for Envoy's `tcp_proxy`: counts connections and guards what clients
//! send.
//!
//! - Metrics: `tcp_guard.connections` (counter), `tcp_guard.active` (gauge),
//!   `tcp_guard.denied.reason.prefix` and `tcp_guard.denied.reason.budget` (counters).
//! - A connection whose first bytes start with one of `deny_prefixes` is closed before
//!   the bytes that complete the prefix reach the upstream (so the upstream never sees a
//!   whole denied prefix, even when it arrives split over several reads).
//! - A connection on which the client sends more than `max_bytes` is closed; the chunk
//!   that crosses the budget is not forwarded.
//!
//! See README.md for the configuration.

use proxylet::prelude::*;
use proxylet::ConfigError;

// ANCHOR: config
/// The plugin configuration (JSON).
#[derive(Deserialize, ConfigSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Connections whose first bytes start with one of these are closed, e.g.
    /// `["CONNECT ", "\u0016\u0003"]` (text; `\u00XX` escapes for raw bytes up to 0x7f).
    pub deny_prefixes: Vec<String>,
    /// The most bytes a client may send on one connection; `0` for no limit.
    pub max_bytes: u64,
}
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
        if config.deny_prefixes.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                "config.deny_prefixes",
                "an empty prefix would deny every connection",
            ));
        }
        let metric = |e: proxylet::HostError| ConfigError::new("metrics", e.to_string());
        let deny_prefixes: Vec<Vec<u8>> = config
            .deny_prefixes
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
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
        self.sent += data.len() as u64;
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
