//! Per-route request metrics in Envoy's stats: a counter per route and status class, and a
//! latency histogram per route.
//!
//! For every request, at access-log time (`on_log`: the route, the response code and the
//! timings are all known):
//! - counter `<prefix>_requests.route.<route>.status.<class>` += 1, where `<route>` is the
//!   name of the Envoy route that served the request (`unnamed` when it has none or no
//!   route matched) and `<class>` is `2xx`, `4xx`, ... (`none` when no response was sent);
//! - histogram `<prefix>_request_duration_ms.route.<route>` records the milliseconds
//!   from the request headers to the end of the response.
//!
//! The tags are part of the names (`proxylet::metrics` joins them with dots); Envoy's
//! `stats_config.stats_tags` turns them into Prometheus labels (see the README).
//!
//! Plugin configuration (JSON, every field optional):
//! `{"prefix": "proxylet", "status_class": true, "unnamed_route": "unnamed"}`

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::SystemTime;

use proxylet::prelude::*;
use proxylet::property;

// ANCHOR: config
/// The plugin configuration.
#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// First part of every metric name.
    pub prefix: String,
    /// Tag the request counters with the status class (`2xx`, `5xx`, ...); when false,
    /// one counter per route.
    pub status_class: bool,
    /// The route label for requests whose route has no name (or that matched no route).
    pub unnamed_route: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            prefix: "proxylet".into(),
            status_class: true,
            unnamed_route: "unnamed".into(),
        }
    }
}
// ANCHOR_END: config

// ANCHOR: plugin
/// The metric handles, defined on first use and kept: route names are only known when
/// traffic arrives, and defining a metric again is a host call (Envoy even hands out a
/// new id every time). One instance per worker; Envoy adds up what the workers record.
/// The metric names and their tags are declared when the plugin is built.
pub struct Metrics {
    requests_name: String,
    duration_name: String,
    status_class: bool,
    unnamed_route: String,
    counters: RefCell<HashMap<(String, &'static str), Counter>>,
    histograms: RefCell<HashMap<String, Histogram>>,
}

impl proxylet::Plugin for Metrics {
    type Config = Config;

    fn new(config: &Config, _cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        if config.prefix.is_empty() || config.prefix.contains('.') {
            return Err(ConfigError::new(
                "config.prefix",
                "must be a non-empty name without dots (dots separate tags)",
            ));
        }
        let requests_name = format!("{}_requests", config.prefix);
        let duration_name = format!("{}_request_duration_ms", config.prefix);
        // The tags' values come with traffic, but natively Envoy takes metric definitions
        // only now: declare the names and their tags (in wasm this does nothing). If the
        // host refuses, requests are not counted; traffic is never disturbed by metrics.
        let tags: &[&str] = if config.status_class {
            &["route", "status"]
        } else {
            &["route"]
        };
        let _ = Counter::declare(&requests_name, tags);
        let _ = Histogram::declare(&duration_name, &["route"]);
        Ok(Metrics {
            requests_name,
            duration_name,
            status_class: config.status_class,
            unnamed_route: config.unnamed_route.clone(),
            counters: RefCell::default(),
            histograms: RefCell::default(),
        })
    }
}

impl Metrics {
    /// Counts one request of `route` answered with `status` (`None`: no response).
    fn count(&self, route: &str, status: Option<u16>) {
        let class = if self.status_class {
            status_class(status)
        } else {
            ""
        };
        let key = (route.to_owned(), class);
        let mut counters = self.counters.borrow_mut();
        let counter = match counters.get(&key) {
            Some(counter) => *counter,
            None => {
                let mut tags = vec![("route", route)];
                if self.status_class {
                    tags.push(("status", class));
                }
                match Counter::tagged(&self.requests_name, &tags) {
                    Ok(counter) => *counters.entry(key).or_insert(counter),
                    // The host refused: this request is not counted, the next one tries
                    // again. Traffic is never disturbed by metrics.
                    Err(_) => return,
                }
            }
        };
        counter.increment(1);
    }

    /// Records how long a request of `route` took.
    fn time(&self, route: &str, millis: u64) {
        let mut histograms = self.histograms.borrow_mut();
        let histogram = match histograms.get(route) {
            Some(histogram) => *histogram,
            None => match Histogram::tagged(&self.duration_name, &[("route", route)]) {
                Ok(histogram) => *histograms.entry(route.to_owned()).or_insert(histogram),
                Err(_) => return,
            },
        };
        histogram.record(millis);
    }
}

fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(100..=199) => "1xx",
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        _ => "none",
    }
}
// ANCHOR_END: plugin

// ANCHOR: filter
/// One request: when it started.
#[derive(Default)]
pub struct RouteMetrics {
    started: Option<SystemTime>,
}

#[proxylet::filter(plugin = Metrics)]
impl RouteMetrics {
    fn on_request_headers(&mut self) {
        self.started = Some(property::now());
    }

    /// Access-log time: the response is complete, and the route and the status are known.
    fn on_log(&mut self, metrics: &Metrics) {
        let route = property::route_name()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| metrics.unnamed_route.clone());
        // Envoy reports 0 when no response was sent (e.g. the client went away).
        let status = property::response_code().filter(|code| *code != 0);
        metrics.count(&route, status);
        if let Some(started) = self.started {
            let elapsed = property::now().duration_since(started).unwrap_or_default();
            metrics.time(
                &route,
                u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            );
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
