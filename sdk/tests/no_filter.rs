//! A stream of a plugin whose root id matched no filter of the module: Envoy creates
//! none (it refuses the plugin), and a host that does gets the stream refused with a 500
//! and the reason at error level, never passed on and never a trap.
#![cfg(not(target_family = "wasm"))]

use proxylet_testkit::{module, Host, HttpStream, Level, Verdict};

mod a {
    #[proxylet::filter(root_id = "a", export = false)]
    pub fn on_request_headers(_headers: &proxylet::http::Headers) {}
}

mod b {
    #[proxylet::filter(root_id = "b", export = false)]
    pub fn on_request_headers(_headers: &proxylet::http::Headers) {}
}

proxylet::main!(a::on_request_headers, b::on_request_headers);

/// A stream of a plugin of root id `c`, kept although the module refused it.
fn refused_plugin_stream() -> (Host, HttpStream) {
    let host = Host::native(module!());
    let plugin = host.plugin("c").start_despite_refusal();
    assert_eq!(host.logs_at(Level::Error), [REFUSED]);
    let stream = plugin.http_stream();
    (host, stream)
}

const REFUSED: &str = "no filter with root id `c` in this module; it has `a`, `b`";

const WHY: &str =
    "refusing a stream of a plugin that has no filter (its root id was refused when it was configured)";

#[test]
fn a_stream_of_a_plugin_without_a_filter_is_refused_not_a_trap() {
    let (host, mut stream) = refused_plugin_stream();

    assert_eq!(
        stream.request_headers(&[(":path", "/")], false),
        Verdict::Pause
    );
    let reply = stream.local_reply().expect("a local reply");
    assert_eq!(
        (reply.status, reply.details.as_str()),
        (500, "proxylet_no_filter")
    );
    // The rest of the request goes nowhere; the reply itself goes out.
    assert_eq!(stream.request_body(b"abc", true), Verdict::Continue);
    assert_eq!(
        stream.response_headers(&[(":status", "500")], true),
        Verdict::Continue
    );
    // Refused once: one reply, one line.
    assert_eq!(host.logs_at(Level::Error), [REFUSED, WHY]);
    stream.complete().unwrap();
}

#[test]
fn a_stream_refused_in_its_response_is_answered_there() {
    let (host, mut stream) = refused_plugin_stream();

    assert_eq!(
        stream.response_headers(&[(":status", "200"), ("x", "y")], false),
        Verdict::Pause
    );
    assert_eq!(stream.local_reply().map(|r| r.status), Some(500));
    assert_eq!(host.logs_at(Level::Error), [REFUSED, WHY]);
}
