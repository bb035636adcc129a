//! token-exchange on the test host, on both backends (the filter linked natively, and the
//! built `.wasm` in the interpreter): the chain, each failure at each step, retries whose
//! backoff is driven by the plugin's tick (`plugin.tick()` advances the host clock by the
//! tick period, which proxylet shortens to the next wake-up of a sleeping stream), streams
//! that end mid-chain, hostile requests and hostile answers.

use std::time::Duration;

use proxylet_testkit::{module, Callout, Host, HttpStream, TestPlugin, Verdict};

fn each_backend(test: impl Fn(Host)) {
    proxylet_testkit::wasm::for_each_backend("token-exchange", module!(), test);
}

/// Three attempts at the token service, 100 ms then 150 ms apart (200 ms capped).
const CONFIG: &str = r#"{
    "token": {"cluster": "tokens", "timeout_ms": 250, "retries": 2, "backoff_ms": 100, "max_backoff_ms": 150},
    "profile": {"cluster": "profiles", "timeout_ms": 300},
    "copy_headers": ["x-user", "x-tenant"]
}"#;

fn start(host: &Host, config: &str) -> TestPlugin {
    host.plugin("token_exchange")
        .config(config)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `GET /orders/7` with `extra` headers; the stream (its verdict is checked by the caller).
fn request(plugin: &TestPlugin, extra: &[(&str, &str)]) -> (HttpStream, Verdict) {
    let mut stream = plugin.http_stream();
    let mut headers = vec![
        (":method", "GET"),
        (":path", "/orders/7"),
        (":authority", "shop"),
    ];
    headers.extend_from_slice(extra);
    let verdict = stream.request_headers(&headers, true);
    (stream, verdict)
}

/// A request with a credential: it waits for the token service.
fn asking(plugin: &TestPlugin, extra: &[(&str, &str)]) -> HttpStream {
    let mut headers = vec![("authorization", "Basic YWRhOnB3")];
    headers.extend_from_slice(extra);
    let (stream, verdict) = request(plugin, &headers);
    assert_eq!(verdict, Verdict::Pause, "the request waits for the chain");
    stream
}

/// The one callout waiting, which must go to `cluster`.
fn only_callout(host: &Host, cluster: &str) -> Callout {
    let callouts = host.callouts();
    assert_eq!(callouts.len(), 1, "one callout waits: {callouts:?}");
    assert_eq!(callouts[0].cluster, cluster);
    callouts[0].clone()
}

fn text(value: Option<&[u8]>) -> Option<String> {
    value.map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Answers the token call with `token`, as a token service does.
fn give_token(host: &Host, token: &str) {
    let call = only_callout(host, "tokens");
    let body =
        format!(r#"{{"access_token": "{token}", "token_type": "Bearer", "expires_in": 300}}"#);
    assert!(host.respond_to_call(
        call.token,
        200,
        &[("content-type", "application/json")],
        body.as_bytes()
    ));
}

/// Answers the profile call with `headers`.
fn give_profile(host: &Host, headers: &[(&str, &str)]) {
    let call = only_callout(host, "profiles");
    assert!(host.respond_to_call(call.token, 200, headers, b"{}"));
}

const ADA: &[(&str, &str)] = &[("x-user", "ada"), ("x-tenant", "acme")];

/// The normalized form of a header name: ASCII lowercase, `_` read as `-` (how CGI, WSGI,
/// Rack and PHP upstreams see it).
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

/// Every request header that an upstream would read as `name`, as `(name, value)`.
fn variants(stream: &HttpStream, name: &str) -> Vec<(String, String)> {
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

/// What [`variants`] returns for exactly one `name: value`.
fn one(name: &str, value: &str) -> Vec<(String, String)> {
    vec![(name.to_owned(), value.to_owned())]
}

/// The local reply: status, body, details.
fn reply(stream: &HttpStream) -> (u16, String, String) {
    let reply = stream.local_reply().expect("a local reply");
    (
        reply.status,
        String::from_utf8_lossy(&reply.body).into_owned(),
        reply.details,
    )
}

/// `503` with these details, nothing let through, nothing left waiting.
fn assert_unavailable(host: &Host, stream: &HttpStream, details: &str, case: &str) {
    assert!(!stream.request_resumed(), "{case}");
    assert_eq!(
        reply(stream),
        (
            503,
            "identity service unavailable\n".to_owned(),
            format!("token_exchange_{details}")
        ),
        "{case}"
    );
    assert!(host.callouts().is_empty(), "{case}: {:?}", host.callouts());
}

fn assert_unauthorized(host: &Host, stream: &HttpStream, why: &str, case: &str) {
    assert!(!stream.request_resumed(), "{case}");
    assert_eq!(
        reply(stream),
        (
            401,
            format!("unauthorized: {why}\n"),
            "token_exchange_unauthorized".to_owned()
        ),
        "{case}"
    );
    assert_eq!(
        text(stream.local_reply().unwrap().header("www-authenticate")).as_deref(),
        Some("Bearer"),
        "{case}"
    );
    assert!(host.callouts().is_empty(), "{case}: {:?}", host.callouts());
}

// ---- the chain ----------------------------------------------------------------------

// ANCHOR: chain
/// The token call carries the client's credential; the profile call carries the token;
/// the request resumes with the profile's identity and the internal token, the client's
/// forged identity headers gone in every spelling.
#[test]
fn the_chain_copies_the_identity_and_replaces_authorization() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        let stream = asking(
            &plugin,
            &[("x_user", "root"), ("X-Tenant", "evil"), ("cookie", "c=1")],
        );

        let tokens = only_callout(&host, "tokens");
        assert_eq!(text(tokens.header(":method")).as_deref(), Some("POST"));
        assert_eq!(text(tokens.header(":path")).as_deref(), Some("/token"));
        assert_eq!(
            text(tokens.header("authorization")).as_deref(),
            Some("Basic YWRhOnB3")
        );
        assert_eq!(tokens.header("cookie"), None, "only the credential goes");
        assert_eq!(tokens.timeout, Duration::from_millis(250));
        give_token(&host, "int.tok-1");
        assert!(!stream.request_resumed(), "the profile is asked next");

        let profiles = only_callout(&host, "profiles");
        assert_eq!(text(profiles.header(":method")).as_deref(), Some("GET"));
        assert_eq!(text(profiles.header(":path")).as_deref(), Some("/profile"));
        assert_eq!(
            text(profiles.header("authorization")).as_deref(),
            Some("Bearer int.tok-1")
        );
        assert_eq!(profiles.timeout, Duration::from_millis(300));
        give_profile(&host, ADA);

        assert!(stream.request_resumed());
        assert_eq!(stream.local_reply(), None);
        assert_eq!(variants(&stream, "x-user"), one("x-user", "ada"));
        assert_eq!(variants(&stream, "x-tenant"), one("x-tenant", "acme"));
        assert_eq!(
            variants(&stream, "authorization"),
            one("authorization", "Bearer int.tok-1")
        );
        assert!(host.callouts().is_empty());
        stream.complete().unwrap();
    });
}
// ANCHOR_END: chain

#[test]
fn with_replace_authorization_off_the_client_s_credential_goes_upstream() {
    each_backend(|host| {
        let plugin = start(
            &host,
            r#"{"token": {"cluster": "tokens", "method": "GET"}, "profile": {"cluster": "profiles"}, "replace_authorization": false}"#,
        );
        let stream = asking(&plugin, &[]);
        let tokens = only_callout(&host, "tokens");
        assert_eq!(text(tokens.header(":method")).as_deref(), Some("GET"));
        give_token(&host, "t");
        give_profile(&host, &[("x-user", "ada")]);
        assert!(stream.request_resumed());
        assert_eq!(
            variants(&stream, "authorization"),
            one("authorization", "Basic YWRhOnB3")
        );
        assert_eq!(variants(&stream, "x-user"), one("x-user", "ada"));
    });
}

#[test]
fn every_configured_credential_header_is_forwarded_and_one_is_enough() {
    each_backend(|host| {
        let plugin = start(
            &host,
            r#"{"token": {"cluster": "tokens"}, "profile": {"cluster": "profiles"}, "credential_headers": ["x-api-key", "x-client-cert"]}"#,
        );
        let (stream, verdict) = request(
            &plugin,
            &[
                ("X-Api-Key", "k-1"),
                ("x-client-cert", "c"),
                ("authorization", "x"),
            ],
        );
        assert_eq!(verdict, Verdict::Pause);
        let tokens = only_callout(&host, "tokens");
        assert_eq!(text(tokens.header("x-api-key")).as_deref(), Some("k-1"));
        assert_eq!(text(tokens.header("x-client-cert")).as_deref(), Some("c"));
        assert_eq!(tokens.header("authorization"), None);
        give_token(&host, "t");
        give_profile(&host, &[("x-user", "ada")]);
        assert!(stream.request_resumed());

        let (stream, verdict) = request(&plugin, &[("x_client_cert", "c")]);
        assert_eq!(verdict, Verdict::Pause);
        let tokens = only_callout(&host, "tokens");
        assert_eq!(text(tokens.header("x_client_cert")).as_deref(), Some("c"));
        assert!(host.fail_call(tokens.token));
        stream.complete().unwrap();
    });
}

// ---- the client's request -------------------------------------------------------------

#[test]
fn a_request_without_credentials_is_401_and_nothing_is_asked() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        for extra in [&[][..], &[("cookie", "c=1")][..], &[("x-user", "ada")][..]] {
            let (stream, verdict) = request(&plugin, extra);
            assert_eq!(verdict, Verdict::Pause, "{extra:?}");
            assert_unauthorized(&host, &stream, "missing credentials", &format!("{extra:?}"));
        }
        let plugin = start(
            &host,
            r#"{"token": {"cluster": "t"}, "profile": {"cluster": "p"}, "challenge": "ApiKey realm=\"shop\""}"#,
        );
        let (stream, _) = request(&plugin, &[]);
        assert_eq!(
            text(stream.local_reply().unwrap().header("www-authenticate")).as_deref(),
            Some(r#"ApiKey realm="shop""#)
        );
    });
}

/// A credential sent twice, in any spelling, or joined by Envoy into one value with `,`:
/// which one would the upstream read? `400` before anything is asked.
#[test]
fn a_repeated_credential_in_any_spelling_is_400_before_any_call() {
    each_backend(|host| {
        let plugin = start(
            &host,
            r#"{"token": {"cluster": "tokens"}, "profile": {"cluster": "profiles"}, "credential_headers": ["authorization", "x-api-key"]}"#,
        );
        for (headers, name) in [
            (
                &[("authorization", "Bearer a"), ("authorization", "Bearer b")][..],
                "authorization",
            ),
            (
                &[("authorization", "Bearer a"), ("Authorization", "Bearer a")][..],
                "authorization",
            ),
            (
                &[("authorization", "Bearer a,Bearer b")][..],
                "authorization",
            ),
            (&[("x-api-key", "k"), ("x_api_key", "k")][..], "x-api-key"),
            (
                &[
                    ("X_API_KEY", "k"),
                    ("authorization", "Bearer a"),
                    ("x-api-key", "j"),
                ][..],
                "x-api-key",
            ),
        ] {
            let (stream, verdict) = request(&plugin, headers);
            assert_eq!(verdict, Verdict::Pause, "{headers:?}");
            assert_eq!(
                reply(&stream),
                (
                    400,
                    format!("bad request: repeated {name} header\n"),
                    "token_exchange_ambiguous_credential".into()
                ),
                "{headers:?}"
            );
            assert!(host.callouts().is_empty(), "{headers:?}");
        }
    });
}

#[test]
fn a_credential_that_cannot_be_forwarded_is_400() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        for value in [&b"Bearer a\x01b"[..], b"Bearer a\x7f", b"Bearer \0"] {
            let mut stream = plugin.http_stream();
            let verdict = stream.request_headers_bytes(
                vec![
                    (b":path".to_vec(), b"/".to_vec()),
                    (b"authorization".to_vec(), value.to_vec()),
                ],
                true,
            );
            assert_eq!(verdict, Verdict::Pause);
            let (status, _, details) = reply(&stream);
            assert_eq!(
                (status, details.as_str()),
                (400, "token_exchange_unforwardable_credential"),
                "{value:?}"
            );
            assert!(host.callouts().is_empty());
        }
    });
}

// ---- the token service ---------------------------------------------------------------

#[test]
fn a_token_service_refusal_is_401_and_its_answer_stays_internal() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        for status in [401, 403] {
            let stream = asking(&plugin, &[]);
            let call = only_callout(&host, "tokens");
            assert!(host.respond_to_call(
                call.token,
                status,
                &[
                    ("www-authenticate", "Basic realm=\"internal\""),
                    ("x-debug", "db7")
                ],
                b"account ada locked by rule 42",
            ));
            assert_unauthorized(&host, &stream, "credentials refused", &status.to_string());
            let reply = stream.local_reply().unwrap();
            assert_eq!(reply.header("x-debug"), None);
            assert_eq!(plugin.tick_period(), None, "a refusal is not retried");
        }
    });
}

// ANCHOR: retries
/// A failure, a timeout and a 5xx are each tried again after a backoff that doubles up
/// to `max_backoff_ms`; the plugin's tick (driven by the test) ends each wait.
#[test]
fn token_failures_are_retried_after_a_growing_capped_backoff() {
    each_backend(|host| {
        let plugin = start(&host, &CONFIG.replace(r#""retries": 2"#, r#""retries": 3"#));
        let stream = asking(&plugin, &[]);
        assert_eq!(plugin.tick_period(), None, "no tick until a stream sleeps");

        // Attempt 1 fails: the stream sleeps 100 ms, and nothing is asked meanwhile.
        assert!(host.fail_call(only_callout(&host, "tokens").token));
        assert!(host.callouts().is_empty() && !stream.request_resumed());
        assert_eq!(plugin.tick_period(), Some(Duration::from_millis(100)));
        plugin.tick().unwrap();

        // Attempt 2 times out (the clock moves by its timeout): 200 ms, capped at 150.
        assert!(host.time_out_call(only_callout(&host, "tokens").token));
        assert_eq!(plugin.tick_period(), Some(Duration::from_millis(150)));
        plugin.tick().unwrap();

        // Attempt 3 gets a 503: 150 ms again.
        let call = only_callout(&host, "tokens");
        assert!(host.respond_to_call(call.token, 503, &[], b"busy"));
        assert_eq!(plugin.tick_period(), Some(Duration::from_millis(150)));
        plugin.tick().unwrap();

        // Attempt 4 gets the token; the chain goes on.
        give_token(&host, "t4");
        assert_eq!(plugin.tick_period(), None, "nobody sleeps any more");
        give_profile(&host, ADA);
        assert!(stream.request_resumed());
        assert_eq!(variants(&stream, "x-user"), one("x-user", "ada"));
    });
}
// ANCHOR_END: retries

#[test]
fn token_failures_after_every_retry_are_503_naming_the_last_one() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        type Fail = fn(&Host, u32) -> bool;
        let fail: Fail = |host, token| host.fail_call(token);
        let time_out: Fail = |host, token| host.time_out_call(token);
        let status_502: Fail = |host, token| host.respond_to_call(token, 502, &[], b"");
        for (last, details) in [
            (fail, "token_failed"),
            (time_out, "token_timeout"),
            (status_502, "token_status_502"),
        ] {
            let stream = asking(&plugin, &[]);
            let mut asked = 0;
            for _ in 0..2 {
                assert!(host.respond_to_call(only_callout(&host, "tokens").token, 500, &[], b""));
                asked += 1;
                plugin.tick().unwrap();
            }
            assert!(last(&host, only_callout(&host, "tokens").token));
            asked += 1;
            assert_eq!(asked, 3, "retries: 2");
            assert_unavailable(&host, &stream, details, details);
            assert_eq!(plugin.tick_period(), None);
        }
        // `retries: 0`: one attempt.
        let plugin = start(&host, &CONFIG.replace(r#""retries": 2"#, r#""retries": 0"#));
        let stream = asking(&plugin, &[]);
        assert!(host.fail_call(only_callout(&host, "tokens").token));
        assert_unavailable(&host, &stream, "token_failed", "retries: 0");
    });
}

#[test]
fn token_statuses_that_are_neither_a_token_nor_a_failure_are_503_without_retry() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        for status in [100, 301, 302, 400, 404, 429, 600, 999] {
            let stream = asking(&plugin, &[]);
            let call = only_callout(&host, "tokens");
            let body = br#"{"access_token": "t"}"#;
            assert!(host.respond_to_call(call.token, status, &[], body));
            let details = format!("token_status_{status}");
            assert_unavailable(&host, &stream, &details, &status.to_string());
            assert_eq!(plugin.tick_period(), None, "{status}: not retried");
        }
    });
}

/// What a token service's 2xx must hold: one JSON object with `access_token` once, a
/// bearer token (RFC 6750 `b64token`) of at most 4 KiB; the answer at most 16 KiB. Anything
/// else is `503` and the profile service is never asked.
#[test]
fn answers_that_hold_no_usable_token_are_503_and_the_profile_is_never_asked() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        let long_token = format!(r#"{{"access_token": "{}"}}"#, "a".repeat(4097));
        let padded = format!(
            r#"{{"padding": "{}", "access_token": "t"}}"#,
            "x".repeat(16 * 1024)
        );
        for body in [
            "",
            "t0k",
            "null",
            "[]",
            "{}",
            r#"["access_token", "t"]"#,
            r#"{"token": "t"}"#,
            r#"{"access_token": 5}"#,
            r#"{"access_token": null}"#,
            r#"{"access_token": ""}"#,
            r#"{"access_token": "a b"}"#,
            r#"{"access_token": "a,b"}"#,
            r#"{"access_token": "a\r\nx-admin: 1"}"#,
            r#"{"access_token": "a\nb"}"#,
            r#"{"access_token": "a\u0000b"}"#,
            r#"{"access_token": "a\u007fb"}"#,
            r#"{"access_token": "é"}"#,
            r#"{"access_token": "==="}"#,
            r#"{"access_token": "a=b"}"#,
            r#"{"access_token": "a", "access_token": "b"}"#,
            r#"{"access_token": "a"} trailing"#,
            r#"{"access_token": "a""#,
            &long_token,
            &padded,
        ] {
            let stream = asking(&plugin, &[]);
            let call = only_callout(&host, "tokens");
            assert!(host.respond_to_call(call.token, 200, &[], body.as_bytes()));
            let shown: String = body.chars().take(60).collect();
            assert_unavailable(&host, &stream, "token_invalid_answer", &shown);
        }
        // The edges that are fine: padding `=`, every b64token character, 4096 bytes.
        let edge = "a".repeat(4096);
        for token in ["aZ09-._~+/==", edge.as_str()] {
            let stream = asking(&plugin, &[]);
            give_token(&host, token);
            give_profile(&host, ADA);
            assert!(stream.request_resumed());
            assert_eq!(
                variants(&stream, "authorization"),
                one("authorization", &format!("Bearer {token}"))
            );
        }
    });
}

#[test]
fn an_unknown_cluster_is_503_at_once_without_retry() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        host.set_clusters(&["profiles"]);
        let (stream, verdict) = request(&plugin, &[("authorization", "Bearer a")]);
        assert_eq!(verdict, Verdict::Pause);
        assert_unavailable(&host, &stream, "token_rejected", "tokens");
        assert_eq!(plugin.tick_period(), None);

        host.set_clusters(&["tokens"]);
        let stream = asking(&plugin, &[]);
        give_token(&host, "t");
        assert_unavailable(&host, &stream, "profile_rejected", "profiles");
    });
}

// ---- the profile service -------------------------------------------------------------

#[test]
fn profile_failures_are_503_and_its_refusal_is_401_never_retried() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        type Answer = fn(&Host, u32) -> bool;
        let cases: [(Answer, &str); 5] = [
            (|h, t| h.fail_call(t), "profile_failed"),
            (|h, t| h.time_out_call(t), "profile_timeout"),
            (
                |h, t| h.respond_to_call(t, 500, &[("x-user", "ada")], b""),
                "profile_status_500",
            ),
            (
                |h, t| h.respond_to_call(t, 404, &[("x-user", "ada")], b""),
                "profile_status_404",
            ),
            (
                |h, t| h.respond_to_call(t, 302, &[("location", "/x")], b""),
                "profile_status_302",
            ),
        ];
        for (answer, details) in cases {
            let stream = asking(&plugin, &[("x-user", "forged")]);
            give_token(&host, "t");
            assert!(answer(&host, only_callout(&host, "profiles").token));
            assert_unavailable(&host, &stream, details, details);
            assert_eq!(plugin.tick_period(), None);
        }
        for status in [401, 403] {
            let stream = asking(&plugin, &[]);
            give_token(&host, "t");
            let call = only_callout(&host, "profiles");
            assert!(host.respond_to_call(call.token, status, &[], b"user disabled"));
            assert_unauthorized(
                &host,
                &stream,
                "no profile for these credentials",
                "profile",
            );
        }
    });
}

/// Each copied header must come exactly once (in any spelling), non-empty, without control
/// characters, at most 1 KiB: otherwise the upstream would get no identity, two, or one
/// Envoy's router refuses. `503`, and the client's forged headers never pass.
#[test]
fn identities_that_are_missing_repeated_or_unsafe_are_503() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        let long = "a".repeat(1025);
        let cases: Vec<Vec<(&str, &str)>> = vec![
            vec![],
            vec![("x-user", "ada")],
            vec![("x-tenant", "acme")],
            vec![("x-user", "ada"), ("x-user", "root"), ("x-tenant", "acme")],
            vec![("x-user", "ada"), ("X_User", "root"), ("x-tenant", "acme")],
            vec![
                ("x-user", "ada"),
                ("x-tenant", "acme"),
                ("x_tenant", "acme"),
            ],
            vec![("x-user", ""), ("x-tenant", "acme")],
            vec![("x-user", "ada\r\nx-admin: 1"), ("x-tenant", "acme")],
            vec![("x-user", "ada\n"), ("x-tenant", "acme")],
            vec![("x-user", "a\0da"), ("x-tenant", "acme")],
            vec![("x-user", "\x1b[31mada"), ("x-tenant", "acme")],
            vec![("x-user", "ada\x7f"), ("x-tenant", "acme")],
            vec![("x-user", long.as_str()), ("x-tenant", "acme")],
        ];
        for headers in &cases {
            let stream = asking(&plugin, &[("x-user", "forged"), ("x_tenant", "forged")]);
            give_token(&host, "t");
            assert!(host.respond_to_call(only_callout(&host, "profiles").token, 200, headers, b""));
            assert_unavailable(
                &host,
                &stream,
                "profile_invalid_answer",
                &format!("{headers:?}"),
            );
        }
        // Tabs are text, 1024 bytes fit, and other headers are not copied.
        let edge = "b".repeat(1024);
        let stream = asking(&plugin, &[]);
        give_token(&host, "t");
        give_profile(
            &host,
            &[
                ("X-User", "ada\tl"),
                ("x-tenant", edge.as_str()),
                ("x-admin", "1"),
            ],
        );
        assert!(stream.request_resumed());
        assert_eq!(variants(&stream, "x-user"), one("x-user", "ada\tl"));
        assert_eq!(variants(&stream, "x-tenant"), one("x-tenant", &edge));
        assert!(variants(&stream, "x-admin").is_empty());
    });
}

// ---- streams that end mid-chain --------------------------------------------------------

// ANCHOR: cancel
/// A stream that ends while the hook waits (for an answer, or a backoff) takes the hook
/// with it: the answer that comes later is ignored and the next step is never asked.
#[test]
fn a_stream_that_ends_mid_chain_asks_nothing_more() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        // While the token is asked: the host cancels the call.
        let stream = asking(&plugin, &[]);
        let tokens = only_callout(&host, "tokens");
        stream.complete().unwrap();
        assert!(!host.respond_to_call(tokens.token, 200, &[], br#"{"access_token": "t"}"#));
        assert!(host.callouts().is_empty());

        // While it sleeps before a retry: the tick wakes nobody, nothing is asked.
        let stream = asking(&plugin, &[]);
        assert!(host.fail_call(only_callout(&host, "tokens").token));
        assert_eq!(plugin.tick_period(), Some(Duration::from_millis(100)));
        stream.complete().unwrap();
        plugin.tick().unwrap();
        assert!(
            host.callouts().is_empty(),
            "no retry for a stream that ended"
        );
        plugin.tick().unwrap();
        assert_eq!(plugin.tick_period(), None);

        // While the profile is asked.
        let stream = asking(&plugin, &[]);
        give_token(&host, "t");
        let profiles = only_callout(&host, "profiles");
        stream.complete().unwrap();
        assert!(!host.respond_to_call(profiles.token, 200, ADA, b""));

        // The plugin's next request is not confused by any of it.
        let stream = asking(&plugin, &[]);
        give_token(&host, "t");
        give_profile(&host, ADA);
        assert!(stream.request_resumed());
    });
}
// ANCHOR_END: cancel

#[test]
fn a_host_refusing_every_call_never_lets_a_request_through() {
    each_backend(|host| {
        let plugin = start(&host, CONFIG);
        for status in proxylet_testkit::state::status::ERRORS {
            host.fail_every_hostcall(Some(*status));
            let (stream, verdict) = request(&plugin, &[("authorization", "Bearer a")]);
            host.fail_every_hostcall(None);
            assert_ne!(verdict, Verdict::Continue, "{status}");
            assert!(!stream.request_resumed(), "{status}");
            for call in host.callouts() {
                host.fail_call(call.token);
            }
            stream.complete().unwrap();
        }
    });
}

// ---- configuration --------------------------------------------------------------------

/// Starts `config` and returns why it was refused.
fn refused(host: &Host, config: &str) -> Vec<String> {
    match host.plugin("token_exchange").config(config).start() {
        Ok(_) => panic!("accepted: {config}"),
        Err(rejected) => rejected.errors,
    }
}

#[test]
fn the_two_clusters_are_all_a_config_needs() {
    each_backend(|host| {
        let plugin = start(
            &host,
            r#"{"token": {"cluster": "tokens"}, "profile": {"cluster": "profiles"}}"#,
        );
        let stream = asking(&plugin, &[]);
        let tokens = only_callout(&host, "tokens");
        assert_eq!(text(tokens.header(":method")).as_deref(), Some("POST"));
        assert_eq!(tokens.timeout, Duration::from_millis(500));
        assert!(host.fail_call(tokens.token));
        assert_eq!(plugin.tick_period(), Some(Duration::from_millis(100)));
        plugin.tick().unwrap();
        assert!(host.fail_call(only_callout(&host, "tokens").token));
        assert_eq!(plugin.tick_period(), Some(Duration::from_millis(200)));
        plugin.tick().unwrap();
        give_token(&host, "t");
        let profiles = only_callout(&host, "profiles");
        assert_eq!(profiles.timeout, Duration::from_millis(500));
        give_profile(&host, &[("x-user", "ada")]);
        assert!(stream.request_resumed());
    });
}

#[test]
fn configs_are_refused_naming_the_field() {
    each_backend(|host| {
        let t = r#""token": {"cluster": "tokens"}"#;
        let p = r#""profile": {"cluster": "profiles"}"#;
        for (config, expected) in [
            (
                format!(r#"{{"token": {{"cluster": "tokens", "retries": 6}}, {p}}}"#),
                "token_exchange: config.token.retries: invalid value: integer `6`, expected an integer from 0 to 5",
            ),
            (
                format!(r#"{{"token": {{"cluster": "tokens", "timeout_ms": 0}}, {p}}}"#),
                "token_exchange: config.token.timeout_ms: invalid value: integer `0`, expected an integer from 1 to 30000",
            ),
            (
                format!(r#"{{{t}, "profile": {{"cluster": "profiles", "timeout_ms": 30001}}}}"#),
                "token_exchange: config.profile.timeout_ms: invalid value: integer `30001`, expected an integer from 1 to 30000",
            ),
            (
                format!(r#"{{"token": {{"cluster": "tokens", "backoff_ms": -1}}, {p}}}"#),
                "token_exchange: config.token.backoff_ms: invalid value: integer `-1`, expected an integer from 1 to 30000",
            ),
            (
                format!(r#"{{"token": {{"cluster": "tokens", "backoff_ms": 500, "max_backoff_ms": 400}}, {p}}}"#),
                "token_exchange: config.token.max_backoff_ms: is less than `backoff_ms` (500 ms): the first wait would be longer than the longest",
            ),
            (
                format!(r#"{{"token": {{"cluster": ""}}, {p}}}"#),
                "token_exchange: config.token.cluster: name a cluster",
            ),
            (
                format!(r#"{{{t}, "profile": {{"cluster": "profiles", "path": "profile"}}}}"#),
                "token_exchange: config.profile.path: the path must start with `/`",
            ),
            (
                format!(r#"{{"token": {{"cluster": "tokens", "path": "/to ken"}}, {p}}}"#),
                "token_exchange: config.token.path: the path must be printable ASCII without spaces or `#`; percent-encode the rest",
            ),
            (
                format!(r#"{{"token": {{"cluster": "tokens", "token_field": ""}}, {p}}}"#),
                "token_exchange: config.token.token_field: name the field of the answer holding the token",
            ),
            (
                format!(r#"{{{t}, {p}, "challenge": ""}}"#),
                "token_exchange: config.challenge: a `401` needs a challenge (RFC 9110 §11.6.1), e.g. `Bearer`",
            ),
            (
                format!(r#"{{{t}, {p}, "credential_headers": []}}"#),
                "token_exchange: config.credential_headers: name at least one header carrying the client's credential",
            ),
            (
                format!(r#"{{{t}, {p}, "credential_headers": ["x-key", "X_Key"]}}"#),
                "token_exchange: config.credential_headers[1]: `x_key` is already listed as `x-key`",
            ),
            (
                format!(r#"{{{t}, {p}, "copy_headers": ["x-user", "x_user"]}}"#),
                "token_exchange: config.copy_headers[1]: `x_user` is already listed as `x-user`",
            ),
        ] {
            // serde adds where in the JSON it stopped (`at line 1 column 44`).
            let errors = refused(&host, &config);
            assert!(
                errors.len() == 1 && errors[0].starts_with(expected),
                "{config}: {errors:?}"
            );
        }
        // Headers the filter or the client owns are no identity header.
        for (config, field) in [
            (
                format!(r#"{{{t}, {p}, "copy_headers": ["authorization"]}}"#),
                "copy_headers[0]",
            ),
            (
                format!(r#"{{{t}, {p}, "copy_headers": ["x-user", "Host"]}}"#),
                "copy_headers[1]",
            ),
            (
                format!(
                    r#"{{{t}, {p}, "credential_headers": ["x-key"], "copy_headers": ["x_key"]}}"#
                ),
                "copy_headers[0]",
            ),
        ] {
            let errors = refused(&host, &config);
            assert!(
                errors[0].starts_with(&format!("token_exchange: config.{field}: ")),
                "{config}: {errors:?}"
            );
        }
        // `authorization` may come from the profile when neither the client (its credential
        // is elsewhere) nor the filter sets it.
        start(
            &host,
            &format!(
                r#"{{{t}, {p}, "credential_headers": ["x-api-key"], "replace_authorization": false, "copy_headers": ["authorization"]}}"#
            ),
        );
        // serde's own refusals, each naming its field.
        for (config, expected) in [
            (
                format!(r#"{{{t}, {p}, "retry": 1}}"#),
                "unknown field `retry`",
            ),
            (
                format!(r#"{{"token": {{"cluster": "tokens", "retry": 1}}, {p}}}"#),
                "config.token",
            ),
            (format!(r#"{{{t}}}"#), "missing field `profile`"),
            (
                format!(r#"{{"token": {{"cluster": "tokens", "method": "PUT"}}, {p}}}"#),
                "config.token.method: unknown variant `PUT`, expected `GET` or `POST`",
            ),
            (
                format!(r#"{{{t}, {p}, "copy_headers": [":path"]}}"#),
                "config.copy_headers[0]: ",
            ),
            (
                format!(r#"{{{t}, {p}, "copy_headers": ["content-length"]}}"#),
                "config.copy_headers[0]: ",
            ),
            (
                format!(r#"{{{t}, {p}, "challenge": "Bearer\r\nx-admin: 1"}}"#),
                "config.challenge: invalid header value",
            ),
            (
                format!(r#"{{{t}, {p}, "replace_authorization": "yes"}}"#),
                "config.replace_authorization: invalid type",
            ),
        ] {
            let errors = refused(&host, &config);
            assert!(
                errors.len() == 1
                    && errors[0].starts_with("token_exchange: config")
                    && errors[0].contains(expected),
                "{config}: {errors:?}"
            );
        }
        // The bounds themselves are fine.
        start(
            &host,
            r#"{"token": {"cluster": "t", "timeout_ms": 30000, "retries": 5, "backoff_ms": 30000, "max_backoff_ms": 30000}, "profile": {"cluster": "p", "timeout_ms": 1}}"#,
        );
    });
}

#[test]
fn the_config_schema_carries_the_bounds() {
    use proxylet::schema::{to_json, ConfigSchema};
    let token = to_json(crate::TokenService::SCHEMA);
    for expected in [
        r#""retries":{"type":"integer","minimum":0,"maximum":5}"#,
        r#""timeout_ms":{"type":"integer","minimum":1,"maximum":30000}"#,
        r#""backoff_ms":{"type":"integer","minimum":1,"maximum":30000}"#,
    ] {
        assert!(token.contains(expected), "{token}");
    }
}
