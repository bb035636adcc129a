//! The auth filter in a real Envoy 1.40: API keys, JWT against Envoy's clock, and the
//! external check against an auth service the test starts (allowed, denied, down, slow).
//! Every test runs on both targets: the wasm module in V8, and the same source as a native
//! dynamic module.
//!
//! The module is built for each target once per test binary; Envoy comes from
//! `PROXYLET_ENVOY` or is installed into `target/tools`. Every server listens on a free
//! loopback port and is stopped on drop; Envoy's log is printed when a test fails.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proxylet_artifact::build::{build_module, build_package, workspace_root, Target};
use proxylet_harness::http::Response as UpstreamResponse;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, ModuleFilter, Request, Upstream};
use sha2::Sha256;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// The filter's bound on a verdict's body passed to the client (its `MAX_VERDICT_BODY`,
/// written out: these tests run only the built module, they do not link the crate).
const MAX_VERDICT_BODY: usize = 64 * 1024;

/// The module built for `target`, once per test binary.
fn module(target: Target) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[target as usize]
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            if target == Target::Native {
                return build_module(&root, "auth", target).unwrap_or_else(|e| panic!("{e}"));
            }
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
fn envoy(
    target: Target,
    config: &str,
    upstream: &Upstream,
    auth_service: Option<SocketAddr>,
) -> Envoy {
    let mut bootstrap = Bootstrap::http()
        .filter(
            ModuleFilter::local("auth", module(target))
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
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = envoy(
            target,
            r#"{"mode": "api_key", "keys": ["k-alpha"]}"#,
            &upstream,
            None,
        );

        let allowed = get(&[("x-api-key", "k-alpha")])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(allowed.status, 200, "{target}: {}", envoy.log());
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
    for target in Target::BOTH {
        let upstream = upstream();
        let config = format!(
            r#"{{"mode": "jwt", "secret": "{SECRET}", "claim_headers": {{"sub": "x-user"}}}}"#
        );
        let envoy = envoy(target, &config, &upstream, None);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();

        let valid = jwt(now + 300, "alice");
        let allowed = get(&[("authorization", &valid), ("x-user", "mallory")])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(allowed.status, 200, "{target}: {}", envoy.log());
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
    for target in Target::BOTH {
        let (upstream, service) = (upstream(), auth_service());
        let envoy = envoy(target, EXTERNAL, &upstream, Some(service.addr()));

        let response = get(&[("authorization", "Bearer good"), ("cookie", "c=1")])
            .send(envoy.listener_addr())
            .unwrap();

        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
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
}

#[test]
fn external_service_403_reaches_the_client_and_not_the_upstream() {
    for target in Target::BOTH {
        let (upstream, service) = (upstream(), auth_service());
        let envoy = envoy(target, EXTERNAL, &upstream, Some(service.addr()));

        let response = get(&[("authorization", "Bearer bad")])
            .send(envoy.listener_addr())
            .unwrap();

        assert_eq!(response.status, 403, "{target}: {}", envoy.log());
        assert_eq!(response.text_body(), "denied by the auth service\n");
        assert_eq!(service.requests().len(), 1);
        assert!(upstream.requests().is_empty());
    }
}

fn external(on_error: &str, timeout_ms: u64) -> String {
    format!(
        r#"{{"mode": "external", "cluster": "auth", "timeout_ms": {timeout_ms}, "on_error": "{on_error}"}}"#
    )
}

#[test]
fn auth_service_down_is_denied_with_503_by_default() {
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = envoy(
            target,
            &external("deny", 1000),
            &upstream,
            Some(closed_port()),
        );

        let response = get(&[("authorization", "Bearer good")])
            .send(envoy.listener_addr())
            .unwrap();

        assert_eq!(response.status, 503, "{target}: {}", envoy.log());
        assert_eq!(response.text_body(), "auth service unavailable\n");
        assert!(upstream.requests().is_empty());
    }
}

#[test]
fn auth_service_down_is_let_through_with_on_error_allow() {
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = envoy(
            target,
            &external("allow", 1000),
            &upstream,
            Some(closed_port()),
        );

        let response = get(&[("x-auth-error", "forged")])
            .send(envoy.listener_addr())
            .unwrap();

        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        let forwarded = upstream.requests();
        assert_eq!(forwarded.len(), 1);
        // Envoy answers a callout to an unreachable cluster with a 503 of its own; proxylet
        // tells it from a service's answer and reports a failure.
        assert_eq!(forwarded[0].header_str("x-auth-error"), Some("failed"));
    }
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
    for target in Target::BOTH {
        let delay = Duration::from_millis(1500);
        for (on_error, status) in [("deny", 503), ("allow", 200)] {
            let (upstream, service) = (upstream(), slow_auth_service(delay));
            let envoy = envoy(
                target,
                &external(on_error, 200),
                &upstream,
                Some(service.addr()),
            );

            // The service would answer 200 after `delay`: a 503 (deny), or a request marked
            // `timeout` (allow), can only come from the timeout. No clock is read.
            let response = get(&[]).send(envoy.listener_addr()).unwrap();

            assert_eq!(
                response.status,
                status,
                "{target}: {on_error}\n{}",
                envoy.log()
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
}

// ---- hostile input: repeated headers, variants, controls, verdicts, bounds ---------------

/// Every header of a request the upstream received that it would read as `name` (any
/// case, `_` or `-`: CGI, WSGI, Rack and PHP all see `HTTP_X_USER`).
fn variants(request: &Request, name: &str) -> Vec<(String, String)> {
    let normalized = |n: &[u8]| -> Vec<u8> {
        n.iter()
            .map(|b| {
                if *b == b'_' {
                    b'-'
                } else {
                    b.to_ascii_lowercase()
                }
            })
            .collect()
    };
    request
        .headers
        .iter()
        .filter(|(n, _)| normalized(n) == normalized(name.as_bytes()))
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

#[test]
fn api_key_repeated_in_any_spelling_gets_400_from_envoy() {
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = envoy(
            target,
            r#"{"mode": "api_key", "keys": ["k-alpha", "k-beta"]}"#,
            &upstream,
            None,
        );
        for headers in [
            vec![("x-api-key", "k-alpha"), ("x-api-key", "anything")],
            vec![("x-api-key", "junk"), ("x-api-key", "k-beta")],
            vec![("x-api-key", "k-alpha"), ("X-API-KEY", "junk")],
            vec![("X-Api-Key", "junk"), ("x-api-key", "k-alpha")],
            vec![("x-api-key", "k-alpha"), ("x_api_key", "junk")],
            vec![("x_api_key", "junk"), ("x-api-key", "k-alpha")],
            vec![("x-api-key", "k-alpha,junk")],
        ] {
            let response = get(&headers).send(envoy.listener_addr()).unwrap();
            assert_eq!(
                response.status,
                400,
                "{target}: {headers:?}\n{}",
                envoy.log()
            );
            assert_eq!(
                response.text_body(),
                "bad request: repeated x-api-key header\n"
            );
        }
        assert!(
            upstream.requests().is_empty(),
            "nothing ambiguous got through"
        );
        // One key, once: still fine.
        let allowed = get(&[("x-api-key", "k-beta")])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(allowed.status, 200);
    }
}

/// `authorization: Bearer <JWT>` with these claims (JSON written by hand: the tests need
/// exact bytes, escapes of control characters included), signed with `SECRET`.
fn signed(claims: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("Bearer {header}.{payload}.{signature}")
}

/// Claims with this `sub` (as JSON) and more, expiring in five minutes.
fn claims(sub_json: &str, extra: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    format!(r#"{{"sub":{sub_json},"exp":{exp}{extra}}}"#)
}

fn jwt_envoy(target: Target, extra: &str, upstream: &Upstream) -> Envoy {
    let config = format!(
        r#"{{"mode": "jwt", "secret": "{SECRET}", "claim_headers": {{"sub": "x-user"}}{extra}}}"#
    );
    envoy(target, &config, upstream, None)
}

#[test]
fn jwt_repeated_authorization_gets_400_from_envoy() {
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = jwt_envoy(target, "", &upstream);
        let good = signed(&claims(r#""alice""#, ""));
        let junk = "Bearer junk.junk.junk".to_owned();
        for headers in [
            vec![
                ("authorization", good.as_str()),
                ("authorization", junk.as_str()),
            ],
            vec![
                ("authorization", junk.as_str()),
                ("authorization", good.as_str()),
            ],
            vec![
                ("authorization", good.as_str()),
                ("authorization", good.as_str()),
            ],
            vec![
                ("authorization", good.as_str()),
                ("Authorization", junk.as_str()),
            ],
        ] {
            let response = get(&headers).send(envoy.listener_addr()).unwrap();
            assert_eq!(
                response.status,
                400,
                "{target}: {headers:?}\n{}",
                envoy.log()
            );
            assert_eq!(
                response.text_body(),
                "bad request: repeated authorization header\n"
            );
        }
        assert!(upstream.requests().is_empty());
        let allowed = get(&[("authorization", &good)])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(allowed.status, 200, "{target}: {}", envoy.log());
    }
}

#[test]
fn jwt_client_spellings_of_a_claim_header_never_reach_the_upstream() {
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = jwt_envoy(target, "", &upstream);
        let good = signed(&claims(r#""alice""#, ""));
        let response = get(&[
            ("x_user", "admin"),
            ("authorization", &good),
            ("X_User", "root"),
            ("x-user", "mallory"),
            ("X-USER", "eve"),
        ])
        .send(envoy.listener_addr())
        .unwrap();
        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        let seen = upstream.take_requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            variants(&seen[0], "x-user"),
            [("x-user".to_owned(), "alice".to_owned())]
        );
    }
}

#[test]
fn jwt_claim_with_control_characters_gets_401_not_a_router_503() {
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = jwt_envoy(target, "", &upstream);
        for sub in [
            r#""alice\r\nx-admin: 1""#,
            r#""alice\nx-admin: 1""#,
            r#""alice\r""#,
            r#""al\u0000ice""#,
            r#""\u001b[31malice""#,
            r#""alice\u007f""#,
        ] {
            let response = get(&[("authorization", &signed(&claims(sub, "")))])
                .send(envoy.listener_addr())
                .unwrap();
            assert_eq!(response.status, 401, "{target}: {sub}\n{}", envoy.log());
            assert_eq!(
                response.text_body(),
                "unauthorized: claim not usable as a header value\n"
            );
            assert!(response.header("x-admin").is_none());
        }
        assert!(upstream.requests().is_empty());
        // The VM is fine: a clean token still passes.
        let response = get(&[("authorization", &signed(&claims(r#""al\tice""#, "")))])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        assert_eq!(upstream.requests()[0].header_str("x-user"), Some("al\tice"));
    }
}

#[test]
fn jwt_audience_and_issuer_are_checked_in_envoy() {
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = jwt_envoy(
            target,
            r#", "audience": "orders", "issuer": "https://idp.example", "leeway_secs": 600"#,
            &upstream,
        );
        let iss = r#","iss":"https://idp.example""#;
        for (extra, status) in [
            (format!(r#","aud":"orders"{iss}"#), 200),
            (format!(r#","aud":["billing","orders"]{iss}"#), 200),
            (iss.to_owned(), 401),
            (format!(r#","aud":"billing"{iss}"#), 401),
            (format!(r#","aud":[]{iss}"#), 401),
            (r#","aud":"orders""#.to_owned(), 401),
            (
                r#","aud":"orders","iss":"https://evil.example""#.to_owned(),
                401,
            ),
        ] {
            let response = get(&[("authorization", &signed(&claims(r#""alice""#, &extra)))])
                .send(envoy.listener_addr())
                .unwrap();
            assert_eq!(
                response.status,
                status,
                "{target}: {extra}\n{}",
                envoy.log()
            );
        }
        assert_eq!(upstream.requests().len(), 2);
    }
}

#[test]
fn envoy_refuses_out_of_range_numbers_and_bad_header_names_naming_the_field() {
    for target in Target::BOTH {
        let upstream = upstream();
        for (config, expected) in [
            (
                format!(r#"{{"mode": "jwt", "secret": "{SECRET}", "leeway_secs": 18446744073709551615}}"#),
                "config.leeway_secs: invalid value: integer `18446744073709551615`, expected an integer from 0 to 600",
            ),
            (
                r#"{"mode": "external", "cluster": "auth", "timeout_ms": -1}"#.to_owned(),
                "config.timeout_ms: invalid value: integer `-1`, expected an integer from 1 to 60000",
            ),
            (
                r#"{"mode": "external", "cluster": "auth", "copy_headers": [":path"]}"#.to_owned(),
                "config.copy_headers[0]: ",
            ),
            (
                format!(r#"{{"mode": "jwt", "secret": "{SECRET}", "claim_headers": {{"sub": "x-user\r\nx-admin: 1"}}}}"#),
                "config.claim_headers.sub: ",
            ),
            (
                r#"{"mode": "api_key", "keys": ["k"], "header": ""}"#.to_owned(),
                "config.header: ",
            ),
        ] {
            let bootstrap = Bootstrap::http()
                .filter(
                    ModuleFilter::local("auth", module(target))
                        .root_id("auth")
                        .config(config.as_str()),
                )
                .cluster("upstream", upstream.addr())
                .cluster("auth", upstream.addr());
            let (status, log) = Envoy::run_expecting_failure(
                &bootstrap,
                EnvoyOptions::default(),
                Duration::from_secs(30),
            )
            .unwrap();
            assert!(!status.success(), "{target}: Envoy accepted {config}:\n{log}");
            assert!(log.contains(expected), "{target}: {expected:?} is not in the log:\n{log}");
        }
    }
}

/// An auth service whose verdict the test picks per request: the status is the value of
/// `x-verdict` (forwarded to it), with the headers a forward-auth service sends.
fn verdict_service() -> Upstream {
    Upstream::start(|request| {
        let status: u16 = request
            .header_str("x-verdict")
            .and_then(|v| v.parse().ok())
            .unwrap_or(500);
        let response = UpstreamResponse::text(status, format!("verdict {status}\n"))
            .with_header("x-internal", "do-not-leak")
            .with_header("x-user", "alice");
        match status {
            300..=399 => response
                .with_header("location", "https://login.example/?next=%2Forders%2F7")
                .with_header("set-cookie", "state=abc; HttpOnly")
                .with_header("set-cookie", "nonce=xyz; Secure"),
            401 => response
                .with_header("www-authenticate", r#"Bearer realm="shop""#)
                .with_header("www-authenticate", r#"Basic realm="shop""#),
            429 => response.with_header("retry-after", "30"),
            _ => response,
        }
    })
    .unwrap()
}

fn verdict_config(on_error: &str) -> String {
    format!(
        r#"{{"mode": "external", "cluster": "auth", "timeout_ms": 2000, "on_error": "{on_error}", "forward_headers": ["x-verdict"], "copy_headers": ["x-user"]}}"#
    )
}

#[test]
fn every_non_2xx_verdict_reaches_the_client_under_both_policies() {
    for target in Target::BOTH {
        for on_error in ["deny", "allow"] {
            let (upstream, service) = (upstream(), verdict_service());
            let envoy = envoy(
                target,
                &verdict_config(on_error),
                &upstream,
                Some(service.addr()),
            );
            for status in [301, 302, 303, 307, 308, 401, 403, 404, 407, 429] {
                let response = get(&[("x-verdict", &status.to_string())])
                    .send(envoy.listener_addr())
                    .unwrap();
                let case = format!("{on_error} {status}");
                assert_eq!(response.status, status, "{target}: {case}\n{}", envoy.log());
                assert_eq!(
                    response.text_body(),
                    format!("verdict {status}\n"),
                    "{case}"
                );
                assert_eq!(response.header_str("x-internal"), None, "{case}");
                assert_eq!(response.header_str("x-user"), None, "{case}");
                if (300..400).contains(&status) {
                    assert_eq!(
                        response.header_str("location"),
                        Some("https://login.example/?next=%2Forders%2F7"),
                        "{case}"
                    );
                    assert_eq!(
                        response.header_all("set-cookie"),
                        [&b"state=abc; HttpOnly"[..], b"nonce=xyz; Secure"],
                        "{case}"
                    );
                }
                if status == 401 {
                    assert_eq!(
                        response.header_all("www-authenticate"),
                        [&br#"Bearer realm="shop""#[..], br#"Basic realm="shop""#]
                    );
                }
                if status == 429 {
                    assert_eq!(response.header_str("retry-after"), Some("30"));
                }
            }
            assert!(
                upstream.requests().is_empty(),
                "{on_error}: no verdict but 2xx lets a request through"
            );
            // 2xx still passes, with the service's `x-user`.
            let response = get(&[("x-verdict", "200"), ("x_user", "admin")])
                .send(envoy.listener_addr())
                .unwrap();
            assert_eq!(response.status, 200, "{target}: {}", envoy.log());
            let forwarded = upstream.take_requests();
            assert_eq!(
                variants(&forwarded[0], "x-user"),
                [("x-user".to_owned(), "alice".to_owned())]
            );
        }
    }
}

#[test]
fn auth_service_5xx_follows_on_error_and_forged_headers_are_removed() {
    for target in Target::BOTH {
        for (on_error, expected) in [("deny", 503), ("allow", 200)] {
            let (upstream, service) = (upstream(), verdict_service());
            let envoy = envoy(
                target,
                &verdict_config(on_error),
                &upstream,
                Some(service.addr()),
            );
            for status in [500, 502, 503, 504] {
                let response = get(&[
                    ("x-verdict", &status.to_string()),
                    ("x_user", "admin"),
                    ("x-user", "root"),
                    ("x_auth_error", "none"),
                ])
                .send(envoy.listener_addr())
                .unwrap();
                assert_eq!(
                    response.status,
                    expected,
                    "{target}: {on_error} {status}\n{}",
                    envoy.log()
                );
                if on_error == "allow" {
                    let forwarded = upstream.take_requests();
                    assert_eq!(forwarded.len(), 1);
                    assert!(variants(&forwarded[0], "x-user").is_empty());
                    assert_eq!(
                        variants(&forwarded[0], "x-auth-error"),
                        [("x-auth-error".to_owned(), format!("status_{status}"))]
                    );
                } else {
                    assert_eq!(response.text_body(), "auth service unavailable\n");
                }
            }
            assert!(upstream.requests().is_empty());
        }
    }
}

/// A hostile auth service: answers a request carrying `x-verdict: N` with `answers[N]`,
/// bytes as they are, then closes the connection. Stops (and joins its thread) on drop.
struct RawService {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RawService {
    fn start(answers: Vec<Vec<u8>>) -> RawService {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 1 << 20 {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let index = head
                    .lines()
                    .find_map(|line| line.strip_prefix("x-verdict:"))
                    .and_then(|n| n.trim().parse::<usize>().ok());
                if let Some(answer) = index.and_then(|i| answers.get(i)) {
                    let _ = conn.write_all(answer);
                }
                let _ = conn.shutdown(Shutdown::Both);
            }
        });
        RawService {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for RawService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Envoy with the auth filter in front of `upstream`, its cluster `auth` at `service`
/// with one request per connection: `RawService` answers once and closes, and Envoy must
/// not send the next callout on a pooled connection that is closing (that would be a
/// `failed` call by timing, not by the answer under test).
fn envoy_one_request_per_connection(
    target: Target,
    config: &str,
    upstream: &Upstream,
    service: SocketAddr,
) -> Envoy {
    let mut auth = proxylet_harness::Cluster::new("auth", service).to_json();
    auth["typed_extension_protocol_options"] = serde_json::json!({
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "common_http_protocol_options": { "max_requests_per_connection": 1 },
            "explicit_http_config": { "http_protocol_options": {} },
        }
    });
    let bootstrap = Bootstrap::http()
        .filter(
            ModuleFilter::local("auth", module(target))
                .root_id("auth")
                .config(config),
        )
        .cluster("upstream", upstream.addr())
        .raw_cluster(auth);
    Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap()
}

/// A hostile answer: its bytes, what the client gets under `deny` and under `allow`, the
/// `location` it gets, and the `x-auth-error` values the upstream may get under `allow`.
type HostileCase = (
    Vec<u8>,
    u16,
    u16,
    Option<&'static str>,
    &'static [&'static str],
);

#[test]
fn hostile_auth_service_answers_never_crash_inject_or_let_through() {
    for target in Target::BOTH {
        let huge = vec![b'x'; 4 << 20];
        let mut huge_403 = format!(
            "HTTP/1.1 403 Forbidden\r\ncontent-length: {}\r\n\r\n",
            huge.len()
        )
        .into_bytes();
        huge_403.extend_from_slice(&huge);
        // The filter judged the answer no verdict.
        const INVALID: &[&str] = &["invalid_answer"];
        // Envoy's codec refused the answer: the callback gets Envoy's own `502` (a protocol
        // error) or, with nothing to parse, a failure.
        const REFUSED: &[&str] = &["status_502", "failed"];
        let cases: Vec<HostileCase> = vec![
            // Two locations: Envoy joins them into one value with `,` (a relative reference
            // on the first one's origin), so neither is picked on its own.
            (
                b"HTTP/1.1 302 Found\r\nlocation: /a\r\nlocation: https://evil.example/\r\ncontent-length: 0\r\n\r\n".to_vec(),
                302,
                302,
                Some("/a,https://evil.example/"),
                &[],
            ),
            // Two content types, two retry-afters: dropped, the verdict stands.
            (
                b"HTTP/1.1 429 Too Many\r\ncontent-type: a/b\r\ncontent-type: c/d\r\nretry-after: 1\r\nretry-after: 2\r\ncontent-length: 0\r\n\r\n".to_vec(),
                429,
                429,
                None,
                &[],
            ),
            // A body far over the bound: the status goes out, the body does not.
            (huge_403, 403, 403, None, &[]),
            // Statuses that are not a verdict (Envoy 1.40 passes `600`, `999`, even `3022`):
            // on_error decides.
            (b"HTTP/1.1 600 Weird\r\ncontent-length: 0\r\n\r\n".to_vec(), 503, 200, None, INVALID),
            (b"HTTP/1.1 999 Weird\r\ncontent-length: 0\r\n\r\n".to_vec(), 503, 200, None, INVALID),
            (b"HTTP/1.1 abc Weird\r\ncontent-length: 0\r\n\r\n".to_vec(), 503, 200, None, REFUSED),
            (b"HTTP/1.1 3022 Found\r\ncontent-length: 0\r\n\r\n".to_vec(), 503, 200, None, INVALID),
            // NUL in a header value: Envoy's codec refuses the answer.
            (b"HTTP/1.1 302 Found\r\nlocation: /a\0b\r\ncontent-length: 0\r\n\r\n".to_vec(), 503, 200, None, REFUSED),
            (b"HTTP/1.1 200 OK\r\nx-user: al\0ice\r\ncontent-length: 0\r\n\r\n".to_vec(), 503, 200, None, REFUSED),
            // A bare CR: Envoy's codec drops it, so one header value arrives, not two headers.
            (
                b"HTTP/1.1 302 Found\r\nlocation: /a\rset-cookie: evil=1\r\ncontent-length: 0\r\n\r\n".to_vec(),
                302,
                302,
                Some("/aset-cookie: evil=1"),
                &[],
            ),
            // A 2xx naming two users: which one? No verdict.
            (b"HTTP/1.1 200 OK\r\nx-user: alice\r\nx-user: root\r\ncontent-length: 0\r\n\r\n".to_vec(), 503, 200, None, INVALID),
            (b"HTTP/1.1 200 OK\r\nx-user: alice\r\nx_user: root\r\ncontent-length: 0\r\n\r\n".to_vec(), 503, 200, None, INVALID),
            // Nothing at all; garbage.
            (b"".to_vec(), 503, 200, None, REFUSED),
            (b"\0\0\0garbage\r\n\r\n".to_vec(), 503, 200, None, REFUSED),
        ];
        let mut answers: Vec<Vec<u8>> = cases.iter().map(|(raw, ..)| raw.clone()).collect();
        answers.push(b"HTTP/1.1 200 OK\r\nx-user: alice\r\ncontent-length: 0\r\n\r\n".to_vec());
        let service = RawService::start(answers);
        for on_error in ["deny", "allow"] {
            let upstream = upstream();
            let envoy = envoy_one_request_per_connection(
                target,
                &verdict_config(on_error),
                &upstream,
                service.addr,
            );
            // Every case is tried, then every difference reported at once.
            let mut wrong = Vec::new();
            for (index, (raw, when_denied, when_allowed, location, reasons)) in
                cases.iter().enumerate()
            {
                let expected = if on_error == "deny" {
                    *when_denied
                } else {
                    *when_allowed
                };
                let shown = String::from_utf8_lossy(&raw[..raw.len().min(100)]).into_owned();
                let response = get(&[("x-verdict", &index.to_string()), ("x_user", "admin")])
                    .send(envoy.listener_addr())
                    .unwrap();
                let forwarded = upstream.take_requests();
                let seen = format!(
                    "status {}, location {:?}, set-cookie {:?}, body {} bytes, forwarded {} (x-user {:?}, x-auth-error {:?})",
                    response.status,
                    response.header_str("location"),
                    response.header_str("set-cookie"),
                    response.body.len(),
                    forwarded.len(),
                    forwarded.first().map(|r| variants(r, "x-user")),
                    forwarded.first().and_then(|r| r.header_str("x-auth-error")),
                );
                let location_ok = match response.header_all("location").as_slice() {
                    [] => location.is_none(),
                    [one] => location.is_some_and(|l| l.as_bytes() == *one),
                    _ => false,
                };
                let ok = response.status == expected
                    && response.header("set-cookie").is_none()
                    && response.body.len() <= MAX_VERDICT_BODY
                    && location_ok
                    && if expected == 200 {
                        forwarded.len() == 1
                            && variants(&forwarded[0], "x-user").is_empty()
                            && forwarded[0]
                                .header_str("x-auth-error")
                                .is_some_and(|reason| reasons.contains(&reason))
                    } else {
                        forwarded.is_empty()
                    };
                if !ok {
                    wrong.push(format!(
                        "{on_error} {shown:?}: expected {expected}, got {seen}"
                    ));
                }
                eprintln!("{on_error} {shown:?}: {seen}");
            }
            assert!(wrong.is_empty(), "{}\n{}", wrong.join("\n"), envoy.log());
            // Still alive: a plain 2xx passes with its user.
            let response = get(&[("x-verdict", &cases.len().to_string()), ("x_user", "admin")])
                .send(envoy.listener_addr())
                .unwrap();
            assert_eq!(response.status, 200, "{target}: {}", envoy.log());
            assert_eq!(
                variants(&upstream.take_requests()[0], "x-user"),
                [("x-user".to_owned(), "alice".to_owned())]
            );
            let log = envoy.log();
            assert!(!log.contains("panicked"), "{target}: a VM panicked:\n{log}");
        }
    }
}
