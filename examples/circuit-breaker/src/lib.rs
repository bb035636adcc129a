//! A circuit breaker ("fuse") in front of an upstream, shared by every Envoy worker.
//!
//! - **Closed**: requests pass; consecutive upstream `5xx` responses are counted, any other
//!   response resets the count. `failure_threshold` failures in a row open the breaker.
//! - **Open**: requests are answered at once with the configured fallback (`503` by
//!   default) and never reach the upstream.
//! - **Half-open**: the plugin's tick (every `open_ms`) moves a breaker that has been open
//!   for `open_ms` to half-open. One request, the *probe*, goes to the upstream; the others
//!   still get the fallback. A successful probe closes the breaker, a failed one (or a
//!   probe that ends without a response) opens it again.
//!
//! The state lives in proxy-wasm *shared data*, which every VM with the same `vm_id` sees
//! (every Envoy worker thread runs its own VM), and every change is a compare-and-swap, so
//! failures counted on different workers add up and exactly one worker lets the probe
//! through.
//!
//! Plugin configuration (JSON, every field optional):
//! `{"name": "orders", "failure_threshold": 5, "open_ms": 10000,
//!   "fallback": {"status": 503, "body": "orders are unavailable, retry later\n"}}`

use std::time::{Duration, UNIX_EPOCH};

use proxylet::shared::{SetError, SharedData};
use proxylet::{prelude::*, ConfigError};

// ANCHOR: config
/// The plugin configuration.
#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The breaker's name: plugins with the same name (and `vm_id`) share one breaker.
    pub name: String,
    /// Consecutive upstream `5xx` responses that open the breaker (at least 1).
    pub failure_threshold: u32,
    /// How long the breaker stays open before a probe is let through, in milliseconds;
    /// also the plugin's tick period.
    pub open_ms: u64,
    /// The answer while the breaker is open.
    pub fallback: Fallback,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "default".into(),
            failure_threshold: 5,
            open_ms: 10_000,
            fallback: Fallback::default(),
        }
    }
}

/// The local reply sent instead of calling the upstream.
#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Fallback {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: String,
    /// `content-type` of the body.
    pub content_type: String,
}

impl Default for Fallback {
    fn default() -> Self {
        Fallback {
            status: 503,
            body: "upstream unavailable, retry later\n".into(),
            content_type: "text/plain".into(),
        }
    }
}

impl Fallback {
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
    /// One probe may pass; `probing` once a worker let it through.
    HalfOpen {
        /// Whether the probe is in flight.
        probing: bool,
    },
}

impl State {
    /// The bytes stored in shared data: a tag, then the field, little-endian.
    pub fn encode(self) -> Vec<u8> {
        match self {
            State::Closed { failures } => [&[0][..], &failures.to_le_bytes()].concat(),
            State::Open { since_nanos } => [&[1][..], &since_nanos.to_le_bytes()].concat(),
            State::HalfOpen { probing } => vec![2, u8::from(probing)],
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
            [2, probing] => State::HalfOpen {
                probing: *probing != 0,
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
    Probe,
    Reject,
}

// ANCHOR: plugin
/// Per-plugin state: where the breaker lives and its settings. The breaker itself is in
/// shared data, not here: a plugin instance exists once per worker.
pub struct Breaker {
    key: String,
    threshold: u32,
    open_for: Duration,
}

impl proxylet::Plugin for Breaker {
    type Config = Config;

    fn new(config: &Config, cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        if config.failure_threshold == 0 {
            return Err(ConfigError::new(
                "config.failure_threshold",
                "must be at least 1",
            ));
        }
        if config.open_ms == 0 {
            return Err(ConfigError::new("config.open_ms", "must be at least 1"));
        }
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
        })
    }

    /// Every `open_ms`: a breaker open for that long becomes half-open.
    fn on_tick(&self, _cx: &mut PluginCx<'_>) {
        let now = now_nanos();
        let open_for = u64::try_from(self.open_for.as_nanos()).unwrap_or(u64::MAX);
        self.transition(|state| match state {
            State::Open { since_nanos } if now.saturating_sub(since_nanos) >= open_for => {
                (Some(State::HalfOpen { probing: false }), ())
            }
            _ => (None, ()),
        });
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

    /// Whether a new request may go to the upstream.
    fn admit(&self) -> Admission {
        self.transition(|state| match state {
            State::Closed { .. } => (None, Admission::Pass),
            State::HalfOpen { probing: false } => {
                (Some(State::HalfOpen { probing: true }), Admission::Probe)
            }
            State::Open { .. } | State::HalfOpen { probing: true } => (None, Admission::Reject),
        })
    }

    /// Records the outcome of a request that went to the upstream.
    fn record(&self, failed: bool, probe: bool) {
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
                // Only the probe's outcome decides a half-open breaker.
                State::HalfOpen { .. } if probe && failed => State::Open { since_nanos: now },
                State::HalfOpen { .. } if probe => State::Closed { failures: 0 },
                // Requests let through before the breaker opened do not count.
                other => other,
            };
            (Some(next), ())
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
    /// This request is the half-open probe.
    probe: bool,
    /// The upstream's answer was recorded.
    recorded: bool,
}

#[proxylet::filter(plugin = Breaker)]
impl CircuitBreaker {
    fn on_request_headers(&mut self, breaker: &Breaker, config: &Config) -> Action {
        match breaker.admit() {
            Admission::Pass => Action::Continue,
            Admission::Probe => {
                self.probe = true;
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
        // A probe that ended without a response (reset, client gone) failed: without this
        // the breaker would wait for it forever.
        if self.probe && !self.recorded {
            breaker.record(true, true);
        }
    }
}
// ANCHOR_END: filter
