//! circuit-breaker on the test host: natively, no wasm, no Envoy. Two plugins started on
//! one host stand for two Envoy workers: separate plugin state, one shared data store.

use std::time::Duration;

use circuit_breaker::{State, __PROXYLET_FILTERS};
use proxylet::testing::{Host, Plugin, Verdict};

const KEY: &str = "circuit-breaker/default";
const CONFIG: &str = r#"{"failure_threshold": 3, "open_ms": 5000,
    "fallback": {"body": "orders are resting\n"}}"#;

fn start(host: &Host, config: &str) -> Plugin {
    host.plugin("circuit_breaker")
        .config(config)
        .start()
        .unwrap()
}

fn state(host: &Host) -> State {
    State::decode(&host.shared_data(KEY).expect("created at plugin start"))
}

/// A request the upstream answers with `status`; returns the verdict of its request hook.
fn exchange(plugin: &Plugin, status: &str) -> Verdict {
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
fn assert_rejected(plugin: &Plugin) {
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

fn open(host: &Host, plugin: &Plugin) {
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
    let host = Host::native(__PROXYLET_FILTERS);
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
    let host = Host::native(__PROXYLET_FILTERS);
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
    let host = Host::native(__PROXYLET_FILTERS);
    let plugin = start(&host, CONFIG);
    assert_eq!(plugin.tick_period(), Some(Duration::from_millis(5000)));
}

// ANCHOR: tick
#[test]
fn a_tick_half_opens_and_exactly_one_probe_passes() {
    let host = Host::native(__PROXYLET_FILTERS);
    let plugin = start(&host, CONFIG);
    open(&host, &plugin);

    plugin.tick().unwrap(); // the clock moves by the tick period, 5 s
    assert_eq!(state(&host), State::HalfOpen { probing: false });

    let mut probe = plugin.http_stream();
    assert_eq!(
        probe.request_headers(&[(":path", "/orders")], true),
        Verdict::Continue
    );
    assert_eq!(state(&host), State::HalfOpen { probing: true });
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
    let host = Host::native(__PROXYLET_FILTERS);
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
    assert_eq!(state(&host), State::HalfOpen { probing: false });
}

#[test]
fn a_probe_that_ends_without_a_response_reopens() {
    let host = Host::native(__PROXYLET_FILTERS);
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
    let host = Host::native(__PROXYLET_FILTERS);
    let plugin = start(&host, CONFIG);
    // Opened 2.5 s after "now": the next tick (now + 5 s) comes 2.5 s after the opening.
    let since_nanos = host.state().now_nanos() + 2_500_000_000;
    host.set_shared_data(KEY, &State::Open { since_nanos }.encode());

    plugin.tick().unwrap();
    assert_eq!(state(&host), State::Open { since_nanos });
    assert_rejected(&plugin);

    plugin.tick().unwrap();
    assert_eq!(state(&host), State::HalfOpen { probing: false });
}

// ANCHOR: workers
#[test]
fn failures_seen_by_two_workers_add_up_and_both_reject() {
    let host = Host::native(__PROXYLET_FILTERS);
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
    let host = Host::native(__PROXYLET_FILTERS);
    let worker_a = start(&host, CONFIG);
    let worker_b = start(&host, CONFIG);
    open(&host, &worker_a);
    // Both workers tick; the first one half-opens, the second finds nothing to do.
    worker_a.tick().unwrap();
    worker_b.tick().unwrap();
    assert_eq!(state(&host), State::HalfOpen { probing: false });

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
    let host = Host::native(__PROXYLET_FILTERS);
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
    assert_eq!(state(&host), State::HalfOpen { probing: false });
}

#[test]
fn a_reloaded_plugin_keeps_an_open_breaker() {
    let host = Host::native(__PROXYLET_FILTERS);
    let old = start(&host, CONFIG);
    open(&host, &old);

    let reloaded = start(&host, CONFIG);
    assert!(matches!(state(&host), State::Open { .. }));
    assert_rejected(&reloaded);
}

#[test]
fn breakers_with_different_names_are_independent() {
    let host = Host::native(__PROXYLET_FILTERS);
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
fn a_zero_threshold_is_refused() {
    let host = Host::native(__PROXYLET_FILTERS);
    let rejected = host
        .plugin("circuit_breaker")
        .config(r#"{"failure_threshold": 0}"#)
        .start()
        .err()
        .expect("refused");
    assert!(
        rejected.errors[0].contains("config.failure_threshold: must be at least 1"),
        "{rejected}"
    );
}

#[test]
fn state_bytes_round_trip_and_garbage_reads_as_closed() {
    for state in [
        State::Closed { failures: 7 },
        State::Open {
            since_nanos: 1_767_225_600_000_000_000,
        },
        State::HalfOpen { probing: true },
        State::HalfOpen { probing: false },
    ] {
        assert_eq!(State::decode(&state.encode()), state);
    }
    assert_eq!(State::decode(b""), State::Closed { failures: 0 });
    assert_eq!(State::decode(&[9, 9, 9]), State::Closed { failures: 0 });
    assert_eq!(State::decode(&[1, 2]), State::Closed { failures: 0 });
}
