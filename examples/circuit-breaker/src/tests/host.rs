//! circuit-breaker on the test host: natively, no wasm, no Envoy. Two plugins started on
//! one host stand for two Envoy workers: separate plugin state, one shared data store.

use std::time::Duration;

use crate::State;
use proxylet_testkit::{module, Host, TestPlugin, Verdict};

const KEY: &str = "circuit-breaker/default";
const CONFIG: &str = r#"{"failure_threshold": 3, "open_ms": 5000,
    "fallback": {"body": "orders are resting\n"}}"#;

fn start(host: &Host, config: &str) -> TestPlugin {
    host.plugin("circuit_breaker")
        .config(config)
        .start()
        .unwrap()
}

fn state(host: &Host) -> State {
    State::decode(&host.shared_data(KEY).expect("created at plugin start"))
}

/// A request the upstream answers with `status`; returns the verdict of its request hook.
fn exchange(plugin: &TestPlugin, status: &str) -> Verdict {
    let mut stream = plugin.http_stream();
    let verdict = stream.request_headers(&[(":path", "/orders")], true);
    if verdict == Verdict::Continue {
        stream.response_headers(&[(":status", status)], true);
    }
    stream.complete().unwrap();
    verdict
}

/// A request while the breaker is open: asserts the fallback, and passes the local reply
/// back through the response hook as Envoy does.
fn assert_rejected(plugin: &TestPlugin) {
    let mut stream = plugin.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/orders")], true),
        Verdict::Pause
    );
    let reply = stream.local_reply().expect("the fallback");
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body, b"orders are resting\n");
    assert_eq!(reply.header("x-circuit-breaker"), Some(&b"open"[..]));
    assert_eq!(reply.header("content-type"), Some(&b"text/plain"[..]));
    stream.response_headers(&[(":status", "503")], true);
    stream.complete().unwrap();
}

fn open(host: &Host, plugin: &TestPlugin) {
    for _ in 0..3 {
        assert_eq!(exchange(plugin, "502"), Verdict::Continue);
    }
    assert!(
        matches!(state(host), State::Open { .. }),
        "{:?}",
        state(host)
    );
}

#[test]
fn opens_after_threshold_consecutive_5xx_and_answers_the_fallback() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    assert_eq!(state(&host), State::Closed { failures: 0 });

    exchange(&plugin, "500");
    exchange(&plugin, "503");
    assert_eq!(state(&host), State::Closed { failures: 2 });
    exchange(&plugin, "504");

    let opened_at = host.state().now_nanos();
    assert_eq!(
        state(&host),
        State::Open {
            since_nanos: opened_at
        }
    );
    for _ in 0..5 {
        assert_rejected(&plugin);
    }
    // Its own fallback replies did not touch the breaker.
    assert_eq!(
        state(&host),
        State::Open {
            since_nanos: opened_at
        }
    );
}

#[test]
fn a_non_5xx_response_resets_the_count() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    exchange(&plugin, "500");
    exchange(&plugin, "500");
    exchange(&plugin, "404"); // the upstream answered: a client error is not an outage
    exchange(&plugin, "500");
    exchange(&plugin, "500");
    assert_eq!(state(&host), State::Closed { failures: 2 });
    assert_eq!(exchange(&plugin, "200"), Verdict::Continue);
    assert_eq!(state(&host), State::Closed { failures: 0 });
}

#[test]
fn the_tick_period_is_open_ms() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    assert_eq!(plugin.tick_period(), Some(Duration::from_millis(5000)));
}

// ANCHOR: tick
#[test]
fn a_tick_half_opens_and_exactly_one_probe_passes() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    open(&host, &plugin);

    plugin.tick().unwrap(); // the clock moves by the tick period, 5 s
    assert_eq!(state(&host), State::HalfOpen { probe: None });

    let mut probe = plugin.http_stream();
    assert_eq!(
        probe.request_headers(&[(":path", "/orders")], true),
        Verdict::Continue
    );
    let probe_since = host.state().now_nanos();
    assert_eq!(
        state(&host),
        State::HalfOpen {
            probe: Some(probe_since)
        }
    );
    // While the probe is out, everyone else still gets the fallback.
    assert_rejected(&plugin);
    assert_rejected(&plugin);

    probe.response_headers(&[(":status", "200")], true);
    probe.complete().unwrap();
    assert_eq!(state(&host), State::Closed { failures: 0 });
    assert_eq!(exchange(&plugin, "200"), Verdict::Continue);
}
// ANCHOR_END: tick

#[test]
fn a_failed_probe_opens_the_breaker_for_another_period() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    open(&host, &plugin);
    plugin.tick().unwrap();

    assert_eq!(exchange(&plugin, "503"), Verdict::Continue); // the probe
    let reopened_at = host.state().now_nanos();
    assert_eq!(
        state(&host),
        State::Open {
            since_nanos: reopened_at
        }
    );
    assert_rejected(&plugin);

    plugin.tick().unwrap();
    assert_eq!(state(&host), State::HalfOpen { probe: None });
}

#[test]
fn a_probe_that_ends_without_a_response_reopens() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    open(&host, &plugin);
    plugin.tick().unwrap();

    let mut probe = plugin.http_stream();
    assert_eq!(
        probe.request_headers(&[(":path", "/orders")], true),
        Verdict::Continue
    );
    probe.complete().unwrap(); // reset before any response headers

    assert!(
        matches!(state(&host), State::Open { .. }),
        "{:?}",
        state(&host)
    );
}

#[test]
fn a_tick_before_open_ms_elapsed_keeps_it_open() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    // Opened 2.5 s after "now": the next tick (now + 5 s) comes 2.5 s after the opening.
    let since_nanos = host.state().now_nanos() + 2_500_000_000;
    host.set_shared_data(KEY, &State::Open { since_nanos }.encode());

    plugin.tick().unwrap();
    assert_eq!(state(&host), State::Open { since_nanos });
    assert_rejected(&plugin);

    plugin.tick().unwrap();
    assert_eq!(state(&host), State::HalfOpen { probe: None });
}

// ANCHOR: workers
#[test]
fn failures_seen_by_two_workers_add_up_and_both_reject() {
    let host = Host::native(module!());
    let worker_a = start(&host, CONFIG);
    let worker_b = start(&host, CONFIG);

    exchange(&worker_a, "500");
    exchange(&worker_b, "500");
    assert_eq!(state(&host), State::Closed { failures: 2 });
    exchange(&worker_a, "500");

    assert_rejected(&worker_a);
    assert_rejected(&worker_b);
}
// ANCHOR_END: workers

#[test]
fn only_one_worker_gets_the_probe() {
    let host = Host::native(module!());
    let worker_a = start(&host, CONFIG);
    let worker_b = start(&host, CONFIG);
    open(&host, &worker_a);
    // Both workers tick; the first one half-opens, the second finds nothing to do.
    worker_a.tick().unwrap();
    worker_b.tick().unwrap();
    assert_eq!(state(&host), State::HalfOpen { probe: None });

    let mut probe = worker_b.http_stream();
    assert_eq!(
        probe.request_headers(&[(":path", "/")], true),
        Verdict::Continue
    );
    assert_rejected(&worker_a);
    assert_rejected(&worker_b);

    probe.response_headers(&[(":status", "204")], true);
    probe.complete().unwrap();
    assert_eq!(exchange(&worker_a, "200"), Verdict::Continue);
    assert_eq!(exchange(&worker_b, "200"), Verdict::Continue);
}

#[test]
fn a_response_to_a_request_admitted_before_opening_does_not_count() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    let mut slow = plugin.http_stream();
    assert_eq!(
        slow.request_headers(&[(":path", "/")], true),
        Verdict::Continue
    );
    open(&host, &plugin);
    plugin.tick().unwrap();

    // The slow request's success arrives while half-open: it is not the probe.
    slow.response_headers(&[(":status", "200")], true);
    slow.complete().unwrap();
    assert_eq!(state(&host), State::HalfOpen { probe: None });
}

#[test]
fn a_reloaded_plugin_keeps_an_open_breaker() {
    let host = Host::native(module!());
    let old = start(&host, CONFIG);
    open(&host, &old);

    let reloaded = start(&host, CONFIG);
    assert!(matches!(state(&host), State::Open { .. }));
    assert_rejected(&reloaded);
}

#[test]
fn breakers_with_different_names_are_independent() {
    let host = Host::native(module!());
    let orders = start(&host, r#"{"name": "orders", "failure_threshold": 1}"#);
    let users = start(&host, r#"{"name": "users", "failure_threshold": 1}"#);

    exchange(&orders, "500");

    assert!(matches!(
        State::decode(&host.shared_data("circuit-breaker/orders").unwrap()),
        State::Open { .. }
    ));
    assert_eq!(exchange(&users, "200"), Verdict::Continue);
    let reply = {
        let mut stream = orders.http_stream();
        stream.request_headers(&[(":path", "/")], true);
        stream.local_reply().unwrap()
    };
    // The default fallback.
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body, b"upstream unavailable, retry later\n");
}

#[test]
fn state_bytes_round_trip_and_garbage_reads_as_closed() {
    for state in [
        State::Closed { failures: 7 },
        State::Open {
            since_nanos: 1_767_225_600_000_000_000,
        },
        State::HalfOpen {
            probe: Some(1_767_225_600_000_000_000),
        },
        State::HalfOpen { probe: None },
    ] {
        assert_eq!(State::decode(&state.encode()), state);
    }
    assert_eq!(State::decode(b""), State::Closed { failures: 0 });
    assert_eq!(State::decode(&[9, 9, 9]), State::Closed { failures: 0 });
    assert_eq!(State::decode(&[1, 2]), State::Closed { failures: 0 });
    // A probe stored without its start (an older version) is as old as can be.
    assert_eq!(State::decode(&[2, 1]), State::HalfOpen { probe: Some(0) });
}

/// Starts a probe whose client sends 3 of 100 body bytes and then nothing: the stream
/// stays open, the upstream never answers.
fn slow_probe(plugin: &TestPlugin) -> proxylet_testkit::HttpStream {
    let mut stream = plugin.http_stream();
    assert_eq!(
        stream.request_headers(
            &[
                (":method", "POST"),
                (":path", "/orders"),
                ("content-length", "100")
            ],
            false
        ),
        Verdict::Continue
    );
    assert_eq!(stream.request_body(b"abc", false), Verdict::Continue);
    stream
}

#[test]
fn a_probe_that_never_finishes_stops_holding_the_breaker_after_the_probe_timeout() {
    let host = Host::native(module!());
    // probe_timeout_ms defaults to open_ms, 5 s.
    let plugin = start(&host, CONFIG);
    open(&host, &plugin);
    plugin.tick().unwrap();
    let slow = slow_probe(&plugin);

    // Within the probe timeout the slow probe holds the breaker...
    host.advance(Duration::from_millis(4999));
    assert_rejected(&plugin);
    // ...after it, the next request is the probe, and its success closes the breaker.
    host.advance(Duration::from_millis(1));
    assert_eq!(exchange(&plugin, "200"), Verdict::Continue);
    assert_eq!(state(&host), State::Closed { failures: 0 });
    assert_eq!(exchange(&plugin, "200"), Verdict::Continue);

    // The slow client gives up at last: its probe was replaced, nothing changes.
    slow.complete().unwrap();
    assert_eq!(state(&host), State::Closed { failures: 0 });
}

#[test]
fn a_replaced_probe_s_late_outcome_does_not_decide_the_breaker() {
    let host = Host::native(module!());
    let plugin = start(
        &host,
        r#"{"failure_threshold": 1, "open_ms": 5000, "probe_timeout_ms": 1000,
        "fallback": {"body": "orders are resting\n"}}"#,
    );
    exchange(&plugin, "500");
    plugin.tick().unwrap();
    let mut late_success = slow_probe(&plugin);
    host.advance(Duration::from_millis(1000));
    let mut late_failure = slow_probe(&plugin);
    host.advance(Duration::from_millis(1000));
    let mut current = slow_probe(&plugin);
    let current_since = host.state().now_nanos();

    // The replaced probes' answers, good or bad, leave the current probe in charge.
    late_success.response_headers(&[(":status", "200")], true);
    late_success.complete().unwrap();
    late_failure.response_headers(&[(":status", "503")], true);
    late_failure.complete().unwrap();
    assert_eq!(
        state(&host),
        State::HalfOpen {
            probe: Some(current_since)
        }
    );
    assert_rejected(&plugin);

    // The current probe decides.
    current.response_headers(&[(":status", "204")], true);
    current.complete().unwrap();
    assert_eq!(state(&host), State::Closed { failures: 0 });
}

#[test]
fn a_replaced_probe_ending_without_a_response_does_not_reopen() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    open(&host, &plugin);
    plugin.tick().unwrap();
    let gone = slow_probe(&plugin);
    host.advance(Duration::from_secs(5));
    let current = slow_probe(&plugin);
    let since = host.state().now_nanos();

    gone.complete().unwrap(); // reset before any response headers
    assert_eq!(state(&host), State::HalfOpen { probe: Some(since) });

    // The current probe ending without a response does reopen.
    current.complete().unwrap();
    assert_eq!(state(&host), State::Open { since_nanos: since });
}

#[test]
fn a_probe_stored_by_an_older_version_is_replaced_by_the_next_request() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    host.set_shared_data(KEY, &[2, 1]);
    assert_eq!(exchange(&plugin, "200"), Verdict::Continue);
    assert_eq!(state(&host), State::Closed { failures: 0 });
}

#[test]
fn bad_fallbacks_and_numbers_out_of_range_are_refused_naming_the_field() {
    let host = Host::native(module!());
    let cases = [
        (r#"{"fallback": {"status": 100}}"#, "config.fallback.status: must be a final status, 200 to 599; got 100"),
        (r#"{"fallback": {"status": 199}}"#, "config.fallback.status: must be a final status, 200 to 599; got 199"),
        (r#"{"fallback": {"status": 600}}"#, "config.fallback.status: must be a final status, 200 to 599; got 600"),
        (r#"{"fallback": {"status": 0}}"#, "config.fallback.status: must be a final status, 200 to 599; got 0"),
        (r#"{"fallback": {"status": 65535}}"#, "config.fallback.status: must be a final status, 200 to 599; got 65535"),
        (r#"{"fallback": {"status": 65536}}"#, "config.fallback.status"),
        (r#"{"fallback": {"status": -1}}"#, "config.fallback.status"),
        (
            r#"{"fallback": {"content_type": "text/plain\r\nset-cookie: evil=1"}}"#,
            "config.fallback.content_type: invalid header value: a value cannot hold CR, LF, NUL, DEL or another control byte but tab",
        ),
        (r#"{"fallback": {"content_type": "text/plain\n"}}"#, "config.fallback.content_type: invalid header value: a value cannot hold CR, LF, NUL, DEL or another control byte but tab"),
        (r#"{"fallback": {"content_type": "a\u0000b"}}"#, "config.fallback.content_type: invalid header value"),
        (r#"{"fallback": {"content_type": "a\u007fb"}}"#, "config.fallback.content_type: invalid header value"),
        (r#"{"fallback": {"content_type": "a\u001bb"}}"#, "config.fallback.content_type: invalid header value"),
        (r#"{"failure_threshold": 0}"#, "config.failure_threshold: must be at least 1"),
        (r#"{"failure_threshold": 1000001}"#, "config.failure_threshold: must be at most 1000000; got 1000001"),
        (r#"{"failure_threshold": 4294967296}"#, "config.failure_threshold"),
        (r#"{"open_ms": 0}"#, "config.open_ms: must be at least 1"),
        (r#"{"open_ms": 86400001}"#, "config.open_ms: must be at most 86400000; got 86400001"),
        (r#"{"open_ms": 18446744073709551615}"#, "config.open_ms: must be at most 86400000"),
        (r#"{"open_ms": -5}"#, "config.open_ms"),
        (r#"{"probe_timeout_ms": 0}"#, "config.probe_timeout_ms: must be at least 1"),
        (r#"{"probe_timeout_ms": 86400001}"#, "config.probe_timeout_ms: must be at most 86400000; got 86400001"),
        (r#"{"probe_timeout_ms": 1e3}"#, "config.probe_timeout_ms"),
    ];
    for (config, expected) in cases {
        let rejected = host
            .plugin("circuit_breaker")
            .config(config)
            .start()
            .err()
            .unwrap_or_else(|| panic!("accepted: {config}"));
        assert!(
            rejected.errors.iter().any(|e| e.contains(expected)),
            "{expected:?} not in {rejected}"
        );
    }
    // The bounds themselves, and a tab in the content type, are fine.
    for config in [
        r#"{"fallback": {"status": 200, "content_type": "text/plain;\tcharset=utf-8"}}"#,
        r#"{"fallback": {"status": 599}, "failure_threshold": 1000000, "open_ms": 86400000, "probe_timeout_ms": 86400000}"#,
    ] {
        host.plugin("circuit_breaker")
            .config(config)
            .start()
            .unwrap_or_else(|e| panic!("{config}: {e}"));
    }
}
