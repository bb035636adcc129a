//! canary-routing on the test host: natively, no wasm, no Envoy.

use std::cell::Cell;
use std::rc::Rc;

use crate::bucket;
use proxylet_testkit::{module, Host, TestPlugin, Verdict};

fn plugin(config: &str) -> TestPlugin {
    Host::native(module!())
        .plugin("canary_routing")
        .config(config)
        .start()
        .unwrap()
}

/// Sends request headers through the filter and returns the `x-route-to` it set.
fn route(plugin: &TestPlugin, headers: &[(&str, &str)]) -> String {
    let mut stream = plugin.http_stream();
    let mut all = vec![(":path", "/"), (":method", "GET")];
    all.extend_from_slice(headers);
    assert_eq!(stream.request_headers(&all, true), Verdict::Continue);
    let value = stream
        .request_header("x-route-to")
        .expect("x-route-to is set");
    stream.complete().unwrap();
    String::from_utf8(value).unwrap()
}

#[test]
fn forcing_header_sends_to_the_canary_even_at_weight_zero() {
    let plugin = plugin(r#"{"weight": 0}"#);
    assert_eq!(route(&plugin, &[("x-canary", "1")]), "canary");
    assert_eq!(route(&plugin, &[("x-canary", "true")]), "canary");
}

#[test]
fn forcing_header_zero_keeps_stable_even_at_full_weight() {
    let plugin = plugin(r#"{"weight": 100}"#);
    assert_eq!(route(&plugin, &[("x-canary", "0")]), "stable");
    assert_eq!(route(&plugin, &[("x-canary", "false")]), "stable");
    // Any other value is not a decision: the weight (100%) decides.
    assert_eq!(route(&plugin, &[("x-canary", "maybe")]), "canary");
}

#[test]
fn client_supplied_route_header_is_replaced() {
    let plugin = plugin(r#"{"weight": 0}"#);
    let mut stream = plugin.http_stream();
    stream.request_headers(
        &[
            (":path", "/"),
            ("x-route-to", "canary"),
            ("x-route-to", "canary"),
        ],
        true,
    );
    let values: Vec<Vec<u8>> = stream
        .request_headers_now()
        .into_iter()
        .filter(|(name, _)| name == b"x-route-to")
        .map(|(_, value)| value)
        .collect();
    assert_eq!(values, [b"stable".to_vec()]);
}

#[test]
fn weight_zero_and_hundred_are_absolute_without_a_sticky_key() {
    // One host per test thread: both plugins run on it, as two Envoy filters would.
    let host = Host::native(module!());
    let none = host
        .plugin("canary_routing")
        .config(r#"{"weight": 0}"#)
        .start()
        .unwrap();
    let all = host
        .plugin("canary_routing")
        .config(r#"{"weight": 100}"#)
        .start()
        .unwrap();
    for _ in 0..200 {
        assert_eq!(route(&none, &[]), "stable");
        assert_eq!(route(&all, &[]), "canary");
    }
}

#[test]
fn random_split_sends_traffic_to_both_sides() {
    let plugin = plugin(r#"{"weight": 50}"#);
    let canary = (0..400).filter(|_| route(&plugin, &[]) == "canary").count();
    // 50% of 400 requests; the chance of falling outside 100..=300 is below 1e-20.
    assert!(
        (100..=300).contains(&canary),
        "{canary} of 400 went to the canary"
    );
}

#[test]
fn sticky_key_keeps_each_user_on_one_side_chosen_by_its_bucket() {
    let plugin = plugin(r#"{"weight": 30, "sticky_header": "x-user-id"}"#);
    let mut canary_users = 0;
    for user in 0..100 {
        let id = format!("user-{user}");
        let expected = if bucket(id.as_bytes()) < 30 {
            "canary"
        } else {
            "stable"
        };
        for _ in 0..3 {
            assert_eq!(route(&plugin, &[("x-user-id", &id)]), expected, "{id}");
        }
        canary_users += usize::from(expected == "canary");
    }
    // 28 of these 100 ids have a bucket below 30.
    assert_eq!(canary_users, 28);
}

#[test]
fn buckets_are_fnv1a_and_never_change() {
    // The split must not move users when the filter is rebuilt or runs on another worker
    // or another Envoy: these are FNV-1a 64 modulo 100, pinned.
    let buckets: Vec<u8> = ["", "alice", "bob", "carol", "user-1"]
        .iter()
        .map(|id| bucket(id.as_bytes()))
        .collect();
    assert_eq!(buckets, [37, 83, 92, 62, 8]);
}

#[test]
fn custom_route_header_and_values() {
    let plugin = plugin(
        r#"{"force_header": "x-beta", "route_header": "x-version",
            "canary": "v2", "stable": "v1", "weight": 0}"#,
    );
    let mut stream = plugin.http_stream();
    stream.request_headers(&[(":path", "/"), ("x-beta", "1")], true);
    assert_eq!(
        stream.request_header("x-version").as_deref(),
        Some(&b"v2"[..])
    );
    assert_eq!(stream.request_header("x-route-to"), None);
}

#[test]
fn asks_the_host_to_pick_the_route_again() {
    let host = Host::native(module!());
    let cleared = Rc::new(Cell::new(0));
    let counter = Rc::clone(&cleared);
    host.register_foreign_function("clear_route_cache", move |args| {
        assert!(args.is_empty());
        counter.set(counter.get() + 1);
        Some(Vec::new())
    });
    let plugin = host.plugin("canary_routing").start().unwrap();
    route(&plugin, &[("x-canary", "1")]);
    route(&plugin, &[]);
    assert_eq!(cleared.get(), 2);
}

#[test]
fn a_host_without_clear_route_cache_still_gets_the_header() {
    // No foreign function registered: the call fails, the decision stands.
    let plugin = plugin(r#"{"weight": 0}"#);
    assert_eq!(route(&plugin, &[("x-canary", "1")]), "canary");
}

#[test]
fn weight_over_100_is_refused_naming_the_field() {
    let rejected = Host::native(module!())
        .plugin("canary_routing")
        .config(r#"{"weight": 150}"#)
        .start()
        .err()
        .expect("a weight of 150% must be refused");
    assert!(
        rejected.errors[0].contains("config.weight: a weight is a percentage, 0 to 100; got 150"),
        "{rejected}"
    );
}

#[test]
fn non_utf8_sticky_key_is_hashed_as_bytes() {
    let plugin = plugin(r#"{"weight": 50, "sticky_header": "x-user-id"}"#);
    let mut stream = plugin.http_stream();
    let verdict = stream.request_headers_bytes(
        vec![
            (b":path".to_vec(), b"/".to_vec()),
            (b"x-user-id".to_vec(), vec![0xff, 0xfe]),
        ],
        true,
    );
    assert_eq!(verdict, Verdict::Continue);
    let expected: &[u8] = if bucket(&[0xff, 0xfe]) < 50 {
        b"canary"
    } else {
        b"stable"
    };
    assert_eq!(
        stream.request_header("x-route-to").as_deref(),
        Some(expected)
    );
}

fn refused(config: &str) -> String {
    Host::native(module!())
        .plugin("canary_routing")
        .config(config)
        .start()
        .err()
        .unwrap_or_else(|| panic!("accepted: {config}"))
        .errors
        .join("\n")
}

#[test]
fn a_route_header_that_is_not_a_header_of_its_own_is_refused() {
    for (config, expected) in [
        (r#"{"route_header": ""}"#, "config.route_header: invalid header name ``"),
        (r#"{"route_header": "x route"}"#, "config.route_header: invalid header name `x route`"),
        (r#"{"route_header": "x-route\r\nx"}"#, "config.route_header: invalid header name"),
        (r#"{"route_header": ":path"}"#, "config.route_header: pseudo-header `:path` cannot be written here"),
        (r#"{"route_header": ":authority"}"#, "config.route_header: pseudo-header `:authority`"),
        (r#"{"route_header": ":method"}"#, "config.route_header: pseudo-header `:method`"),
        (r#"{"route_header": "content-length"}"#, "config.route_header: header `content-length` frames the message"),
        (r#"{"route_header": "Transfer-Encoding"}"#, "config.route_header: header `transfer-encoding` frames the message"),
        (r#"{"route_header": "host"}"#, "config.route_header: `host` is the request's authority"),
        (r#"{"route_header": "HOST"}"#, "config.route_header: `host` is the request's authority"),
        (r#"{"route_header": "x-canary"}"#, "config.route_header: is also `force_header`, which the client sends; use another header"),
        (r#"{"route_header": "X_Canary"}"#, "config.route_header: is also `force_header`"),
        (r#"{"sticky_header": "x-user", "route_header": "x_user"}"#, "config.route_header: is also `sticky_header`"),
        (r#"{"force_header": ":path"}"#, "config.force_header: pseudo-header `:path`"),
        (r#"{"sticky_header": ""}"#, "config.sticky_header: invalid header name ``"),
    ] {
        let errors = refused(config);
        assert!(errors.contains(expected), "{expected:?} not in {errors}");
    }
}

#[test]
fn route_values_that_are_not_plain_header_values_are_refused() {
    for (config, expected) in [
        (
            r#"{"canary": "canary\r\nx-admin: 1"}"#,
            "config.canary: invalid header value: a value cannot hold CR, LF",
        ),
        (
            r#"{"stable": "stable\n"}"#,
            "config.stable: invalid header value",
        ),
        (
            r#"{"canary": "a\u0000b"}"#,
            "config.canary: invalid header value",
        ),
        (
            r#"{"canary": "a\u007fb"}"#,
            "config.canary: invalid header value",
        ),
        (
            r#"{"canary": ""}"#,
            "config.canary: must not be empty: the routes match on this value",
        ),
        (r#"{"stable": ""}"#, "config.stable: must not be empty"),
        (
            r#"{"canary": "v1", "stable": "v1"}"#,
            "config.stable: is the same as `canary`: the routes could not tell the sides apart",
        ),
        (
            r#"{"canary": 2}"#,
            "config.canary: invalid type: integer `2`, expected a string",
        ),
    ] {
        let errors = refused(config);
        assert!(errors.contains(expected), "{expected:?} not in {errors}");
    }
}

/// Sends request headers the filter must refuse as ambiguous; returns the reply's body.
fn ambiguous(plugin: &TestPlugin, headers: &[(&str, &str)]) -> String {
    let mut stream = plugin.http_stream();
    let mut all = vec![(":path", "/"), (":method", "GET")];
    all.extend_from_slice(headers);
    assert_eq!(
        stream.request_headers(&all, true),
        Verdict::Pause,
        "{headers:?}"
    );
    let reply = stream.local_reply().expect("a local reply");
    assert_eq!(reply.status, 400, "{headers:?}");
    assert_eq!(reply.details, "canary_routing_repeated_header");
    // Refused before any route was written.
    assert_eq!(stream.request_header("x-route-to"), None);
    String::from_utf8(reply.body).unwrap()
}

#[test]
fn a_repeated_forcing_or_sticky_header_is_refused() {
    let plugin = plugin(r#"{"weight": 50, "sticky_header": "x-user-id"}"#);
    for headers in [
        &[("x-canary", "1"), ("x-canary", "0")][..],
        &[("x-canary", "1"), ("x-canary", "1")],
        &[("x-canary", "0"), ("X-Canary", "1")],
        &[("x-canary", "0"), ("x_canary", "1")],
        &[("x_canary", "1"), ("X_CANARY", "1")],
        &[("x-canary", "maybe"), ("x-canary", "1")],
        &[("x-user-id", "alice"), ("x-user-id", "bob")],
        &[("x-user-id", "alice"), ("x_user_id", "bob")],
    ] {
        let body = ambiguous(&plugin, headers);
        assert!(body.starts_with("ambiguous request: header `x-"), "{body}");
        assert!(body.contains("appears"), "{body}");
    }
    assert_eq!(
        ambiguous(&plugin, &[("x-canary", "1"), ("x-canary", "0")]),
        "ambiguous request: header `x-canary` appears 2 times (counting case and `_`/`-` variants); expected at most once\n"
    );
}

#[test]
fn a_single_forcing_header_spelled_as_a_variant_forces() {
    // An upstream reading `HTTP_X_CANARY` sees the same single value as the filter.
    let plugin = plugin(r#"{"weight": 0}"#);
    assert_eq!(route(&plugin, &[("x_canary", "1")]), "canary");
    assert_eq!(route(&plugin, &[("X-Canary", "1")]), "canary");
}

#[test]
fn every_spelling_of_the_route_header_from_the_client_is_removed() {
    let plugin = plugin(r#"{"weight": 0}"#);
    let mut stream = plugin.http_stream();
    stream.request_headers(
        &[
            (":path", "/"),
            ("x-route-to", "canary"),
            ("x_route_to", "canary"),
            ("X-Route-To", "canary"),
            ("X_ROUTE_TO", "canary"),
            ("x-route-to-other", "kept"),
            ("x-route", "kept"),
        ],
        true,
    );
    let route: Vec<(Vec<u8>, Vec<u8>)> = stream
        .request_headers_now()
        .into_iter()
        .filter(|(name, _)| {
            let name = String::from_utf8_lossy(name)
                .to_ascii_lowercase()
                .replace('_', "-");
            name.starts_with("x-route")
        })
        .collect();
    assert_eq!(
        route,
        [
            (b"x-route-to-other".to_vec(), b"kept".to_vec()),
            (b"x-route".to_vec(), b"kept".to_vec()),
            (b"x-route-to".to_vec(), b"stable".to_vec()),
        ]
    );
}
