//! Envoy answers a callout it could not complete with a local reply of its own (`504
//! upstream request timeout`, `503 upstream connect error…`) instead of reporting a
//! failure; proxylet turns those into `CallError::Timeout` / `CallError::Failed`, while a
//! service's own 503/504 stays an answer.
#![cfg(not(target_family = "wasm"))]

use std::time::Duration;

use proxylet::prelude::*;
use proxylet_testkit::{module, Host, HttpStream};

const TIMEOUT: Duration = Duration::from_millis(200);

#[proxylet::filter(root_id = "caller")]
fn on_request_headers(stream: &mut Stream<'_>) -> Action {
    stream.http_call("svc", HttpCall::get("/"), TIMEOUT, |result, stream| {
        let outcome = match result {
            Ok(answer) => format!("status {}", answer.status()),
            Err(CallError::Timeout) => "timeout".into(),
            Err(CallError::Failed) => "failed".into(),
            Err(CallError::Rejected(_)) => "rejected".into(),
            Err(error) => format!("{error}"),
        };
        stream.request_headers().set("x-outcome", outcome);
        Action::Continue
    })
}

/// Makes the call, lets `elapsed` pass, answers it, returns what the callback saw.
fn outcome(elapsed: Duration, status: u16, headers: &[(&str, &str)], body: &str) -> String {
    let host = Host::native(module!());
    let plugin = host.plugin("caller").start().unwrap();
    let mut stream: HttpStream = plugin.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    let token = stream.callouts()[0].token;
    host.advance(elapsed);
    assert!(host.respond_to_call(token, status, headers, body.as_bytes()));
    assert!(stream.request_resumed());
    String::from_utf8(stream.request_header("x-outcome").unwrap()).unwrap()
}

const ENVOY_HEADERS: &[(&str, &str)] = &[("content-length", "24"), ("content-type", "text/plain")];

#[test]
fn envoy_s_504_at_the_timeout_is_a_timeout() {
    assert_eq!(
        outcome(TIMEOUT, 504, ENVOY_HEADERS, "upstream request timeout"),
        "timeout"
    );
}

#[test]
fn envoy_s_503_for_an_unreachable_cluster_is_a_failure() {
    let refused = "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure";
    assert_eq!(
        outcome(Duration::ZERO, 503, ENVOY_HEADERS, refused),
        "failed"
    );
    assert_eq!(
        outcome(Duration::ZERO, 503, ENVOY_HEADERS, "no healthy upstream"),
        "failed"
    );
}

#[test]
fn a_service_s_own_503_and_504_are_answers() {
    let with_server = &[("content-type", "text/plain"), ("server", "svc")];
    assert_eq!(
        outcome(TIMEOUT, 504, with_server, "upstream request timeout"),
        "status 504"
    );
    assert_eq!(
        outcome(Duration::ZERO, 503, ENVOY_HEADERS, "maintenance"),
        "status 503"
    );
    assert_eq!(
        outcome(Duration::ZERO, 200, ENVOY_HEADERS, "no healthy upstream"),
        "status 200"
    );
}
