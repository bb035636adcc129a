//! The TCP guard on the test host: natively, no wasm, no Envoy.

use proxylet::testing::{Host, Plugin, Verdict};
use tcp_guard::__PROXYLET_FILTERS;

const CONFIG: &str = r#"{"deny_prefixes": ["EVIL", "\u0016\u0003"], "max_bytes": 16}"#;

fn start(config: &str) -> (Host, Plugin) {
    let host = Host::native(__PROXYLET_FILTERS);
    let plugin = host.plugin("tcp_guard").config(config).start().unwrap();
    (host, plugin)
}

fn metric(host: &Host, name: &str) -> i64 {
    host.metric(name).map_or(0, |m| m.value)
}

#[test]
fn connections_are_counted_and_active_ones_tracked() {
    let (host, plugin) = start(CONFIG);
    let mut first = plugin.tcp_connection();
    let mut second = plugin.tcp_connection();
    assert_eq!(first.connect(), Verdict::Continue);
    assert_eq!(second.connect(), Verdict::Continue);
    assert_eq!(metric(&host, "tcp_guard.connections"), 2);
    assert_eq!(metric(&host, "tcp_guard.active"), 2);

    // Both sides report the close: counted out once.
    first.close().unwrap();
    assert_eq!(metric(&host, "tcp_guard.active"), 1);
    second.close().unwrap();
    assert_eq!(metric(&host, "tcp_guard.active"), 0);
    assert_eq!(metric(&host, "tcp_guard.connections"), 2);
}

#[test]
fn allowed_bytes_pass_untouched_both_ways() {
    let (host, plugin) = start(CONFIG);
    let mut conn = plugin.tcp_connection();
    conn.connect();
    assert_eq!(
        conn.downstream_data(b"GET / HTTP/1.0\r\n", false),
        Verdict::Continue
    );
    assert_eq!(conn.downstream_data_now(), b"GET / HTTP/1.0\r\n");
    assert_eq!(
        conn.upstream_data(b"HTTP/1.0 200 OK\r\n\r\n", false),
        Verdict::Continue
    );
    assert!(!conn.closed());
    assert_eq!(metric(&host, "tcp_guard.denied.reason.prefix"), 0);
}

#[test]
fn a_denied_prefix_closes_the_connection() {
    for payload in [&b"EVIL payload"[..], b"EVIL", b"\x16\x03\x01\x02\x00"] {
        let (host, plugin) = start(CONFIG);
        let mut conn = plugin.tcp_connection();
        conn.connect();
        assert_eq!(
            conn.downstream_data(payload, false),
            Verdict::Pause,
            "{payload:?}"
        );
        assert!(conn.closed(), "{payload:?}");
        assert_eq!(metric(&host, "tcp_guard.denied.reason.prefix"), 1);
    }
}

#[test]
fn a_denied_prefix_split_over_reads_is_caught_when_it_completes() {
    let (_host, plugin) = start(CONFIG);
    let mut conn = plugin.tcp_connection();
    conn.connect();
    // Forwarded: only part of a denied prefix so far.
    assert_eq!(conn.downstream_data(b"E", false), Verdict::Continue);
    assert_eq!(conn.downstream_data(b"VI", false), Verdict::Continue);
    assert!(!conn.closed());
    assert_eq!(conn.downstream_data(b"L and more", false), Verdict::Pause);
    assert!(conn.closed());
}

#[test]
fn a_prefix_only_counts_at_the_start() {
    let (_host, plugin) = start(r#"{"deny_prefixes": ["EVIL"]}"#);
    let mut conn = plugin.tcp_connection();
    conn.connect();
    assert_eq!(conn.downstream_data(b"EVE", false), Verdict::Continue);
    assert_eq!(
        conn.downstream_data(b"EVIL later is fine", false),
        Verdict::Continue
    );
    assert!(!conn.closed());
}

#[test]
fn the_byte_budget_closes_on_the_chunk_that_crosses_it() {
    let (host, plugin) = start(CONFIG);
    let mut conn = plugin.tcp_connection();
    conn.connect();
    assert_eq!(
        conn.downstream_data(b"0123456789", false),
        Verdict::Continue
    );
    assert_eq!(
        conn.downstream_data(b"abcdef", false),
        Verdict::Continue,
        "16 bytes: at the budget"
    );
    assert!(!conn.closed());
    assert_eq!(conn.downstream_data(b"!", false), Verdict::Pause);
    assert!(conn.closed());
    assert_eq!(metric(&host, "tcp_guard.denied.reason.budget"), 1);
    assert_eq!(metric(&host, "tcp_guard.denied.reason.prefix"), 0);
}

#[test]
fn the_default_configuration_lets_everything_through() {
    let (_host, plugin) = start("");
    let mut conn = plugin.tcp_connection();
    conn.connect();
    let big = vec![b'x'; 1 << 16];
    assert_eq!(conn.downstream_data(&big, false), Verdict::Continue);
    assert_eq!(conn.downstream_data(b"EVIL", true), Verdict::Continue);
    assert!(!conn.closed());
}

#[test]
fn an_empty_prefix_or_an_unknown_field_is_refused() {
    let host = Host::native(__PROXYLET_FILTERS);
    let rejected = host
        .plugin("tcp_guard")
        .config(r#"{"deny_prefixes": ["ok", ""]}"#)
        .start()
        .err()
        .expect("refused");
    assert_eq!(
        rejected.errors,
        ["tcp_guard: config.deny_prefixes: an empty prefix would deny every connection"]
    );
    let rejected = host
        .plugin("tcp_guard")
        .config(r#"{"max_byte": 5}"#)
        .start()
        .err()
        .expect("refused");
    assert!(
        rejected.errors[0].contains("unknown field `max_byte`"),
        "{rejected}"
    );
}
