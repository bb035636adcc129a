//! Outgoing calls: HTTP callouts, gRPC calls, foreign functions.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use crate::host::{self, BufferType, HostError, MapType};
use crate::http::headers::{self, HeaderError, HeaderName, HeaderValue};

/// An HTTP request to send to a cluster with [`Stream::http_call`](crate::http::Stream::http_call).
#[derive(Clone)]
pub struct HttpCall {
    /// Borrowed for `get`/`post`: one allocation less per call.
    method: Cow<'static, str>,
    /// The path, then each header: its name's and its value's lengths (`u32`, little
    /// endian), the name, the value. One buffer for all of them: inside the VM a callout
    /// costs about what it allocates.
    buf: Vec<u8>,
    path_len: usize,
    authority: Option<String>,
    body: Vec<u8>,
}

impl HttpCall {
    /// A request with this method and path.
    ///
    /// The method must be a token (`GET`, `PROPFIND`) and the path start with `/` and hold
    /// only visible ASCII without `#` (percent-encode the rest); the call is not sent
    /// otherwise ([`CallError::InvalidHeader`]).
    pub fn new(method: impl Into<String>, path: impl AsRef<str>) -> Self {
        HttpCall::with_method(Cow::Owned(method.into()), path.as_ref())
    }

    fn with_method(method: Cow<'static, str>, path: &str) -> Self {
        // Room for a few headers, so that adding them rarely grows the buffer.
        let mut buf = Vec::with_capacity(path.len() + 96);
        buf.extend_from_slice(path.as_bytes());
        HttpCall {
            method,
            path_len: path.len(),
            buf,
            authority: None,
            body: Vec::new(),
        }
    }

    fn path(&self) -> &[u8] {
        self.buf.get(..self.path_len).unwrap_or_default()
    }

    fn push_header(&mut self, name: &[u8], value: &[u8]) {
        let (Ok(name_len), Ok(value_len)) = (u32::try_from(name.len()), u32::try_from(value.len()))
        else {
            return;
        };
        self.buf.extend_from_slice(&name_len.to_le_bytes());
        self.buf.extend_from_slice(&value_len.to_le_bytes());
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(value);
    }

    /// The headers added, in order.
    fn headers(&self) -> CallHeaders<'_> {
        CallHeaders {
            rest: self.buf.get(self.path_len..).unwrap_or_default(),
        }
    }

    /// A `GET`.
    pub fn get(path: impl AsRef<str>) -> Self {
        HttpCall::with_method(Cow::Borrowed("GET"), path.as_ref())
    }

    /// A `POST` with a body.
    pub fn post(path: impl AsRef<str>, body: impl Into<Vec<u8>>) -> Self {
        HttpCall::with_method(Cow::Borrowed("POST"), path.as_ref()).body(body)
    }

    /// The `:authority` (default: the cluster's name): `host[:port]`, visible ASCII
    /// without `/ ? # @ \`; the call is not sent otherwise ([`CallError::InvalidHeader`]).
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// Adds a header.
    ///
    /// Checked when the call is made, as [`Headers::try_append`](crate::http::Headers::try_append)
    /// checks: a name that is not a token, a value with a control byte other than tab
    /// (CR, LF, NUL, DEL...), a pseudo-header (the call's own `:method`, `:path` and
    /// `:authority` come from [`HttpCall::new`] and [`HttpCall::authority`]) or a framing
    /// header (`content-length`, `transfer-encoding`...: the host frames the call) is not
    /// sent: the call is not made and its callback gets [`CallError::InvalidHeader`].
    ///
    /// Values are bytes and are sent as they are: a value that is not UTF-8 reaches the
    /// cluster unchanged.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<[u8]>) -> Self {
        self.push_header(name.as_ref().as_bytes(), value.as_ref());
        self
    }

    /// Adds every value of each header of `names` found in `headers`, in the order they
    /// come there: the headers an external-auth call passes on, e.g.
    /// `.forward(&stream.request_headers(), &["authorization", "cookie"])`.
    ///
    /// A name matches every spelling a CGI-style upstream would read as it
    /// ([`HeaderName::same_for_cgi`]: ASCII case, and `_` for `-`), and each value of a
    /// repeated header goes: a client that sends `X_User` next to `x-user` cannot hide one
    /// from the service that judges what the upstream gets. A name `headers` lacks adds
    /// nothing. Names are sent lowercase, as HTTP/2 requires and Envoy stores them.
    ///
    /// Each value is checked as by [`HttpCall::header`]. Pseudo-headers cannot be
    /// forwarded: the call's own `:method`, `:path` and `:authority` come from
    /// [`HttpCall::new`] and [`HttpCall::authority`] (to pass the request's host on, read
    /// it and give it to `authority`), so naming one here, like `.header(":authority", …)`,
    /// makes the call refused ([`CallError::InvalidHeader`]) rather than quietly altered.
    ///
    /// ```no_run
    /// use proxylet::prelude::*;
    /// use std::time::Duration;
    ///
    /// #[proxylet::filter]
    /// fn on_request_headers(stream: &mut Stream) -> Action {
    ///     let check = HttpCall::get("/check").forward(&stream.request_headers(), &["authorization", "cookie"]);
    ///     stream.http_call("auth", check, Duration::from_millis(250), |result, _stream| match result {
    ///         Ok(answer) if answer.status() == 200 => Action::Continue,
    ///         _ => Action::reply(403, "denied\n"),
    ///     })
    /// }
    /// ```
    pub fn forward<N: AsRef<[u8]>>(mut self, headers: &crate::http::Headers, names: &[N]) -> Self {
        let pseudo = |name: &N| name.as_ref().starts_with(b":");
        for (name, value) in headers.all() {
            let wanted = names
                .iter()
                .any(|n| !pseudo(n) && HeaderName::same_for_cgi(n, name.as_bytes()));
            if wanted {
                self.push_header(&name.as_bytes().to_ascii_lowercase(), value.as_bytes());
            }
        }
        for name in names.iter().filter(|n| pseudo(n)) {
            self.push_header(name.as_ref(), b"");
        }
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Checks what the call would send: its pseudo-headers and its headers.
    fn check(&self, authority: &str) -> Result<(), HeaderError> {
        headers::check_request_pseudo(":method", self.method.as_bytes())?;
        headers::check_request_pseudo(":path", self.path())?;
        headers::check_request_pseudo(":authority", authority.as_bytes())?;
        headers::check_pairs(
            "a callout's pseudo-headers come from `HttpCall::new` and `HttpCall::authority`",
            self.headers(),
        )
    }

    pub(crate) fn dispatch(&self, cluster: &str, timeout: Duration) -> Result<u32, CallError> {
        let authority = self.authority.as_deref().unwrap_or(cluster);
        self.check(authority).map_err(CallError::InvalidHeader)?;
        let pseudo: [(&[u8], &[u8]); 3] = [
            (b":method", self.method.as_bytes()),
            (b":path", self.path()),
            (b":authority", authority.as_bytes()),
        ];
        let headers = host::encode_map(pseudo.into_iter().chain(self.headers()));
        host::http_call(cluster, &headers, &self.body, timeout).map_err(CallError::Rejected)
    }
}

impl std::fmt::Debug for HttpCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let headers: Vec<(String, String)> =
            self.headers().map(|(n, v)| (text(n), text(v))).collect();
        f.debug_struct("HttpCall")
            .field("method", &self.method)
            .field("path", &text(self.path()))
            .field("authority", &self.authority)
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}

/// The headers of an [`HttpCall`], read from its buffer.
#[derive(Clone)]
struct CallHeaders<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for CallHeaders<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (lens, rest) = self.rest.split_first_chunk::<8>()?;
        let [n0, n1, n2, n3, v0, v1, v2, v3] = *lens;
        let name_len = usize::try_from(u32::from_le_bytes([n0, n1, n2, n3])).ok()?;
        let value_len = usize::try_from(u32::from_le_bytes([v0, v1, v2, v3])).ok()?;
        let (name, rest) = rest.split_at_checked(name_len)?;
        let (value, rest) = rest.split_at_checked(value_len)?;
        self.rest = rest;
        Some((name, value))
    }
}

/// Whether a callout sent at `sent_at_nanos` with `timeout` has run out its time: Envoy
/// reports a timeout like any failure (no headers), so they are told apart by the clock.
pub(crate) fn timed_out(sent_at_nanos: u64, timeout: Duration) -> bool {
    let elapsed = host::current_time_nanos()
        .unwrap_or(0)
        .saturating_sub(sent_at_nanos);
    let timeout_nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    elapsed.saturating_add(timeout_nanos / 10) >= timeout_nanos
}

/// What an HTTP callout's callback gets, from the host's answer (`None`: it failed).
pub(crate) fn http_outcome(
    response: Result<Option<CallResponse>, HostError>,
    timed_out: bool,
) -> Result<CallResponse, CallError> {
    match response {
        Ok(Some(response)) => Ok(response),
        Ok(None) if timed_out => Err(CallError::Timeout),
        Ok(None) => Err(CallError::Failed),
        Err(error) => Err(CallError::Rejected(error)),
    }
}

/// The response to an [`HttpCall`].
#[derive(Clone)]
pub struct CallResponse {
    status: u16,
    /// The headers as the host serialized them, decoded into `headers` on first use: a
    /// callback that looks only at the status copies none of them (every allocation is
    /// a sizable part of a callout's cost inside the VM).
    serialized: Vec<u8>,
    headers: OnceLock<Vec<(HeaderName, HeaderValue)>>,
    body: Vec<u8>,
}

impl CallResponse {
    /// Builds a response (for tests and test hosts).
    pub fn new(status: u16, headers: Vec<(HeaderName, HeaderValue)>, body: Vec<u8>) -> Self {
        CallResponse {
            status,
            serialized: Vec::new(),
            headers: OnceLock::from(headers),
            body,
        }
    }

    pub(crate) fn read(num_headers: usize, body_size: usize) -> Result<Option<Self>, HostError> {
        if num_headers == 0 {
            return Ok(None);
        }
        let serialized = host::get_map_bytes(MapType::HttpCallResponseHeaders)?;
        let mut status = None;
        if !serialized.is_empty() {
            host::walk_map(&serialized, |name, value| {
                if name == b":status" && status.is_none() {
                    status = Some(value);
                }
            })
            .ok_or(HostError::new(
                "proxy_get_header_map_pairs",
                3, // SerializationFailure: the host sent a map we cannot decode
            ))?;
        }
        let status = status
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0);
        let body = if body_size == 0 {
            Vec::new()
        } else {
            host::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)?.unwrap_or_default()
        };
        let response = CallResponse {
            status,
            serialized,
            headers: OnceLock::new(),
            body,
        };
        // Envoy's own failure replies are failures, not answers (see `is_envoy_failure`):
        // reported like a response without headers, i.e. timeout or failure by time.
        Ok((!response.is_envoy_failure()).then_some(response))
    }

    /// Whether this is not the service's answer but the local reply Envoy makes up when it
    /// could not complete the call. Envoy (1.40) reports neither a timeout nor an
    /// unreachable cluster as a failure: its async client answers `504` with body
    /// `upstream request timeout` at the timeout, and `503` with `upstream connect error
    /// or disconnect/reset before headers…` or `no healthy upstream` when it cannot reach
    /// the cluster; such a reply carries no header but `content-length` and
    /// `content-type`.
    fn is_envoy_failure(&self) -> bool {
        let failure_body = match self.status {
            504 => self.body == b"upstream request timeout",
            503 => {
                self.body
                    .starts_with(b"upstream connect error or disconnect/reset before headers")
                    || self.body == b"no healthy upstream"
            }
            _ => false,
        };
        failure_body
            && self.headers().iter().all(|(name, _)| {
                matches!(
                    name.as_bytes(),
                    b":status" | b"content-length" | b"content-type"
                )
            })
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The value of a header (the first one).
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers()
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Every header.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        self.headers.get_or_init(|| {
            // Checked when the response was read.
            host::decode_map(&self.serialized)
                .unwrap_or_default()
                .into_iter()
                .map(|(n, v)| (HeaderName::from(n), HeaderValue::from(v)))
                .collect()
        })
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl std::fmt::Debug for CallResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallResponse")
            .field("status", &self.status)
            .field("headers", &self.headers())
            .field("body", &self.body)
            .finish()
    }
}

impl PartialEq for CallResponse {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status && self.body == other.body && self.headers() == other.headers()
    }
}

impl Eq for CallResponse {}

/// Why a callout produced no response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError {
    /// No answer within the timeout.
    Timeout,
    /// The call failed (connection refused, reset, no healthy upstream...).
    Failed,
    /// The host refused to send it (e.g. unknown cluster).
    Rejected(HostError),
    /// The call was not sent: its method, path, authority or one of its headers is not
    /// valid (see [`HttpCall::header`]). Nothing reached the host.
    InvalidHeader(HeaderError),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout => write!(f, "the call timed out"),
            CallError::Failed => write!(f, "the call failed"),
            CallError::Rejected(e) => write!(f, "the call could not be sent: {e}"),
            CallError::InvalidHeader(e) => write!(f, "the call was not sent: {e}"),
        }
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Rejected(error) => Some(error),
            CallError::InvalidHeader(error) => Some(error),
            _ => None,
        }
    }
}

/// The answer to a callout an async hook awaits, as the runtime stores it.
pub(crate) enum Answer {
    Http(Result<CallResponse, CallError>),
    Grpc(Result<Vec<u8>, GrpcError>),
}

impl Answer {
    fn http(self) -> Result<CallResponse, CallError> {
        match self {
            Answer::Http(result) => result,
            Answer::Grpc(_) => Err(CallError::Failed),
        }
    }

    fn grpc(self) -> Result<Vec<u8>, GrpcError> {
        match self {
            Answer::Grpc(result) => result,
            Answer::Http(_) => Err(GrpcError {
                code: 13,
                message: "an HTTP response arrived for a gRPC call".into(),
            }),
        }
    }
}

fn outside_stream() -> HostError {
    HostError::new("a callout awaited outside its stream's hook", 2)
}

/// A callout on its way, from [`Stream::call`](crate::http::Stream::call) or
/// [`Stream::call_grpc`](crate::http::Stream::call_grpc): `.await` it in an `async` hook
/// for the answer, `T`.
///
/// The request left when the future was made. Dropping the future stops waiting: the
/// answer, when it comes, is ignored (the host cannot take back a request it sent).
#[must_use = "the call is sent; `.await` it to get its answer"]
pub struct InFlight<T> {
    state: Flight<T>,
}

enum Flight<T> {
    /// Sent: waiting for the answer to this token.
    Sent(u32),
    /// Not sent: the answer is already known.
    Known(T),
    /// The answer was handed out.
    Done,
}

impl<T> InFlight<T> {
    pub(crate) fn sent(token: u32) -> Self {
        InFlight {
            state: Flight::Sent(token),
        }
    }

    pub(crate) fn failed(answer: T) -> Self {
        InFlight {
            state: Flight::Known(answer),
        }
    }
}

impl<T> std::fmt::Debug for InFlight<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            Flight::Sent(token) => format!("sent (token {token})"),
            Flight::Known(_) => "answered".to_owned(),
            Flight::Done => "done".to_owned(),
        };
        f.debug_struct("InFlight").field("state", &state).finish()
    }
}

// No field is pinned: the future holds a token or a finished answer.
impl<T> Unpin for InFlight<T> {}

impl<T> InFlight<T> {
    /// Polls for the answer, turned into `T` by `answer` (`outside`: when no stream's
    /// runtime polls it).
    fn poll_answer(&mut self, answer: fn(Answer) -> T, outside: fn() -> T) -> Poll<T> {
        match std::mem::replace(&mut self.state, Flight::Done) {
            Flight::Known(known) => Poll::Ready(known),
            Flight::Sent(token) => {
                match crate::http::task::polled().map(|s| s.take_answer(token)) {
                    Some(Some(Some(answered))) => Poll::Ready(answer(answered)),
                    Some(Some(None)) => {
                        self.state = Flight::Sent(token);
                        Poll::Pending
                    }
                    // Not this stream's callout, or not polled by a stream's runtime: a future
                    // moved out of its hook (into a plugin, say) cannot be answered.
                    Some(None) | None => Poll::Ready(outside()),
                }
            }
            // Polled again after it was ready: nothing more will come.
            Flight::Done => Poll::Pending,
        }
    }
}

impl Future for InFlight<Result<CallResponse, CallError>> {
    type Output = Result<CallResponse, CallError>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.poll_answer(Answer::http, || Err(CallError::Rejected(outside_stream())))
    }
}

impl Future for InFlight<Result<Vec<u8>, GrpcError>> {
    type Output = Result<Vec<u8>, GrpcError>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.poll_answer(Answer::grpc, || Err(GrpcError::rejected(outside_stream())))
    }
}

impl<T> Drop for InFlight<T> {
    fn drop(&mut self) {
        if let Flight::Sent(token) = self.state {
            if let Some(state) = crate::http::task::polled() {
                state.forget(token);
            }
        }
    }
}

/// A gRPC call that did not end with status OK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcError {
    /// The gRPC status code (e.g. 14 = UNAVAILABLE, 4 = DEADLINE_EXCEEDED).
    pub code: u32,
    /// The status message.
    pub message: String,
}

impl GrpcError {
    pub(crate) fn rejected(error: HostError) -> Self {
        GrpcError {
            code: 13,
            message: format!("the call could not be sent: {error}"),
        }
    }

    /// The call was not sent: its metadata is not valid. `INTERNAL` (13), as gRPC
    /// clients answer metadata they cannot send.
    pub(crate) fn invalid_metadata(error: &HeaderError) -> Self {
        GrpcError {
            code: 13,
            message: format!("the call was not sent: invalid metadata: {error}"),
        }
    }
}

impl std::fmt::Display for GrpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "gRPC status {}: {}", self.code, self.message)
    }
}

impl std::error::Error for GrpcError {}

/// Checks gRPC initial metadata: names are tokens, values hold no control byte but tab,
/// no pseudo-header, no framing header (the host builds the request around the message).
pub(crate) fn check_metadata(metadata: &[(&str, &[u8])]) -> Result<(), HeaderError> {
    headers::check_pairs(
        "gRPC metadata has no pseudo-headers (the host writes them)",
        metadata.iter().map(|(n, v)| (n.as_bytes(), *v)),
    )
}

pub(crate) fn dispatch_grpc(
    cluster: &str,
    service: &str,
    method: &str,
    metadata: &[(&str, &[u8])],
    message: &[u8],
    timeout: Duration,
) -> Result<u32, GrpcError> {
    check_metadata(metadata).map_err(|error| GrpcError::invalid_metadata(&error))?;
    let metadata = host::encode_map(metadata.iter().map(|(n, v)| (n.as_bytes(), *v)));
    host::grpc_call(cluster, service, method, &metadata, message, timeout)
        .map_err(GrpcError::rejected)
}

pub(crate) fn read_grpc_response(status: u32, size: usize) -> Result<Vec<u8>, GrpcError> {
    if status == 0 {
        host::get_buffer(BufferType::GrpcReceiveBuffer, 0, size)
            .map(Option::unwrap_or_default)
            .map_err(GrpcError::rejected)
    } else {
        let message = host::get_status()
            .map(|(_, m)| String::from_utf8_lossy(&m).into_owned())
            .unwrap_or_default();
        Err(GrpcError {
            code: status,
            message,
        })
    }
}

/// Opens a gRPC stream, registered with the dispatcher so that its events reach this
/// HTTP stream.
///
/// Invalid metadata is not sent: the problem is logged at error level and reported as the
/// host's `BadArgument` for `proxy_grpc_stream` (the stream API's error type is
/// [`HostError`]), without calling the host.
pub(crate) fn open_grpc_stream(
    cluster: &str,
    service: &str,
    method: &str,
    metadata: &[(&str, &[u8])],
) -> Result<u32, HostError> {
    if let Err(error) = check_metadata(metadata) {
        crate::logger::emit(
            host::LogLevel::Error,
            &format!("gRPC stream `{service}/{method}` not opened: invalid metadata: {error}"),
        );
        return Err(HostError::new("proxy_grpc_stream", 2)); // BadArgument
    }
    let metadata = host::encode_map(metadata.iter().map(|(n, v)| (n.as_bytes(), *v)));
    host::grpc_stream(cluster, service, method, &metadata)
}

/// A gRPC stream opened with `Stream::grpc_stream` (wasm only): send
/// messages on it, half-close it, or cancel it. It is the host's token for the stream,
/// cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrpcStream {
    token: u32,
}

impl GrpcStream {
    pub(crate) fn new(token: u32) -> Self {
        GrpcStream { token }
    }

    /// Sends one message (serialized, e.g. protobuf bytes; the host adds gRPC framing).
    pub fn send(&self, message: &[u8]) -> Result<(), HostError> {
        host::grpc_send(self.token, message, false)
    }

    /// Sends a last message and half-closes the stream: the server sees the end of the
    /// client's messages and can still answer.
    pub fn send_last(&self, message: &[u8]) -> Result<(), HostError> {
        host::grpc_send(self.token, message, true)
    }

    /// Half-closes the stream: no more messages from this side; the server's messages,
    /// trailing metadata and status still arrive.
    pub fn close(&self) -> Result<(), HostError> {
        host::grpc_close(self.token)
    }

    /// Resets the stream: the server sees a cancellation and no event of it arrives
    /// afterwards (no [`GrpcEvent::Closed`] either). Envoy refuses a token it no longer
    /// knows (`NotFound`), e.g. after the stream closed.
    pub fn cancel(&self) -> Result<(), HostError> {
        host::grpc_cancel(self.token)
    }

    /// The host's token of the stream.
    pub fn token(&self) -> u32 {
        self.token
    }
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
/// A gRPC stream whose events an `async` hook awaits, from
/// [`Stream::grpc_events`](crate::http::Stream::grpc_events) (wasm only).
///
/// Dropping it resets the gRPC stream: nothing would read what the server sends.
#[derive(Debug)]
pub struct GrpcEvents {
    stream: GrpcStream,
    /// The close was read: the host is done with the stream.
    closed: bool,
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
impl GrpcEvents {
    pub(crate) fn new(token: u32) -> Self {
        GrpcEvents {
            stream: GrpcStream::new(token),
            closed: false,
        }
    }

    /// The stream, to send messages on, half-close or cancel.
    pub fn stream(&self) -> GrpcStream {
        self.stream
    }

    /// The next event, in the order the server sent them; `None` once
    /// [`GrpcEvent::Closed`] was read (or when no stream's runtime polls it).
    // A future to `.await`, not `Iterator::next`: the name async streams use (tokio-stream's
    // `StreamExt::next`).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> NextEvent<'_> {
        NextEvent { events: self }
    }
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
impl Drop for GrpcEvents {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let token = self.stream.token;
        if let Some(state) = crate::http::task::polled() {
            state.forget_grpc_stream(token);
        }
        // Nobody reads it any more. `NotFound` when the host already dropped it (the HTTP
        // stream ended).
        let _ = host::grpc_cancel(token);
    }
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
/// The future of [`GrpcEvents::next`].
#[derive(Debug)]
#[must_use = "`.await` it for the event"]
pub struct NextEvent<'a> {
    events: &'a mut GrpcEvents,
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
impl Future for NextEvent<'_> {
    type Output = Option<GrpcEvent>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<Option<GrpcEvent>> {
        if self.events.closed {
            return Poll::Ready(None);
        }
        let token = self.events.stream.token;
        match crate::http::task::polled().and_then(|s| s.next_grpc_event(token)) {
            Some(None) => Poll::Pending,
            Some(Some(event)) => {
                if matches!(event, GrpcEvent::Closed(_)) {
                    self.events.closed = true;
                }
                Poll::Ready(Some(event))
            }
            None => {
                self.events.closed = true;
                Poll::Ready(None)
            }
        }
    }
}

/// What the server sent on a [`GrpcStream`], in this order: initial metadata, any number
/// of messages, trailing metadata, and last the close with the status. A server that
/// answers with a status alone (a "trailers-only" response) sends no message and may
/// send empty initial metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrpcEvent {
    /// The server's initial metadata (its response headers).
    InitialMetadata(Vec<(HeaderName, HeaderValue)>),
    /// One message, without gRPC framing.
    Message(Vec<u8>),
    /// The server's trailing metadata (`grpc-status`, `grpc-message`, custom trailers).
    TrailingMetadata(Vec<(HeaderName, HeaderValue)>),
    /// The stream is over: `Ok(())` for status OK, else the status and its message. The
    /// last event of the stream.
    Closed(Result<(), GrpcError>),
}

/// Reads gRPC metadata the host holds for the current callback.
pub(crate) fn read_grpc_metadata(
    map: MapType,
) -> Result<Vec<(HeaderName, HeaderValue)>, HostError> {
    Ok(host::get_map_pairs(map)?
        .into_iter()
        .map(|(n, v)| (HeaderName::from(n), HeaderValue::from(v)))
        .collect())
}

/// The status of a closed gRPC stream: `Ok` for 0, else the code and the host's message.
pub(crate) fn grpc_close_status(code: u32) -> Result<(), GrpcError> {
    if code == 0 {
        return Ok(());
    }
    let message = host::get_status()
        .map(|(_, m)| String::from_utf8_lossy(&m).into_owned())
        .unwrap_or_default();
    Err(GrpcError { code, message })
}

/// Calls a function the host registered under `name` (Envoy: e.g. `compress`,
/// `uncompress`, `set_envoy_filter_state`) with serialized arguments.
///
/// Not on the native target (Envoy's dynamic modules have no foreign functions): a native
/// build that calls it does not compile.
#[cfg(any(target_family = "wasm", feature = "testing"))]
pub fn call_foreign_function(name: &str, args: &[u8]) -> Result<Vec<u8>, HostError> {
    host::call_foreign_function(name, args)
}
