//! The body transform in a real Envoy 1.40: what the upstream receives, byte for byte,
//! with `content-length` and chunked requests, and the 413/400 answers. Every test runs on
//! both targets (the wasm module in V8, and the same source as a native dynamic module),
//! except where Envoy's wasm host and its dynamic modules differ: there, each has its test.
//!
//! The module is built for each target once per test binary; Envoy comes from
//! `PROXYLET_ENVOY` or is installed into `target/tools`. Every server listens on a free
//! loopback port and is stopped on drop; Envoy's log is printed when a test fails.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use proxylet_artifact::build::{build_module, build_package, workspace_root, Target};
use proxylet_harness::client::send_raw;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, ModuleFilter, Request, Upstream};
use serde_json::{json, Value};

const RULES: &str = r#"{
    "max_body_bytes": 524288,
    "remove": ["password"],
    "rename": {"user_name": "username"},
    "set": {"source": "edge"}
}"#;

/// The module built for `target`, once per test binary.
fn module(target: Target) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[target as usize]
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            if target == Target::Native {
                return build_module(&root, "body-transform", target)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let built = build_package(&root, "body-transform", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(built.runtime_config.config.root_ids, ["body_transform"]);
            eprintln!("body_transform.wasm: {} bytes", built.size);
            built.wasm
        })
        .clone()
}

fn start(target: Target) -> (Upstream, Envoy) {
    start_with(target, false)
}

/// With `buffer`, Envoy's buffer filter runs after the transform (see README).
fn start_with(target: Target, buffer: bool) -> (Upstream, Envoy) {
    let upstream = Upstream::start_default().unwrap();
    let mut bootstrap = Bootstrap::http().filter(
        ModuleFilter::local("body_transform", module(target))
            .root_id("body_transform")
            .config(RULES),
    );
    if buffer {
        bootstrap = bootstrap.filter(buffer_filter());
    }
    let bootstrap = bootstrap.cluster("upstream", upstream.addr());
    let envoy = Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap();
    (upstream, envoy)
}

fn post(body: impl Into<Vec<u8>>) -> Request {
    Request::post("/users", body)
        .header("content-type", "application/json")
        .timeout(Duration::from_secs(10))
}

/// How the upstream received the one request: its framing and its body parsed.
#[derive(Debug, PartialEq)]
enum Framing {
    /// `transfer-encoding: chunked`, no `content-length`.
    Chunked,
    /// `content-length` equal to the size of the body received, no `transfer-encoding`.
    Length,
}

fn received(upstream: &Upstream) -> (Framing, Value) {
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    let framing = match (
        request.header_str("transfer-encoding"),
        request.header_str("content-length"),
    ) {
        (Some("chunked"), None) => Framing::Chunked,
        (None, Some(length)) if length == request.body.len().to_string() => Framing::Length,
        other => panic!("the upstream got a wrong framing {other:?} for {request:?}"),
    };
    (framing, serde_json::from_slice(&request.body).unwrap())
}

/// Three chunks, sent as they are: `{"user_name": "a", "password": "secret"}`.
const CHUNKED: &[u8] = b"POST /users HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
    content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n\
    11\r\n{\"user_name\": \"a\"\r\n\
    16\r\n, \"password\": \"secret\"\r\n\
    1\r\n}\r\n\
    0\r\n\r\n";

/// How a request sent with `content-length` reaches the upstream once its body is
/// rewritten. The targets differ because their hosts do: Envoy's wasm host gives no body
/// to a filter that holds the headers, so they leave first, without the stale length
/// (chunked); natively they wait for the body and carry its new length.
fn rewritten_framing(target: Target) -> Framing {
    match target {
        Target::Wasm => Framing::Chunked,
        Target::Native => Framing::Length,
    }
}

#[test]
fn the_upstream_gets_the_rewritten_body_without_a_stale_length() {
    for target in Target::BOTH {
        let (upstream, envoy) = start(target);
        let body = r#"{"user_name": "ada", "password": "hunter2", "age": 36}"#;

        let response = post(body).send(envoy.listener_addr()).unwrap();

        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        assert_eq!(
            received(&upstream),
            (
                rewritten_framing(target),
                json!({"username": "ada", "age": 36, "source": "edge"})
            ),
            "{target}"
        );
    }
}

#[test]
fn a_chunked_request_reaches_the_upstream_rewritten() {
    for target in Target::BOTH {
        let (upstream, envoy) = start(target);

        let response = send_raw(envoy.listener_addr(), CHUNKED, Duration::from_secs(10)).unwrap();

        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        assert_eq!(
            received(&upstream),
            (Framing::Chunked, json!({"username": "a", "source": "edge"}))
        );
    }
}

#[test]
fn a_body_of_many_reads_is_rewritten_whole() {
    for target in Target::BOTH {
        let (upstream, envoy) = start(target);
        // About 300 KB: Envoy hands it to the filter in many pieces, buffered until the end.
        let items: Vec<Value> = (0..20_000).map(|i| json!(format!("item-{i:06}"))).collect();
        let body = json!({"user_name": "bulk", "items": items, "password": "p"}).to_string();
        assert!(body.len() > 256 * 1024);

        let response = post(body).send(envoy.listener_addr()).unwrap();

        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        let (framing, value) = received(&upstream);
        assert_eq!(framing, rewritten_framing(target), "{target}");
        assert_eq!(value["username"], "bulk");
        assert_eq!(value["items"].as_array().unwrap().len(), 20_000);
        assert_eq!(value["items"][19_999], "item-019999");
        assert_eq!(value.get("password"), None);
    }
}

#[test]
fn bodies_over_the_cap_get_413_and_no_whole_request_reaches_the_upstream() {
    for target in Target::BOTH {
        let (upstream, envoy) = start(target);
        let big = format!(r#"{{"pad": "{}"}}"#, "x".repeat(600 * 1024));

        // Announced by content-length: refused from the headers.
        let announced = post(big.clone()).send(envoy.listener_addr()).unwrap();
        assert_eq!(announced.status, 413, "{target}: {}", envoy.log());
        assert_eq!(
            serde_json::from_slice::<Value>(&announced.body).unwrap(),
            json!({"error": "request body larger than 524288 bytes"})
        );

        // Chunked: refused once the whole body is there.
        let chunked = post(big)
            .header("transfer-encoding", "chunked")
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(chunked.status, 413, "{target}: {}", envoy.log());

        // No whole request: in wasm the chunked one's head did reach it, then a reset (see
        // `a_refused_body_s_request_has_already_started_at_the_upstream`); natively not
        // even that.
        assert!(upstream.requests().is_empty(), "{target}");
    }
}

#[test]
fn a_body_that_is_not_json_gets_400_with_the_reason() {
    for target in Target::BOTH {
        let (upstream, envoy) = start(target);

        let response = post("<user>ada</user>")
            .send(envoy.listener_addr())
            .unwrap();

        assert_eq!(response.status, 400, "{target}: {}", envoy.log());
        assert_eq!(
            response.header_str("content-type"),
            Some("application/json")
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&response.body).unwrap(),
            json!({"error": "request body is not valid JSON: expected value at line 1 column 1"})
        );
        let array = post("[1, 2]").send(envoy.listener_addr()).unwrap();
        assert_eq!(array.status, 400);
        assert!(upstream.requests().is_empty());
    }
}

#[test]
fn a_request_without_a_body_passes() {
    for target in Target::BOTH {
        let (upstream, envoy) = start(target);

        let response = Request::get("/users/7")
            .send(envoy.listener_addr())
            .unwrap();

        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        assert_eq!(upstream.requests().len(), 1);
        assert!(upstream.requests()[0].body.is_empty());
    }
}

#[test]
fn with_envoy_s_buffer_filter_after_it_the_upstream_gets_the_new_content_length() {
    for target in Target::BOTH {
        // The buffer filter holds the rewritten request until it is whole, then sets its
        // `content-length`: for a request that came with a (now stale) length...
        let (upstream, envoy) = start_with(target, true);
        let response = post(r#"{"user_name": "ada", "password": "hunter2"}"#)
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        assert_eq!(
            received(&upstream),
            (
                Framing::Length,
                json!({"username": "ada", "source": "edge"})
            )
        );

        // ...and for a chunked one.
        let (upstream, envoy) = start_with(target, true);
        let response = send_raw(envoy.listener_addr(), CHUNKED, Duration::from_secs(10)).unwrap();
        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        assert_eq!(
            received(&upstream),
            (Framing::Length, json!({"username": "a", "source": "edge"}))
        );
    }
}

// --- what the upstream sees of a refused body ---------------------------------------

/// Every wait below is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

/// What one upstream connection received, byte for byte, and how it ended.
#[derive(Clone, Debug, Default)]
struct Received {
    bytes: Vec<u8>,
    /// Envoy closed or reset the connection (before or after a whole request).
    ended: bool,
    /// The bytes hold a whole request (head, and the body its framing announces).
    complete: bool,
}

/// An HTTP/1.1 upstream that records the raw bytes of every connection: unlike the
/// harness's `Upstream`, it also shows requests that never completed. It answers a whole
/// request with `200 ok` and closes (so Envoy opens a connection per request).
struct RawUpstream {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<Received>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl RawUpstream {
    fn start() -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<Received>>> = Arc::default();
        let acceptor = {
            let (stop, connections) = (Arc::clone(&stop), Arc::clone(&connections));
            thread::spawn(move || {
                let mut threads = Vec::new();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let index = {
                        let mut all = connections.lock().unwrap();
                        all.push(Received::default());
                        all.len() - 1
                    };
                    let (stop, connections) = (Arc::clone(&stop), Arc::clone(&connections));
                    threads.push(thread::spawn(move || {
                        serve_raw(stream, &stop, |update| {
                            update(&mut connections.lock().unwrap()[index])
                        })
                    }));
                }
                for thread in threads {
                    let _ = thread.join();
                }
            })
        };
        RawUpstream {
            addr,
            stop,
            connections,
            acceptor: Some(acceptor),
        }
    }

    fn connections(&self) -> Vec<Received> {
        self.connections.lock().unwrap().clone()
    }

    /// Waits (bounded) until some connection satisfies `done`; returns them all.
    fn wait_until(&self, what: &str, done: impl Fn(&Received) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + WAIT;
        loop {
            let connections = self.connections();
            if connections.iter().any(&done) {
                return connections;
            }
            assert!(
                Instant::now() < deadline,
                "the upstream never {what}: {connections:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads until the peer closes, resets, or the upstream stops (reads time out every
/// 50 ms to see the stop flag); answers a whole request once.
fn serve_raw(
    mut stream: TcpStream,
    stop: &AtomicBool,
    update: impl Fn(&mut dyn FnMut(&mut Received)),
) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buffer = [0u8; 16 * 1024];
    let mut answered = false;
    while !stop.load(Ordering::SeqCst) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                let mut complete = false;
                update(&mut |received| {
                    received.bytes.extend_from_slice(&buffer[..n]);
                    received.complete = is_complete(&received.bytes);
                    complete = received.complete;
                });
                if complete && !answered {
                    answered = true;
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n",
                    );
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    update(&mut |received| received.ended = true);
    let _ = stream.shutdown(Shutdown::Both);
}

/// Whether `bytes` hold a whole request: a head, then a `content-length` body or a
/// chunked body up to its last chunk (enough for these tests' requests).
fn is_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    let body = &bytes[end + 4..];
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    body.len() >= length
}

/// Where Envoy's buffer filter goes in the chain, if anywhere.
#[derive(Clone, Copy, PartialEq)]
enum BufferFilter {
    None,
    Before,
    After,
}

// ANCHOR: buffer_filter
/// Envoy's buffer filter: holds each request until its body is complete (up to
/// `max_request_bytes`, `413` beyond), then passes it on whole.
fn buffer_filter() -> Value {
    json!({
        "name": "envoy.filters.http.buffer",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
            "max_request_bytes": 1048576,
        },
    })
}
// ANCHOR_END: buffer_filter

fn envoy_with_buffer(target: Target, upstream: &RawUpstream, buffer: BufferFilter) -> Envoy {
    let mut bootstrap = Bootstrap::http();
    if buffer == BufferFilter::Before {
        bootstrap = bootstrap.filter(buffer_filter());
    }
    bootstrap = bootstrap.filter(
        ModuleFilter::local("body_transform", module(target))
            .root_id("body_transform")
            .config(RULES),
    );
    if buffer == BufferFilter::After {
        bootstrap = bootstrap.filter(buffer_filter());
    }
    let bootstrap = bootstrap.cluster("upstream", upstream.addr);
    let options = EnvoyOptions {
        envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
        ..EnvoyOptions::default()
    };
    Envoy::start(&bootstrap, options).unwrap()
}

/// A request whose head is sent first and whose body (not JSON: refused) only once
/// `body_when` says so; returns the status Envoy answered.
fn refused_after(envoy: &Envoy, framing: &str, body_when: impl FnOnce()) -> u16 {
    let mut client = TcpStream::connect_timeout(&envoy.listener_addr(), WAIT).unwrap();
    client.set_read_timeout(Some(WAIT)).unwrap();
    let body: &[u8] = if framing == "chunked" {
        b"4\r\nnope\r\n0\r\n\r\n"
    } else {
        b"nope"
    };
    let head = format!(
        "POST /users HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
         content-type: application/json\r\n{framing}\r\n\r\n"
    );
    client.write_all(head.as_bytes()).unwrap();
    body_when();
    client.write_all(body).unwrap();
    let mut answer = Vec::new();
    let _ = client.read_to_end(&mut answer);
    let status_line = String::from_utf8_lossy(&answer);
    status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {status_line:?}\n{}", envoy.log()))
}

const FRAMINGS: [&str; 2] = ["content-length: 4", "transfer-encoding: chunked"];

#[test]
fn a_refused_body_s_request_has_already_started_at_the_upstream() {
    // Envoy's wasm host only: natively the headers wait for the body's verdict (the next test).
    let target = Target::Wasm;
    for framing in FRAMINGS {
        let upstream = RawUpstream::start();
        let envoy = envoy_with_buffer(target, &upstream, BufferFilter::None);

        // The filter lets the head go on before the body arrives (Envoy gives a filter
        // holding the head no body): the upstream gets it while the client still sends.
        let status = refused_after(&envoy, framing, || {
            upstream.wait_until("received the request head", |c| {
                c.bytes.windows(4).any(|w| w == b"\r\n\r\n")
            });
        });
        assert_eq!(status, 400, "{target}: {framing}\n{}", envoy.log());

        // Then the refusal resets it: the upstream saw a head and no whole request.
        let connections = upstream.wait_until("saw the connection end", |c| c.ended);
        let started: Vec<&Received> = connections.iter().filter(|c| !c.bytes.is_empty()).collect();
        assert_eq!(started.len(), 1, "{connections:?}");
        assert!(started[0].bytes.starts_with(b"POST /users HTTP/1.1\r\n"));
        assert!(!started[0].complete, "{framing}: {:?}", started[0]);
        assert!(
            !String::from_utf8_lossy(&started[0].bytes).contains("nope"),
            "the refused body never left Envoy"
        );
    }
}

#[test]
fn natively_a_refused_body_s_request_never_reaches_the_upstream() {
    // Envoy's dynamic modules give a filter that holds the headers its body, so they wait
    // for the verdict, with no buffer filter in the chain (wasm: the test above).
    let target = Target::Native;
    for framing in FRAMINGS {
        let upstream = RawUpstream::start();
        let envoy = envoy_with_buffer(target, &upstream, BufferFilter::None);

        // The head is in Envoy (its request is active) before the body is sent.
        let status = refused_after(&envoy, framing, || {
            let deadline = Instant::now() + WAIT;
            while envoy
                .stat("http.ingress_http.downstream_rq_active")
                .unwrap()
                != Some(1)
            {
                assert!(Instant::now() < deadline, "{target}: {}", envoy.log());
                thread::sleep(Duration::from_millis(10));
            }
        });
        assert_eq!(status, 400, "{target}: {framing}\n{}", envoy.log());

        // Not a byte, not even a connection: the router never saw the request.
        let connections = upstream.connections();
        assert!(
            connections.iter().all(|c| c.bytes.is_empty()),
            "{framing}: the upstream got {connections:?}"
        );
        assert_eq!(
            envoy.stat("cluster.upstream.upstream_rq_total").unwrap(),
            Some(0),
            "{framing}"
        );
        assert_eq!(
            envoy.stat("cluster.upstream.upstream_cx_total").unwrap(),
            Some(0),
            "{framing}"
        );
    }
}

#[test]
fn with_envoy_s_buffer_filter_in_the_chain_a_refused_request_never_reaches_the_upstream() {
    for target in Target::BOTH {
        for buffer in [BufferFilter::Before, BufferFilter::After] {
            for framing in FRAMINGS {
                let upstream = RawUpstream::start();
                let envoy = envoy_with_buffer(target, &upstream, buffer);

                // The head is in Envoy (its request is active) before the body is sent.
                let status = refused_after(&envoy, framing, || {
                    let deadline = Instant::now() + WAIT;
                    while envoy
                        .stat("http.ingress_http.downstream_rq_active")
                        .unwrap()
                        != Some(1)
                    {
                        assert!(Instant::now() < deadline, "{target}: {}", envoy.log());
                        thread::sleep(Duration::from_millis(10));
                    }
                });
                assert_eq!(status, 400, "{target}: {framing}\n{}", envoy.log());

                // Not a byte. (Before the transform, the router may already have opened a
                // connection when the refusal comes; after it, the router never saw the
                // request.)
                let connections = upstream.connections();
                assert!(
                    connections.iter().all(|c| c.bytes.is_empty()),
                    "{framing}: the upstream got {connections:?}"
                );
                assert_eq!(
                    envoy.stat("cluster.upstream.upstream_rq_total").unwrap(),
                    Some(0),
                    "{framing}"
                );
                if buffer == BufferFilter::After {
                    assert_eq!(
                        envoy.stat("cluster.upstream.upstream_cx_total").unwrap(),
                        Some(0),
                        "{framing}"
                    );
                }
            }
        }
    }
}

#[test]
fn with_envoy_s_buffer_filter_in_the_chain_accepted_bodies_are_still_rewritten() {
    for target in Target::BOTH {
        for buffer in [BufferFilter::Before, BufferFilter::After] {
            let upstream = RawUpstream::start();
            let envoy = envoy_with_buffer(target, &upstream, buffer);
            let response = post(r#"{"user_name": "ada", "password": "hunter2"}"#)
                .send(envoy.listener_addr())
                .unwrap();
            assert_eq!(response.status, 200, "{target}: {}", envoy.log());
            let connections = upstream.wait_until("got a whole request", |c| c.complete);
            let request = &connections.iter().find(|c| c.complete).unwrap().bytes;
            let text = String::from_utf8_lossy(request);
            assert!(
                text.contains(r#"{"source":"edge","username":"ada"}"#),
                "{text}"
            );
        }
    }
}

#[test]
fn a_length_beyond_32_bits_is_refused_from_the_headers() {
    for target in Target::BOTH {
        let upstream = RawUpstream::start();
        let envoy = envoy_with_buffer(target, &upstream, BufferFilter::None);
        for length in ["4294967296", "5000000000", "18446744073709551615"] {
            let head = format!(
                "POST /users HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
                 content-type: application/json\r\ncontent-length: {length}\r\n\r\n"
            );
            // No body is sent: the answer comes from the head alone.
            let response = send_raw(envoy.listener_addr(), head.as_bytes(), WAIT)
                .unwrap_or_else(|e| panic!("{target}: {length}: {e}\n{}", envoy.log()));
            assert_eq!(response.status, 413, "{target}: {length}\n{}", envoy.log());
        }
        assert!(upstream.connections().iter().all(|c| c.bytes.is_empty()));
    }
}

#[test]
fn envoy_refuses_a_cap_out_of_range_naming_the_field() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        // Beyond wasm32's `usize`: refused while parsing, the field still named. A native
        // `usize` has 64 bits: it parses, and is refused as above the limit.
        let beyond = match target {
            Target::Wasm => "body_transform: config.max_body_bytes: invalid value",
            Target::Native => "body_transform: config.max_body_bytes: 18446744073709551615 is above this module's limit of 1048576 bytes",
        };
        for (cap, expected) in [
            ("2000000", "body_transform: config.max_body_bytes: 2000000 is above this module's limit of 1048576 bytes"),
            ("18446744073709551615", beyond),
            ("-1", "body_transform: config.max_body_bytes: invalid value"),
        ] {
            let bootstrap = Bootstrap::http()
                .filter(
                    ModuleFilter::local("body_transform", module(target))
                        .root_id("body_transform")
                        .config(format!(r#"{{"max_body_bytes": {cap}}}"#)),
                )
                .cluster("upstream", upstream.addr());
            let options = EnvoyOptions {
                envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
                ..EnvoyOptions::default()
            };
            let (status, log) =
                Envoy::run_expecting_failure(&bootstrap, options, Duration::from_secs(30)).unwrap();
            assert!(!status.success(), "{target}: Envoy accepted {cap}:\n{log}");
            assert!(log.contains(expected), "{target}: {expected:?} is not in the log:\n{log}");
        }
    }
}
