//! Canary routing: the filter picks the upstream of every request, `canary` or `stable`.
//!
//! The decision, in order:
//! 1. a forcing request header (`x-canary: 1` → canary, `x-canary: 0` → stable);
//! 2. otherwise `weight` percent of the traffic goes to the canary, either *sticky* (a hash
//!    of a header such as `x-user-id`, so a user always lands on the same side, on every
//!    worker and every Envoy) or random per request when that header is absent.
//!
//! The filter writes its decision into a request header (`x-route-to: canary`), replacing
//! whatever the client sent, and Envoy's route configuration matches on that header to pick
//! the cluster. See the README for the route configuration and for why Envoy re-evaluates
//! the route after the filter ran.
//!
//! Plugin configuration (JSON, every field optional):
//! `{"force_header": "x-canary", "weight": 10, "sticky_header": "x-user-id",
//!   "route_header": "x-route-to", "canary": "canary", "stable": "stable"}`

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use proxylet::prelude::*;

// ANCHOR: config
/// The plugin configuration.
#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Canary {
    /// Request header that forces a side: `1`/`true` → canary, `0`/`false` → stable. Any
    /// other value is ignored and the weight decides.
    pub force_header: String,
    /// Percentage (0 to 100) of the other requests sent to the canary.
    pub weight: Weight,
    /// Request header whose value makes the split sticky (e.g. `x-user-id`). Requests
    /// without it (or all requests, when unset) are split at random.
    pub sticky_header: Option<String>,
    /// The request header the filter sets, for the route configuration to match on.
    pub route_header: String,
    /// Value of `route_header` for the canary.
    pub canary: String,
    /// Value of `route_header` for the stable version.
    pub stable: String,
}

impl Default for Canary {
    fn default() -> Self {
        Canary {
            force_header: "x-canary".into(),
            weight: Weight::default(),
            sticky_header: None,
            route_header: "x-route-to".into(),
            canary: "canary".into(),
            stable: "stable".into(),
        }
    }
}

/// A percentage, 0 to 100; anything else is refused when the configuration is loaded.
#[derive(Deserialize, ConfigSchema, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(try_from = "u64")]
pub struct Weight(u8);

impl TryFrom<u64> for Weight {
    type Error = String;

    fn try_from(percent: u64) -> Result<Self, String> {
        match u8::try_from(percent) {
            Ok(percent) if percent <= 100 => Ok(Weight(percent)),
            _ => Err(format!("a weight is a percentage, 0 to 100; got {percent}")),
        }
    }
}
// ANCHOR_END: config

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The current version.
    Stable,
    /// The version being tried out.
    Canary,
}

// ANCHOR: decide
impl Canary {
    /// Decides where a request with these headers goes.
    pub fn choose(&self, headers: &Headers) -> Side {
        if let Some(forced) = headers.get(&self.force_header) {
            match forced.as_bytes() {
                b"1" | b"true" => return Side::Canary,
                b"0" | b"false" => return Side::Stable,
                _ => {}
            }
        }
        let sticky_key = self
            .sticky_header
            .as_deref()
            .and_then(|name| headers.get(name));
        let bucket = match sticky_key {
            Some(key) => bucket(key.as_bytes()),
            None => random_bucket(),
        };
        if bucket < self.weight.0 {
            Side::Canary
        } else {
            Side::Stable
        }
    }

    /// The value of `route_header` for `side`.
    pub fn route_value(&self, side: Side) -> &str {
        match side {
            Side::Stable => &self.stable,
            Side::Canary => &self.canary,
        }
    }
}

/// The bucket (0 to 99) of a sticky key: requests whose bucket is below the weight go to
/// the canary. FNV-1a, so every worker, every Envoy and every build agrees on it (unlike
/// `std`'s randomly seeded hasher).
pub fn bucket(key: &[u8]) -> u8 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % 100) as u8
}

/// A random bucket (0 to 99). `RandomState` is seeded from the host's randomness (WASI
/// `random_get`, which Envoy provides) and every instance has fresh keys, so the hash of
/// nothing is a random number; no `rand` crate needed.
fn random_bucket() -> u8 {
    (RandomState::new().build_hasher().finish() % 100) as u8
}
// ANCHOR_END: decide

// ANCHOR: filter
#[proxylet::filter]
fn on_request_headers(headers: &mut Headers, config: &Canary, stream: &mut Stream<'_>) {
    let side = config.choose(headers);
    // Replace whatever the client sent: only the filter decides the route.
    headers.set(&config.route_header, config.route_value(side));
    // Envoy chose the route before this filter ran; have it choose again with the new
    // header. (Envoy 1.40 would also do it because a request header changed; saying so
    // keeps working where that implicit refresh is off. Older Envoys lack the call and
    // refresh implicitly, so its error is ignored.)
    let _ = stream.clear_route_cache();
}
// ANCHOR_END: filter
