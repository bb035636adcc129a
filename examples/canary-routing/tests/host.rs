//! canary-routing on the test host: natively, no wasm, no Envoy.

use std::cell::Cell;
use std::rc::Rc;

use canary_routing::{bucket, __PROXYLET_FILTERS};
use proxylet::testing::{Host, Plugin, Verdict};

fn plugin(config: &str) -> Plugin {
    Host::native(__PROXYLET_FILTERS)
        .plugin("canary_routing")
        .config(config)
        .start()
        .unwrap()
}

/// Sends request headers through the filter and returns the `x-route-to` it set.
fn route(plugin: &Plugin, headers: &[(&str, &str)]) -> String {
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
    let host = Host::native(__PROXYLET_FILTERS);
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
    let host = Host::native(__PROXYLET_FILTERS);
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
    let rejected = Host::native(__PROXYLET_FILTERS)
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
