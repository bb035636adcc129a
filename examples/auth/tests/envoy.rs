//! The auth filter in a real Envoy 1.40 (V8): API keys, JWT against Envoy's clock, and the
//! external check against an auth service the test starts (allowed, denied, down, slow).
//!
//! The module is built for wasm32-wasip1 once per test binary; Envoy comes from
//! `PROXYLET_ENVOY` or is installed into `target/tools`. Every server listens on a free
//! loopback port and is stopped on drop; Envoy's log is printed when a test fails.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proxylet_artifact::build::{build_package, workspace_root};
use proxylet_harness::http::Response as UpstreamResponse;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, Request, Upstream, WasmFilter};
use sha2::Sha256;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn module() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            let built = build_package(&root, "auth", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(built.runtime_config.config.root_ids, ["auth"]);
            eprintln!("auth.wasm: {} bytes", built.size);
            built.wasm
        })
        .clone()
}

/// Envoy with the auth filter (`config`) in front of `upstream`; `auth_service`, when
/// given, is the cluster `auth`.
fn envoy(config: &str, upstream: &Upstream, auth_service: Option<SocketAddr>) -> Envoy {
    let mut bootstrap = Bootstrap::http()
        .filter(
            WasmFilter::local("auth", module())
                .root_id("auth")
                .config(config),
        )
        .cluster("upstream", upstream.addr());
    if let Some(addr) = auth_service {
        bootstrap = bootstrap.cluster("auth", addr);
    }
    Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap()
}

fn upstream() -> Upstream {
    Upstream::start_default().unwrap()
}

fn get(headers: &[(&str, &str)]) -> Request {
    let mut request = Request::get("/orders/7").timeout(Duration::from_secs(10));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

/// A port nothing listens on: bound, then closed.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[test]
fn api_key_lets_a_known_key_through_and_answers_401_otherwise() {
    let upstream = upstream();
    let envoy = envoy(
        r#"{"mode": "api_key", "keys": ["k-alpha"]}"#,
        &upstream,
        None,
    );

    let allowed = get(&[("x-api-key", "k-alpha")])
        .send(envoy.listener_addr())
        .unwrap();
    assert_eq!(allowed.status, 200, "{}", envoy.log());
    assert_eq!(allowed.text_body(), "upstream says hi\n");

    for headers in [vec![], vec![("x-api-key", "k-beta")]] {
        let refused = get(&headers).send(envoy.listener_addr()).unwrap();
        assert_eq!(refused.status, 401);
        assert_eq!(
            refused.header_str("www-authenticate"),
            Some(r#"ApiKey header="x-api-key""#)
        );
    }
    assert_eq!(
        upstream.requests().len(),
        1,
        "refused requests never reach the upstream"
    );
}

fn jwt(exp: u64, sub: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{sub}","exp":{exp}}}"#));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("Bearer {header}.{payload}.{signature}")
}

#[test]
fn jwt_is_checked_against_envoy_s_clock_and_its_claim_reaches_the_upstream() {
    let upstream = upstream();
    let config =
        format!(r#"{{"mode": "jwt", "secret": "{SECRET}", "claim_headers": {{"sub": "x-user"}}}}"#);
    let envoy = envoy(&config, &upstream, None);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let valid = jwt(now + 300, "alice");
    let allowed = get(&[("authorization", &valid), ("x-user", "mallory")])
        .send(envoy.listener_addr())
        .unwrap();
    assert_eq!(allowed.status, 200, "{}", envoy.log());
    let seen = upstream.take_requests();
    assert_eq!(seen.len(), 1);
    let users: Vec<&[u8]> = seen[0]
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"x-user"))
        .map(|(_, v)| v.as_slice())
        .collect();
    assert_eq!(users, [b"alice"], "the claim replaced the forged header");

    let expired = jwt(now - 60, "alice");
    let refused = get(&[("authorization", &expired)])
        .send(envoy.listener_addr())
        .unwrap();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.text_body(), "unauthorized: token expired\n");
    assert_eq!(
        refused.header_str("www-authenticate"),
        Some(
            r#"Bearer realm="proxylet", error="invalid_token", error_description="token expired""#
        )
    );
    assert!(upstream.requests().is_empty());
}

/// An auth service: `authorization: Bearer good` is allowed (as user `alice`), anything
/// else is refused with 403.
fn auth_service() -> Upstream {
    Upstream::start(|request| {
        if request.header_str("authorization") == Some("Bearer good") {
            UpstreamResponse::text(200, "ok\n").with_header("x-user", "alice")
        } else {
            UpstreamResponse::text(403, "denied by the auth service\n")
        }
    })
    .unwrap()
}

const EXTERNAL: &str =
    r#"{"mode": "external", "cluster": "auth", "timeout_ms": 1000, "copy_headers": ["x-user"]}"#;

#[test]
fn external_service_allows_and_its_header_reaches_the_upstream() {
    let (upstream, service) = (upstream(), auth_service());
    let envoy = envoy(EXTERNAL, &upstream, Some(service.addr()));

    let response = get(&[("authorization", "Bearer good"), ("cookie", "c=1")])
        .send(envoy.listener_addr())
        .unwrap();

    assert_eq!(response.status, 200, "{}", envoy.log());
    assert_eq!(response.text_body(), "upstream says hi\n");
    let checks = service.requests();
    assert_eq!(checks.len(), 1);
    assert_eq!(
        (checks[0].method.as_str(), checks[0].path.as_str()),
        ("GET", "/check")
    );
    assert_eq!(checks[0].header_str("authorization"), Some("Bearer good"));
    assert_eq!(checks[0].header_str("x-original-path"), Some("/orders/7"));
    assert_eq!(checks[0].header_str("cookie"), None);
    let forwarded = upstream.requests();
    assert_eq!(forwarded.len(), 1);
    assert_eq!(forwarded[0].header_str("x-user"), Some("alice"));
    assert_eq!(forwarded[0].header_str("x-auth-error"), None);
}

#[test]
fn external_service_403_reaches_the_client_and_not_the_upstream() {
    let (upstream, service) = (upstream(), auth_service());
    let envoy = envoy(EXTERNAL, &upstream, Some(service.addr()));

    let response = get(&[("authorization", "Bearer bad")])
        .send(envoy.listener_addr())
        .unwrap();

    assert_eq!(response.status, 403, "{}", envoy.log());
    assert_eq!(response.text_body(), "denied by the auth service\n");
    assert_eq!(service.requests().len(), 1);
    assert!(upstream.requests().is_empty());
}

fn external(on_error: &str, timeout_ms: u64) -> String {
    format!(
        r#"{{"mode": "external", "cluster": "auth", "timeout_ms": {timeout_ms}, "on_error": "{on_error}"}}"#
    )
}

#[test]
fn auth_service_down_is_denied_with_503_by_default() {
    let upstream = upstream();
    let envoy = envoy(&external("deny", 1000), &upstream, Some(closed_port()));

    let response = get(&[("authorization", "Bearer good")])
        .send(envoy.listener_addr())
        .unwrap();

    assert_eq!(response.status, 503, "{}", envoy.log());
    assert_eq!(response.text_body(), "auth service unavailable\n");
    assert!(upstream.requests().is_empty());
}

#[test]
fn auth_service_down_is_let_through_with_on_error_allow() {
    let upstream = upstream();
    let envoy = envoy(&external("allow", 1000), &upstream, Some(closed_port()));

    let response = get(&[("x-auth-error", "forged")])
        .send(envoy.listener_addr())
        .unwrap();

    assert_eq!(response.status, 200, "{}", envoy.log());
    let forwarded = upstream.requests();
    assert_eq!(forwarded.len(), 1);
    // Envoy answers a callout to an unreachable cluster with a 503 of its own; proxylet
    // tells it from a service's answer and reports a failure.
    assert_eq!(forwarded[0].header_str("x-auth-error"), Some("failed"));
}

/// An auth service that answers only after `delay` (longer than the filter's timeout).
fn slow_auth_service(delay: Duration) -> Upstream {
    Upstream::start(move |_| {
        std::thread::sleep(delay);
        UpstreamResponse::text(200, "too late\n")
    })
    .unwrap()
}

#[test]
fn slow_auth_service_times_out_and_on_error_decides() {
    let delay = Duration::from_millis(1500);
    for (on_error, status) in [("deny", 503), ("allow", 200)] {
        let (upstream, service) = (upstream(), slow_auth_service(delay));
        let envoy = envoy(&external(on_error, 200), &upstream, Some(service.addr()));

        let started = Instant::now();
        let response = get(&[]).send(envoy.listener_addr()).unwrap();
        let took = started.elapsed();

        assert_eq!(response.status, status, "{on_error}\n{}", envoy.log());
        assert!(
            took < delay,
            "{on_error}: answered after {took:?}, not at the 200 ms timeout"
        );
        assert_eq!(service.requests().len(), 1, "the service was asked");
        if on_error == "allow" {
            let forwarded = upstream.requests();
            assert_eq!(forwarded.len(), 1);
            assert_eq!(forwarded[0].header_str("x-auth-error"), Some("timeout"));
        } else {
            assert!(upstream.requests().is_empty());
        }
    }
}
