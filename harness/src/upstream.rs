//! A small HTTP/1.1 server to put behind Envoy: it answers with a responder function and
//! records every request it receives, so tests can assert what Envoy forwarded.
//!
//! One thread accepts, one thread serves each connection (keep-alive, `content-length`
//! and chunked request bodies, `expect: 100-continue`). It listens on `127.0.0.1` only.

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::http::{self, Framing, Request, Response};
use crate::Error;

/// What an [`Upstream`] answers: called once per request, on the connection's thread.
pub type Responder = dyn Fn(&Request) -> Response + Send + Sync + 'static;

/// How long a connection may stay idle before the upstream closes it. Longer than any
/// test; it only stops threads piling up if a peer vanishes.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long [`Upstream`]'s `Drop` waits for its threads.
const JOIN_TIMEOUT: Duration = Duration::from_secs(2);

/// The default responder: `200`, `content-type: text/plain`, body `upstream says hi\n`.
pub fn default_response(_request: &Request) -> Response {
    Response::text(200, "upstream says hi\n")
}

/// A running test upstream. Stops (closing its socket and connections, joining its threads
/// for at most two seconds) when dropped.
///
/// ```no_run
/// # fn main() -> Result<(), proxylet_harness::Error> {
/// use proxylet_harness::{Response, Upstream};
/// let upstream = Upstream::start(|request| {
///     Response::text(200, format!("you asked for {}\n", request.path))
/// })?;
/// println!("listening on {}", upstream.addr());
/// # Ok(()) }
/// ```
pub struct Upstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    stopping: AtomicBool,
    responder: Box<Responder>,
    requests: Mutex<Vec<Request>>,
    arrived: Condvar,
    connections: Mutex<Vec<(TcpStream, JoinHandle<()>)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A responder that panicked is reported as a 500; the data stays usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Upstream {
    /// Starts an upstream on `127.0.0.1` (a free port) answering with `responder`.
    pub fn start(
        responder: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Result<Upstream, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::io("cannot listen on 127.0.0.1 for the test upstream", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the test upstream's address", e))?;
        let shared = Arc::new(Shared {
            stopping: AtomicBool::new(false),
            responder: Box::new(responder),
            requests: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            connections: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("upstream-{}", addr.port()))
                .spawn(move || accept_loop(listener, shared))
                .map_err(|e| Error::io("cannot start the test upstream's thread", e))?
        };
        Ok(Upstream {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// Starts an upstream answering with [`default_response`].
    pub fn start_default() -> Result<Upstream, Error> {
        Upstream::start(default_response)
    }

    /// The address it listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// Takes the requests received so far, leaving none recorded.
    pub fn take_requests(&self) -> Vec<Request> {
        std::mem::take(&mut *lock(&self.shared.requests))
    }

    /// Waits until at least `count` requests were received (or `timeout` passed), then
    /// returns them all. For requests Envoy sends on its own (e.g. a filter's callout),
    /// which a test cannot otherwise wait for.
    pub fn wait_for_requests(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Request>, Error> {
        let deadline = Instant::now() + timeout;
        let mut requests = lock(&self.shared.requests);
        while requests.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::msg(format!(
                    "the upstream on {} received {} request(s) in {timeout:?}, expected {count}",
                    self.addr,
                    requests.len()
                )));
            }
            requests = self
                .shared
                .arrived
                .wait_timeout(requests, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(requests.clone())
    }

    fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let deadline = Instant::now() + JOIN_TIMEOUT;
        if let Some(acceptor) = self.acceptor.take() {
            join_until(acceptor, deadline);
        }
        let connections = std::mem::take(&mut *lock(&self.shared.connections));
        for (stream, _) in &connections {
            let _ = stream.shutdown(Shutdown::Both);
        }
        for (_, handle) in connections {
            join_until(handle, deadline);
        }
    }
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Joins `handle` if it finishes before `deadline`; otherwise leaves it detached (a
/// responder that never returns must not hang the test).
fn join_until(handle: JoinHandle<()>, deadline: Instant) {
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
    let _ = handle.join();
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // EMFILE and friends: back off rather than spin.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let Ok(keep) = stream.try_clone() else {
            continue;
        };
        let conn_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("upstream-conn".into())
            .spawn(move || serve(stream, &conn_shared));
        if let Ok(handle) = spawned {
            let mut connections = lock(&shared.connections);
            connections.retain(|(_, h)| !h.is_finished());
            connections.push((keep, handle));
        }
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while !shared.stopping.load(Ordering::SeqCst) {
        let head = match http::read_head(&mut reader) {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(e) => {
                let _ = writer.write_all(&bad_request(&e.to_string()));
                return;
            }
        };
        let [method, path, version] = head.start;
        if head.fields.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case(b"expect") && v.eq_ignore_ascii_case(b"100-continue")
        }) {
            let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let body = match http::framing(&head.fields, Framing::None)
            .and_then(|framing| http::read_body(&mut reader, framing))
        {
            Ok(body) => body,
            Err(e) => {
                let _ = writer.write_all(&bad_request(&e.to_string()));
                return;
            }
        };
        let close = http::wants_close(&head.fields, version == "HTTP/1.0");
        let request = Request {
            method,
            path,
            headers: head.fields,
            body,
            timeout: http::DEFAULT_TIMEOUT,
        };
        // Recorded before answering: once the client has its response, the request is
        // visible to `requests()`.
        lock(&shared.requests).push(request.clone());
        shared.arrived.notify_all();
        let response = catch_unwind(AssertUnwindSafe(|| (shared.responder)(&request)))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Response::text(500, format!("the upstream's responder panicked: {what}\n"))
            });
        let wire = response.to_wire(request.method == "HEAD", close);
        if writer.write_all(&wire).is_err() || close {
            let _ = writer.shutdown(Shutdown::Write);
            return;
        }
    }
}

fn bad_request(why: &str) -> Vec<u8> {
    Response::text(
        400,
        format!("the test upstream cannot parse the request: {why}\n"),
    )
    .to_wire(false, true)
}
