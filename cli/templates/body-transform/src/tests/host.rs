//! The body transform on the test host: natively, no wasm, no Envoy.

use crate::HARD_MAX_BODY;
use proxylet_testkit::{module, Host, HttpStream, TestPlugin, Verdict};
use serde_json::{json, Value};

const RULES: &str = r#"{
    "max_body_bytes": 1024,
    "remove": ["password"],
    "rename": {"user_name": "username"},
    "set": {"source": "edge", "version": 2}
}"#;

fn start(config: &str) -> (Host, TestPlugin) {
    let host = Host::native(module!());
    let plugin = host
        .plugin("body_transform")
        .config(config)
        .start()
        .unwrap();
    (host, plugin)
}

fn post(stream: &mut HttpStream, extra: &[(&str, &str)]) -> Verdict {
    let mut headers = vec![
        (":method", "POST"),
        (":path", "/users"),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    stream.request_headers(&headers, false)
}

fn reply(stream: &HttpStream) -> (u16, Value) {
    let reply = stream.local_reply().expect("a local reply");
    assert_eq!(reply.header("content-type"), Some(&b"application/json"[..]));
    (reply.status, serde_json::from_slice(&reply.body).unwrap())
}

#[test]
fn fields_are_removed_renamed_and_set_and_the_stale_length_is_dropped() {
    let (_host, plugin) = start(RULES);
    let mut stream = plugin.http_stream();
    let body = br#"{"user_name": "ada", "password": "hunter2", "version": 1, "tags": ["a"]}"#;
    let length = body.len().to_string();

    // The headers go on at once (Envoy would hand no body to a filter holding them),
    // without their length: the rewritten body's is not known yet.
    assert_eq!(
        post(&mut stream, &[("content-length", &length)]),
        Verdict::Continue
    );
    assert_eq!(stream.request_header("content-length"), None);
    let (first, rest) = body.split_at(20);
    assert_eq!(
        stream.request_body(first, false),
        Verdict::Pause,
        "buffering"
    );
    assert_eq!(stream.request_body(rest, true), Verdict::Continue);

    let rewritten = stream.request_body_now();
    let value: Value = serde_json::from_slice(&rewritten).unwrap();
    assert_eq!(
        value,
        json!({"username": "ada", "version": 2, "tags": ["a"], "source": "edge"})
    );
    assert_eq!(
        stream.request_header("content-length"),
        None,
        "no stale length"
    );
    assert_eq!(stream.local_reply(), None);
}

#[test]
fn a_chunked_request_is_rewritten_and_stays_without_a_length() {
    let (_host, plugin) = start(RULES);
    let mut stream = plugin.http_stream();
    assert_eq!(
        post(&mut stream, &[("transfer-encoding", "chunked")]),
        Verdict::Continue
    );
    stream.request_body(br#"{"password": "x","#, false);
    assert_eq!(
        stream.request_body(br#" "keep": true}"#, true),
        Verdict::Continue
    );

    let rewritten = stream.request_body_now();
    assert_eq!(rewritten, br#"{"keep":true,"source":"edge","version":2}"#);
    assert_eq!(stream.request_header("content-length"), None);
}

#[test]
fn a_body_announced_too_large_is_refused_before_buffering() {
    let (_host, plugin) = start(RULES);
    let mut stream = plugin.http_stream();
    assert_eq!(
        post(&mut stream, &[("content-length", "1025")]),
        Verdict::Pause
    );
    assert_eq!(
        reply(&stream),
        (413, json!({"error": "request body larger than 1024 bytes"}))
    );
    assert_eq!(
        stream.local_reply().unwrap().details,
        "body_transform_too_large"
    );
}

#[test]
fn a_chunked_body_over_the_cap_is_refused_at_its_end() {
    let (_host, plugin) = start(RULES);
    let mut stream = plugin.http_stream();
    post(&mut stream, &[("transfer-encoding", "chunked")]);
    let big = format!(r#"{{"pad": "{}"}}"#, "x".repeat(1100));
    assert_eq!(stream.request_body(big.as_bytes(), true), Verdict::Pause);
    assert_eq!(reply(&stream).0, 413);
}

#[test]
fn a_body_over_the_module_s_hard_limit_is_refused_while_it_streams() {
    let (_host, plugin) = start(&format!(r#"{{"max_body_bytes": {HARD_MAX_BODY}}}"#));
    let mut stream = plugin.http_stream();
    post(&mut stream, &[("transfer-encoding", "chunked")]);
    let chunk = vec![b' '; HARD_MAX_BODY / 2 + 1];
    assert_eq!(stream.request_body(&chunk, false), Verdict::Pause);
    assert_eq!(stream.local_reply(), None);
    // The SDK's own cap: the hook never runs, the answer is the SDK's 413.
    assert_eq!(stream.request_body(&chunk, false), Verdict::Pause);
    let reply = stream.local_reply().unwrap();
    assert_eq!(reply.status, 413);
    assert_eq!(
        String::from_utf8(reply.body).unwrap(),
        format!("request body larger than {HARD_MAX_BODY} bytes\n")
    );
}

#[test]
fn a_body_that_is_not_json_gets_400_saying_why() {
    let (_host, plugin) = start(RULES);
    let mut stream = plugin.http_stream();
    post(&mut stream, &[]);
    assert_eq!(
        stream.request_body(b"<user>ada</user>", true),
        Verdict::Pause
    );
    assert_eq!(
        reply(&stream),
        (
            400,
            json!({"error": "request body is not valid JSON: expected value at line 1 column 1"})
        )
    );
    assert_eq!(
        stream.local_reply().unwrap().details,
        "body_transform_bad_json"
    );
}

#[test]
fn a_json_body_that_is_not_an_object_gets_400() {
    let (_host, plugin) = start(RULES);
    for body in [&b"[1, 2]"[..], b"\"text\"", b"42"] {
        let mut stream = plugin.http_stream();
        post(&mut stream, &[]);
        assert_eq!(stream.request_body(body, true), Verdict::Pause);
        assert_eq!(
            reply(&stream),
            (400, json!({"error": "request body must be a JSON object"}))
        );
    }
}

#[test]
fn requests_without_a_body_pass_untouched() {
    let (_host, plugin) = start(RULES);
    let mut stream = plugin.http_stream();
    let verdict = stream.request_headers(&[(":method", "GET"), (":path", "/users")], true);
    assert_eq!(verdict, Verdict::Continue);
    assert_eq!(stream.local_reply(), None);

    // An empty chunked body: nothing to rewrite.
    let mut stream = plugin.http_stream();
    post(&mut stream, &[("transfer-encoding", "chunked")]);
    assert_eq!(stream.request_body(b"", true), Verdict::Continue);
    assert_eq!(stream.request_body_now(), b"");
}

#[test]
fn the_response_is_not_touched() {
    let (_host, plugin) = start(RULES);
    let mut stream = plugin.http_stream();
    post(&mut stream, &[]);
    stream.request_body(b"{}", true);
    assert_eq!(
        stream.response_headers(&[(":status", "200"), ("content-length", "7")], false),
        Verdict::Continue
    );
    assert_eq!(stream.response_body(b"not json", true), Verdict::Continue);
    assert_eq!(stream.response_body_now(), b"not json");
}

#[test]
fn the_default_configuration_caps_at_64_kib_and_rewrites_nothing() {
    let (_host, plugin) = start("");
    let mut stream = plugin.http_stream();
    post(&mut stream, &[("content-length", "65537")]);
    assert_eq!(reply(&stream).0, 413);

    let mut stream = plugin.http_stream();
    post(&mut stream, &[]);
    assert_eq!(
        stream.request_body(br#"{"b": 1, "a": [true]}"#, true),
        Verdict::Continue
    );
    // Re-serialized: compact, keys in order (serde_json's map is sorted).
    assert_eq!(stream.request_body_now(), br#"{"a":[true],"b":1}"#);
}

#[test]
fn a_cap_above_the_module_s_limit_or_an_unknown_field_is_refused() {
    let host = Host::native(module!());
    let rejected = host
        .plugin("body_transform")
        .config(r#"{"max_body_bytes": 2000000}"#)
        .start()
        .err()
        .expect("refused");
    assert_eq!(
        rejected.errors,
        [format!("body_transform: config.max_body_bytes: 2000000 is above this module's limit of {HARD_MAX_BODY} bytes (`max_body` in its source)")]
    );
    let rejected = host
        .plugin("body_transform")
        .config(r#"{"add": {"a": 1}}"#)
        .start()
        .err()
        .expect("refused");
    assert!(
        rejected.errors[0].contains("config.add: unknown field `add`"),
        "{rejected}"
    );
}

#[test]
fn any_announced_length_above_the_cap_is_refused_from_the_headers() {
    let (_host, plugin) = start(RULES);
    for length in ["1025", "4294967296", "18446744073709551615"] {
        let mut stream = plugin.http_stream();
        assert_eq!(
            post(&mut stream, &[("content-length", length)]),
            Verdict::Pause,
            "{length}"
        );
        assert_eq!(reply(&stream).0, 413, "{length}");
    }
}

#[test]
fn caps_out_of_range_are_refused_naming_the_field() {
    let host = Host::native(module!());
    for (cap, expected) in [
        (
            "1048577",
            "config.max_body_bytes: 1048577 is above this module's limit of 1048576 bytes",
        ),
        (
            "18446744073709551615",
            "config.max_body_bytes: 18446744073709551615 is above this module's limit",
        ),
        (
            "18446744073709551616",
            "config.max_body_bytes: invalid type",
        ),
        ("-1", "config.max_body_bytes: invalid value"),
        ("1.5", "config.max_body_bytes: invalid type"),
    ] {
        let rejected = host
            .plugin("body_transform")
            .config(format!(r#"{{"max_body_bytes": {cap}}}"#))
            .start()
            .err()
            .unwrap_or_else(|| panic!("accepted {cap}"));
        assert!(
            rejected.errors.iter().any(|e| e.contains(expected)),
            "{expected:?} not in {rejected}"
        );
    }
    // The module's limit itself is fine.
    host.plugin("body_transform")
        .config(format!(r#"{{"max_body_bytes": {HARD_MAX_BODY}}}"#))
        .start()
        .unwrap();
}
