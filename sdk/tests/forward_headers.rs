//! `HttpCall::forward`: the headers an external-auth call passes on, every value of each
//! named header in every spelling a CGI upstream reads alike, in order; a pseudo-header
//! is refused.
#![cfg(not(target_family = "wasm"))]

use std::time::Duration;

use proxylet::prelude::*;
use proxylet_testkit::{module, Host};

#[proxylet::filter(root_id = "forwarder")]
fn on_request_headers(headers: &Headers, stream: &mut Stream<'_>) -> Action {
    let names: Vec<String> = headers
        .get("x-forward")
        .map(|v| v.to_string_lossy().split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let call = HttpCall::get("/check").forward(&stream.request_headers(), &names);
    stream.http_call("auth", call, Duration::from_secs(1), |result, stream| {
        let outcome = match result {
            Ok(answer) => format!("status {}", answer.status()),
            Err(error) => format!("{error}"),
        };
        stream.request_headers().set("x-outcome", outcome);
        Action::Continue
    })
}

/// Sends a request with `headers` through the filter; the stream, for its callouts and
/// its `x-outcome`.
fn request(headers: &[(&str, &str)]) -> proxylet_testkit::HttpStream {
    let host = Host::native(module!());
    let plugin = host.plugin("forwarder").start().unwrap();
    let mut stream = plugin.http_stream();
    stream.request_headers(headers, true);
    stream
}

#[test]
fn every_value_of_each_named_header_is_forwarded_in_order() {
    let stream = request(&[
        (":path", "/x"),
        (":authority", "example.com"),
        ("x-forward", "Authorization,cookie,x-absent,x-user"),
        ("cookie", "a=1"),
        ("x_user", "mallory"),
        ("authorization", "Bearer t"),
        ("Cookie", "b=2"),
        ("x-other", "not forwarded"),
        ("AUTHORIZATION", "Basic x"),
    ]);
    let callouts = stream.callouts();
    assert_eq!(callouts.len(), 1, "{callouts:?}");
    let sent: Vec<(String, String)> = callouts[0]
        .headers
        .iter()
        .filter(|(name, _)| !name.starts_with(b":"))
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).to_lowercase(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("cookie".to_owned(), "a=1".to_owned()),
            ("x_user".to_owned(), "mallory".to_owned()),
            ("authorization".to_owned(), "Bearer t".to_owned()),
            ("cookie".to_owned(), "b=2".to_owned()),
            ("authorization".to_owned(), "Basic x".to_owned()),
        ]
    );
    assert!(!callouts[0]
        .headers
        .iter()
        .any(|(n, v)| n == b":authority" && v == b"example.com"));
}

#[test]
fn a_pseudo_header_is_refused_not_dropped() {
    let stream = request(&[
        (":path", "/x"),
        (":authority", "example.com"),
        ("x-forward", "authorization,:authority"),
        ("authorization", "Bearer t"),
    ]);
    assert!(stream.callouts().is_empty(), "the call is not made");
    let outcome = String::from_utf8(stream.request_header("x-outcome").unwrap()).unwrap();
    assert!(outcome.contains(":authority"), "{outcome}");
}
