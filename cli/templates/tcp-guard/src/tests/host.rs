//! The TCP guard on the test host: natively, no wasm, no Envoy.

use proxylet_testkit::{module, Host, TestPlugin, Verdict};

const CONFIG: &str = r#"{"deny_prefixes": ["EVIL", "\u0016\u0003"], "max_bytes": 16}"#;

fn start(config: &str) -> (Host, TestPlugin) {
    let host = Host::native(module!());
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
    let host = Host::native(module!());
    let rejected = host
        .plugin("tcp_guard")
        .config(r#"{"deny_prefixes": ["ok", ""]}"#)
        .start()
        .err()
        .expect("refused");
    assert_eq!(
        rejected.errors,
        ["tcp_guard: config.deny_prefixes[1]: an empty prefix would deny every connection"]
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

fn refused(config: &str) -> String {
    let host = Host::native(module!());
    let rejected = host
        .plugin("tcp_guard")
        .config(config)
        .start()
        .err()
        .unwrap_or_else(|| panic!("accepted: {config}"));
    rejected.errors.join("\n")
}

#[test]
fn a_text_prefix_must_be_ascii_so_it_means_the_bytes_it_shows() {
    // `\u00ff` is the character ÿ, two bytes in UTF-8 (c3 bf), not the byte ff.
    for (prefix, expected) in [
        (
            r"\u00ff",
            r#"config.deny_prefixes[0]: 'ÿ' is not ASCII (it would match its 2 UTF-8 bytes); write bytes above 0x7f in `deny_prefixes_hex`"#,
        ),
        (
            r"\u0080",
            "config.deny_prefixes[0]: '\\u{80}' is not ASCII (it would match its 2 UTF-8 bytes)",
        ),
        ("GET é", "config.deny_prefixes[0]: 'é' is not ASCII"),
        (
            r"\ud83d\ude00",
            "config.deny_prefixes[0]: '😀' is not ASCII (it would match its 4 UTF-8 bytes)",
        ),
    ] {
        let errors = refused(&format!(r#"{{"deny_prefixes": ["{prefix}"]}}"#));
        assert!(errors.contains(expected), "{expected:?} not in {errors}");
    }
    // Every ASCII character, controls included, is one byte.
    let (_host, plugin) = start(r#"{"deny_prefixes": ["\u0000\u007f"]}"#);
    let mut conn = plugin.tcp_connection();
    conn.connect();
    assert_eq!(conn.downstream_data(b"\x00\x7f!", false), Verdict::Pause);
}

#[test]
fn hex_prefixes_deny_exactly_their_bytes() {
    let (host, plugin) = start(r#"{"deny_prefixes_hex": ["ff", "16 03\t01", "DEADbeef"]}"#);
    for payload in [
        &b"\xff"[..],
        b"\xff\xfe",
        b"\x16\x03\x01\x02",
        b"\xde\xad\xbe\xef",
    ] {
        let mut conn = plugin.tcp_connection();
        conn.connect();
        assert_eq!(
            conn.downstream_data(payload, false),
            Verdict::Pause,
            "{payload:?}"
        );
        assert!(conn.closed());
    }
    // ÿ in UTF-8 is not the byte ff; a prefix of a prefix is not a match.
    for payload in [&b"\xc3\xbf"[..], b"\x16\x03\x02", b"\xde\xad\xbe"] {
        let mut conn = plugin.tcp_connection();
        conn.connect();
        assert_eq!(
            conn.downstream_data(payload, true),
            Verdict::Continue,
            "{payload:?}"
        );
        assert!(!conn.closed(), "{payload:?}");
    }
    assert_eq!(metric(&host, "tcp_guard.denied.reason.prefix"), 4);

    // Split over reads, like text prefixes.
    let mut conn = plugin.tcp_connection();
    conn.connect();
    assert_eq!(conn.downstream_data(b"\x16", false), Verdict::Continue);
    assert_eq!(conn.downstream_data(b"\x03", false), Verdict::Continue);
    assert_eq!(conn.downstream_data(b"\x01 hello", false), Verdict::Pause);
}

#[test]
fn bad_hex_prefixes_are_refused_naming_the_element() {
    for (hex, expected) in [
        ("", "config.deny_prefixes_hex[0]: an empty prefix would deny every connection"),
        ("   ", "config.deny_prefixes_hex[0]: an empty prefix would deny every connection"),
        ("f", "config.deny_prefixes_hex[0]: `f` has an odd number of hex digits; write two digits a byte, e.g. `0f`"),
        ("16 3", "config.deny_prefixes_hex[0]: `3` has an odd number of hex digits"),
        ("zz", "config.deny_prefixes_hex[0]: `zz` is not a hex byte; write two digits from 0-9 and a-f"),
        ("+f", "config.deny_prefixes_hex[0]: `+f` is not a hex byte"),
        ("0x16", "config.deny_prefixes_hex[0]: `0x` is not a hex byte"),
        ("\u{e9}\u{e9}", "config.deny_prefixes_hex[0]: `\u{e9}` is not a hex byte"),
    ] {
        // The JSON string of `hex` (only a tab needs escaping here).
        let config = format!(
            r#"{{"deny_prefixes_hex": ["{}"]}}"#,
            hex.replace('\t', "\\t")
        );
        let errors = refused(&config);
        assert!(errors.contains(expected), "{hex:?}: {expected:?} not in {errors}");
    }
}

#[test]
fn byte_budgets_and_prefix_lengths_are_bounded() {
    let long_text = "x".repeat(1025);
    let long_hex = "ab".repeat(1025);
    for (config, expected) in [
        (
            format!(r#"{{"deny_prefixes": ["{long_text}"]}}"#),
            "config.deny_prefixes[0]: 1025 bytes is longer than the 1024 bytes a prefix may have",
        ),
        (
            format!(r#"{{"deny_prefixes_hex": ["{long_hex}"]}}"#),
            "config.deny_prefixes_hex[0]: 1025 bytes is longer than the 1024 bytes a prefix may have",
        ),
        (
            r#"{"max_bytes": 9007199254740992}"#.to_string(),
            "config.max_bytes: must be at most 9007199254740991 (or 0 for no limit); got 9007199254740992",
        ),
        (
            r#"{"max_bytes": 18446744073709551615}"#.to_string(),
            "config.max_bytes: must be at most 9007199254740991",
        ),
        (r#"{"max_bytes": -1}"#.to_string(), "config.max_bytes"),
        (r#"{"max_bytes": 1e400}"#.to_string(), "config"),
    ] {
        let errors = refused(&config);
        assert!(errors.contains(expected), "{expected:?} not in {errors}");
    }
    // The bounds themselves are accepted.
    let config = format!(
        r#"{{"deny_prefixes": ["{}"], "max_bytes": 9007199254740991}}"#,
        "x".repeat(1024)
    );
    let (_host, plugin) = start(&config);
    let mut conn = plugin.tcp_connection();
    conn.connect();
    assert_eq!(
        conn.downstream_data(&vec![b'x'; 1024], false),
        Verdict::Pause
    );
}
