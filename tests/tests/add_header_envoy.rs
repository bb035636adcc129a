//! The flagship filter, examples/add-header, in a real Envoy 1.40, on both targets: the
//! wasm module in V8 and the same source as a native dynamic module.
//!
//! Each test builds the example for each target (once per test binary), installs Envoy
//! into `target/tools` when missing, and starts its own upstream and Envoy on free
//! loopback ports; both are stopped on drop, also when the test fails, and Envoy's log is
//! printed then.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use proxylet_artifact::build::{build_module, workspace_root, Target};
use proxylet_harness::http::Response as UpstreamResponse;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, ModuleFilter, Request, Upstream};

// ANCHOR: flagship
/// The flagship built for `target`, once per test binary.
fn flagship(target: Target) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[target as usize]
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            build_module(&root, "add-header", target).unwrap_or_else(|e| panic!("{e}"))
        })
        .clone()
}

fn envoy_with(target: Target, config: Option<&str>, upstream: &Upstream) -> Bootstrap {
    let mut filter = ModuleFilter::local("add_header", flagship(target)).root_id("add_header");
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
    for target in Target::BOTH {
        let upstream = echo_upstream();
        let envoy = Envoy::start(
            &envoy_with(target, None, &upstream),
            EnvoyOptions::default(),
        )
        .unwrap();

        let response = get().send(envoy.listener_addr()).unwrap();

        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        assert_eq!(response.header_str("hello"), Some("melon"));
        assert_eq!(response.text_body(), "upstream says hi\n");
        assert_eq!(upstream.requests().len(), 1);
    }
}
// ANCHOR_END: flagship

#[test]
fn configured_header_replaces_the_default() {
    for target in Target::BOTH {
        let upstream = echo_upstream();
        let config = r#"{"name": "x-fruit", "value": "kiwi"}"#;
        let envoy = Envoy::start(
            &envoy_with(target, Some(config), &upstream),
            EnvoyOptions::default(),
        )
        .unwrap();

        let response = get().send(envoy.listener_addr()).unwrap();

        assert_eq!(response.header_str("x-fruit"), Some("kiwi"));
        assert_eq!(response.header("hello"), None);
    }
}

#[test]
fn non_utf8_header_value_does_not_kill_the_vm() {
    for target in Target::BOTH {
        let upstream = echo_upstream();
        let envoy = Envoy::start(
            &envoy_with(target, None, &upstream),
            EnvoyOptions::default(),
        )
        .unwrap();

        // `ff fe` reaches the upstream, comes back in the response headers the filter handles.
        let hostile = get()
            .header("x-echo", [0xff, 0xfe])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(hostile.status, 200, "{target}: {}", envoy.log());
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
        assert!(!envoy.log().contains("panic"), "{target}: {}", envoy.log());
    }
}

#[test]
fn mistyped_config_is_refused_by_envoy_with_the_field_named() {
    for target in Target::BOTH {
        let upstream = echo_upstream();
        let bootstrap = envoy_with(target, Some(r#"{"name":"hello","value":5}"#), &upstream);

        let (status, log) = Envoy::run_expecting_failure(
            &bootstrap,
            EnvoyOptions::default(),
            Duration::from_secs(30),
        )
        .unwrap();

        assert!(
            !status.success(),
            "{target}: Envoy accepted the config:\n{log}"
        );
        assert!(
            log.contains("add_header: config.value: invalid type: integer `5`, expected a string"),
            "{target}: the log does not name the field:\n{log}"
        );
        assert!(upstream.requests().is_empty());
    }
}

#[test]
fn unknown_config_field_is_refused() {
    for target in Target::BOTH {
        let upstream = echo_upstream();
        let bootstrap = envoy_with(target, Some(r#"{"nme":"hello"}"#), &upstream);

        let (status, log) = Envoy::run_expecting_failure(
            &bootstrap,
            EnvoyOptions::default(),
            Duration::from_secs(30),
        )
        .unwrap();

        assert!(
            !status.success(),
            "{target}: Envoy accepted the config:\n{log}"
        );
        assert!(
            log.contains("add_header: config.nme: unknown field `nme`"),
            "{log}"
        );
    }
}

#[test]
fn wrong_root_id_is_refused_naming_the_module_s_root_ids() {
    for target in Target::BOTH {
        let upstream = echo_upstream();
        let bootstrap = Bootstrap::http()
            .filter(ModuleFilter::local("add_header", flagship(target)).root_id("other"))
            .cluster("upstream", upstream.addr());

        let (status, log) = Envoy::run_expecting_failure(
            &bootstrap,
            EnvoyOptions::default(),
            Duration::from_secs(30),
        )
        .unwrap();

        assert!(
            !status.success(),
            "{target}: Envoy accepted the config:\n{log}"
        );
        assert!(
            log.contains("no filter with root id `other` in this module; it has `add_header`"),
            "{log}"
        );
    }
}
