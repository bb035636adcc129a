//! rate-limit on the test host: natively, no wasm, no Envoy. The host's clock only moves
//! when a test moves it, so refills are exact. Two plugins on one host stand for two Envoy
//! workers (one shared-data store).

use std::time::Duration;

use crate::{bucket_key, Bucket, Decision, Limit};
use proxylet_testkit::{module, Host, TestPlugin, Verdict};

const CONFIG: &str = r#"{"rules": [
    {"name": "login", "path_prefix": "/login", "limit": {"max_tokens": 2, "fill_interval_ms": 60000}},
    {"name": "api", "path_prefix": "/api/", "key_header": "x-api-key",
     "limit": {"max_tokens": 3, "tokens_per_fill": 1, "fill_interval_ms": 10000},
     "keys": {"gold": {"max_tokens": 5, "fill_interval_ms": 10000}}}
]}"#;

fn start(host: &Host, config: &str) -> TestPlugin {
    host.plugin("rate_limit").config(config).start().unwrap()
}

/// What the filter answered: `200` when it let the request through, else the local
/// reply's status; with the reply's `retry-after`.
fn send(plugin: &TestPlugin, path: &str, headers: &[(&str, &str)]) -> (u16, Option<String>) {
    let mut stream = plugin.http_stream();
    let mut all = vec![(":path", path), (":method", "GET")];
    all.extend_from_slice(headers);
    let answer = match stream.request_headers(&all, true) {
        Verdict::Continue => (200, None),
        Verdict::Pause => {
            let reply = stream.local_reply().expect("a local reply");
            assert_eq!(reply.body, b"rate limit exceeded\n");
            let retry = reply
                .header("retry-after")
                .map(|v| String::from_utf8(v.to_vec()).unwrap());
            (reply.status, retry)
        }
        Verdict::Trapped(message) => panic!("trapped: {message}"),
    };
    stream.complete().unwrap();
    answer
}

fn statuses(plugin: &TestPlugin, path: &str, headers: &[(&str, &str)], n: usize) -> Vec<u16> {
    (0..n).map(|_| send(plugin, path, headers).0).collect()
}

#[test]
fn max_tokens_pass_then_429_with_retry_after() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);

    assert_eq!(statuses(&plugin, "/login", &[], 2), [200, 200]);
    assert_eq!(send(&plugin, "/login", &[]), (429, Some("60".into())));

    host.advance(Duration::from_millis(59_500));
    assert_eq!(
        send(&plugin, "/login", &[]),
        (429, Some("1".into())),
        "rounded up"
    );
}

#[test]
fn a_fill_interval_later_tokens_per_fill_come_back() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    let alice = [("x-api-key", "alice")];
    assert_eq!(
        statuses(&plugin, "/api/orders", &alice, 4),
        [200, 200, 200, 429]
    );

    host.advance(Duration::from_secs(10));
    // One token per fill.
    assert_eq!(statuses(&plugin, "/api/orders", &alice, 2), [200, 429]);

    // Idle for long: the bucket fills up to max_tokens, never beyond.
    host.advance(Duration::from_secs(3600));
    assert_eq!(
        statuses(&plugin, "/api/orders", &alice, 4),
        [200, 200, 200, 429]
    );
}

#[test]
fn each_key_has_its_own_bucket_and_listed_keys_their_own_limit() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);

    assert_eq!(
        statuses(&plugin, "/api/x", &[("x-api-key", "alice")], 4),
        [200, 200, 200, 429]
    );
    assert_eq!(
        statuses(&plugin, "/api/x", &[("x-api-key", "bob")], 4),
        [200, 200, 200, 429]
    );
    assert_eq!(
        statuses(&plugin, "/api/x", &[("x-api-key", "gold")], 6),
        [200, 200, 200, 200, 200, 429]
    );
}

#[test]
fn requests_without_the_key_header_share_one_bucket() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    assert_eq!(statuses(&plugin, "/api/x", &[], 4), [200, 200, 200, 429]);
    // An empty key is the same missing key.
    assert_eq!(send(&plugin, "/api/x", &[("x-api-key", "")]).0, 429);
}

#[test]
fn unmatched_paths_are_not_limited_and_the_first_rule_wins() {
    let host = Host::native(module!());
    let plugin = start(
        &host,
        r#"{"rules": [
            {"path_prefix": "/api/admin", "limit": {"max_tokens": 1, "fill_interval_ms": 60000}},
            {"path_prefix": "/api/", "limit": {"max_tokens": 3, "fill_interval_ms": 60000}}
        ]}"#,
    );
    assert!(statuses(&plugin, "/health", &[], 50)
        .iter()
        .all(|s| *s == 200));
    assert_eq!(statuses(&plugin, "/api/admin/users", &[], 2), [200, 429]);
    assert_eq!(
        statuses(&plugin, "/api/users", &[], 4),
        [200, 200, 200, 429]
    );
}

#[test]
fn two_workers_take_from_the_same_bucket() {
    let host = Host::native(module!());
    let worker_a = start(&host, CONFIG);
    let worker_b = start(&host, CONFIG);
    let gold = [("x-api-key", "gold")];
    let mut passed = 0;
    for i in 0..10 {
        let worker = if i % 2 == 0 { &worker_a } else { &worker_b };
        passed += usize::from(send(worker, "/api/x", &gold).0 == 200);
    }
    assert_eq!(passed, 5);
}

#[test]
fn known_buckets_are_created_full_when_the_plugin_starts() {
    let host = Host::native(module!());
    let now = host.state().now_nanos();
    start(&host, CONFIG);

    let login = host.shared_data(&bucket_key("login", None)).unwrap();
    assert_eq!(
        Bucket::decode(&login),
        Some(Bucket {
            tokens: 2,
            last_fill_nanos: now
        })
    );
    let gold = host.shared_data(&bucket_key("api", Some(b"gold"))).unwrap();
    assert_eq!(Bucket::decode(&gold).unwrap().tokens, 5);
    // Keys seen only in traffic get their bucket on first use.
    assert_eq!(host.shared_data(&bucket_key("api", Some(b"alice"))), None);
}

#[test]
fn a_configuration_reload_keeps_the_remaining_tokens() {
    let host = Host::native(module!());
    let old = start(&host, CONFIG);
    assert_eq!(statuses(&old, "/login", &[], 2), [200, 200]);

    let reloaded = start(&host, CONFIG);
    assert_eq!(send(&reloaded, "/login", &[]).0, 429);
}

#[test]
fn non_utf8_api_keys_get_their_own_bucket() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    for _ in 0..3 {
        let mut stream = plugin.http_stream();
        let verdict = stream.request_headers_bytes(
            vec![
                (b":path".to_vec(), b"/api/x".to_vec()),
                (b"x-api-key".to_vec(), vec![0xff, 0xfe]),
            ],
            true,
        );
        assert_eq!(verdict, Verdict::Continue);
    }
    assert!(host
        .shared_data(&bucket_key("api", Some(&[0xff, 0xfe])))
        .is_some());
    assert_eq!(send(&plugin, "/api/x", &[("x-api-key", "alice")]).0, 200);
}

#[test]
fn a_host_refusing_shared_data_lets_requests_through() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    assert_eq!(statuses(&plugin, "/login", &[], 2), [200, 200]);
    host.fail_every_hostcall(Some(proxylet_testkit::state::status::INTERNAL_FAILURE));
    let mut stream = plugin.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/login")], true),
        Verdict::Continue
    );
    host.fail_every_hostcall(None);
}

#[test]
fn bad_limits_are_refused_naming_the_field() {
    let host = Host::native(module!());
    let cases = [
        (
            r#"{"rules": [{"path_prefix": "/", "limit": {"max_tokens": 0, "fill_interval_ms": 1}}]}"#,
            "config.rules[0].limit.max_tokens: must be at least 1",
        ),
        (
            r#"{"rules": [{"path_prefix": "/a", "key_header": "k", "limit": {"max_tokens": 1, "fill_interval_ms": 1},
                "keys": {"gold": {"max_tokens": 1, "fill_interval_ms": 0}}}]}"#,
            "config.rules[0].keys.gold.fill_interval_ms: must be at least 1",
        ),
        (
            r#"{"rules": [{"path_prefix": "/a", "limit": {"max_tokens": 1, "fill_interval_ms": 1}},
                          {"path_prefix": "/a", "limit": {"max_tokens": 2, "fill_interval_ms": 1}}]}"#,
            "config.rules[1].name: two rules are named `/a`",
        ),
        (
            r#"{"rules": [{"path_prefix": "/a", "limit": {"max_tokens": 1, "fill_interval_ms": 1},
                "keys": {"gold": {"max_tokens": 1, "fill_interval_ms": 1}}}]}"#,
            "config.rules[0].keys: needs `key_header`",
        ),
        (
            r#"{"rules": [{"path_prefix": "/a", "limit": {"max_tokens": 1}}]}"#,
            "missing field `fill_interval_ms`",
        ),
    ];
    for (config, expected) in cases {
        let rejected = host
            .plugin("rate_limit")
            .config(config)
            .start()
            .err()
            .unwrap_or_else(|| panic!("accepted: {config}"));
        assert!(
            rejected.errors.iter().any(|e| e.contains(expected)),
            "{expected:?} not in {rejected}"
        );
    }
}

/// Spellings of `/login` that Envoy forwards unchanged with its default settings, one or
/// more per category: merged slashes, dot segments, escaped unreserved characters, escaped
/// and back slashes, segment parameters, case, query.
const LOGIN_SPELLINGS: &[&str] = &[
    "//login",
    "///login",
    "/./login",
    "/x/../login",
    "/x/y/../../login",
    "/../login",
    "/%6cogin",
    "/%6C%6F%67%69%6E",
    "/%2e/login",
    "/x/%2e%2e/login",
    "/x/.%2E/login",
    "/x%2f..%2flogin",
    "/%2Flogin",
    "/x%5c..%5clogin",
    "/x\\..\\login",
    "/x/..;/login",
    "/;x=1/login",
    "/login;jsessionid=0",
    "/LOGIN",
    "/Login",
    "/login?x=1",
    "/login/",
    "/login/.",
];

fn login_only(max_tokens: u64) -> String {
    format!(
        r#"{{"rules": [{{"name": "login", "path_prefix": "/login",
            "limit": {{"max_tokens": {max_tokens}, "fill_interval_ms": 60000}}}}]}}"#
    )
}

#[test]
fn every_spelling_of_a_limited_path_takes_from_its_bucket() {
    let host = Host::native(module!());
    let plugin = start(&host, &login_only(1));
    assert_eq!(send(&plugin, "/login", &[]).0, 200);
    for path in LOGIN_SPELLINGS {
        assert_eq!(send(&plugin, path, &[]).0, 429, "{path} escaped the limit");
    }
}

#[test]
fn each_spelling_alone_is_limited_like_login() {
    // Whichever spelling comes first takes the token of `/login`.
    for path in LOGIN_SPELLINGS {
        let host = Host::native(module!());
        let plugin = start(&host, &login_only(1));
        assert_eq!(send(&plugin, path, &[]).0, 200, "{path}");
        assert_eq!(send(&plugin, "/login", &[]).0, 429, "{path}");
    }
}

#[test]
fn paths_that_only_look_alike_are_not_limited() {
    let host = Host::native(module!());
    let plugin = start(&host, &login_only(1));
    assert_eq!(send(&plugin, "/login", &[]).0, 200);
    for path in [
        "/logout",
        "/x/login",
        "/log%20in",
        "/%252e%252e/login",
        "/x/%2e%2e%2e/login",
        "/.../login",
        "/?/login",
    ] {
        assert_eq!(send(&plugin, path, &[]).0, 200, "{path}");
    }
}

#[test]
fn a_prefix_is_written_normalized_and_matches_in_any_case() {
    let host = Host::native(module!());
    let plugin = start(
        &host,
        r#"{"rules": [{"path_prefix": "/Admin/", "limit": {"max_tokens": 1, "fill_interval_ms": 60000}}]}"#,
    );
    assert_eq!(send(&plugin, "/admin/users", &[]).0, 200);
    assert_eq!(send(&plugin, "/ADMIN/x", &[]).0, 429);
    assert_eq!(send(&plugin, "/admin", &[]).0, 200, "not under `/admin/`");

    for (prefix, expected) in [
        ("login", "config.rules[0].path_prefix: `login` must start with `/`"),
        ("", "config.rules[0].path_prefix: `` must start with `/`"),
        (
            "/a/../login",
            "config.rules[0].path_prefix: `/a/../login` is matched against normalized paths and reads as `/login` there; write that",
        ),
        ("//login", "reads as `/login` there"),
        ("/%6cogin", "reads as `/login` there"),
        ("/api;v=1/", "reads as `/api/` there"),
        ("/login?x", "reads as `/login` there"),
        ("/caf\\u00e9", "reads as `/caf%C3%A9` there"),
    ] {
        let config = format!(
            r#"{{"rules": [{{"path_prefix": "{prefix}", "limit": {{"max_tokens": 1, "fill_interval_ms": 1}}}}]}}"#
        );
        let rejected = host
            .plugin("rate_limit")
            .config(config)
            .start()
            .err()
            .unwrap_or_else(|| panic!("accepted {prefix:?}"));
        assert!(
            rejected.errors.iter().any(|e| e.contains(expected)),
            "{expected:?} not in {rejected}"
        );
    }
}

#[test]
fn numbers_out_of_range_are_refused_naming_the_field() {
    let host = Host::native(module!());
    let limit =
        |fields: &str| format!(r#"{{"rules": [{{"path_prefix": "/", "limit": {{{fields}}}}}]}}"#);
    let cases = [
        (
            limit(r#""max_tokens": 1000000000001, "fill_interval_ms": 1"#),
            "config.rules[0].limit.max_tokens: must be at most 1000000000000; got 1000000000001",
        ),
        (
            limit(r#""max_tokens": 18446744073709551615, "fill_interval_ms": 1"#),
            "config.rules[0].limit.max_tokens: must be at most 1000000000000; got 18446744073709551615",
        ),
        (
            limit(r#""max_tokens": 1, "tokens_per_fill": 18446744073709551615, "fill_interval_ms": 1"#),
            "config.rules[0].limit.tokens_per_fill: must be at most 1000000000000",
        ),
        (
            limit(r#""max_tokens": 1, "tokens_per_fill": 0, "fill_interval_ms": 1"#),
            "config.rules[0].limit.tokens_per_fill: must be at least 1",
        ),
        (
            limit(r#""max_tokens": 1, "fill_interval_ms": 31536000001"#),
            "config.rules[0].limit.fill_interval_ms: must be at most 31536000000 (365 days); got 31536000001",
        ),
        (
            limit(r#""max_tokens": 1, "fill_interval_ms": 18446744073709551615"#),
            "config.rules[0].limit.fill_interval_ms: must be at most 31536000000",
        ),
        (
            limit(r#""max_tokens": -1, "fill_interval_ms": 1"#),
            "config.rules[0].limit.max_tokens",
        ),
        (
            limit(r#""max_tokens": 18446744073709551616, "fill_interval_ms": 1"#),
            "config.rules[0].limit.max_tokens",
        ),
        (
            limit(r#""max_tokens": 1.5, "fill_interval_ms": 1"#),
            "config.rules[0].limit.max_tokens",
        ),
        (
            r#"{"rules": [{"path_prefix": "/a", "key_header": "k", "limit": {"max_tokens": 1, "fill_interval_ms": 1},
                "keys": {"gold": {"max_tokens": 1, "fill_interval_ms": 99999999999999}}}]}"#
                .to_string(),
            "config.rules[0].keys.gold.fill_interval_ms: must be at most 31536000000",
        ),
    ];
    for (config, expected) in cases {
        let rejected = host
            .plugin("rate_limit")
            .config(config.as_str())
            .start()
            .err()
            .unwrap_or_else(|| panic!("accepted: {config}"));
        assert!(
            rejected.errors.iter().any(|e| e.contains(expected)),
            "{expected:?} not in {rejected}"
        );
    }
    // The largest values are accepted and a bucket of them does not overflow.
    let plugin = start(
        &host,
        &limit(
            r#""max_tokens": 1000000000000, "tokens_per_fill": 1000000000000, "fill_interval_ms": 31536000000"#,
        ),
    );
    assert_eq!(send(&plugin, "/", &[]).0, 200);
    host.advance(Duration::from_secs(10 * 365 * 24 * 3600));
    assert_eq!(send(&plugin, "/", &[]).0, 200);
}

/// Sends a request the filter must refuse as ambiguous; returns the reply's body.
fn ambiguous(plugin: &TestPlugin, headers: &[(&str, &str)]) -> String {
    let mut stream = plugin.http_stream();
    let mut all = vec![(":path", "/api/x"), (":method", "GET")];
    all.extend_from_slice(headers);
    assert_eq!(
        stream.request_headers(&all, true),
        Verdict::Pause,
        "{headers:?}"
    );
    let reply = stream.local_reply().expect("a local reply");
    assert_eq!(reply.status, 400, "{headers:?}");
    assert_eq!(reply.details, "rate_limit_repeated_key");
    assert_eq!(reply.header("content-type"), Some(&b"text/plain"[..]));
    stream.complete().unwrap();
    String::from_utf8(reply.body).unwrap()
}

#[test]
fn a_repeated_key_header_is_refused_and_draws_from_no_bucket() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    let cases: &[&[(&str, &str)]] = &[
        &[("x-api-key", "junk"), ("x-api-key", "gold")],
        &[("x-api-key", "gold"), ("x-api-key", "gold")],
        &[("x-api-key", "gold"), ("X-API-KEY", "junk")],
        &[("x-api-key", "gold"), ("x_api_key", "junk")],
        &[("x_api_key", "junk"), ("X_Api-Key", "gold")],
        &[("x-api-key", "a"), ("x-api-key", "b"), ("x-api-key", "c")],
        &[("x-api-key", ""), ("x-api-key", "gold")],
    ];
    for headers in cases {
        let body = ambiguous(&plugin, headers);
        assert!(
            body.starts_with("ambiguous request: header `x-api-key` appears"),
            "{body}"
        );
    }
    assert_eq!(
        ambiguous(&plugin, cases[0]),
        "ambiguous request: header `x-api-key` appears 2 times (counting case and `_`/`-` variants); expected at most once\n"
    );
    // No bucket was touched: gold still has its 5 tokens, the keyless bucket its 3.
    assert_eq!(
        statuses(&plugin, "/api/x", &[("x-api-key", "gold")], 6),
        [200, 200, 200, 200, 200, 429]
    );
    assert_eq!(statuses(&plugin, "/api/x", &[], 4), [200, 200, 200, 429]);
    assert_eq!(host.shared_data(&bucket_key("api", Some(b"junk"))), None);
}

#[test]
fn a_single_key_header_spelled_as_a_variant_is_the_key() {
    // An upstream reading `HTTP_X_API_KEY` sees `gold` here; so does the limiter.
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    assert_eq!(
        statuses(&plugin, "/api/x", &[("x_api_key", "gold")], 3),
        [200, 200, 200]
    );
    assert_eq!(
        statuses(&plugin, "/api/x", &[("x-api-key", "gold")], 3),
        [200, 200, 429]
    );
}

#[test]
fn a_repeated_header_matters_only_when_it_is_the_key() {
    let host = Host::native(module!());
    let plugin = start(&host, CONFIG);
    // `/login` has no key header: its requests may repeat any header.
    let repeated = [("x-api-key", "a"), ("x-api-key", "b")];
    assert_eq!(send(&plugin, "/login", &repeated).0, 200);
    assert_eq!(send(&plugin, "/health", &repeated).0, 200);
}

#[test]
fn a_key_header_must_be_a_header_name() {
    let host = Host::native(module!());
    for (name, expected) in [
        ("", "config.rules[0].key_header: invalid header name ``"),
        (" ", "config.rules[0].key_header: invalid header name ` `"),
        (
            "x api key",
            "config.rules[0].key_header: invalid header name `x api key`",
        ),
        (
            "x-api-key\\r\\nx",
            "config.rules[0].key_header: invalid header name",
        ),
        (
            ":path",
            "config.rules[0].key_header: pseudo-header `:path` cannot be written here",
        ),
        (
            ":authority",
            "config.rules[0].key_header: pseudo-header `:authority`",
        ),
        (
            "content-length",
            "config.rules[0].key_header: header `content-length` frames the message",
        ),
    ] {
        let config = format!(
            r#"{{"rules": [{{"path_prefix": "/", "key_header": "{name}",
                "limit": {{"max_tokens": 1, "fill_interval_ms": 1}}}}]}}"#
        );
        let rejected = host
            .plugin("rate_limit")
            .config(config)
            .start()
            .err()
            .unwrap_or_else(|| panic!("accepted {name:?}"));
        assert!(
            rejected.errors.iter().any(|e| e.contains(expected)),
            "{expected:?} not in {rejected}"
        );
    }
    // Any case is fine: names are stored lowercased.
    let plugin = start(
        &host,
        r#"{"rules": [{"path_prefix": "/", "key_header": "X-Api-Key",
            "limit": {"max_tokens": 1, "fill_interval_ms": 60000}}]}"#,
    );
    assert_eq!(send(&plugin, "/", &[("x-api-key", "a")]).0, 200);
    assert_eq!(send(&plugin, "/", &[("x-api-key", "a")]).0, 429);
    assert_eq!(send(&plugin, "/", &[("x-api-key", "b")]).0, 200);
}

#[test]
fn bucket_arithmetic() {
    let limit = Limit {
        max_tokens: 2,
        tokens_per_fill: Some(1),
        fill_interval_ms: 1000,
    };
    let start = Bucket::full(&limit, 5_000_000_000);
    let (b, d) = start.take(&limit, 5_000_000_000);
    assert_eq!(d, Decision::Allowed { remaining: 1 });
    let (b, _) = b.take(&limit, 5_100_000_000);
    let (b, d) = b.take(&limit, 5_200_000_000);
    assert_eq!(
        d,
        Decision::Limited {
            retry_after_nanos: 800_000_000
        }
    );
    // 2.5 fills later: two tokens back, the fill phase kept (next fill at 8 s).
    let (b, d) = b.take(&limit, 7_500_000_000);
    assert_eq!(d, Decision::Allowed { remaining: 1 });
    assert_eq!(b.last_fill_nanos, 7_000_000_000);
    // A clock going backwards adds nothing and does not panic.
    let (_, d) = b.take(&limit, 1);
    assert_eq!(d, Decision::Allowed { remaining: 0 });
    assert_eq!(Bucket::decode(&b.encode()), Some(b));
    assert_eq!(Bucket::decode(b"short"), None);
}
