//! Metrics the host aggregates and exports (Envoy: `/stats`, `/stats/prometheus`).
//! Envoy shows them under the `wasmcustom.` prefix (`wasmcustom.requests.route.api`),
//! which its Prometheus output drops.
//!
//! Define each metric once (in plugin creation) and keep the handle; updating is one host
//! call. In wasm, tags are part of the name: `Counter::tagged("requests", &[("route", "api")])`
//! is the metric `requests.route.api`; Envoy's `stats_config.stats_tags` (e.g. tag name
//! `route`, regex `^requests\.(route\.([^.]+))$`) turns it into a Prometheus label. On the
//! native target the tags are labels already, and Envoy shows the metrics under the
//! `dynamicmodulescustom.` prefix; it takes metric definitions only while it loads the
//! configuration, so a metric whose tag values only traffic tells is declared in plugin
//! creation ([`Counter::declare`]) and defined with its values later.

use crate::host::{self, HostError};

macro_rules! metric {
    ($(#[$doc:meta])* $name:ident = $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(u32);

        impl $name {
            /// Defines (or finds) the metric `name`.
            pub fn define(name: &str) -> Result<Self, HostError> {
                host::define_metric($kind, name, &[]).map($name)
            }

            /// Defines (or finds) the metric `name` with tags. In wasm, the tags are part
            /// of the name (`name.key1.value1.key2.value2`, dots in values become `_`);
            /// natively, they are the metric's labels.
            pub fn tagged(name: &str, tags: &[(&str, &str)]) -> Result<Self, HostError> {
                host::define_metric($kind, name, tags).map($name)
            }

            /// Declares the metrics `name` will have with tags `tag_names`, whose values
            /// only traffic tells (a route name), so that [`tagged`](Self::tagged) can
            /// define them later. Call it in plugin creation (`Plugin::new`): natively,
            /// Envoy takes metric definitions only while it loads the configuration. In
            /// wasm (and on the test host), where a metric can be defined any time, it
            /// does nothing.
            pub fn declare(name: &str, tag_names: &[&str]) -> Result<(), HostError> {
                host::declare_metric($kind, name, tag_names)
            }

            /// The current value (histograms: not readable on Envoy).
            ///
            /// Not on the native target (Envoy's dynamic modules cannot read a metric
            /// back): a native build that calls it does not compile.
            #[cfg(any(target_family = "wasm", feature = "testing"))]
            pub fn value(&self) -> Result<u64, HostError> {
                host::get_metric(self.0)
            }
        }
    };
}

metric! {
    /// A monotonically increasing count.
    Counter = 0
}
metric! {
    /// A value that goes up and down.
    Gauge = 1
}
metric! {
    /// A distribution of recorded values (latencies, sizes).
    Histogram = 2
}

impl Counter {
    /// Adds `by`; a refusal by the host is logged at debug level.
    pub fn increment(&self, by: u64) {
        if let Err(e) = host::increment_metric(self.0, i64::try_from(by).unwrap_or(i64::MAX)) {
            log::debug!("incrementing a counter: {e}");
        }
    }
}

impl Gauge {
    /// Sets the value.
    pub fn set(&self, value: u64) {
        if let Err(e) = host::record_metric(self.0, value) {
            log::debug!("setting a gauge: {e}");
        }
    }

    /// Adds `delta` (negative to subtract).
    pub fn add(&self, delta: i64) {
        if let Err(e) = host::increment_metric(self.0, delta) {
            log::debug!("changing a gauge: {e}");
        }
    }
}

impl Histogram {
    /// Records one value.
    pub fn record(&self, value: u64) {
        if let Err(e) = host::record_metric(self.0, value) {
            log::debug!("recording a histogram value: {e}");
        }
    }
}
