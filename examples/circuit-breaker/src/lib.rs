//! A circuit breaker ("fuse") in front of an upstream, shared by every Envoy worker.
//!
//! - **Closed**: requests pass; consecutive upstream `5xx` responses are counted, any other
//!   response resets the count. `failure_threshold` failures in a row open the breaker.
//! - **Open**: requests are answered at once with the configured fallback (`503` by
//!   default) and never reach the upstream.
//! - **Half-open**: the plugin's tick (every `open_ms`) moves a breaker that has been open
//!   for `open_ms` to half-open. One request, the *probe*, goes to the upstream; the others
//!   still get the fallback. A successful probe closes the breaker, a failed one (or a
//!   probe that ends without a response) opens it again. A probe that has not answered
//!   within `probe_timeout_ms` (a client sending its body slowly, an upstream hanging)
//!   stops holding the breaker: the next request becomes the probe, and the late one's
//!   outcome no longer decides the half-open breaker.
//!
//! The state lives in proxy-wasm *shared data*, which every VM with the same `vm_id` sees
//! (every Envoy worker thread runs its own VM), and every change is a compare-and-swap, so
//! failures counted on different workers add up and exactly one worker lets the probe
//! through.
//!
//! Plugin configuration (JSON, every field optional):
//! `{"name": "orders", "failure_threshold": 5, "open_ms": 10000, "probe_timeout_ms": 10000,
//!   "fallback": {"status": 503, "body": "orders are unavailable, retry later\n"}}`

use std::time::{Duration, UNIX_EPOCH};

use proxylet::prelude::*;
use proxylet::shared::{SetError, SharedData};

// ANCHOR: config
/// The plugin configuration.
#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The breaker's name: plugins with the same name (and `vm_id`) share one breaker.
    pub name: String,
    /// Consecutive upstream `5xx` responses that open the breaker (1 to
    /// [`MAX_FAILURE_THRESHOLD`]).
    pub failure_threshold: u32,
    /// How long the breaker stays open before a probe is let through, in milliseconds
    /// (1 to [`MAX_MS`]); also the plugin's tick period.
    pub open_ms: u64,
    /// How long a probe may hold the half-open breaker, in milliseconds (1 to
    /// [`MAX_MS`]); default: `open_ms`. After that, the next request becomes the probe.
    pub probe_timeout_ms: Option<u64>,
    /// The answer while the breaker is open.
    pub fallback: Fallback,
}

/// The largest `failure_threshold`.
pub const MAX_FAILURE_THRESHOLD: u32 = 1_000_000;
/// The longest `open_ms` and `probe_timeout_ms`: one day. (The host's tick period is a
/// 32-bit count of milliseconds; a day keeps far below it.)
pub const MAX_MS: u64 = 24 * 60 * 60 * 1000;

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "default".into(),
            failure_threshold: 5,
            open_ms: 10_000,
            probe_timeout_ms: None,
            fallback: Fallback::default(),
        }
    }
}

/// The local reply sent instead of calling the upstream.
#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Fallback {
    /// HTTP status, 200 to 599 (a 1xx is not a reply).
    pub status: u16,
    /// Body.
    pub body: String,
    /// `content-type` of the body: a header value, so no control characters (CR, LF,
    /// NUL, …) except tab; refused when the configuration loads otherwise.
    pub content_type: HeaderValue,
}

impl Default for Fallback {
    fn default() -> Self {
        Fallback {
            status: 503,
            body: "upstream unavailable, retry later\n".into(),
            content_type: HeaderValue::from("text/plain"),
        }
    }
}

impl Fallback {
    /// Refuses what would not make a valid reply, naming the field.
    fn check(&self) -> Result<(), ConfigError> {
        if !(200..=599).contains(&self.status) {
            return Err(ConfigError::new(
                "config.fallback.status",
                format!("must be a final status, 200 to 599; got {}", self.status),
            ));
        }
        // `content_type` is a `HeaderValue`: checked while parsing.
        Ok(())
    }

    fn response(&self) -> Response {
        Response::new(self.status)
            .header("content-type", &self.content_type)
            .header("x-circuit-breaker", "open")
            .body(self.body.as_bytes())
            .details("circuit_breaker_open")
    }
}
// ANCHOR_END: config

// ANCHOR: state
/// The breaker's state, as stored in shared data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Requests pass; `failures` consecutive upstream `5xx` so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Requests get the fallback, since `since_nanos` (host time).
    Open {
        /// When the breaker opened, in nanoseconds since the Unix epoch.
        since_nanos: u64,
    },
    /// One probe may pass; `probe` once a worker let it through.
    HalfOpen {
        /// When the probe in flight was let through (nanoseconds since the Unix epoch,
        /// host time), which also identifies it; `None` while no probe is out.
        probe: Option<u64>,
    },
}

impl State {
    /// The bytes stored in shared data: a tag, then the fields, little-endian.
    pub fn encode(self) -> Vec<u8> {
        match self {
            State::Closed { failures } => [&[0][..], &failures.to_le_bytes()].concat(),
            State::Open { since_nanos } => [&[1][..], &since_nanos.to_le_bytes()].concat(),
            State::HalfOpen { probe: None } => vec![2, 0],
            State::HalfOpen { probe: Some(since) } => [&[2, 1][..], &since.to_le_bytes()].concat(),
        }
    }

    /// Reads stored bytes; anything unreadable is a closed breaker.
    pub fn decode(bytes: &[u8]) -> State {
        match bytes {
            [0, rest @ ..] => State::Closed {
                failures: rest.try_into().map(u32::from_le_bytes).unwrap_or(0),
            },
            [1, rest @ ..] => match rest.try_into() {
                Ok(since) => State::Open {
                    since_nanos: u64::from_le_bytes(since),
                },
                Err(_) => State::Closed { failures: 0 },
            },
            [2, 0] => State::HalfOpen { probe: None },
            // A probe without its start (written by an older version) is as old as can
            // be: the next request replaces it.
            [2, 1, since @ ..] => State::HalfOpen {
                probe: Some(since.try_into().map(u64::from_le_bytes).unwrap_or(0)),
            },
            _ => State::Closed { failures: 0 },
        }
    }
}
// ANCHOR_END: state

/// What the breaker says about a new request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    Pass,
    /// The probe, let through at this time (its identity in [`State::HalfOpen`]).
    Probe(u64),
    Reject,
}

// ANCHOR: plugin
/// Per-plugin state: where the breaker lives and its settings. The breaker itself is in
/// shared data, not here: a plugin instance exists once per worker.
pub struct Breaker {
    key: String,
    threshold: u32,
    open_for: Duration,
    /// How long a probe may hold the half-open breaker, in nanoseconds.
    probe_timeout_nanos: u64,
}

impl proxylet::Plugin for Breaker {
    type Config = Config;

    fn new(config: &Config, cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        in_range(
            "config.failure_threshold",
            u64::from(config.failure_threshold),
            u64::from(MAX_FAILURE_THRESHOLD),
        )?;
        in_range("config.open_ms", config.open_ms, MAX_MS)?;
        let probe_timeout_ms = config.probe_timeout_ms.unwrap_or(config.open_ms);
        in_range("config.probe_timeout_ms", probe_timeout_ms, MAX_MS)?;
        config.fallback.check()?;
        let open_for = Duration::from_millis(config.open_ms);
        cx.set_tick_period(open_for).map_err(|e| {
            ConfigError::new(
                "config.open_ms",
                format!("the host refused the tick period: {e}"),
            )
        })?;
        let key = format!("circuit-breaker/{}", config.name);
        // Create the entry now, before traffic: a write to an absent key is unconditional
        // on proxy-wasm hosts (no compare-and-swap can guard a creation), so two workers
        // creating it under load could lose a count. Keep what is there (a reload).
        if SharedData::get(&key)
            .map_err(|e| ConfigError::new("config", e.to_string()))?
            .is_none()
        {
            SharedData::set(&key, &State::Closed { failures: 0 }.encode())
                .map_err(|e| ConfigError::new("config", e.to_string()))?;
        }
        Ok(Breaker {
            key,
            threshold: config.failure_threshold,
            open_for,
            // At most a day in nanoseconds: far from overflowing.
            probe_timeout_nanos: probe_timeout_ms * 1_000_000,
        })
    }

    /// Every `open_ms`: a breaker open for that long becomes half-open.
    fn on_tick(&self, _cx: &mut PluginCx<'_>) {
        let now = now_nanos();
        let open_for = u64::try_from(self.open_for.as_nanos()).unwrap_or(u64::MAX);
        self.transition(|state| match state {
            State::Open { since_nanos } if now.saturating_sub(since_nanos) >= open_for => {
                (Some(State::HalfOpen { probe: None }), ())
            }
            _ => (None, ()),
        });
    }
}

/// Refuses `value` outside `1..=max`, naming the field.
fn in_range(field: &str, value: u64, max: u64) -> Result<(), ConfigError> {
    match value {
        0 => Err(ConfigError::new(field, "must be at least 1")),
        v if v > max => Err(ConfigError::new(
            field,
            format!("must be at most {max}; got {v}"),
        )),
        _ => Ok(()),
    }
}
// ANCHOR_END: plugin

// ANCHOR: transitions
impl Breaker {
    /// Reads the state, lets `decide` pick the next one (`None`: unchanged) and writes it
    /// with compare-and-swap, starting over when another worker wrote in between.
    fn transition<T>(&self, mut decide: impl FnMut(State) -> (Option<State>, T)) -> T {
        loop {
            let (state, cas) = match SharedData::get(&self.key) {
                Ok(Some((bytes, cas))) => (State::decode(&bytes), cas),
                // Entry gone or host refusing: act as closed, write nothing.
                Ok(None) | Err(_) => return decide(State::Closed { failures: 0 }).1,
            };
            let (next, out) = decide(state);
            let Some(next) = next.filter(|next| *next != state) else {
                return out;
            };
            match SharedData::compare_and_set(&self.key, &next.encode(), cas) {
                Ok(()) => return out,
                Err(SetError::CasMismatch) => continue,
                Err(SetError::Host(_)) => return out,
            }
        }
    }

    /// Whether a new request may go to the upstream. A probe older than the probe
    /// timeout no longer holds the breaker: this request replaces it.
    fn admit(&self) -> Admission {
        let now = now_nanos();
        self.transition(|state| match state {
            State::Closed { .. } => (None, Admission::Pass),
            State::HalfOpen { probe: None } => (
                Some(State::HalfOpen { probe: Some(now) }),
                Admission::Probe(now),
            ),
            State::HalfOpen { probe: Some(since) }
                if now.saturating_sub(since) >= self.probe_timeout_nanos =>
            {
                // Also when two requests claim in the same nanosecond, the CAS lets one.
                (
                    Some(State::HalfOpen { probe: Some(now) }),
                    Admission::Probe(now),
                )
            }
            State::Open { .. } | State::HalfOpen { probe: Some(_) } => (None, Admission::Reject),
        })
    }

    /// Records the outcome of a request that went to the upstream; `probe` is its start
    /// when it was let through as the probe.
    fn record(&self, failed: bool, probe: Option<u64>) {
        let now = now_nanos();
        self.transition(|state| {
            let next = match state {
                State::Closed { failures } if failed => {
                    let failures = failures.saturating_add(1);
                    if failures >= self.threshold {
                        State::Open { since_nanos: now }
                    } else {
                        State::Closed { failures }
                    }
                }
                State::Closed { .. } => State::Closed { failures: 0 },
                // Only the current probe's outcome decides a half-open breaker; one that
                // was replaced after the probe timeout no longer counts.
                State::HalfOpen {
                    probe: Some(current),
                } if probe == Some(current) => {
                    if failed {
                        State::Open { since_nanos: now }
                    } else {
                        State::Closed { failures: 0 }
                    }
                }
                // Requests let through before the breaker opened do not count.
                other => other,
            };
            (Some(next), ())
        });
    }
}

impl Breaker {
    /// A probe ended without a response: when it still holds the half-open breaker, the
    /// breaker opens again (a replaced probe, or a closed breaker, is left alone).
    fn abandon(&self, probe: u64) {
        let now = now_nanos();
        self.transition(|state| match state {
            State::HalfOpen {
                probe: Some(current),
            } if current == probe => (Some(State::Open { since_nanos: now }), ()),
            _ => (None, ()),
        });
    }
}

fn now_nanos() -> u64 {
    let since_epoch = proxylet::property::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
}
// ANCHOR_END: transitions

// ANCHOR: filter
/// One request through the breaker.
#[derive(Default)]
pub struct CircuitBreaker {
    /// Answered with the fallback: the response this filter sees next is its own.
    rejected: bool,
    /// This request is the half-open probe, let through at this time.
    probe: Option<u64>,
    /// The upstream's answer was recorded.
    recorded: bool,
}

#[proxylet::filter(plugin = Breaker)]
impl CircuitBreaker {
    fn on_request_headers(&mut self, breaker: &Breaker, config: &Config) -> Action {
        match breaker.admit() {
            Admission::Pass => Action::Continue,
            Admission::Probe(since) => {
                self.probe = Some(since);
                Action::Continue
            }
            Admission::Reject => {
                self.rejected = true;
                Action::Reply(config.fallback.response())
            }
        }
    }

    fn on_response_headers(&mut self, headers: &Headers, breaker: &Breaker) {
        // Envoy passes a filter's own local reply through its response hooks too.
        if self.rejected {
            return;
        }
        // Upstream 5xx, and Envoy's own 5xx for it (connect failure, timeout) alike.
        let status = headers
            .get(":status")
            .and_then(|s| s.to_str().ok()?.parse::<u16>().ok())
            .unwrap_or(0);
        breaker.record(status >= 500, self.probe);
        self.recorded = true;
    }

    fn on_done(&mut self, breaker: &Breaker) {
        // A probe that ended without a response (reset, client gone) failed. One that
        // never ends stops holding the breaker after `probe_timeout_ms` (see `admit`).
        if let (Some(probe), false) = (self.probe, self.recorded) {
            breaker.abandon(probe);
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
