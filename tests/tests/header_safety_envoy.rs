//! proxylet's header rules through a real Envoy 1.40: a filter configured to write hostile
//! names and values (tests/fixtures/header-writer, wasm) never puts an extra header line or
//! a broken frame on the wire, a refused local reply becomes the `500` filter error, a
//! callout or gRPC call with a bad header is not sent, repeated headers are seen, and the
//! flagship refuses hostile configurations naming the field (on both targets).
//!
//! Responses are read as raw bytes from a plain TCP socket, so an injected line would be
//! seen as it is. Each test builds its module once per test binary, installs Envoy into
//! `target/tools` when missing, and starts its own upstream and Envoy on free loopback
//! ports; both are stopped on drop, and Envoy's log is printed when a test fails.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proxylet_artifact::build::{build_module, workspace_root, Target};
use proxylet_harness::http::Response as UpstreamResponse;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, ModuleFilter, Upstream};
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(10);
const BODY: &str = "upstream says hi\n";

/// Package `package` built for `target`, once per test binary.
fn module(package: &str, target: Target) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<Vec<(String, Target, PathBuf)>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, module)) = built.iter().find(|(p, t, _)| p == package && *t == target) {
        return module.clone();
    }
    let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
    let module = build_module(&root, package, target).unwrap_or_else(|e| panic!("{e}"));
    built.push((package.to_owned(), target, module.clone()));
    module
}

/// Values with a control byte, each carrying a would-be injected line.
const BAD_VALUES: &[&str] = &[
    "v\r\nset-cookie: evil=1",
    "v\nset-cookie: evil=1",
    "v\rset-cookie: evil=1",
    "v\r\n\r\nevil body",
    "evil\0",
    "evil\u{1}",
    "evil\u{b}",
    "evil\u{1b}[31m",
    "evil\u{7f}",
];

/// Names that are not tokens.
const BAD_NAMES: &[&str] = &[
    "",
    " ",
    "evil name",
    "evil:name",
    "evil\r\nset-cookie",
    "evil\0",
    "(evil)",
    "evil/name",
    "évil",
];

/// Framing headers whose write would desynchronise the message, in several cases.
const FRAMING: &[(&str, &str)] = &[
    ("content-length", "0"),
    ("Content-Length", "1"),
    ("transfer-encoding", "chunked"),
    ("Transfer-Encoding", "identity"),
    ("connection", "close"),
    ("keep-alive", "timeout=1"),
    ("upgrade", "websocket"),
    ("te", "trailers"),
];

fn write(op: &str, name: &str, value: &str) -> Value {
    json!({"op": op, "name": name, "value": value})
}

/// Writes of every category, and the outcome each must have.
fn hostile_writes(illegal_pseudo: &[&str]) -> (Vec<Value>, String) {
    let mut writes = Vec::new();
    let mut expected = Vec::new();
    for value in BAD_VALUES {
        for op in ["set", "append", "replace_all"] {
            writes.push(write(op, "x-written", value));
            expected.push("invalid_value");
        }
    }
    for name in BAD_NAMES {
        for op in ["set", "append", "remove", "replace_all"] {
            writes.push(write(op, name, "evil"));
            expected.push("invalid_name");
        }
    }
    for (name, value) in FRAMING {
        for op in ["set", "append", "replace_all"] {
            writes.push(write(op, name, value));
            expected.push("framing");
        }
    }
    for name in illegal_pseudo {
        writes.push(write("set", name, "/evil"));
        expected.push("pseudo");
    }
    (writes, expected.join(","))
}

fn upstream() -> Upstream {
    Upstream::start(|_| UpstreamResponse::text(200, BODY)).unwrap()
}

/// Envoy with header-writer. Wasm only: the fixture also makes gRPC calls, which the
/// native target does not have (a native build of it does not compile).
fn start(config: &Value, upstream: &Upstream) -> Envoy {
    let bootstrap = Bootstrap::http()
        .filter(
            ModuleFilter::local("header_writer", module("header-writer", Target::Wasm))
                .root_id("header_writer")
                .config(config.to_string()),
        )
        .cluster("upstream", upstream.addr());
    Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap()
}

/// Writes `raw` on a new connection and reads until the server closes it.
fn exchange(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let deadline = Instant::now() + TIMEOUT;
    let mut conn = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    conn.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    conn.write_all(raw).unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        assert!(
            Instant::now() < deadline,
            "no end of response within {TIMEOUT:?}: {}",
            received.escape_ascii()
        );
        match conn.read(&mut buf) {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(buf.get(..n).unwrap()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("reading the response: {e}"),
        }
    }
}

fn get(case: Option<usize>, extra: &str, close: bool) -> String {
    let case = case.map_or(String::new(), |i| format!("x-case: {i}\r\n"));
    let connection = if close { "connection: close\r\n" } else { "" };
    format!("GET / HTTP/1.1\r\nhost: test\r\n{case}{extra}{connection}\r\n")
}

/// One HTTP/1.1 response as it was on the wire.
#[derive(Debug)]
struct Wire {
    status_line: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Wire {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Parses one response from the front of `raw` and returns the rest. Strict: every head
/// line is `token: value` without a control byte, and the body is framed by
/// `content-length` (these responses are never chunked).
fn parse(raw: &[u8]) -> (Wire, &[u8]) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head: {}", raw.escape_ascii()));
    let head = raw.get(..end).unwrap();
    // Lines end with CRLF; a bare CR or LF left inside a line fails the checks below.
    let mut lines = Vec::new();
    let mut rest = head;
    while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
        lines.push(rest.get(..at).unwrap());
        rest = rest.get(at + 2..).unwrap();
    }
    lines.push(rest);
    let mut lines = lines.into_iter();
    let status_line = String::from_utf8(lines.next().unwrap().to_vec()).unwrap();
    let mut headers = Vec::new();
    for line in lines {
        let colon = line.iter().position(|b| *b == b':').unwrap_or_else(|| {
            panic!(
                "a head line without a colon: {} in {}",
                line.escape_ascii(),
                raw.escape_ascii()
            )
        });
        let name = line.get(..colon).unwrap();
        assert!(
            !name.is_empty()
                && name
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b)),
            "a head line whose name is not a token: {}",
            line.escape_ascii()
        );
        let value = line.get(colon + 1..).unwrap().trim_ascii().to_vec();
        assert!(
            value
                .iter()
                .all(|b| *b >= 0x20 && *b != 0x7f || *b == b'\t'),
            "a control byte in a value: {}",
            line.escape_ascii()
        );
        headers.push((String::from_utf8_lossy(name).into_owned(), value));
    }
    let wire = Wire {
        status_line,
        headers,
        body: Vec::new(),
    };
    assert_eq!(wire.header("transfer-encoding"), None, "{wire:?}");
    let length: usize = wire
        .header("content-length")
        .unwrap_or_else(|| panic!("no content-length: {wire:?}"))
        .parse()
        .unwrap();
    let rest = raw.get(end + 4..).unwrap();
    assert!(rest.len() >= length, "body cut short: {wire:?}");
    let (body, rest) = rest.split_at(length);
    (
        Wire {
            body: body.to_vec(),
            ..wire
        },
        rest,
    )
}

fn assert_no_injection(raw: &[u8], case: &str) {
    let text = String::from_utf8_lossy(raw).to_ascii_lowercase();
    assert!(
        !text.contains("evil") && !text.contains("set-cookie"),
        "{case}: injected bytes on the wire:\n{}",
        raw.escape_ascii()
    );
}

#[test]
fn hostile_response_header_writes_never_reach_the_wire() {
    let (writes, expected) = hostile_writes(&[":path", ":method", ":authority", ":protocol"]);
    let mut status_writes = Vec::new();
    for status in [
        "100",
        "199",
        "600",
        "2000",
        "20",
        "abc",
        "",
        "200\r\nevil: 1",
    ] {
        status_writes.push(write("set", ":status", status));
    }
    let config = json!({
        "response": writes,
        "cases": [{ "response": status_writes }],
    });
    let upstream = upstream();
    let envoy = start(&config, &upstream);

    let raw = exchange(envoy.listener_addr(), get(None, "", true).as_bytes());
    assert_no_injection(&raw, "response writes");
    let (wire, rest) = parse(&raw);
    assert_eq!(wire.status_line, "HTTP/1.1 200 OK", "{}", envoy.log());
    assert_eq!(wire.header("x-response-outcomes"), Some(expected));
    assert_eq!(wire.body, BODY.as_bytes());
    assert!(
        rest.is_empty(),
        "bytes after the response: {}",
        rest.escape_ascii()
    );

    // Two requests on one kept-alive connection: the framing the filter could not touch
    // keeps both responses whole.
    let pipelined = [get(None, "", false), get(None, "", true)].concat();
    let raw = exchange(envoy.listener_addr(), pipelined.as_bytes());
    assert_no_injection(&raw, "pipelined");
    let (first, rest) = parse(&raw);
    let (second, rest) = parse(rest);
    for wire in [&first, &second] {
        assert_eq!(wire.status_line, "HTTP/1.1 200 OK", "{}", envoy.log());
        assert_eq!(wire.body, BODY.as_bytes());
    }
    assert!(
        rest.is_empty(),
        "bytes after the responses: {}",
        rest.escape_ascii()
    );

    // `:status` set to anything but 200..=599 is refused: the upstream's 200 goes out.
    let raw = exchange(envoy.listener_addr(), get(Some(0), "", true).as_bytes());
    assert_no_injection(&raw, ":status");
    let (wire, _) = parse(&raw);
    assert_eq!(wire.status_line, "HTTP/1.1 200 OK", "{}", envoy.log());
    assert_eq!(
        wire.header("x-response-outcomes").as_deref(),
        Some(["invalid_value"; 8].join(",").as_str())
    );
    assert!(!envoy.log().contains("panic"), "{}", envoy.log());
}

#[test]
fn hostile_request_header_writes_never_reach_the_upstream() {
    let (mut writes, expected) = hostile_writes(&[":status", ":protocol", ":evil"]);
    for path in ["/a b", "/a\r\nevil: 1", "evil", "/#evil"] {
        writes.push(write("set", ":path", path));
    }
    // `host` is Envoy's `:authority`: set only, with a valid value.
    writes.push(write("append", "host", "evil.example"));
    writes.push(write("set", "host", "evil.example/x"));
    writes.push(write("set", "x-valid", "a\tb"));
    let expected = format!(
        "{expected},invalid_value,invalid_value,invalid_value,invalid_value,pseudo,invalid_value,ok"
    );
    let upstream = upstream();
    let envoy = start(&json!({ "request": writes }), &upstream);

    let raw = exchange(
        envoy.listener_addr(),
        b"POST /p HTTP/1.1\r\nhost: test\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
    );
    let (wire, _) = parse(&raw);
    assert_eq!(wire.status_line, "HTTP/1.1 200 OK", "{}", envoy.log());
    assert_eq!(wire.header("x-request-outcomes"), Some(expected.clone()));

    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/p");
    assert_eq!(request.header_str("host"), Some("test"));
    assert_eq!(request.body, b"hello", "the request body kept its framing");
    assert_eq!(
        request.header_str("x-request-outcomes"),
        Some(expected.as_str())
    );
    assert_eq!(request.header_value("x-valid"), Some(&b"a\tb"[..]));
    for (name, value) in &request.headers {
        let line = [name.as_slice(), b": ", value.as_slice()].concat();
        assert_no_injection(&line, "request to the upstream");
    }
}

#[test]
fn refused_local_replies_become_the_filter_error() {
    let mut cases = Vec::new();
    for value in BAD_VALUES {
        cases.push(
            json!({"reply": {"status": 403, "headers": [["x-reason", value]], "body": "no\n"}}),
        );
    }
    for name in BAD_NAMES.iter().chain(&[":status", ":path"]) {
        cases.push(json!({"reply": {"status": 403, "headers": [[name, "evil"]], "body": "no\n"}}));
    }
    for (name, value) in FRAMING {
        cases.push(json!({"reply": {"status": 403, "headers": [[name, value]], "body": "no\n"}}));
    }
    for status in [0, 1, 100, 101, 103, 199, 600, 999, 1000] {
        cases.push(json!({"reply": {"status": status, "body": "no\n"}}));
    }
    let refused = cases.len();
    cases.push(json!({"reply": {"status": 403, "headers": [["x-ok", "a\tb"]], "body": "no\n"}}));
    let upstream = upstream();
    let envoy = start(&json!({ "cases": cases }), &upstream);

    for (case, config) in cases.iter().enumerate().take(refused) {
        let raw = exchange(envoy.listener_addr(), get(Some(case), "", true).as_bytes());
        assert_no_injection(&raw, &format!("case {case}: {config}"));
        let (wire, _) = parse(&raw);
        assert_eq!(
            wire.status_line,
            "HTTP/1.1 500 Internal Server Error",
            "case {case}: {config}\n{}",
            envoy.log()
        );
        assert_eq!(wire.body, b"filter error\n", "case {case}");
    }
    let raw = exchange(
        envoy.listener_addr(),
        get(Some(refused), "", true).as_bytes(),
    );
    let (wire, _) = parse(&raw);
    assert_eq!(
        wire.status_line,
        "HTTP/1.1 403 Forbidden",
        "{}",
        envoy.log()
    );
    assert_eq!(wire.header("x-ok").as_deref(), Some("a\tb"));
    assert_eq!(wire.body, b"no\n");

    assert!(upstream.requests().is_empty());
    let log = envoy.log();
    assert!(
        log.contains("header_writer: local reply not sent: invalid value for header `x-reason`"),
        "{log}"
    );
    assert!(
        log.contains("header_writer: local reply not sent: invalid value for header `:status`"),
        "{log}"
    );
    assert!(!log.contains("panic"), "{log}");
}

#[test]
fn callouts_and_grpc_calls_with_bad_headers_are_not_sent() {
    let cases = [
        (
            json!({"call": {"headers": [["x-h", "v\r\nevil: 1"]]}}),
            "x-call-outcome",
            "not sent invalid_value",
        ),
        (
            json!({"call": {"headers": [["evil name", "v"]]}}),
            "x-call-outcome",
            "not sent invalid_name",
        ),
        (
            json!({"call": {"headers": [["content-length", "0"]]}}),
            "x-call-outcome",
            "not sent framing",
        ),
        (
            json!({"call": {"headers": [["host", "evil.example"]]}}),
            "x-call-outcome",
            "not sent pseudo",
        ),
        (
            json!({"call": {"headers": [[":path", "/evil"]]}}),
            "x-call-outcome",
            "not sent pseudo",
        ),
        (
            json!({"call": {"path": "/a b"}}),
            "x-call-outcome",
            "not sent invalid_value",
        ),
        (
            json!({"call": {"path": "/a\r\nevil: 1"}}),
            "x-call-outcome",
            "not sent invalid_value",
        ),
        (
            json!({"call": {"method": "GET /evil HTTP/1.1\r\n"}}),
            "x-call-outcome",
            "not sent invalid_value",
        ),
        (
            json!({"call": {"authority": "a\r\nevil: 1"}}),
            "x-call-outcome",
            "not sent invalid_value",
        ),
        (
            json!({"grpc_call": [["x-m", "v\r\nevil: 1"]]}),
            "x-grpc-call-outcome",
            "not sent 13",
        ),
        (
            json!({"grpc_call": [["te", "evil"]]}),
            "x-grpc-call-outcome",
            "not sent 13",
        ),
        (
            json!({"grpc_stream": [["x-m", "evil\0"]]}),
            "x-grpc-stream-outcome",
            "BadArgument",
        ),
        (
            json!({"grpc_stream": [[":authority", "evil"]]}),
            "x-grpc-stream-outcome",
            "BadArgument",
        ),
    ];
    let valid = cases.len();
    let mut configs: Vec<Value> = cases.iter().map(|(c, _, _)| c.clone()).collect();
    configs.push(json!({"call": {"headers": [["x-h", "a\tb"]]}}));
    let config = json!({ "cases": configs });
    let upstream = upstream();
    let envoy = start(&config, &upstream);

    for (case, (config, header, outcome)) in cases.iter().enumerate() {
        let raw = exchange(envoy.listener_addr(), get(Some(case), "", true).as_bytes());
        let (wire, _) = parse(&raw);
        assert_eq!(
            wire.status_line,
            "HTTP/1.1 200 OK",
            "{config}\n{}",
            envoy.log()
        );
        // Only the request itself reached the upstream: no callout, no gRPC call.
        let requests = upstream.take_requests();
        assert_eq!(requests.len(), 1, "{config}: {requests:?}");
        assert_eq!(requests[0].path, "/");
        assert_eq!(requests[0].header_str(header), Some(*outcome), "{config}");
        assert_no_injection(&raw, &config.to_string());
    }

    // The valid callout is sent: the upstream sees it, then the request.
    let raw = exchange(envoy.listener_addr(), get(Some(valid), "", true).as_bytes());
    let (wire, _) = parse(&raw);
    assert_eq!(wire.status_line, "HTTP/1.1 200 OK", "{}", envoy.log());
    let requests = upstream.take_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].path, "/callout");
    assert_eq!(requests[0].header_value("x-h"), Some(&b"a\tb"[..]));
    assert_eq!(requests[1].header_str("x-call-outcome"), Some("status 200"));
}

#[test]
fn repeated_headers_and_their_variants_are_seen_through_envoy() {
    let upstream = upstream();
    let envoy = start(&json!({"read": ["x-api-key"]}), &upstream);
    let cases = [
        ("", "absent", ""),
        ("x-api-key: good\r\n", "one good", "good"),
        (
            "x-api-key: good\r\nx-api-key: anything\r\n",
            "repeated 2",
            "good|anything",
        ),
        (
            "x-api-key: junk\r\nx-api-key: gold\r\n",
            "repeated 2",
            "junk|gold",
        ),
        ("X-Api-Key: a\r\nx-api-key: b\r\n", "repeated 2", "a|b"),
        (
            "x-api-key: good\r\nx_api_key: gold\r\n",
            "repeated 2",
            "good",
        ),
        (
            "x_api_key: gold\r\nx-api-key: good\r\n",
            "repeated 2",
            "good",
        ),
        (
            "X_API_KEY: a\r\nx-api_key: b\r\nx-api-key: c\r\n",
            "repeated 3",
            "c",
        ),
        ("x_api_key: gold\r\n", "one gold", ""),
        (
            "x-api-key: k\r\nx-api-keys: z\r\nx.api.key: y\r\n",
            "one k",
            "k",
        ),
    ];
    for (headers, unique, all) in cases {
        let raw = exchange(envoy.listener_addr(), get(None, headers, true).as_bytes());
        let (wire, _) = parse(&raw);
        assert_eq!(
            wire.status_line,
            "HTTP/1.1 200 OK",
            "{headers:?}\n{}",
            envoy.log()
        );
        assert_eq!(
            wire.header("x-unique-0").as_deref(),
            Some(unique),
            "{headers:?}"
        );
        assert_eq!(wire.header("x-all-0").as_deref(), Some(all), "{headers:?}");
    }
}

#[test]
fn the_flagship_refuses_hostile_header_configs_naming_the_field() {
    for target in Target::BOTH {
        let upstream = upstream();
        let cases: &[(Value, &str)] = &[
            (
                json!({"value": "v\r\nset-cookie: evil=1"}),
                "config.value: invalid header value: a value cannot hold CR, LF, NUL",
            ),
            (
                json!({"value": "v\nx: y"}),
                "config.value: invalid header value",
            ),
            (
                json!({"value": "a\u{0}b"}),
                "config.value: invalid header value",
            ),
            (
                json!({"value": "\u{1b}[31m"}),
                "config.value: invalid header value",
            ),
            (
                json!({"value": "a\u{7f}"}),
                "config.value: invalid header value",
            ),
            (
                json!({"name": ""}),
                "config.name: invalid header name ``: a name is a non-empty RFC 9110 token",
            ),
            (
                json!({"name": "x y"}),
                "config.name: invalid header name `x y`",
            ),
            (
                json!({"name": "x:y"}),
                "config.name: invalid header name `x:y`",
            ),
            (
                json!({"name": "x\r\nset-cookie"}),
                "config.name: invalid header name `x\\x0d\\x0aset-cookie`",
            ),
            (
                json!({"name": ":status"}),
                "config.name: pseudo-header `:status` cannot be written here",
            ),
            (
                json!({"name": "content-length"}),
                "config.name: header `content-length` frames the message",
            ),
            (
                json!({"name": "Transfer-Encoding"}),
                "config.name: header `transfer-encoding` frames the message",
            ),
        ];
        for (config, expected) in cases {
            let bootstrap = Bootstrap::http()
                .filter(
                    ModuleFilter::local("add_header", module("add-header", target))
                        .root_id("add_header")
                        .config(config.to_string()),
                )
                .cluster("upstream", upstream.addr());
            let (status, log) = Envoy::run_expecting_failure(
                &bootstrap,
                EnvoyOptions::default(),
                Duration::from_secs(30),
            )
            .unwrap();
            assert!(!status.success(), "{target}: {config}: accepted\n{log}");
            assert!(
                log.contains(&format!("add_header: {expected}")),
                "{target}: {config}: the log lacks `add_header: {expected}`:\n{log}"
            );
        }
        assert!(upstream.requests().is_empty());

        // A valid one is lowercased and written; a tab is a valid value byte.
        let bootstrap = Bootstrap::http()
            .filter(
                ModuleFilter::local("add_header", module("add-header", target))
                    .root_id("add_header")
                    .config(json!({"name": "X-Fruit", "value": "kiwi\tpear"}).to_string()),
            )
            .cluster("upstream", upstream.addr());
        let envoy = Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap();
        let raw = exchange(envoy.listener_addr(), get(None, "", true).as_bytes());
        let (wire, _) = parse(&raw);
        assert_eq!(
            wire.status_line,
            "HTTP/1.1 200 OK",
            "{target}: {}",
            envoy.log()
        );
        assert_eq!(
            wire.header("x-fruit").as_deref(),
            Some("kiwi\tpear"),
            "{target}"
        );
    }
}
