//! Short soak (the long one is `cargo xtask soak`): many requests through Envoy with the
//! flagship, and with a filter whose state changes on every request (rate-limit); every
//! one must succeed, and Envoy's memory must stay flat after warm-up (the wasm VM's linear
//! memory lives in Envoy's resident set).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use proxylet_artifact::build::{build_package, workspace_root};
use proxylet_harness::{Bootstrap, Client, Envoy, EnvoyOptions, Request, Upstream, WasmFilter};

/// Requests in the short soak, after `WARMUP`.
const REQUESTS: usize = 20_000;
const WARMUP: usize = 5_000;
/// Allowed growth of Envoy's resident set after warm-up. A leak of 100 bytes per
/// request would be 2 MB here; the long soak (200,000 requests) sees 20 MB.
const MAX_GROWTH_KB: u64 = 4 * 1024;

fn build(package: &str) -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(|| workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap());
    build_package(root, package, &root.join("target/wasm"))
        .unwrap_or_else(|e| panic!("{e}"))
        .wasm
}

fn rss_kb(envoy: &Envoy) -> u64 {
    let pid = envoy.pid().expect("Envoy is running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn send_many(envoy: &Envoy, count: usize, hello: bool) {
    let mut client = Client::new(envoy.listener_addr());
    let request = Request::get("/").timeout(Duration::from_secs(10));
    for i in 0..count {
        let response = client
            .send(&request)
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(response.status, 200, "request {i}\n{}", envoy.log());
        if hello {
            assert_eq!(response.header_str("hello"), Some("melon"), "request {i}");
        }
    }
}

#[test]
fn flagship_serves_every_request_with_flat_memory() {
    let upstream = Upstream::start_default().unwrap();
    let bootstrap = Bootstrap::http()
        .filter(WasmFilter::local("add_header", build("add-header")).root_id("add_header"))
        .cluster("upstream", upstream.addr())
        .access_log(false);
    let envoy = Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap();

    send_many(&envoy, WARMUP, true);
    let before = rss_kb(&envoy);
    send_many(&envoy, REQUESTS, true);
    let after = rss_kb(&envoy);

    assert!(
        after.saturating_sub(before) <= MAX_GROWTH_KB,
        "Envoy grew from {before} kB to {after} kB over {REQUESTS} requests"
    );
    assert_eq!(upstream.requests().len(), WARMUP + REQUESTS);
}

/// rate-limit with a bucket of exactly the soak's requests, refilled once an hour (never
/// during the test): each request takes a token from shared data with compare-and-swap,
/// so all of them pass and the next one is refused.
#[test]
fn rate_limit_takes_a_token_per_request_with_flat_memory() {
    let total = WARMUP + REQUESTS;
    let config = format!(
        r#"{{"rules": [{{"name": "soak", "path_prefix": "/",
            "limit": {{"max_tokens": {total}, "fill_interval_ms": 3600000}}}}]}}"#
    );
    let upstream = Upstream::start_default().unwrap();
    let bootstrap = Bootstrap::http()
        .filter(
            WasmFilter::local("rate_limit", build("rate-limit"))
                .root_id("rate_limit")
                .config(config),
        )
        .cluster("upstream", upstream.addr())
        .access_log(false);
    let envoy = Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap();

    send_many(&envoy, WARMUP, false);
    let before = rss_kb(&envoy);
    send_many(&envoy, REQUESTS, false);
    let after = rss_kb(&envoy);
    let next = Request::get("/").send(envoy.listener_addr()).unwrap();

    assert!(
        after.saturating_sub(before) <= MAX_GROWTH_KB,
        "Envoy grew from {before} kB to {after} kB over {REQUESTS} requests"
    );
    assert_eq!(
        next.status,
        429,
        "request {} must find the bucket empty",
        total + 1
    );
    assert_eq!(upstream.requests().len(), total);
}
