//! The body transform in a real Envoy 1.40 (V8): what the upstream receives, byte for
//! byte, with `content-length` and chunked requests, and the 413/400 answers.
//!
//! The module is built for wasm32-wasip1 once per test binary; Envoy comes from
//! `PROXYLET_ENVOY` or is installed into `target/tools`. Every server listens on a free
//! loopback port and is stopped on drop; Envoy's log is printed when a test fails.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use proxylet_artifact::build::{build_package, workspace_root};
use proxylet_harness::client::send_raw;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, Request, Upstream, WasmFilter};
use serde_json::{json, Value};

const RULES: &str = r#"{
    "max_body_bytes": 524288,
    "remove": ["password"],
    "rename": {"user_name": "username"},
    "set": {"source": "edge"}
}"#;

fn module() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            let built = build_package(&root, "body-transform", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(built.runtime_config.config.root_ids, ["body_transform"]);
            eprintln!("body_transform.wasm: {} bytes", built.size);
            built.wasm
        })
        .clone()
}

fn start() -> (Upstream, Envoy) {
    start_with(false)
}

/// With `buffer`, Envoy's buffer filter runs after the transform (see README).
fn start_with(buffer: bool) -> (Upstream, Envoy) {
    let upstream = Upstream::start_default().unwrap();
    let mut bootstrap = Bootstrap::http().filter(
        WasmFilter::local("body_transform", module())
            .root_id("body_transform")
            .config(RULES),
    );
    if buffer {
        bootstrap = bootstrap.filter(json!({
            "name": "envoy.filters.http.buffer",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
                "max_request_bytes": 1048576,
            },
        }));
    }
    let bootstrap = bootstrap.cluster("upstream", upstream.addr());
    let envoy = Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap();
    (upstream, envoy)
}

fn post(body: impl Into<Vec<u8>>) -> Request {
    Request::post("/users", body)
        .header("content-type", "application/json")
        .timeout(Duration::from_secs(10))
}

/// How the upstream received the one request: its framing and its body parsed.
#[derive(Debug, PartialEq)]
enum Framing {
    /// `transfer-encoding: chunked`, no `content-length`.
    Chunked,
    /// `content-length` equal to the size of the body received, no `transfer-encoding`.
    Length,
}

fn received(upstream: &Upstream) -> (Framing, Value) {
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    let framing = match (
        request.header_str("transfer-encoding"),
        request.header_str("content-length"),
    ) {
        (Some("chunked"), None) => Framing::Chunked,
        (None, Some(length)) if length == request.body.len().to_string() => Framing::Length,
        other => panic!("the upstream got a wrong framing {other:?} for {request:?}"),
    };
    (framing, serde_json::from_slice(&request.body).unwrap())
}

/// Three chunks, sent as they are: `{"user_name": "a", "password": "secret"}`.
const CHUNKED: &[u8] = b"POST /users HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
    content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n\
    11\r\n{\"user_name\": \"a\"\r\n\
    16\r\n, \"password\": \"secret\"\r\n\
    1\r\n}\r\n\
    0\r\n\r\n";

#[test]
fn the_upstream_gets_the_rewritten_body_without_a_stale_length() {
    let (upstream, envoy) = start();
    let body = r#"{"user_name": "ada", "password": "hunter2", "age": 36}"#;

    let response = post(body).send(envoy.listener_addr()).unwrap();

    assert_eq!(response.status, 200, "{}", envoy.log());
    // The request left Envoy before its body was rewritten: no stale length, chunked.
    assert_eq!(
        received(&upstream),
        (
            Framing::Chunked,
            json!({"username": "ada", "age": 36, "source": "edge"})
        )
    );
}

#[test]
fn a_chunked_request_reaches_the_upstream_rewritten() {
    let (upstream, envoy) = start();

    let response = send_raw(envoy.listener_addr(), CHUNKED, Duration::from_secs(10)).unwrap();

    assert_eq!(response.status, 200, "{}", envoy.log());
    assert_eq!(
        received(&upstream),
        (Framing::Chunked, json!({"username": "a", "source": "edge"}))
    );
}

#[test]
fn a_body_of_many_reads_is_rewritten_whole() {
    let (upstream, envoy) = start();
    // About 300 KB: Envoy hands it to the filter in many pieces, buffered until the end.
    let items: Vec<Value> = (0..20_000).map(|i| json!(format!("item-{i:06}"))).collect();
    let body = json!({"user_name": "bulk", "items": items, "password": "p"}).to_string();
    assert!(body.len() > 256 * 1024);

    let response = post(body).send(envoy.listener_addr()).unwrap();

    assert_eq!(response.status, 200, "{}", envoy.log());
    let (framing, value) = received(&upstream);
    assert_eq!(framing, Framing::Chunked);
    assert_eq!(value["username"], "bulk");
    assert_eq!(value["items"].as_array().unwrap().len(), 20_000);
    assert_eq!(value["items"][19_999], "item-019999");
    assert_eq!(value.get("password"), None);
}

#[test]
fn bodies_over_the_cap_get_413_and_never_reach_the_upstream() {
    let (upstream, envoy) = start();
    let big = format!(r#"{{"pad": "{}"}}"#, "x".repeat(600 * 1024));

    // Announced by content-length: refused from the headers.
    let announced = post(big.clone()).send(envoy.listener_addr()).unwrap();
    assert_eq!(announced.status, 413, "{}", envoy.log());
    assert_eq!(
        serde_json::from_slice::<Value>(&announced.body).unwrap(),
        json!({"error": "request body larger than 524288 bytes"})
    );

    // Chunked: refused once the whole body is there.
    let chunked = post(big)
        .header("transfer-encoding", "chunked")
        .send(envoy.listener_addr())
        .unwrap();
    assert_eq!(chunked.status, 413, "{}", envoy.log());

    assert!(upstream.requests().is_empty());
}

#[test]
fn a_body_that_is_not_json_gets_400_with_the_reason() {
    let (upstream, envoy) = start();

    let response = post("<user>ada</user>")
        .send(envoy.listener_addr())
        .unwrap();

    assert_eq!(response.status, 400, "{}", envoy.log());
    assert_eq!(
        response.header_str("content-type"),
        Some("application/json")
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&response.body).unwrap(),
        json!({"error": "request body is not valid JSON: expected value at line 1 column 1"})
    );
    let array = post("[1, 2]").send(envoy.listener_addr()).unwrap();
    assert_eq!(array.status, 400);
    assert!(upstream.requests().is_empty());
}

#[test]
fn a_request_without_a_body_passes() {
    let (upstream, envoy) = start();

    let response = Request::get("/users/7")
        .send(envoy.listener_addr())
        .unwrap();

    assert_eq!(response.status, 200, "{}", envoy.log());
    assert_eq!(upstream.requests().len(), 1);
    assert!(upstream.requests()[0].body.is_empty());
}

#[test]
fn with_envoy_s_buffer_filter_after_it_the_upstream_gets_the_new_content_length() {
    // The buffer filter holds the rewritten request until it is whole, then sets its
    // `content-length`: for a request that came with a (now stale) length...
    let (upstream, envoy) = start_with(true);
    let response = post(r#"{"user_name": "ada", "password": "hunter2"}"#)
        .send(envoy.listener_addr())
        .unwrap();
    assert_eq!(response.status, 200, "{}", envoy.log());
    assert_eq!(
        received(&upstream),
        (
            Framing::Length,
            json!({"username": "ada", "source": "edge"})
        )
    );

    // ...and for a chunked one.
    let (upstream, envoy) = start_with(true);
    let response = send_raw(envoy.listener_addr(), CHUNKED, Duration::from_secs(10)).unwrap();
    assert_eq!(response.status, 200, "{}", envoy.log());
    assert_eq!(
        received(&upstream),
        (Framing::Length, json!({"username": "a", "source": "edge"}))
    );
}
