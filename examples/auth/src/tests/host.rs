//! The auth filter on the test host: natively, no wasm, no Envoy. Every path of the three
//! modes, callouts answered, failed, timed out and refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proxylet_testkit::{module, Host, HttpStream, TestPlugin, Verdict};
use sha2::Sha256;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// The test host's clock: 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;

fn start(config: &str) -> (Host, TestPlugin) {
    let host = Host::native(module!());
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
    let host = Host::native(module!());
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
    let host = Host::native(module!());
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
    let host = Host::native(module!());
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
fn call(plugin: &TestPlugin) -> (HttpStream, u32) {
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

#[test]
fn external_unforwardable_client_header_is_400_under_both_policies() {
    // The SDK refuses to forward control bytes (Envoy 1.40's codecs refuse them before the
    // filter; another host may not), and that must never count as "the service is down"
    // (`allow` would skip auth).
    for policy in ["deny", "allow"] {
        for value in ["Bearer \u{1}", "Bearer a\u{7f}b", "\u{1b}[31m"] {
            let (_host, plugin) = start(&external(&format!(r#", "on_error": "{policy}""#)));
            let mut stream = plugin.http_stream();
            get(&mut stream, &[("authorization", value)]);
            assert!(
                stream.callouts().is_empty(),
                "{policy} {value:?}: nothing sent"
            );
            let (status, body) = reply_text(&stream);
            assert_eq!(status, 400, "{policy} {value:?}: {body}");
            assert_eq!(header(&stream, "x-auth-error"), None);
        }
    }
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
        header(&stream, "x-user"),
        None,
        "nothing copied from a 5xx, and the client's own is removed"
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
    let host = Host::native(module!());
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
            "auth: config.timeout_ms: invalid value: integer `0`, expected an integer from 1 to 60000",
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

// ---- hostile input: repeated headers, variants, controls, bounds -----------------------

/// The normalized form of a header name: ASCII lowercase, `_` read as `-` (how CGI, WSGI,
/// Rack and PHP upstreams see it: `x_user` and `X-User` are both `HTTP_X_USER`).
fn normalized(name: &[u8]) -> Vec<u8> {
    name.iter()
        .map(|b| {
            if *b == b'_' {
                b'-'
            } else {
                b.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Every request header (any case, `_` or `-`) that an upstream would read as `name`.
fn request_variants(stream: &HttpStream, name: &str) -> Vec<(String, String)> {
    stream
        .request_headers_now()
        .into_iter()
        .filter(|(n, _)| normalized(n) == normalized(name.as_bytes()))
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(&n).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect()
}

/// `400`, the reason in the body, nothing let through.
fn assert_ambiguous(stream: &HttpStream, header: &str, case: &str) {
    assert!(!stream.request_resumed(), "{case}");
    assert_eq!(
        reply_text(stream),
        (400, format!("bad request: repeated {header} header\n")),
        "{case}"
    );
    assert_eq!(stream.local_reply().unwrap().details, "auth_ambiguous");
}

/// Starts `config` and returns why it was refused.
fn refused(config: &str) -> Vec<String> {
    let host = Host::native(module!());
    match host.plugin("auth").config(config).start() {
        Ok(_) => panic!("accepted: {config}"),
        Err(rejected) => rejected.errors,
    }
}

#[test]
fn api_key_repeated_in_any_case_or_underscore_spelling_gets_400() {
    let (_host, plugin) = start(API_KEYS);
    for headers in [
        // A good key next to anything: never "first wins".
        vec![("x-api-key", "k-alpha"), ("x-api-key", "anything")],
        // Junk first, a good key second: never "last wins" either.
        vec![("x-api-key", "junk"), ("x-api-key", "k-beta")],
        vec![("x-api-key", "k-alpha"), ("x-api-key", "k-alpha")],
        vec![("x-api-key", "k-alpha"), ("X-API-KEY", "junk")],
        vec![("X-Api-Key", "junk"), ("x-api-key", "k-alpha")],
        vec![("x-api-key", "k-alpha"), ("x_api_key", "junk")],
        vec![("x_api_key", "junk"), ("x-api-key", "k-alpha")],
        vec![("X_API_KEY", "junk"), ("x-api-key", "k-alpha")],
        // How Envoy hands over some repeated headers: joined with `,` (no key holds one).
        // (A key sent once as `x_api_key` counts as `x-api-key`: see below.)
        vec![("x-api-key", "k-alpha,junk")],
        vec![("x-api-key", "junk, k-alpha")],
    ] {
        let mut stream = plugin.http_stream();
        assert_eq!(get(&mut stream, &headers), Verdict::Pause, "{headers:?}");
        assert_ambiguous(&stream, "x-api-key", &format!("{headers:?}"));
    }
    // Sent once, in another spelling: that is the key header, once.
    let mut stream = plugin.http_stream();
    assert_eq!(
        get(&mut stream, &[("X_Api_Key", "k-beta")]),
        Verdict::Continue
    );
    // The configured header name, in any spelling.
    let (_host, plugin) = start(r#"{"mode": "api_key", "keys": ["s3"], "header": "X-Token"}"#);
    let mut stream = plugin.http_stream();
    get(&mut stream, &[("x-token", "s3"), ("x_token", "s3")]);
    assert_ambiguous(&stream, "x-token", "x-token twice");
}

#[test]
fn api_key_config_refuses_bad_header_names_and_unusable_keys() {
    for (config, path) in [
        (
            r#"{"mode": "api_key", "keys": ["k"], "header": ""}"#,
            "config.header",
        ),
        (
            r#"{"mode": "api_key", "keys": ["k"], "header": "x api key"}"#,
            "config.header",
        ),
        (
            r#"{"mode": "api_key", "keys": ["k"], "header": ":path"}"#,
            "config.header",
        ),
        (
            r#"{"mode": "api_key", "keys": ["k"], "header": "x-key\r\nx-evil: 1"}"#,
            "config.header",
        ),
        (
            r#"{"mode": "api_key", "keys": ["k"], "header": "x-key\u0000"}"#,
            "config.header",
        ),
        (
            r#"{"mode": "api_key", "keys": ["k"], "header": "content-length"}"#,
            "config.header",
        ),
        (
            r#"{"mode": "api_key", "keys": ["k", "a,b"]}"#,
            "config.keys[1]",
        ),
        (
            r#"{"mode": "api_key", "keys": ["k\r\nx-evil: 1"]}"#,
            "config.keys[0]",
        ),
        (
            r#"{"mode": "api_key", "keys": ["k\u0000"]}"#,
            "config.keys[0]",
        ),
        (r#"{"mode": "api_key", "keys": [" k"]}"#, "config.keys[0]"),
        (
            r#"{"mode": "api_key", "keys": ["k", ""]}"#,
            "config.keys[1]",
        ),
    ] {
        let errors = refused(config);
        assert_eq!(errors.len(), 1, "{config}: {errors:?}");
        assert!(
            errors[0].starts_with(&format!("auth: {path}: ")),
            "{config}: {errors:?}"
        );
    }
    assert_eq!(
        refused(r#"{"mode": "api_key", "keys": ["k", "a,b"]}"#),
        ["auth: config.keys[1]: a key cannot hold `,` (Envoy joins repeated headers with it)"]
    );
}

#[test]
fn jwt_repeated_authorization_gets_400() {
    let (_host, plugin) = start(&jwt_config(""));
    let good = bearer(PYTHON_TOKEN);
    let junk = bearer("junk.junk.junk");
    let joined = format!("{good},{junk}");
    let joined_spaced = format!("{junk}, {good}");
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
        vec![
            ("AUTHORIZATION", junk.as_str()),
            ("authorization", good.as_str()),
        ],
        // What Envoy delivers for repeated `authorization` headers: one value, joined.
        vec![("authorization", joined.as_str())],
        vec![("authorization", joined_spaced.as_str())],
    ] {
        let mut stream = plugin.http_stream();
        assert_eq!(get(&mut stream, &headers), Verdict::Pause, "{headers:?}");
        assert_ambiguous(&stream, "authorization", &format!("{headers:?}"));
    }
}

#[test]
fn jwt_client_sent_variants_of_claim_headers_never_reach_the_upstream() {
    let config = format!(
        r#"{{"mode": "jwt", "secret": "{SECRET}", "claim_headers": {{"sub": "x-user", "role": "x-role"}}}}"#
    );
    let (_host, plugin) = start(&config);
    let mut stream = plugin.http_stream();
    let verdict = get(
        &mut stream,
        &[
            ("authorization", &bearer(PYTHON_TOKEN)),
            ("x_user", "admin"),
            ("X-User", "mallory"),
            ("X_USER", "root"),
            ("x-user", "eve"),
            // The token has no `role`: every spelling the client sent is removed anyway.
            ("x_role", "admin"),
            ("X-Role", "admin"),
        ],
    );
    assert_eq!(verdict, Verdict::Continue);
    assert_eq!(
        request_variants(&stream, "x-user"),
        [("x-user".to_owned(), "alice".to_owned())]
    );
    assert_eq!(request_variants(&stream, "x-role"), []);
    // Unrelated headers stay.
    assert_eq!(header(&stream, ":path").as_deref(), Some("/orders/7"));
}

#[test]
fn jwt_claim_that_cannot_be_a_header_value_gets_401() {
    let (_host, plugin) = start(&jwt_config(""));
    let exp = NOW + 3600;
    for sub in [
        "alice\r\nx-admin: 1",
        "alice\nx-admin: 1",
        "alice\r",
        "al\u{0}ice",
        "\u{1b}[31malice",
        "alice\u{7f}",
        "\u{b}",
    ] {
        let claims = serde_json::json!({"sub": sub, "exp": exp}).to_string();
        let mut stream = plugin.http_stream();
        let verdict = get(
            &mut stream,
            &[("authorization", &bearer(&token("HS256", &claims, SECRET)))],
        );
        assert_eq!(verdict, Verdict::Pause, "{sub:?}");
        assert_eq!(
            reply_text(&stream),
            (
                401,
                "unauthorized: claim not usable as a header value\n".into()
            ),
            "{sub:?}"
        );
        assert!(request_variants(&stream, "x-user").is_empty());
    }
    // A tab and non-ASCII text are valid header values.
    for sub in ["alice\tsmith", "jöhn", ""] {
        let claims = serde_json::json!({"sub": sub, "exp": exp}).to_string();
        let mut stream = plugin.http_stream();
        let verdict = get(
            &mut stream,
            &[("authorization", &bearer(&token("HS256", &claims, SECRET)))],
        );
        assert_eq!(verdict, Verdict::Continue, "{sub:?}");
        assert_eq!(header(&stream, "x-user").as_deref(), Some(sub));
    }
}

#[test]
fn jwt_audience_and_issuer_are_checked_when_configured() {
    let config = jwt_config(r#", "audience": "orders", "issuer": "https://idp.example""#);
    let (_host, plugin) = start(&config);
    let exp = NOW + 3600;
    let cases = [
        (
            serde_json::json!({"aud": "orders", "iss": "https://idp.example"}),
            None,
        ),
        (
            serde_json::json!({"aud": ["billing", "orders"], "iss": "https://idp.example"}),
            None,
        ),
        (
            serde_json::json!({"iss": "https://idp.example"}),
            Some("token has no aud claim"),
        ),
        (
            serde_json::json!({"aud": null, "iss": "https://idp.example"}),
            Some("token has no aud claim"),
        ),
        (
            serde_json::json!({"aud": "billing", "iss": "https://idp.example"}),
            Some("token not meant for this audience"),
        ),
        (
            serde_json::json!({"aud": "Orders", "iss": "https://idp.example"}),
            Some("token not meant for this audience"),
        ),
        (
            serde_json::json!({"aud": [], "iss": "https://idp.example"}),
            Some("token not meant for this audience"),
        ),
        (
            serde_json::json!({"aud": [["orders"]], "iss": "https://idp.example"}),
            Some("token not meant for this audience"),
        ),
        (
            serde_json::json!({"aud": 7, "iss": "https://idp.example"}),
            Some("token not meant for this audience"),
        ),
        (
            serde_json::json!({"aud": {"orders": true}, "iss": "https://idp.example"}),
            Some("token not meant for this audience"),
        ),
        (
            serde_json::json!({"aud": "orders"}),
            Some("token has no iss claim"),
        ),
        (
            serde_json::json!({"aud": "orders", "iss": "https://evil.example"}),
            Some("token issuer not trusted"),
        ),
        (
            serde_json::json!({"aud": "orders", "iss": "https://idp.example/"}),
            Some("token issuer not trusted"),
        ),
        (
            serde_json::json!({"aud": "orders", "iss": ["https://idp.example"]}),
            Some("token issuer not trusted"),
        ),
    ];
    for (mut claims, why) in cases {
        claims["exp"] = exp.into();
        let claims = claims.to_string();
        let mut stream = plugin.http_stream();
        let verdict = get(
            &mut stream,
            &[("authorization", &bearer(&token("HS256", &claims, SECRET)))],
        );
        match why {
            None => assert_eq!(verdict, Verdict::Continue, "{claims}"),
            Some(why) => {
                assert_eq!(verdict, Verdict::Pause, "{claims}");
                assert_eq!(
                    reply_text(&stream),
                    (401, format!("unauthorized: {why}\n")),
                    "{claims}"
                );
                assert!(reply_header(&stream, "www-authenticate")
                    .unwrap()
                    .ends_with(&format!(r#"error_description="{why}""#)));
            }
        }
    }
    // Without `audience` and `issuer`, neither claim is looked at.
    let (_host, plugin) = start(&jwt_config(""));
    let claims = serde_json::json!({"aud": "anyone", "iss": "anybody", "exp": exp}).to_string();
    let mut stream = plugin.http_stream();
    let verdict = get(
        &mut stream,
        &[("authorization", &bearer(&token("HS256", &claims, SECRET)))],
    );
    assert_eq!(verdict, Verdict::Continue);
}

#[test]
fn jwt_hostile_numeric_dates_are_judged_without_overflow() {
    // The largest leeway accepted: sums with it must not overflow either.
    let (_host, plugin) = start(&jwt_config(r#", "leeway_secs": 600"#));
    let cases = [
        // (claims, accepted or the reason)
        (format!(r#"{{"exp":{}}}"#, u64::MAX), Ok(())),
        (format!(r#"{{"exp":{}}}"#, u64::MAX - 1), Ok(())),
        (r#"{"exp":1e300}"#.to_owned(), Ok(())),
        (format!(r#"{{"exp":{}.5}}"#, NOW + 10), Ok(())),
        (format!(r#"{{"exp":{}}}"#, NOW - 600), Err("token expired")),
        (
            format!(r#"{{"exp":{}.9}}"#, NOW - 601),
            Err("token expired"),
        ),
        (r#"{"exp":0}"#.to_owned(), Err("token expired")),
        (r#"{"exp":-1}"#.to_owned(), Err("token has no exp claim")),
        (
            format!(r#"{{"exp":{}}}"#, i64::MIN),
            Err("token has no exp claim"),
        ),
        (
            r#"{"exp":-1e300}"#.to_owned(),
            Err("token has no exp claim"),
        ),
        (
            r#"{"exp":"4102444800"}"#.to_owned(),
            Err("token has no exp claim"),
        ),
        (r#"{"exp":null}"#.to_owned(), Err("token has no exp claim")),
        (r#"{"exp":true}"#.to_owned(), Err("token has no exp claim")),
        (
            r#"{"exp":[4102444800]}"#.to_owned(),
            Err("token has no exp claim"),
        ),
        // A number JSON parsers cannot hold.
        (r#"{"exp":1e400}"#.to_owned(), Err("malformed token")),
        (
            format!(r#"{{"exp":{},"nbf":{}}}"#, u64::MAX, u64::MAX),
            Err("token not valid yet"),
        ),
        (
            format!(r#"{{"exp":{},"nbf":1e300}}"#, u64::MAX),
            Err("token not valid yet"),
        ),
        (
            format!(r#"{{"exp":{},"nbf":{}}}"#, u64::MAX, NOW + 601),
            Err("token not valid yet"),
        ),
        (
            format!(r#"{{"exp":{},"nbf":{}}}"#, u64::MAX, NOW + 600),
            Ok(()),
        ),
        (format!(r#"{{"exp":{},"nbf":0}}"#, u64::MAX), Ok(())),
        (
            format!(r#"{{"exp":{},"nbf":-1}}"#, u64::MAX),
            Err("malformed token"),
        ),
        (
            format!(r#"{{"exp":{},"nbf":"0"}}"#, u64::MAX),
            Err("malformed token"),
        ),
    ];
    for (claims, expected) in cases {
        let mut stream = plugin.http_stream();
        let verdict = get(
            &mut stream,
            &[("authorization", &bearer(&token("HS256", &claims, SECRET)))],
        );
        match expected {
            Ok(()) => assert_eq!(verdict, Verdict::Continue, "{claims}"),
            Err(why) => {
                assert_eq!(verdict, Verdict::Pause, "{claims}");
                assert_eq!(
                    reply_text(&stream),
                    (401, format!("unauthorized: {why}\n")),
                    "{claims}"
                );
            }
        }
    }
}

#[test]
fn jwt_config_refuses_out_of_range_leeway_and_bad_header_names() {
    for (extra, path) in [
        // `u64::MAX` seconds of leeway would make every expired token valid forever.
        (
            r#", "leeway_secs": 18446744073709551615"#,
            "config.leeway_secs",
        ),
        (r#", "leeway_secs": 601"#, "config.leeway_secs"),
        (r#", "leeway_secs": -1"#, "config.leeway_secs"),
        (
            r#", "leeway_secs": -9223372036854775808"#,
            "config.leeway_secs",
        ),
        (r#", "leeway_secs": 1.5"#, "config.leeway_secs"),
        (r#", "leeway_secs": 1e30"#, "config.leeway_secs"),
        (
            r#", "leeway_secs": 18446744073709551616"#,
            "config.leeway_secs",
        ),
        (r#", "leeway_secs": "30""#, "config.leeway_secs"),
        (r#", "audience": """#, "config.audience"),
        (r#", "issuer": """#, "config.issuer"),
    ] {
        let errors = refused(&jwt_config(extra));
        assert_eq!(errors.len(), 1, "{extra}: {errors:?}");
        assert!(
            errors[0].starts_with(&format!("auth: {path}: ")),
            "{extra}: {errors:?}"
        );
    }
    assert_eq!(
        refused(&jwt_config(r#", "leeway_secs": 18446744073709551615"#)),
        ["auth: config.leeway_secs: invalid value: integer `18446744073709551615`, expected an integer from 0 to 600"]
    );
    for claim_headers in [
        r#"{"sub": ""}"#,
        r#"{"sub": ":authority"}"#,
        r#"{"sub": "x user"}"#,
        r#"{"sub": "x-user\r\nx-admin: 1"}"#,
        r#"{"sub": "transfer-encoding"}"#,
    ] {
        let config =
            format!(r#"{{"mode": "jwt", "secret": "{SECRET}", "claim_headers": {claim_headers}}}"#);
        let errors = refused(&config);
        assert!(
            errors[0].starts_with("auth: config.claim_headers.sub: "),
            "{claim_headers}: {errors:?}"
        );
    }
    // Two claims into one header (in another spelling): which one would win?
    let config = format!(
        r#"{{"mode": "jwt", "secret": "{SECRET}", "claim_headers": {{"name": "x-user", "sub": "X_User"}}}}"#
    );
    assert_eq!(
        refused(&config),
        ["auth: config.claim_headers.sub: header `x_user` is already set from claim `name`"]
    );
    // The largest leeway is accepted.
    start(&jwt_config(r#", "leeway_secs": 600"#));
}

// ---- external: every verdict, hostile answers -------------------------------------------

/// Answers the callout of a new request with `status`, `headers` and `body`, under
/// `on_error`; returns the stream.
fn verdict(on_error: &str, status: u16, headers: &[(&str, &str)], body: &[u8]) -> HttpStream {
    let (host, plugin) = start(&external(&format!(r#", "on_error": "{on_error}""#)));
    let (stream, token) = call(&plugin);
    assert!(host.respond_to_call(token, status, headers, body));
    stream
}

fn reply_headers(stream: &HttpStream, name: &str) -> Vec<String> {
    stream
        .local_reply()
        .unwrap()
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// No header of the local reply holds a byte that could split or end a header line.
fn assert_reply_is_clean(stream: &HttpStream) {
    let reply = stream.local_reply().unwrap();
    for (name, value) in &reply.headers {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':'),
            "{name:?}"
        );
        assert!(
            value
                .iter()
                .all(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f)),
            "{name}: {value:?}"
        );
    }
}

#[test]
fn external_redirects_reach_the_client_with_their_location_under_both_policies() {
    for on_error in ["deny", "allow"] {
        for status in [301, 302, 303, 307, 308] {
            let stream = verdict(
                on_error,
                status,
                &[
                    ("location", "https://login.example/?next=%2Forders%2F7"),
                    ("set-cookie", "state=abc; HttpOnly"),
                    ("set-cookie", "nonce=xyz; Secure"),
                    ("cache-control", "no-store"),
                    ("content-type", "text/html"),
                    ("x-internal", "do-not-leak"),
                    ("x-user", "alice"),
                ],
                b"<a href=\"https://login.example/\">login</a>\n",
            );
            let case = format!("{on_error} {status}");
            assert!(!stream.request_resumed(), "{case}");
            assert_eq!(
                reply_text(&stream),
                (
                    status,
                    "<a href=\"https://login.example/\">login</a>\n".into()
                ),
                "{case}"
            );
            assert_eq!(
                reply_headers(&stream, "location"),
                ["https://login.example/?next=%2Forders%2F7"],
                "{case}"
            );
            assert_eq!(
                reply_headers(&stream, "set-cookie"),
                ["state=abc; HttpOnly", "nonce=xyz; Secure"],
                "{case}"
            );
            assert_eq!(reply_headers(&stream, "cache-control"), ["no-store"]);
            assert_eq!(reply_headers(&stream, "content-type"), ["text/html"]);
            assert!(reply_headers(&stream, "x-internal").is_empty(), "{case}");
            assert!(reply_headers(&stream, "x-user").is_empty(), "{case}");
            assert_eq!(stream.local_reply().unwrap().details, "auth_denied");
        }
    }
}

#[test]
fn external_4xx_verdicts_reach_the_client_with_their_safe_headers_under_both_policies() {
    for on_error in ["deny", "allow"] {
        let stream = verdict(
            on_error,
            401,
            &[
                ("www-authenticate", "Bearer realm=\"shop\""),
                ("www-authenticate", "Basic realm=\"shop\""),
                ("x-debug", "secret"),
            ],
            b"log in\n",
        );
        assert_eq!(reply_text(&stream), (401, "log in\n".into()), "{on_error}");
        assert_eq!(
            reply_headers(&stream, "www-authenticate"),
            ["Bearer realm=\"shop\"", "Basic realm=\"shop\""]
        );
        assert!(reply_headers(&stream, "x-debug").is_empty());

        let stream = verdict(on_error, 403, &[("content-type", "text/plain")], b"no\n");
        assert_eq!(reply_text(&stream), (403, "no\n".into()), "{on_error}");

        let stream = verdict(
            on_error,
            429,
            &[("retry-after", "30"), ("content-type", "text/plain")],
            b"slow down\n",
        );
        assert_eq!(
            reply_text(&stream),
            (429, "slow down\n".into()),
            "{on_error}"
        );
        assert_eq!(reply_headers(&stream, "retry-after"), ["30"]);

        let stream = verdict(
            on_error,
            407,
            &[("proxy-authenticate", "Basic realm=\"proxy\"")],
            b"",
        );
        assert_eq!(reply_text(&stream).0, 407);
        assert_eq!(
            reply_headers(&stream, "proxy-authenticate"),
            ["Basic realm=\"proxy\""]
        );
        assert!(!stream.request_resumed());
    }
}

#[test]
fn external_hostile_verdict_headers_are_dropped_never_sent() {
    // Each case: a header the service sent that cannot go to the client as it is.
    let cases = [
        (
            302,
            vec![("location", "/login\r\nset-cookie: evil=1")],
            "location",
        ),
        (302, vec![("location", "/login\nx-evil: 1")], "location"),
        (302, vec![("location", "/lo\u{0}gin")], "location"),
        // Two locations: which one? Neither.
        (
            302,
            vec![("location", "/a"), ("location", "/b")],
            "location",
        ),
        (
            302,
            vec![("location", "/a"), ("Location", "/b")],
            "location",
        ),
        (
            401,
            vec![("content-type", "text/plain\r\nx-evil: 1")],
            "content-type",
        ),
        (
            401,
            vec![
                ("content-type", "text/plain"),
                ("content-type", "text/html"),
            ],
            "content-type",
        ),
        (
            429,
            vec![("retry-after", "1"), ("retry-after", "99999")],
            "retry-after",
        ),
        (
            403,
            vec![("www-authenticate", "Bearer\u{1b}")],
            "www-authenticate",
        ),
    ];
    for (status, headers, dropped) in cases {
        for on_error in ["deny", "allow"] {
            let stream = verdict(on_error, status, &headers, b"denied\n");
            assert!(!stream.request_resumed(), "{headers:?}");
            assert_eq!(
                reply_text(&stream),
                (status, "denied\n".into()),
                "{headers:?}"
            );
            assert!(reply_headers(&stream, dropped).is_empty(), "{headers:?}");
            assert!(reply_headers(&stream, "x-evil").is_empty());
            assert!(reply_headers(&stream, "set-cookie").is_empty());
            assert_reply_is_clean(&stream);
        }
    }
    // One bad `set-cookie` among good ones: only the bad one is dropped.
    let stream = verdict(
        "deny",
        302,
        &[
            ("location", "/login"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2\r\nx-evil: 1"),
            ("set-cookie", "c=3"),
        ],
        b"",
    );
    assert_eq!(reply_headers(&stream, "set-cookie"), ["a=1", "c=3"]);
    assert_eq!(reply_headers(&stream, "location"), ["/login"]);
    // A flood of cookies: a bounded number passes.
    let cookies: Vec<String> = (0..200).map(|i| format!("c{i}=1")).collect();
    let headers: Vec<(&str, &str)> = cookies.iter().map(|c| ("set-cookie", c.as_str())).collect();
    let stream = verdict("deny", 302, &headers, b"");
    assert_eq!(
        reply_headers(&stream, "set-cookie").len(),
        crate::MAX_VERDICT_VALUES
    );
}

#[test]
fn external_verdict_body_is_bounded() {
    let huge = vec![b'x'; crate::MAX_VERDICT_BODY + 1];
    for status in [302, 403] {
        let stream = verdict("deny", status, &[("content-type", "text/html")], &huge);
        assert!(!stream.request_resumed());
        let (got, body) = reply_text(&stream);
        assert_eq!(got, status);
        assert_eq!(body, "", "a body over the bound is not passed on");
        assert!(
            reply_headers(&stream, "content-type").is_empty(),
            "nor its content type"
        );
    }
    let largest = vec![b'y'; crate::MAX_VERDICT_BODY];
    let stream = verdict("deny", 403, &[], &largest);
    assert_eq!(stream.local_reply().unwrap().body, largest);
}

#[test]
fn external_status_outside_200_to_599_is_no_verdict() {
    for status in [0, 1, 99, 100, 101, 199, 600, 999, 1000, 65535] {
        let stream = verdict("deny", status, &[("location", "/login")], b"");
        assert_denied(&stream, "invalid_answer");

        let stream = verdict("allow", status, &[("x-user", "root")], b"");
        assert_allowed(&stream, "invalid_answer");
        assert!(request_variants(&stream, "x-user").is_empty(), "{status}");
    }
}

#[test]
fn external_5xx_is_no_verdict_under_both_policies() {
    for status in [500, 502, 503, 504, 599] {
        let stream = verdict("deny", status, &[("location", "/login")], b"oops");
        assert_denied(&stream, &format!("status_{status}"));
        let stream = verdict("allow", status, &[("x-user", "root")], b"oops");
        assert_allowed(&stream, &format!("status_{status}"));
        assert!(request_variants(&stream, "x-user").is_empty(), "{status}");
    }
}

#[test]
fn external_client_variants_of_copied_and_error_headers_are_removed() {
    let client = [
        ("authorization", "Bearer t0k"),
        ("x_user", "admin"),
        ("X-User", "mallory"),
        ("X_USER", "root"),
        ("x-auth-error", "none"),
        ("x_auth_error", "none"),
        ("X-Auth-Error", "none"),
    ];
    // Allowed: the service's `x-user` only.
    let (host, plugin) = start(&external(""));
    let mut stream = plugin.http_stream();
    get(&mut stream, &client);
    let token = stream.callouts()[0].token;
    host.respond_to_call(token, 200, &[("x-user", "alice")], b"");
    assert!(stream.request_resumed());
    assert_eq!(
        request_variants(&stream, "x-user"),
        [("x-user".to_owned(), "alice".to_owned())]
    );
    assert!(request_variants(&stream, "x-auth-error").is_empty());

    // Allowed, the service named nobody: no `x-user` at all.
    let (host, plugin) = start(&external(""));
    let mut stream = plugin.http_stream();
    get(&mut stream, &client);
    host.respond_to_call(stream.callouts()[0].token, 204, &[], b"");
    assert!(request_variants(&stream, "x-user").is_empty());

    // Let through by `on_error: allow`: only the filter's own `x-auth-error`.
    let (host, plugin) = start(&external(r#", "on_error": "allow""#));
    let mut stream = plugin.http_stream();
    get(&mut stream, &client);
    host.fail_call(stream.callouts()[0].token);
    assert!(stream.request_resumed());
    assert!(request_variants(&stream, "x-user").is_empty());
    assert_eq!(
        request_variants(&stream, "x-auth-error"),
        [("x-auth-error".to_owned(), "failed".to_owned())]
    );
}

#[test]
fn external_2xx_with_an_ambiguous_or_invalid_copied_header_is_no_verdict() {
    for headers in [
        vec![("x-user", "alice"), ("x-user", "root")],
        vec![("x-user", "alice"), ("X-User", "root")],
        vec![("x-user", "alice"), ("x_user", "root")],
        vec![("x-user", "alice\r\nx-admin: 1")],
        vec![("x-user", "al\u{0}ice")],
    ] {
        let stream = verdict("deny", 200, &headers, b"");
        assert_denied(&stream, "invalid_answer");

        let stream = verdict("allow", 200, &headers, b"");
        assert_allowed(&stream, "invalid_answer");
        assert!(
            request_variants(&stream, "x-user").is_empty(),
            "{headers:?}"
        );
    }
}

#[test]
fn external_forwards_every_value_of_a_forwarded_header() {
    let (_host, plugin) = start(&external(
        r#", "forward_headers": ["authorization", "x-token"]"#,
    ));
    let mut stream = plugin.http_stream();
    get(
        &mut stream,
        &[
            ("x-token", "a"),
            ("authorization", "Bearer one"),
            ("x_token", "b"),
            ("X-Token", "c"),
            ("x-other", "no"),
        ],
    );
    let callout = &stream.callouts()[0];
    let sent: Vec<(String, String)> = callout
        .headers
        .iter()
        .filter(|(n, _)| !n.starts_with(b":") && !n.starts_with(b"x-original-"))
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("x-token", "a"),
        ("authorization", "Bearer one"),
        ("x_token", "b"),
        ("x-token", "c"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        sent, expected,
        "what the upstream would see, the service sees"
    );
}

#[test]
fn external_config_refuses_out_of_range_numbers_and_bad_header_names() {
    for (extra, path) in [
        (r#", "timeout_ms": 0"#, "config.timeout_ms"),
        (r#", "timeout_ms": -1"#, "config.timeout_ms"),
        (r#", "timeout_ms": 60001"#, "config.timeout_ms"),
        (
            r#", "timeout_ms": 18446744073709551615"#,
            "config.timeout_ms",
        ),
        (r#", "timeout_ms": 1.5"#, "config.timeout_ms"),
        (r#", "timeout_ms": "500""#, "config.timeout_ms"),
        (r#", "copy_headers": [""]"#, "config.copy_headers[0]"),
        (
            r#", "copy_headers": ["x-user", ":path"]"#,
            "config.copy_headers[1]",
        ),
        (r#", "copy_headers": ["x user"]"#, "config.copy_headers[0]"),
        (
            r#", "copy_headers": ["x-user\r\nx-admin"]"#,
            "config.copy_headers[0]",
        ),
        (
            r#", "copy_headers": ["content-length"]"#,
            "config.copy_headers[0]",
        ),
        (
            r#", "copy_headers": ["x-user", "X_User"]"#,
            "config.copy_headers[1]",
        ),
        (
            r#", "forward_headers": [":authority"]"#,
            "config.forward_headers[0]",
        ),
        (
            r#", "forward_headers": ["a b"]"#,
            "config.forward_headers[0]",
        ),
        (r#", "path": "/check\r\nx-evil: 1""#, "config.path"),
        (r#", "path": "/check me""#, "config.path"),
        (r#", "path": "/ch\u0000eck""#, "config.path"),
    ] {
        let config = format!(r#"{{"mode": "external", "cluster": "authz"{extra}}}"#);
        let errors = refused(&config);
        assert_eq!(errors.len(), 1, "{extra}: {errors:?}");
        assert!(
            errors[0].starts_with(&format!("auth: {path}: ")),
            "{extra}: {errors:?}"
        );
    }
    assert_eq!(
        refused(r#"{"mode": "external", "cluster": "a", "timeout_ms": 18446744073709551615}"#),
        ["auth: config.timeout_ms: invalid value: integer `18446744073709551615`, expected an integer from 1 to 60000"]
    );
    // The bounds themselves are accepted.
    start(r#"{"mode": "external", "cluster": "a", "timeout_ms": 1}"#);
    start(r#"{"mode": "external", "cluster": "a", "timeout_ms": 60000}"#);
}

#[test]
fn config_schema_carries_the_bounds() {
    use proxylet::schema::{to_json, ConfigSchema};
    let jwt = to_json(crate::JwtConfig::SCHEMA);
    assert!(
        jwt.contains(r#""leeway_secs":{"type":"integer","minimum":0,"maximum":600}"#),
        "{jwt}"
    );
    let external = to_json(crate::ExternalConfig::SCHEMA);
    assert!(
        external.contains(r#""timeout_ms":{"type":"integer","minimum":1,"maximum":60000}"#),
        "{external}"
    );
}

#[test]
fn a_host_refusing_every_call_never_lets_a_request_through_unchecked() {
    for config in [API_KEYS.to_owned(), jwt_config(""), external("")] {
        let (host, plugin) = start(&config);
        for status in proxylet_testkit::state::status::ERRORS {
            let mut stream = plugin.http_stream();
            host.fail_every_hostcall(Some(*status));
            let verdict = get(
                &mut stream,
                &[
                    ("x-api-key", "k-alpha"),
                    ("authorization", &bearer(PYTHON_TOKEN)),
                ],
            );
            host.fail_every_hostcall(None);
            assert_ne!(verdict, Verdict::Continue, "{config} {status}");
            stream.complete().unwrap();
        }
    }
}
