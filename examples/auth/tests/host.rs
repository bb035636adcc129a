//! The auth filter on the test host: natively, no wasm, no Envoy. Every path of the three
//! modes, callouts answered, failed, timed out and refused.

use auth::__PROXYLET_FILTERS;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proxylet::testing::{Host, HttpStream, Plugin, Verdict};
use sha2::Sha256;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// The test host's clock: 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;

fn start(config: &str) -> (Host, Plugin) {
    let host = Host::native(__PROXYLET_FILTERS);
    let plugin = host.plugin("auth").config(config).start().unwrap();
    (host, plugin)
}

fn get(stream: &mut HttpStream, extra: &[(&str, &str)]) -> Verdict {
    let mut headers = vec![
        (":method", "GET"),
        (":path", "/orders/7"),
        (":authority", "shop"),
    ];
    headers.extend_from_slice(extra);
    stream.request_headers(&headers, true)
}

fn reply_text(stream: &HttpStream) -> (u16, String) {
    let reply = stream.local_reply().expect("a local reply");
    (
        reply.status,
        String::from_utf8_lossy(&reply.body).into_owned(),
    )
}

fn reply_header(stream: &HttpStream, name: &str) -> Option<String> {
    let reply = stream.local_reply()?;
    reply
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

fn header(stream: &HttpStream, name: &str) -> Option<String> {
    stream
        .request_header(name)
        .map(|v| String::from_utf8(v).unwrap())
}

// ---- api_key ----------------------------------------------------------------------

const API_KEYS: &str = r#"{"mode": "api_key", "keys": ["k-alpha", "k-beta"]}"#;

#[test]
fn api_key_configured_key_passes() {
    let (_host, plugin) = start(API_KEYS);
    for key in ["k-alpha", "k-beta"] {
        let mut stream = plugin.http_stream();
        assert_eq!(get(&mut stream, &[("x-api-key", key)]), Verdict::Continue);
        assert_eq!(stream.local_reply(), None);
    }
}

#[test]
fn api_key_missing_or_wrong_gets_401_with_a_challenge() {
    let (_host, plugin) = start(API_KEYS);
    for (headers, why) in [
        (vec![], "missing API key"),
        (vec![("x-api-key", "k-alph")], "invalid API key"),
        (vec![("x-api-key", "k-alphaa")], "invalid API key"),
        (vec![("authorization", "k-alpha")], "missing API key"),
    ] {
        let mut stream = plugin.http_stream();
        assert_eq!(get(&mut stream, &headers), Verdict::Pause);
        assert_eq!(reply_text(&stream), (401, format!("unauthorized: {why}\n")));
        assert_eq!(
            reply_header(&stream, "www-authenticate").as_deref(),
            Some(r#"ApiKey header="x-api-key""#)
        );
    }
}

#[test]
fn api_key_header_name_is_configurable() {
    let (_host, plugin) = start(r#"{"mode": "api_key", "keys": ["s3"], "header": "X-Token"}"#);
    let mut stream = plugin.http_stream();
    assert_eq!(get(&mut stream, &[("x-token", "s3")]), Verdict::Continue);
    let mut stream = plugin.http_stream();
    assert_eq!(get(&mut stream, &[("x-api-key", "s3")]), Verdict::Pause);
    assert_eq!(reply_text(&stream).0, 401);
}

#[test]
fn api_key_config_without_keys_is_refused() {
    let host = Host::native(__PROXYLET_FILTERS);
    let rejected = host
        .plugin("auth")
        .config(r#"{"mode": "api_key", "keys": []}"#)
        .start()
        .err()
        .expect("refused");
    assert_eq!(
        rejected.errors,
        ["auth: config.keys: give at least one key, none of them empty"]
    );
}

#[test]
fn unknown_mode_and_unknown_field_are_refused() {
    let host = Host::native(__PROXYLET_FILTERS);
    let rejected = host
        .plugin("auth")
        .config(r#"{"mode": "basic"}"#)
        .start()
        .err()
        .expect("refused");
    assert!(
        rejected.errors[0]
            .contains("unknown variant `basic`, expected one of `api_key`, `jwt`, `external`"),
        "{rejected}"
    );
    let rejected = host
        .plugin("auth")
        .config(r#"{"mode": "api_key", "keys": ["k"], "hedaer": "x"}"#)
        .start()
        .err()
        .expect("refused");
    assert!(
        rejected.errors[0].contains("unknown field `hedaer`"),
        "{rejected}"
    );
}

// ---- jwt --------------------------------------------------------------------------

/// Signs `claims` with HS256 (or the given `alg` in the header, signed the same way).
fn token(alg: &str, claims: &str, secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": alg, "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{signature}")
}

fn jwt_config(extra: &str) -> String {
    format!(
        r#"{{"mode": "jwt", "secret": "{SECRET}", "claim_headers": {{"sub": "x-user"}}{extra}}}"#
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A token made by Python's `hmac` (not by this crate's dependencies): `{"sub":"alice",
/// "exp":4102444800}` signed with `SECRET`.
const PYTHON_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.DvdDttFvdgTOXtC2L5P1zfs2bIMtiEwN3al4EAHYyf8";

#[test]
fn jwt_valid_token_passes_and_its_claim_replaces_a_forged_header() {
    let (_host, plugin) = start(&jwt_config(""));
    let mut stream = plugin.http_stream();
    let verdict = get(
        &mut stream,
        &[
            ("authorization", &bearer(PYTHON_TOKEN)),
            ("x-user", "mallory"),
        ],
    );
    assert_eq!(verdict, Verdict::Continue);
    assert_eq!(stream.local_reply(), None);
    let users: Vec<_> = stream
        .request_headers_now()
        .into_iter()
        .filter(|(n, _)| n == b"x-user")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(users, [b"alice".to_vec()]);
}

#[test]
fn jwt_scheme_is_case_insensitive() {
    let (_host, plugin) = start(&jwt_config(""));
    let mut stream = plugin.http_stream();
    let value = format!("bearer  {PYTHON_TOKEN}");
    assert_eq!(
        get(&mut stream, &[("authorization", &value)]),
        Verdict::Continue
    );
}

fn jwt_refusal(config: &str, authorization: Option<&str>) -> (u16, String, String) {
    let (_host, plugin) = start(config);
    let mut stream = plugin.http_stream();
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| ("authorization", a))
        .into_iter()
        .collect();
    assert_eq!(get(&mut stream, &headers), Verdict::Pause);
    let (status, body) = reply_text(&stream);
    (
        status,
        body,
        reply_header(&stream, "www-authenticate").unwrap(),
    )
}

#[test]
fn jwt_missing_token_gets_a_bare_bearer_challenge() {
    for authorization in [
        None,
        Some("Basic YWxpY2U6cHc="),
        Some("Bearer "),
        Some("Bearer"),
    ] {
        let (status, body, challenge) = jwt_refusal(&jwt_config(""), authorization);
        assert_eq!(status, 401, "{authorization:?}");
        assert_eq!(body, "unauthorized: missing bearer token\n");
        assert_eq!(challenge, r#"Bearer realm="proxylet""#);
    }
}

#[test]
fn jwt_expired_token_is_refused_with_invalid_token() {
    let expired = token("HS256", &format!(r#"{{"sub":"a","exp":{NOW}}}"#), SECRET);
    let (status, body, challenge) = jwt_refusal(&jwt_config(""), Some(&bearer(&expired)));
    assert_eq!(status, 401);
    assert_eq!(body, "unauthorized: token expired\n");
    assert_eq!(
        challenge,
        r#"Bearer realm="proxylet", error="invalid_token", error_description="token expired""#
    );
}

#[test]
fn jwt_leeway_accepts_a_just_expired_token() {
    let (_host, plugin) = start(&jwt_config(r#", "leeway_secs": 30"#));
    let just_expired = token("HS256", &format!(r#"{{"exp":{}}}"#, NOW - 10), SECRET);
    let mut stream = plugin.http_stream();
    assert_eq!(
        get(&mut stream, &[("authorization", &bearer(&just_expired))]),
        Verdict::Continue
    );
    let long_expired = token("HS256", &format!(r#"{{"exp":{}}}"#, NOW - 31), SECRET);
    let mut stream = plugin.http_stream();
    assert_eq!(
        get(&mut stream, &[("authorization", &bearer(&long_expired))]),
        Verdict::Pause
    );
}

#[test]
fn jwt_expiry_follows_the_host_clock() {
    let (host, plugin) = start(&jwt_config(""));
    let soon = token("HS256", &format!(r#"{{"exp":{}}}"#, NOW + 60), SECRET);
    let mut stream = plugin.http_stream();
    assert_eq!(
        get(&mut stream, &[("authorization", &bearer(&soon))]),
        Verdict::Continue
    );
    host.advance(std::time::Duration::from_secs(61));
    let mut stream = plugin.http_stream();
    assert_eq!(
        get(&mut stream, &[("authorization", &bearer(&soon))]),
        Verdict::Pause
    );
    assert_eq!(reply_text(&stream).1, "unauthorized: token expired\n");
}

#[test]
fn jwt_bad_tokens_are_refused_each_with_its_reason() {
    let future = format!(r#"{{"exp":{}}}"#, NOW + 3600);
    let other_secret = "another-secret-that-is-long-enough!!";
    let mut tampered = token("HS256", &future, SECRET);
    tampered.replace_range(tampered.len() - 2.., "AA");
    let cases = [
        (token("HS256", &future, other_secret), "bad signature"),
        (tampered, "bad signature"),
        (
            token("none", &future, SECRET),
            "unsupported algorithm none, expected HS256",
        ),
        (
            token("HS512", &future, SECRET),
            "unsupported algorithm HS512, expected HS256",
        ),
        (
            token("HS256", r#"{"sub":"a"}"#, SECRET),
            "token has no exp claim",
        ),
        (
            token("HS256", r#"{"exp":"tomorrow"}"#, SECRET),
            "token has no exp claim",
        ),
        (
            token(
                "HS256",
                &format!(r#"{{"exp":{},"nbf":{}}}"#, NOW + 3600, NOW + 60),
                SECRET,
            ),
            "token not valid yet",
        ),
        (
            token("\"\r\nx-evil: 1 and then a long name", &future, SECRET),
            r#"unsupported algorithm \"\r\nx-evil: 1 and, expected HS256"#,
        ),
        ("a.b".to_owned(), "malformed token"),
        ("a.b.c.d".to_owned(), "malformed token"),
        ("!!.??.**".to_owned(), "malformed token"),
        (format!("{PYTHON_TOKEN}x"), "bad signature"),
        (format!("{PYTHON_TOKEN}&"), "malformed token"),
    ];
    for (token, why) in cases {
        let (status, body, challenge) = jwt_refusal(&jwt_config(""), Some(&bearer(&token)));
        assert_eq!(
            (status, body),
            (401, format!("unauthorized: {why}\n")),
            "{token}"
        );
        assert!(
            challenge.ends_with(&format!(r#"error_description="{why}""#)),
            "{challenge}"
        );
    }
}

#[test]
fn jwt_secret_shorter_than_32_bytes_is_refused() {
    let host = Host::native(__PROXYLET_FILTERS);
    let rejected = host
        .plugin("auth")
        .config(r#"{"mode": "jwt", "secret": "your-256-bit-secret"}"#)
        .start()
        .err()
        .expect("refused");
    assert_eq!(
        rejected.errors,
        ["auth: config.secret: an HS256 secret needs at least 32 bytes, this one has 19"]
    );
}

// ---- external ---------------------------------------------------------------------

fn external(extra: &str) -> String {
    format!(
        r#"{{"mode": "external", "cluster": "authz", "timeout_ms": 250, "copy_headers": ["x-user"]{extra}}}"#
    )
}

// ANCHOR: call
/// Starts a request that makes the callout; returns the stream and the callout's token.
fn call(plugin: &Plugin) -> (HttpStream, u32) {
    let mut stream = plugin.http_stream();
    let verdict = get(
        &mut stream,
        &[
            ("authorization", "Bearer t0k"),
            ("cookie", "secret"),
            ("x-user", "forged"),
        ],
    );
    assert_eq!(
        verdict,
        Verdict::Pause,
        "the request waits for the auth service"
    );
    let calls = stream.callouts();
    assert_eq!(calls.len(), 1);
    (stream, calls[0].token)
}
// ANCHOR_END: call

#[test]
fn external_callout_carries_the_configured_request_parts() {
    let (_host, plugin) = start(&external(r#", "path": "/v1/authorize""#));
    let (stream, _) = call(&plugin);
    let callout = &stream.callouts()[0];
    assert_eq!(callout.cluster, "authz");
    assert_eq!(callout.timeout, std::time::Duration::from_millis(250));
    assert_eq!(callout.header(":method"), Some(&b"GET"[..]));
    assert_eq!(callout.header(":path"), Some(&b"/v1/authorize"[..]));
    assert_eq!(callout.header("authorization"), Some(&b"Bearer t0k"[..]));
    assert_eq!(callout.header("x-original-path"), Some(&b"/orders/7"[..]));
    assert_eq!(callout.header("x-original-method"), Some(&b"GET"[..]));
    assert_eq!(
        callout.header("cookie"),
        None,
        "only `forward_headers` are sent"
    );
}

#[test]
fn external_200_resumes_the_request_with_the_copied_header() {
    let (host, plugin) = start(&external(""));
    let (stream, token) = call(&plugin);
    assert!(host.respond_to_call(token, 200, &[("x-user", "alice")], b""));
    assert!(stream.request_resumed());
    assert_eq!(stream.local_reply(), None);
    assert_eq!(header(&stream, "x-user").as_deref(), Some("alice"));
}

#[test]
fn external_200_without_the_header_still_drops_the_forged_one() {
    let (host, plugin) = start(&external(""));
    let (stream, token) = call(&plugin);
    host.respond_to_call(token, 204, &[], b"");
    assert!(stream.request_resumed());
    assert_eq!(header(&stream, "x-user"), None);
}

#[test]
fn external_403_is_passed_to_the_client() {
    let (host, plugin) = start(&external(""));
    let (stream, token) = call(&plugin);
    host.respond_to_call(
        token,
        403,
        &[("content-type", "text/plain")],
        b"no orders for you\n",
    );
    assert!(!stream.request_resumed());
    assert_eq!(reply_text(&stream), (403, "no orders for you\n".into()));
    assert_eq!(
        reply_header(&stream, "content-type").as_deref(),
        Some("text/plain")
    );
    assert_eq!(stream.local_reply().unwrap().details, "auth_denied");
}

#[test]
fn external_401_keeps_the_service_s_challenge() {
    let (host, plugin) = start(&external(""));
    let (stream, token) = call(&plugin);
    host.respond_to_call(token, 401, &[("www-authenticate", "Bearer")], b"");
    assert_eq!(reply_text(&stream).0, 401);
    assert_eq!(
        reply_header(&stream, "www-authenticate").as_deref(),
        Some("Bearer")
    );
}

/// With `on_error: deny`: 503, with the reason in the reply's details (Envoy's
/// `%RESPONSE_CODE_DETAILS%`).
fn assert_denied(stream: &HttpStream, reason: &str) {
    assert!(!stream.request_resumed());
    assert_eq!(
        reply_text(stream),
        (503, "auth service unavailable\n".into())
    );
    assert_eq!(
        stream.local_reply().unwrap().details,
        format!("auth_service_{reason}")
    );
}

/// With `on_error: allow`: resumed, the reason in `x-auth-error`, nothing copied.
fn assert_allowed(stream: &HttpStream, reason: &str) {
    assert!(stream.request_resumed());
    assert_eq!(stream.local_reply(), None);
    assert_eq!(header(stream, "x-auth-error").as_deref(), Some(reason));
}

#[test]
fn external_failure_is_denied_by_default() {
    let (host, plugin) = start(&external(""));
    let (stream, token) = call(&plugin);
    assert!(host.fail_call(token));
    assert_denied(&stream, "failed");
}

#[test]
fn external_failure_is_let_through_with_on_error_allow() {
    let (host, plugin) = start(&external(r#", "on_error": "allow""#));
    let (stream, token) = call(&plugin);
    host.fail_call(token);
    assert_allowed(&stream, "failed");
}

// ANCHOR: timeout
#[test]
fn external_timeout_follows_on_error() {
    let (host, plugin) = start(&external(r#", "on_error": "deny""#));
    let (stream, token) = call(&plugin);
    assert!(host.time_out_call(token));
    assert_denied(&stream, "timeout");

    let (host, plugin) = start(&external(r#", "on_error": "allow""#));
    let (stream, token) = call(&plugin);
    host.time_out_call(token);
    assert_allowed(&stream, "timeout");
}
// ANCHOR_END: timeout

#[test]
fn external_5xx_is_no_verdict() {
    let (host, plugin) = start(&external(""));
    let (stream, token) = call(&plugin);
    host.respond_to_call(token, 503, &[], b"upstream connect error");
    assert_denied(&stream, "status_503");

    let (host, plugin) = start(&external(r#", "on_error": "allow""#));
    let (stream, token) = call(&plugin);
    host.respond_to_call(token, 500, &[("x-user", "root")], b"");
    assert_allowed(&stream, "status_500");
    assert_eq!(
        header(&stream, "x-user").as_deref(),
        Some("forged"),
        "nothing copied from a 5xx"
    );
}

#[test]
fn external_call_to_an_unknown_cluster_is_rejected_at_once() {
    for (on_error, denied) in [("deny", true), ("allow", false)] {
        let (host, plugin) = start(&external(&format!(r#", "on_error": "{on_error}""#)));
        host.set_clusters(&["some-other-cluster"]);
        let mut stream = plugin.http_stream();
        let verdict = get(&mut stream, &[]);
        assert!(stream.callouts().is_empty());
        if denied {
            assert_eq!(verdict, Verdict::Pause);
            assert_denied(&stream, "rejected");
        } else {
            // Decided in the hook itself: no pause, nothing to resume.
            assert_eq!(verdict, Verdict::Continue);
            assert_eq!(header(&stream, "x-auth-error").as_deref(), Some("rejected"));
        }
    }
}

#[test]
fn external_callout_of_a_finished_stream_is_dropped() {
    let (host, plugin) = start(&external(""));
    let (stream, token) = call(&plugin);
    let id = stream.id();
    stream.complete().unwrap();
    assert!(
        !host.respond_to_call(token, 200, &[], b""),
        "cancelled with the stream"
    );
    assert!(host.callouts().iter().all(|c| c.context_id != id));
}

#[test]
fn external_config_is_checked() {
    let host = Host::native(__PROXYLET_FILTERS);
    for (config, error) in [
        (
            r#"{"mode": "external", "cluster": ""}"#,
            "auth: config.cluster: name the auth service's cluster",
        ),
        (
            r#"{"mode": "external", "cluster": "a", "path": "check"}"#,
            "auth: config.path: the path must start with `/`",
        ),
        (
            r#"{"mode": "external", "cluster": "a", "timeout_ms": 0}"#,
            "auth: config.timeout_ms: the timeout must be above 0",
        ),
    ] {
        let rejected = host
            .plugin("auth")
            .config(config)
            .start()
            .err()
            .expect(config);
        assert_eq!(rejected.errors, [error]);
    }
    let rejected = host
        .plugin("auth")
        .config(r#"{"mode": "external", "cluster": "a", "on_error": "maybe"}"#)
        .start()
        .err()
        .expect("refused");
    assert!(
        rejected.errors[0].contains("unknown variant `maybe`, expected `deny` or `allow`"),
        "{rejected}"
    );
}
