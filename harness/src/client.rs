//! A raw HTTP/1.1 client over `std::net::TcpStream`, for talking to Envoy's listener and
//! admin API.
//!
//! [`Request::send`] opens a connection per request (`connection: close`); [`Client`] keeps
//! one connection alive across requests. Every call is bounded by the request's
//! [`timeout`](Request::timeout), connect to last byte.

use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::http::{read_response, DeadlineStream, NO_RESPONSE};
pub use crate::http::{Request, Response, DEFAULT_TIMEOUT};
use crate::Error;

impl Request {
    /// Sends the request on a new connection to `addr` and reads the response.
    ///
    /// Adds `connection: close` unless the request has a `connection` header, and the
    /// headers described in [`Request`]'s docs. If the server answers and closes before
    /// the whole request is written (Envoy's 431 for too many headers), the response is
    /// still returned.
    pub fn send(&self, addr: SocketAddr) -> Result<Response, Error> {
        let deadline = Instant::now() + self.timeout;
        let wire = self.to_wire(true);
        let mut conn = connect(addr, deadline)?;
        exchange(&mut conn, &wire, self.method == "HEAD")
            .map(|(response, _)| response)
            .map_err(|e| e.describe(&self.method, &self.path, addr))
    }
}

/// Sends `raw` bytes as they are (no header is added) on a new connection to `addr`, and
/// reads one response, all within `timeout`. For messages [`Request`] cannot express.
pub fn send_raw(addr: SocketAddr, raw: &[u8], timeout: Duration) -> Result<Response, Error> {
    let deadline = Instant::now() + timeout;
    let mut conn = connect(addr, deadline)?;
    exchange(&mut conn, raw, false)
        .map(|(response, _)| response)
        .map_err(|e| e.describe("raw", "request", addr))
}

/// A client that keeps one connection to `addr` alive across requests (for bursts), and
/// reconnects when the server closed it.
///
/// A request that fails drops the connection and returns the error, except when a reused
/// connection turns out to be closed by the server before any response byte: then the
/// request is sent once more on a new connection (as browsers do).
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<DeadlineStream>>,
}

impl Client {
    /// A client for `addr`; it connects on the first request.
    pub fn new(addr: SocketAddr) -> Self {
        Client { addr, conn: None }
    }

    /// Sends `request` on the kept-alive connection (opening one if needed) and reads the
    /// response, within the request's timeout.
    pub fn send(&mut self, request: &Request) -> Result<Response, Error> {
        let deadline = Instant::now() + request.timeout;
        let wire = request.to_wire(false);
        let head_request = request.method == "HEAD";
        let result = match self.conn.take() {
            Some(mut conn) => {
                conn.get_mut().deadline = Some(deadline);
                match exchange(&mut conn, &wire, head_request) {
                    // The server may have closed the idle connection just before we used
                    // it: one more try on a new connection.
                    Err(e) if e.is_stale_connection() => {
                        let mut conn = connect(self.addr, deadline)?;
                        exchange(&mut conn, &wire, head_request).map(|answer| (answer, conn))
                    }
                    other => other.map(|answer| (answer, conn)),
                }
            }
            None => {
                let mut conn = connect(self.addr, deadline)?;
                exchange(&mut conn, &wire, head_request).map(|answer| (answer, conn))
            }
        };
        match result {
            Ok(((response, close), conn)) => {
                if !close {
                    self.conn = Some(conn);
                }
                Ok(response)
            }
            Err(e) => Err(e.describe(&request.method, &request.path, self.addr)),
        }
    }

    /// Whether a connection is currently open (it was kept alive by the last response).
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }
}

impl std::fmt::Debug for DeadlineStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadlineStream")
            .field("stream", &self.stream)
            .field("deadline", &self.deadline)
            .finish()
    }
}

fn connect(addr: SocketAddr, deadline: Instant) -> Result<BufReader<DeadlineStream>, Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    let stream =
        TcpStream::connect_timeout(&addr, left.max(Duration::from_millis(1))).map_err(|e| {
            Error::io(
                format!("cannot connect to {addr}; is the server running?"),
                e,
            )
        })?;
    // Small requests and responses: do not wait for Nagle.
    let _ = stream.set_nodelay(true);
    Ok(BufReader::new(DeadlineStream {
        stream,
        deadline: Some(deadline),
    }))
}

/// An I/O failure in the middle of an exchange, before it is given context.
struct ExchangeError {
    during: &'static str,
    error: std::io::Error,
}

impl ExchangeError {
    fn is_stale_connection(&self) -> bool {
        use std::io::ErrorKind::*;
        match self.error.kind() {
            ConnectionReset | ConnectionAborted | BrokenPipe => true,
            UnexpectedEof => self.error.to_string() == NO_RESPONSE,
            _ => false,
        }
    }

    fn describe(self, method: &str, path: &str, addr: SocketAddr) -> Error {
        let hint = match self.error.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                "; the server did not answer in time (raise the request's timeout if it is slow)"
            }
            _ => "",
        };
        Error::io(
            format!(
                "{method} {path} to {addr} failed while {}{hint}",
                self.during
            ),
            self.error,
        )
    }
}

fn exchange(
    conn: &mut BufReader<DeadlineStream>,
    wire: &[u8],
    head_request: bool,
) -> Result<(Response, bool), ExchangeError> {
    let written = conn.get_mut().write_all_bounded(wire);
    match read_response(conn, head_request) {
        Ok(answer) => Ok(answer),
        // A write error explains a missing response better than the read error does,
        // unless the server answered early (then the response won above).
        Err(read_error) => match written {
            Err(error) => Err(ExchangeError {
                during: "sending the request",
                error,
            }),
            Ok(()) => Err(ExchangeError {
                during: "reading the response",
                error: read_error,
            }),
        },
    }
}
