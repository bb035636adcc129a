//! The client and the upstream against each other (and against raw sockets), no Envoy.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use proxylet_harness::client::send_raw;
use proxylet_harness::{Client, Request, Response, Upstream};

#[test]
fn upstream_answers_hi_and_records_raw_header_bytes() {
    let upstream = Upstream::start_default().unwrap();

    let response = Request::get("/path?q=1")
        .header(b"X-Raw".as_slice(), [0xff, 0xfe])
        .header("x-empty", "")
        .send(upstream.addr())
        .unwrap();

    assert_eq!(response.status, 200);
    assert_eq!(response.header_str("Content-Type"), Some("text/plain"));
    assert_eq!(response.header_str("content-length"), Some("17"));
    assert_eq!(response.body, b"upstream says hi\n");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/path?q=1")
    );
    // Names keep their case; values are bytes.
    assert_eq!(request.headers[1], (b"X-Raw".to_vec(), vec![0xff, 0xfe]));
    assert_eq!(request.header_value("x-raw"), Some(&[0xff, 0xfe][..]));
    assert_eq!(request.header_str("x-raw"), None);
    assert_eq!(request.header_value("x-empty"), Some(&b""[..]));
    assert_eq!(request.header_str("host"), Some("localhost"));
    assert_eq!(request.header_str("connection"), Some("close"));
}

#[test]
fn upstream_reads_content_length_and_chunked_bodies_on_one_connection() {
    let upstream = Upstream::start(|request: &Request| {
        Response::text(200, format!("got {} bytes", request.body.len()))
    })
    .unwrap();
    let mut client = Client::new(upstream.addr());

    let first = client.send(&Request::post("/a", "hello")).unwrap();
    assert!(client.is_connected());
    let second = client
        .send(&Request::post("/b", "chunked body").header("transfer-encoding", "chunked"))
        .unwrap();
    let third = client.send(&Request::get("/c")).unwrap();

    assert_eq!(first.body, b"got 5 bytes");
    assert_eq!(second.body, b"got 12 bytes");
    assert_eq!(third.body, b"got 0 bytes");
    let bodies: Vec<Vec<u8>> = upstream.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(
        bodies,
        [b"hello".to_vec(), b"chunked body".to_vec(), vec![]]
    );
}

#[test]
fn upstream_decodes_multi_chunk_bodies_with_extensions_and_trailers() {
    let upstream = Upstream::start_default().unwrap();
    let raw =
        b"POST /x HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n\
        3;ext=1\r\nabc\r\n5\r\ndefgh\r\n0\r\nx-trailer: t\r\n\r\n";

    let response = send_raw(upstream.addr(), raw, Duration::from_secs(5)).unwrap();

    assert_eq!(response.status, 200);
    assert_eq!(upstream.requests()[0].body, b"abcdefgh");
}

#[test]
fn upstream_serves_connections_concurrently() {
    // Both requests must be inside the responder at once for either to finish.
    let barrier = Arc::new(Barrier::new(2));
    let upstream = {
        let barrier = Arc::clone(&barrier);
        Upstream::start(move |_: &Request| {
            barrier.wait();
            Response::text(200, "together")
        })
        .unwrap()
    };
    let addr = upstream.addr();

    let bodies: Vec<Vec<u8>> = std::thread::scope(|s| {
        let a = s.spawn(|| Request::get("/a").send(addr).unwrap().body);
        let b = s.spawn(|| Request::get("/b").send(addr).unwrap().body);
        vec![a.join().unwrap(), b.join().unwrap()]
    });

    assert_eq!(bodies, [b"together".to_vec(), b"together".to_vec()]);
}

#[test]
fn a_panicking_responder_gives_500_and_the_request_is_still_recorded() {
    let upstream = Upstream::start(|_: &Request| -> Response { panic!("on purpose") }).unwrap();

    let response = Request::get("/boom").send(upstream.addr()).unwrap();

    assert_eq!(response.status, 500);
    assert!(response.text_body().contains("on purpose"));
    assert_eq!(upstream.requests()[0].path, "/boom");
}

#[test]
fn wait_for_requests_is_bounded() {
    let upstream = Upstream::start_default().unwrap();
    let error = upstream
        .wait_for_requests(1, Duration::from_millis(50))
        .unwrap_err();
    assert!(error.message().contains("received 0 request(s)"), "{error}");

    let addr = upstream.addr();
    let sender = std::thread::spawn(move || Request::get("/late").send(addr).unwrap());
    let requests = upstream
        .wait_for_requests(1, Duration::from_secs(5))
        .unwrap();
    sender.join().unwrap();
    assert_eq!(requests[0].path, "/late");
    assert_eq!(upstream.take_requests().len(), 1);
    assert!(upstream.requests().is_empty());
}

#[test]
fn dropping_the_upstream_closes_its_port_and_connections() {
    let upstream = Upstream::start_default().unwrap();
    let addr = upstream.addr();
    let mut client = Client::new(addr);
    client.send(&Request::get("/")).unwrap();
    assert!(client.is_connected());

    drop(upstream);

    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
    assert!(client.send(&Request::get("/")).is_err());
}

/// A one-connection server that answers whatever it reads with `answer`, then closes.
fn serve_once(answer: &'static [u8]) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 && !line.ends_with("\r\n\r\n") {}
        let mut stream = reader.into_inner();
        stream.write_all(answer).unwrap();
    });
    addr
}

#[test]
fn client_reads_chunked_and_close_delimited_responses() {
    let chunked = serve_once(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\nx-two: 1\r\nX-Two: 2\r\n\r\n\
          4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n",
    );
    let response = Request::get("/").send(chunked).unwrap();
    assert_eq!(response.status, 201);
    assert_eq!(response.body, b"Wikipedia");
    assert_eq!(response.header_all("x-two"), [b"1", b"2"]);

    let until_close = serve_once(b"HTTP/1.0 200 OK\r\nx-raw: \xff\xfe\r\n\r\nuntil the end");
    let response = Request::get("/").send(until_close).unwrap();
    assert_eq!(response.body, b"until the end");
    assert_eq!(response.header("X-RAW"), Some(&[0xff, 0xfe][..]));
    assert_eq!(response.header_str("x-raw"), None);
}

#[test]
fn client_times_out_on_a_silent_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut sink = Vec::new();
        // Hold the connection open until the client gives up.
        let _ = stream.read_to_end(&mut sink);
    });

    let error = Request::get("/")
        .timeout(Duration::from_millis(200))
        .send(addr)
        .unwrap_err();

    assert!(error.is_timeout(), "{error}");
    assert!(
        error.to_string().contains("did not answer in time"),
        "{error}"
    );
    holder.join().unwrap();
}
