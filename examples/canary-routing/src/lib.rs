//! Canary routing: the filter picks the upstream of every request, `canary` or `stable`.
//!
//! The decision, in order:
//! 1. a forcing request header (`x-canary: 1` → canary, `x-canary: 0` → stable);
//! 2. otherwise `weight` percent of the traffic goes to the canary, either *sticky* (a hash
//!    of a header such as `x-user-id`, so a user always lands on the same side, on every
//!    worker and every Envoy) or random per request when that header is absent.
//!
//! The filter writes its decision into a request header (`x-route-to: canary`), replacing
//! whatever the client sent under that name or a variant of it (`X-Route-To`,
//! `x_route_to`), and Envoy's route configuration matches on that header to pick the
//! cluster. A request with the forcing or the sticky header more than once (counting
//! those variants) is ambiguous and answered `400`. See the README for the route
//! configuration and for why Envoy re-evaluates the route after the filter ran.
//!
//! Plugin configuration (JSON, every field optional):
//! `{"force_header": "x-canary", "weight": 10, "sticky_header": "x-user-id",
//!   "route_header": "x-route-to", "canary": "canary", "stable": "stable"}`

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use proxylet::http::{HeaderError, HeaderName, HeaderValue};
use proxylet::prelude::*;

// ANCHOR: config
/// The plugin configuration.
#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Canary {
    /// Request header that forces a side: `1`/`true` → canary, `0`/`false` → stable. Any
    /// other value is ignored and the weight decides.
    pub force_header: HeaderName,
    /// Percentage (0 to 100) of the other requests sent to the canary.
    pub weight: Weight,
    /// Request header whose value makes the split sticky (e.g. `x-user-id`). Requests
    /// without it (or all requests, when unset) are split at random.
    pub sticky_header: Option<HeaderName>,
    /// The request header the filter sets, for the route configuration to match on: a
    /// header of its own (not a pseudo-header, a framing header or `host`, which Envoy
    /// uses for more than matching).
    pub route_header: HeaderName,
    /// Value of `route_header` for the canary (a non-empty header value).
    pub canary: HeaderValue,
    /// Value of `route_header` for the stable version (a non-empty header value, not
    /// `canary`'s).
    pub stable: HeaderValue,
}

impl Default for Canary {
    fn default() -> Self {
        Canary {
            force_header: HeaderName::from("x-canary"),
            weight: Weight::default(),
            sticky_header: None,
            route_header: HeaderName::from("x-route-to"),
            canary: HeaderValue::from("canary"),
            stable: HeaderValue::from("stable"),
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

// ANCHOR: checked
/// The plugin: checks what the field types cannot (names and values are checked while
/// parsing: `HeaderName`, `HeaderValue`).
pub struct Checked;

impl proxylet::Plugin for Checked {
    type Config = Canary;

    fn new(config: &Canary, _cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        if HeaderName::same_for_cgi(config.route_header.as_bytes(), b"host") {
            return Err(ConfigError::new(
                "config.route_header",
                "`host` is the request's authority: setting it would change where Envoy and the upstream send the request; use a header of your own, e.g. `x-route-to`",
            ));
        }
        let readers = [
            ("force_header", Some(&config.force_header)),
            ("sticky_header", config.sticky_header.as_ref()),
        ];
        for (field, name) in readers {
            if name.is_some_and(|name| {
                HeaderName::same_for_cgi(name.as_bytes(), config.route_header.as_bytes())
            }) {
                return Err(ConfigError::new(
                    "config.route_header",
                    format!("is also `{field}`, which the client sends; use another header"),
                ));
            }
        }
        for (field, value) in [("canary", &config.canary), ("stable", &config.stable)] {
            if value.is_empty() {
                return Err(ConfigError::new(
                    format!("config.{field}"),
                    "must not be empty: the routes match on this value",
                ));
            }
        }
        if config.canary == config.stable {
            return Err(ConfigError::new(
                "config.stable",
                "is the same as `canary`: the routes could not tell the sides apart",
            ));
        }
        Ok(Checked)
    }
}
// ANCHOR_END: checked

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
    /// Decides where a request with these headers goes; [`HeaderError::Repeated`] when
    /// the forcing or the sticky header appears more than once (counting case and `_`/`-`
    /// variants: an upstream may read any of them).
    pub fn choose(&self, headers: &Headers) -> Result<Side, HeaderError> {
        if let Some(forced) = unique(headers, &self.force_header)? {
            match forced.as_bytes() {
                b"1" | b"true" => return Ok(Side::Canary),
                b"0" | b"false" => return Ok(Side::Stable),
                _ => {}
            }
        }
        let sticky_key = match &self.sticky_header {
            Some(name) => unique(headers, name)?,
            None => None,
        };
        let bucket = match sticky_key {
            Some(key) => bucket(key.as_bytes()),
            None => random_bucket(),
        };
        Ok(if bucket < self.weight.0 {
            Side::Canary
        } else {
            Side::Stable
        })
    }

    /// The value of `route_header` for `side`.
    pub fn route_value(&self, side: Side) -> &HeaderValue {
        match side {
            Side::Stable => &self.stable,
            Side::Canary => &self.canary,
        }
    }
}

/// The one value of `name` (or of a variant of it), `None` when absent or unreadable;
/// [`HeaderError::Repeated`] when there are several.
fn unique(headers: &Headers, name: &HeaderName) -> Result<Option<HeaderValue>, HeaderError> {
    match headers.get_unique(name) {
        Err(HeaderError::Host(_)) => Ok(None),
        other => other,
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
#[proxylet::filter(plugin = Checked)]
fn on_request_headers(headers: &mut Headers, config: &Canary, stream: &mut Stream<'_>) -> Action {
    let side = match config.choose(headers) {
        Ok(side) => side,
        // Two forcing (or sticky) headers: whichever side is picked, an upstream may read
        // the other value.
        Err(error) => {
            return Action::Reply(
                Response::new(400)
                    .header("content-type", "text/plain")
                    .body(format!("ambiguous request: {error}\n"))
                    .details("canary_routing_repeated_header"),
            )
        }
    };
    // Replace whatever the client sent, under any spelling an upstream could read as the
    // route header (`x_route_to`, `X-Route-To`): only the filter decides the route.
    for (name, _) in headers.all() {
        if HeaderName::same_for_cgi(name.as_bytes(), config.route_header.as_bytes()) {
            headers.remove(&name);
        }
    }
    headers.set(&config.route_header, config.route_value(side));
    // Envoy chose the route before this filter ran; have it choose again with the new
    // header. (Envoy 1.40 would also do it because a request header changed; saying so
    // keeps working where that implicit refresh is off. Older Envoys lack the call and
    // refresh implicitly, so its error is ignored.)
    let _ = stream.clear_route_cache();
    Action::Continue
}
// ANCHOR_END: filter

// The tests that link this filter natively (the test host) are unit tests: a `cdylib`-only
// crate cannot be linked by the integration tests in tests/, and a `cdylib` alone keeps the
// module small whatever command builds it.
#[cfg(test)]
mod tests {
    mod envoy;
    mod host;
}
