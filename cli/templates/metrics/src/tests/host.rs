//! metrics on the test host: natively, no wasm, no Envoy. The test plays Envoy's part of
//! the properties (`xds.route_name`, `response.code`) and moves the host's clock.

use std::time::Duration;

use proxylet_testkit::{module, Host, TestPlugin, Verdict};

fn start(host: &Host, config: &str) -> TestPlugin {
    host.plugin("metrics").config(config).start().unwrap()
}

/// One request through the filter: `route` (see [`set_route`]), the response
/// `status` (0: none), `took` between the request headers and the access log.
fn request(host: &Host, plugin: &TestPlugin, route: Option<&str>, status: i64, took: Duration) {
    let mut stream = plugin.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Verdict::Continue
    );
    host.advance(took);
    set_route(host, route);
    host.set_property(&["response", "code"], &status.to_le_bytes());
    if status != 0 {
        let code = status.to_string();
        stream.response_headers(&[(":status", code.as_str())], true);
    }
    stream.complete().unwrap();
}

/// Plays Envoy's `xds.route_name`; `None` leaves it as it is (absent on a new host).
fn set_route(host: &Host, route: Option<&str>) {
    if let Some(name) = route {
        host.set_property(&["xds", "route_name"], name.as_bytes());
    }
}

fn counter(host: &Host, name: &str) -> Option<i64> {
    host.metric(name).map(|m| m.value)
}

#[test]
fn counts_each_request_by_route_and_status_class_at_log_time() {
    let host = Host::native(module!());
    let plugin = start(&host, "");
    let ms = Duration::from_millis(1);

    request(&host, &plugin, Some("api"), 200, ms);
    request(&host, &plugin, Some("api"), 201, ms);
    request(&host, &plugin, Some("api"), 503, ms);
    request(&host, &plugin, Some("static"), 304, ms);

    assert_eq!(
        counter(&host, "proxylet_requests.route.api.status.2xx"),
        Some(2)
    );
    assert_eq!(
        counter(&host, "proxylet_requests.route.api.status.5xx"),
        Some(1)
    );
    assert_eq!(
        counter(&host, "proxylet_requests.route.static.status.3xx"),
        Some(1)
    );
    assert_eq!(
        counter(&host, "proxylet_requests.route.static.status.2xx"),
        None
    );
}

#[test]
fn nothing_is_counted_before_the_access_log() {
    let host = Host::native(module!());
    let plugin = start(&host, "");
    let mut stream = plugin.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    stream.response_headers(&[(":status", "200")], true);
    assert!(host.metrics().is_empty(), "{:?}", host.metrics());
}

#[test]
fn records_the_milliseconds_from_request_headers_to_the_log() {
    let host = Host::native(module!());
    let plugin = start(&host, "");

    request(&host, &plugin, Some("api"), 200, Duration::from_millis(42));
    request(
        &host,
        &plugin,
        Some("api"),
        200,
        Duration::from_micros(1500),
    );
    request(&host, &plugin, Some("static"), 200, Duration::from_secs(2));

    let api = host
        .metric("proxylet_request_duration_ms.route.api")
        .unwrap();
    assert_eq!(api.records, [42, 1]);
    let static_ = host
        .metric("proxylet_request_duration_ms.route.static")
        .unwrap();
    assert_eq!(static_.records, [2000]);
}

#[test]
fn no_route_is_unnamed_and_no_response_is_none() {
    let host = Host::native(module!());
    let plugin = start(&host, "");
    request(&host, &plugin, None, 404, Duration::ZERO); // no route matched
    request(&host, &plugin, Some(""), 0, Duration::ZERO); // a route without a name

    assert_eq!(
        counter(&host, "proxylet_requests.route.unnamed.status.4xx"),
        Some(1)
    );
    assert_eq!(
        counter(&host, "proxylet_requests.route.unnamed.status.none"),
        Some(1)
    );
}

#[test]
fn older_envoys_route_name_property_is_read_too() {
    // Envoy 1.40 answers `xds.route_name`; older ones had a top-level `route_name`.
    let host = Host::native(module!());
    let plugin = start(&host, "");
    host.set_property(&["route_name"], b"legacy");
    request(&host, &plugin, None, 200, Duration::ZERO);
    assert_eq!(
        counter(&host, "proxylet_requests.route.legacy.status.2xx"),
        Some(1)
    );
}

#[test]
fn dots_in_route_names_do_not_make_extra_tags() {
    let host = Host::native(module!());
    let plugin = start(&host, "");
    request(&host, &plugin, Some("v1.orders"), 200, Duration::ZERO);
    assert_eq!(
        counter(&host, "proxylet_requests.route.v1_orders.status.2xx"),
        Some(1)
    );
}

#[test]
fn configured_prefix_unnamed_label_and_no_status_class() {
    let host = Host::native(module!());
    let plugin = start(
        &host,
        r#"{"prefix": "edge", "status_class": false, "unnamed_route": "none"}"#,
    );
    request(&host, &plugin, Some("api"), 200, Duration::ZERO);
    request(&host, &plugin, Some("api"), 500, Duration::ZERO);
    request(&host, &plugin, Some(""), 404, Duration::ZERO); // a route without a name

    let mut names: Vec<String> = host.metrics().into_iter().map(|m| m.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "edge_request_duration_ms.route.api",
            "edge_request_duration_ms.route.none",
            "edge_requests.route.api",
            "edge_requests.route.none",
        ]
    );
    assert_eq!(counter(&host, "edge_requests.route.api"), Some(2));
}

#[test]
fn a_prefix_with_a_dot_is_refused() {
    let host = Host::native(module!());
    let rejected = host
        .plugin("metrics")
        .config(r#"{"prefix": "my.edge"}"#)
        .start()
        .err()
        .expect("refused");
    assert!(
        rejected.errors[0].contains("config.prefix: must be a non-empty name without dots"),
        "{rejected}"
    );
}

#[test]
fn a_host_refusing_metrics_does_not_disturb_traffic() {
    let host = Host::native(module!());
    let plugin = start(&host, "");
    let mut stream = plugin.http_stream();
    host.fail_every_hostcall(Some(proxylet_testkit::state::status::INTERNAL_FAILURE));
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Verdict::Continue
    );
    assert_eq!(
        stream.response_headers(&[(":status", "200")], true),
        Verdict::Continue
    );
    stream.complete().unwrap();
    host.fail_every_hostcall(None);
    assert!(host.metrics().is_empty());

    // That request read no route and no status. The next one like it is counted: a
    // definition the host refused is not remembered as missing.
    request(&host, &plugin, None, 0, Duration::ZERO);
    assert_eq!(
        counter(&host, "proxylet_requests.route.unnamed.status.none"),
        Some(1)
    );
    request(&host, &plugin, Some("api"), 200, Duration::ZERO);
    assert_eq!(
        counter(&host, "proxylet_requests.route.api.status.2xx"),
        Some(1)
    );
}
