//! The flagship filter, examples/add-header, in a real Envoy 1.40 (V8 runtime).
//!
//! Each test builds the example for wasm32-wasip1 (once per test binary), installs Envoy
//! into `target/tools` when missing, and starts its own upstream and Envoy on free
//! loopback ports; both are stopped on drop, also when the test fails, and Envoy's log is
//! printed then.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use proxylet_artifact::build::{build_package, workspace_root};
use proxylet_harness::http::Response as UpstreamResponse;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, Request, Upstream, WasmFilter};

// ANCHOR: flagship
fn flagship() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            let built = build_package(&root, "add-header", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(built.runtime_config.config.root_ids, ["add_header"]);
            built.wasm
        })
        .clone()
}

fn envoy_with(config: Option<&str>, upstream: &Upstream) -> Bootstrap {
    let mut filter = WasmFilter::local("add_header", flagship()).root_id("add_header");
    if let Some(config) = config {
        filter = filter.config(config);
    }
    Bootstrap::http()
        .filter(filter)
        .cluster("upstream", upstream.addr())
}

/// An upstream that echoes request header `x-echo` back as a response header, so the
/// filter's response hook sees whatever bytes the client sent.
fn echo_upstream() -> Upstream {
    Upstream::start(|request| {
        let mut response = UpstreamResponse::text(200, "upstream says hi\n");
        if let Some(value) = request.header_value("x-echo") {
            response = response.with_header("x-echo", value);
        }
        response
    })
    .unwrap()
}

fn get() -> Request {
    Request::get("/").timeout(Duration::from_secs(10))
}

#[test]
fn response_carries_hello_melon_and_the_upstream_body() {
    let upstream = echo_upstream();
    let envoy = Envoy::start(&envoy_with(None, &upstream), EnvoyOptions::default()).unwrap();

    let response = get().send(envoy.listener_addr()).unwrap();

    assert_eq!(response.status, 200, "{}", envoy.log());
    assert_eq!(response.header_str("hello"), Some("melon"));
    assert_eq!(response.text_body(), "upstream says hi\n");
    assert_eq!(upstream.requests().len(), 1);
}
// ANCHOR_END: flagship

#[test]
fn configured_header_replaces_the_default() {
    let upstream = echo_upstream();
    let config = r#"{"name": "x-fruit", "value": "kiwi"}"#;
    let envoy = Envoy::start(
        &envoy_with(Some(config), &upstream),
        EnvoyOptions::default(),
    )
    .unwrap();

    let response = get().send(envoy.listener_addr()).unwrap();

    assert_eq!(response.header_str("x-fruit"), Some("kiwi"));
    assert_eq!(response.header("hello"), None);
}

#[test]
fn non_utf8_header_value_does_not_kill_the_vm() {
    let upstream = echo_upstream();
    let envoy = Envoy::start(&envoy_with(None, &upstream), EnvoyOptions::default()).unwrap();

    // `ff fe` reaches the upstream, comes back in the response headers the filter handles.
    let hostile = get()
        .header("x-echo", [0xff, 0xfe])
        .send(envoy.listener_addr())
        .unwrap();
    assert_eq!(hostile.status, 200, "{}", envoy.log());
    assert_eq!(hostile.header("x-echo"), Some([0xff, 0xfe].as_slice()));
    assert_eq!(hostile.header_str("hello"), Some("melon"));

    // The VM is alive: every later request on this (only) worker is filtered.
    for i in 0..100 {
        let response = get().send(envoy.listener_addr()).unwrap();
        assert_eq!(
            response.status,
            200,
            "request {i} after the hostile one\n{}",
            envoy.log()
        );
        assert_eq!(response.header_str("hello"), Some("melon"), "request {i}");
    }
    assert!(!envoy.log().contains("panic"), "{}", envoy.log());
}

#[test]
fn mistyped_config_is_refused_by_envoy_with_the_field_named() {
    let upstream = echo_upstream();
    let bootstrap = envoy_with(Some(r#"{"name":"hello","value":5}"#), &upstream);

    let (status, log) =
        Envoy::run_expecting_failure(&bootstrap, EnvoyOptions::default(), Duration::from_secs(30))
            .unwrap();

    assert!(!status.success(), "Envoy accepted the config:\n{log}");
    assert!(
        log.contains("add_header: config.value: invalid type: integer `5`, expected a string"),
        "the log does not name the field:\n{log}"
    );
    assert!(upstream.requests().is_empty());
}

#[test]
fn unknown_config_field_is_refused() {
    let upstream = echo_upstream();
    let bootstrap = envoy_with(Some(r#"{"nme":"hello"}"#), &upstream);

    let (status, log) =
        Envoy::run_expecting_failure(&bootstrap, EnvoyOptions::default(), Duration::from_secs(30))
            .unwrap();

    assert!(!status.success(), "Envoy accepted the config:\n{log}");
    assert!(
        log.contains("add_header: config.nme: unknown field `nme`"),
        "{log}"
    );
}

#[test]
fn wrong_root_id_is_refused_naming_the_module_s_root_ids() {
    let upstream = echo_upstream();
    let bootstrap = Bootstrap::http()
        .filter(WasmFilter::local("add_header", flagship()).root_id("other"))
        .cluster("upstream", upstream.addr());

    let (status, log) =
        Envoy::run_expecting_failure(&bootstrap, EnvoyOptions::default(), Duration::from_secs(30))
            .unwrap();

    assert!(!status.success(), "Envoy accepted the config:\n{log}");
    assert!(
        log.contains("no filter with root id `other` in this module; it has `add_header`"),
        "{log}"
    );
}
