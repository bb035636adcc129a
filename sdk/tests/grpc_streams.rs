//! `Stream::grpc_stream` through the native test host: what the handler's `Action` does
//! to the HTTP stream, and what the `GrpcStream` handle may still do.
#![cfg(not(target_family = "wasm"))]

use proxylet::prelude::*;
use proxylet::HostError;
use proxylet_testkit::{module, Host, HttpStream, Verdict};

/// A message `reply` is answered with a local reply, `echo…` is sent back to the server.
fn handle(event: GrpcEvent, grpc: &GrpcStream, _stream: &mut Stream<'_>) -> Action {
    match event {
        GrpcEvent::Message(message) if message == b"reply" => {
            Action::reply(418, "answered from the stream\n")
        }
        GrpcEvent::Message(message) if message.starts_with(b"echo") => match grpc.send(&message) {
            Ok(()) => Action::Pause,
            Err(error) => Action::reply(500, error.to_string()),
        },
        _ => Action::Continue,
    }
}

/// `x-wait`: send `ping`, keep the stream open and pause the request. Otherwise: send
/// `only` as the last message, try one more, and let the request go on.
#[proxylet::filter(root_id = "streamer")]
fn on_request_headers(headers: &Headers, stream: &mut Stream<'_>) -> Result<Action, HostError> {
    let grpc = stream.grpc_stream("svc", "chat.Chat", "Talk", &[], handle)?;
    if headers.contains("x-wait") {
        grpc.send(b"ping")?;
        return Ok(Action::Pause);
    }
    grpc.send_last(b"only")?;
    let refused = grpc.send(b"too late").err().map(|e| e.status_name());
    stream
        .request_headers()
        .set("x-after-last", refused.unwrap_or("accepted"));
    Ok(Action::Continue)
}

fn start(headers: &[(&str, &str)]) -> (Host, HttpStream, u32) {
    let host = Host::native(module!());
    let plugin = host.plugin("streamer").start().unwrap();
    let mut stream = plugin.http_stream();
    let mut all = vec![(":path", "/")];
    all.extend_from_slice(headers);
    stream.request_headers(&all, true);
    let token = stream.grpc_streams()[0].token;
    (host, stream, token)
}

#[test]
fn send_last_half_closes_and_later_sends_are_refused() {
    let (host, stream, token) = start(&[]);
    let record = host.grpc_stream(token).unwrap();
    assert_eq!(record.sent, vec![b"only".to_vec()]);
    assert!(record.half_closed && record.is_open());
    assert_eq!(
        stream.request_header("x-after-last").as_deref(),
        Some(&b"BadArgument"[..])
    );
}

#[test]
fn continue_from_an_event_does_not_resume_a_stream_no_hook_paused() {
    let (host, stream, token) = start(&[]);
    assert!(host.grpc_stream_message(token, b"hi"));
    assert!(host.grpc_stream_close(token, 0, ""));
    assert!(!stream.request_resumed());
}

#[test]
fn the_handler_can_send_on_the_stream_and_keep_the_request_paused() {
    let (host, stream, token) = start(&[("x-wait", "1")]);
    assert!(host.grpc_stream_message(token, b"echo 1"));
    assert_eq!(
        host.grpc_stream(token).unwrap().sent,
        vec![b"ping".to_vec(), b"echo 1".to_vec()]
    );
    assert!(!stream.request_resumed());
    // Continue from a later event resumes the paused request, once.
    assert!(host.grpc_stream_message(token, b"go"));
    assert!(stream.request_resumed());
}

#[test]
fn a_reply_from_an_event_answers_the_paused_request() {
    let (host, stream, token) = start(&[("x-wait", "1")]);
    assert!(host.grpc_stream_message(token, b"reply"));
    let reply = stream.local_reply().unwrap();
    assert_eq!(reply.status, 418);
    assert!(!stream.request_resumed());
}

#[test]
fn a_refused_stream_is_an_error_of_the_hook() {
    let host = Host::native(module!());
    host.set_clusters(&["other"]);
    let plugin = host.plugin("streamer").start().unwrap();
    let mut stream = plugin.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Verdict::Pause
    );
    assert_eq!(stream.local_reply().unwrap().status, 500);
    assert!(host.grpc_streams().is_empty());
}
