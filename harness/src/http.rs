//! HTTP/1.1 messages as bytes on the wire: the [`Request`] and [`Response`] types shared by
//! the [client](crate::client) and the [upstream](crate::upstream), and their parsers.
//!
//! Header names and values are bytes, not strings, because the point of the harness is to
//! send what a filter must survive (a value of `ff fe`, thousands of headers).

use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Largest request or response head (start line plus headers) the parsers accept.
///
/// Large enough for thousands of headers: tests send them on purpose.
pub(crate) const MAX_HEAD: usize = 4 << 20;
/// Largest body the parsers accept.
pub(crate) const MAX_BODY: usize = 64 << 20;

/// An HTTP/1.1 request: what the [client](crate::client) sends, and what the
/// [`Upstream`](crate::upstream::Upstream) records.
///
/// Build one with [`Request::get`] (or [`Request::new`]) and chain [`header`](Request::header),
/// [`body`](Request::body) and [`timeout`](Request::timeout), then call
/// [`send`](Request::send):
///
/// ```no_run
/// # fn main() -> Result<(), proxylet_harness::Error> {
/// # let addr: std::net::SocketAddr = "127.0.0.1:10000".parse().unwrap();
/// use proxylet_harness::Request;
/// let response = Request::get("/hello")
///     .header("x-raw", [0xff, 0xfe])
///     .send(addr)?;
/// assert_eq!(response.status, 200);
/// # Ok(()) }
/// ```
///
/// A received request's `method` and `path` are decoded lossily (invalid UTF-8 becomes
/// U+FFFD); its header names and values and body are exactly the bytes received, with
/// chunked framing removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target, e.g. `/path?query`.
    pub path: String,
    /// Header fields in order, names as given (not lowercased), values without the
    /// surrounding whitespace.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The body (de-chunked when received).
    pub body: Vec<u8>,
    /// How long [`send`](Request::send) may take in total (connect, write, read).
    /// Not part of the message; ignored by the upstream.
    pub timeout: Duration,
}

/// The client's default bound on one request, connect to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Request {
    /// A request with `method` and `path`, no headers and no body.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Request {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A `GET` request for `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Request::new("GET", path)
    }

    /// A `POST` request for `path` with `body`.
    pub fn post(path: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Request::new("POST", path).body(body)
    }

    /// Replaces the method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// Appends a header field; name and value are arbitrary bytes, sent as given.
    pub fn header(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Replaces the bound on [`send`](Request::send) (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }

    /// The value of the first header named `name`, if it is UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header_value(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Serializes the request head and body the way the client sends it.
    ///
    /// Adds `host: localhost` when there is no `host` header (Envoy answers 400 without
    /// one) and `content-length` when the body is not empty and there is neither
    /// `content-length` nor `transfer-encoding`. With `transfer-encoding: chunked` the body
    /// goes out as one chunk and the last chunk.
    pub(crate) fn to_wire(&self, connection_close: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let has = |name: &str| self.header_value(name).is_some();
        if !has("host") {
            out.extend_from_slice(b"host: localhost\r\n");
        }
        write_fields(&mut out, &self.headers);
        if connection_close && !has("connection") {
            out.extend_from_slice(b"connection: close\r\n");
        }
        let chunked = is_chunked(&self.headers);
        if !chunked && !has("content-length") && !self.body.is_empty() {
            out.extend_from_slice(format!("content-length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        write_body(&mut out, &self.body, chunked);
        out
    }
}

/// An HTTP/1.1 response: what the [client](crate::client) receives, and what an
/// [`Upstream`](crate::upstream::Upstream)'s responder returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header fields in order; names decoded lossily, values exactly as received.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body (de-chunked when received).
    pub body: Vec<u8>,
}

impl Response {
    /// A response with `status`, no headers and no body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A response with `status`, `content-type: text/plain` and `body`.
    pub fn text(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response::new(status)
            .with_header("content-type", "text/plain")
            .body(body)
    }

    /// Appends a header field. (Named `with_header` because [`header`](Response::header)
    /// reads one.)
    pub fn with_header(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name.into(), value.as_ref().to_vec()));
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The value of the first header named `name`, if it is UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The values of every header named `name`, in order.
    pub fn header_all(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    /// The body decoded lossily as UTF-8.
    pub fn text_body(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Serializes the response the way the upstream sends it: adds `content-length` unless
    /// there is `content-length` or `transfer-encoding`; with `transfer-encoding: chunked`
    /// the body goes out as one chunk. No body for `HEAD` (the length header stays).
    pub(crate) fn to_wire(&self, head_request: bool, connection_close: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(
            format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).as_bytes(),
        );
        let fields: Vec<(Vec<u8>, Vec<u8>)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.clone()))
            .collect();
        write_fields(&mut out, &fields);
        let has = |name: &str| self.header(name).is_some();
        if connection_close && !has("connection") {
            out.extend_from_slice(b"connection: close\r\n");
        }
        let chunked = is_chunked(&fields);
        let bodiless = matches!(self.status, 100..=199 | 204 | 304);
        if !chunked && !has("content-length") && !bodiless {
            out.extend_from_slice(format!("content-length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if !head_request && !bodiless {
            write_body(&mut out, &self.body, chunked);
        }
        out
    }
}

fn write_fields(out: &mut Vec<u8>, fields: &[(Vec<u8>, Vec<u8>)]) {
    for (name, value) in fields {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
}

fn write_body(out: &mut Vec<u8>, body: &[u8], chunked: bool) {
    if chunked {
        if !body.is_empty() {
            out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        out.extend_from_slice(body);
    }
}

fn is_chunked<N: AsRef<[u8]>>(fields: &[(N, Vec<u8>)]) -> bool {
    fields.iter().any(|(n, v)| {
        n.as_ref().eq_ignore_ascii_case(b"transfer-encoding")
            && String::from_utf8_lossy(v)
                .to_ascii_lowercase()
                .contains("chunked")
    })
}

/// Whether the fields ask to close the connection (`connection: close`), or, for HTTP/1.0,
/// do not ask to keep it.
pub(crate) fn wants_close<N: AsRef<[u8]>>(fields: &[(N, Vec<u8>)], http10: bool) -> bool {
    let mut close = http10;
    for (n, v) in fields {
        if n.as_ref().eq_ignore_ascii_case(b"connection") {
            let v = String::from_utf8_lossy(v).to_ascii_lowercase();
            if v.split(',').any(|t| t.trim() == "close") {
                close = true;
            }
            if v.split(',').any(|t| t.trim() == "keep-alive") {
                close = false;
            }
        }
    }
    close
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// A `TcpStream` whose reads give up at a deadline, however the time is split among reads.
pub(crate) struct DeadlineStream {
    pub(crate) stream: TcpStream,
    pub(crate) deadline: Option<Instant>,
}

impl DeadlineStream {
    fn remaining(&self) -> io::Result<Option<Duration>> {
        match self.deadline {
            None => Ok(None),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
                } else {
                    Ok(Some(left))
                }
            }
        }
    }

    /// Writes all of `bytes`, each write bounded by the deadline.
    pub(crate) fn write_all_bounded(&mut self, bytes: &[u8]) -> io::Result<()> {
        let left = self.remaining()?;
        self.stream.set_write_timeout(left)?;
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.stream.set_read_timeout(left)?;
        self.stream.read(buf)
    }
}

/// A parsed message head: the start line split in three, and the header fields.
pub(crate) struct Head {
    pub(crate) start: [String; 3],
    pub(crate) fields: Vec<(Vec<u8>, Vec<u8>)>,
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Reads one message head. `Ok(None)` when the peer closed the connection before sending a
/// byte (the normal end of a keep-alive connection).
pub(crate) fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut total = 0usize;
    let mut line = Vec::new();
    // Skip empty lines before the start line (RFC 9112 §2.2).
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return if total == 0 {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside the message head",
                ))
            };
        }
        total += n;
        if trim_eol(&line).is_empty() {
            if total > 1024 {
                return Err(invalid("too many empty lines before the start line"));
            }
            continue;
        }
        break;
    }
    let start_line = String::from_utf8_lossy(trim_eol(&line)).into_owned();
    let mut parts = start_line.splitn(3, ' ');
    let start = [
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    ];
    let mut fields = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside the message head",
            ));
        }
        total += n;
        if total > MAX_HEAD {
            return Err(invalid(format!(
                "message head larger than {MAX_HEAD} bytes"
            )));
        }
        let content = trim_eol(&line);
        if content.is_empty() {
            break;
        }
        let Some(colon) = content.iter().position(|&b| b == b':') else {
            return Err(invalid(format!(
                "header line without a colon: {:?}",
                String::from_utf8_lossy(content)
            )));
        };
        let name = content[..colon].to_vec();
        let value = trim_ows(&content[colon + 1..]).to_vec();
        fields.push((name, value));
    }
    Ok(Some(Head { start, fields }))
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// How a message's body is delimited.
pub(crate) enum Framing {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(usize),
    /// Chunked transfer coding.
    Chunked,
    /// Until the peer closes the connection (responses only).
    UntilClose,
}

/// The framing of a message from its header fields; `until_close` is what applies when
/// neither `transfer-encoding` nor `content-length` is present.
pub(crate) fn framing(fields: &[(Vec<u8>, Vec<u8>)], until_close: Framing) -> io::Result<Framing> {
    if is_chunked(fields) {
        return Ok(Framing::Chunked);
    }
    for (n, v) in fields {
        if n.eq_ignore_ascii_case(b"content-length") {
            let text = String::from_utf8_lossy(v);
            let len: usize = text
                .trim()
                .parse()
                .map_err(|_| invalid(format!("bad content-length {text:?}")))?;
            if len > MAX_BODY {
                return Err(invalid(format!("body larger than {MAX_BODY} bytes")));
            }
            return Ok(Framing::Length(len));
        }
    }
    Ok(until_close)
}

/// Reads a body with the given framing.
pub(crate) fn read_body(reader: &mut impl BufRead, framing: Framing) -> io::Result<Vec<u8>> {
    match framing {
        Framing::None => Ok(Vec::new()),
        Framing::Length(len) => {
            let mut body = vec![0; len];
            reader.read_exact(&mut body)?;
            Ok(body)
        }
        Framing::UntilClose => {
            let mut body = Vec::new();
            reader.take(MAX_BODY as u64 + 1).read_to_end(&mut body)?;
            if body.len() > MAX_BODY {
                return Err(invalid(format!("body larger than {MAX_BODY} bytes")));
            }
            Ok(body)
        }
        Framing::Chunked => read_chunked(reader),
    }
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        reader.take(1024).read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunk size line",
            ));
        }
        let text = String::from_utf8_lossy(trim_eol(&line)).into_owned();
        let size_text = text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size line {text:?}")))?;
        if size == 0 {
            // Trailer fields, then the empty line.
            loop {
                line.clear();
                let n = reader.take(64 * 1024).read_until(b'\n', &mut line)?;
                if n == 0 || trim_eol(&line).is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid(format!("body larger than {MAX_BODY} bytes")));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(invalid("chunk not followed by CRLF"));
        }
    }
}

/// The message of the error for a connection closed before any byte of a response.
pub(crate) const NO_RESPONSE: &str = "the server closed the connection without a response";

/// Reads one response. `head_request` says the request was `HEAD` (no body follows).
/// Interim (1xx) responses are skipped. The flag says whether the connection is finished
/// (the server asked to close it, or the body ran until the close).
pub(crate) fn read_response(
    reader: &mut impl BufRead,
    head_request: bool,
) -> io::Result<(Response, bool)> {
    loop {
        let Some(head) = read_head(reader)? else {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, NO_RESPONSE));
        };
        let [version, code, _reason] = &head.start;
        if !version.starts_with("HTTP/") {
            return Err(invalid(format!(
                "not an HTTP response: starts with {version:?}"
            )));
        }
        let status: u16 = code
            .parse()
            .map_err(|_| invalid(format!("bad status code {code:?}")))?;
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let bodiless = head_request || matches!(status, 100..=199 | 204 | 304);
        let framing = if bodiless {
            Framing::None
        } else {
            framing(&head.fields, Framing::UntilClose)?
        };
        let until_close = matches!(framing, Framing::UntilClose);
        let body = read_body(reader, framing)?;
        let close = until_close || wants_close(&head.fields, version == "HTTP/1.0");
        let headers = head
            .fields
            .into_iter()
            .map(|(n, v)| (String::from_utf8_lossy(&n).into_owned(), v))
            .collect();
        return Ok((
            Response {
                status,
                headers,
                body,
            },
            close,
        ));
    }
}
