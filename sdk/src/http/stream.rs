//! What HTTP hooks are given: the stream (callouts, other header maps, resume) and, for
//! hand-written filters, all of a hook's context at once ([`HttpCx`]).

use std::time::Duration;

use crate::action::{Action, EndOfStream};
use crate::call::{
    Answer, CallError, CallResponse, GrpcError, GrpcEvent, GrpcStream, HttpCall, InFlight,
};
use crate::host::{self, HostError, MapType, StreamType};
use crate::plugin::{Filter, Shared};
use std::rc::Rc;

use super::{Headers, HttpFilter};

/// Which direction of an HTTP stream a hook runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Request,
    Response,
}

type HttpThen = Box<dyn FnOnce(Result<CallResponse, CallError>, &mut Stream<'_>) -> Action>;
type GrpcThen = Box<dyn FnOnce(Result<Vec<u8>, GrpcError>, &mut Stream<'_>) -> Action>;

pub(crate) enum Then {
    Http(HttpThen),
    Grpc(GrpcThen),
    /// Awaited by the stream's async hook ([`InFlight`]): the answer waits here until the
    /// future takes it.
    Task(Option<Answer>),
}

type OnGrpcEvent = Box<dyn FnMut(GrpcEvent, &GrpcStream, &mut Stream<'_>) -> Action>;

/// A gRPC stream of this HTTP stream, and what to do with its events.
pub(crate) struct OpenGrpcStream {
    pub(crate) token: u32,
    pub(crate) on_event: OnEvent,
}

/// Who gets a gRPC stream's events.
pub(crate) enum OnEvent {
    /// A handler, run for each.
    Handler(OnGrpcEvent),
    /// An async hook ([`GrpcEvents`](crate::call::GrpcEvents)): they wait here until it
    /// takes them, in order.
    Task(std::collections::VecDeque<GrpcEvent>),
}

pub(crate) struct Pending {
    pub(crate) token: u32,
    pub(crate) then: Then,
    pub(crate) sent_at_nanos: u64,
    pub(crate) timeout: Duration,
}

/// Per-stream bookkeeping the runtime keeps between hooks.
pub(crate) struct StreamState {
    pub(crate) pending: crate::few::Few<Pending>,
    pub(crate) direction: Direction,
    pub(crate) grpc_streams: Vec<OpenGrpcStream>,
    /// Whether the last hook paused the stream and nothing resumed it since.
    pub(crate) paused: bool,
    /// The async hooks still waiting (`super::task`).
    pub(crate) tasks: crate::few::Few<super::task::Task>,
}

impl StreamState {
    pub(crate) fn new() -> Self {
        StreamState {
            pending: crate::few::Few::new(),
            direction: Direction::Request,
            grpc_streams: Vec::new(),
            paused: false,
            tasks: crate::few::Few::new(),
        }
    }

    /// Records callout `token`, whose answer `then` gets.
    fn wait(&mut self, token: u32, then: Then, timeout: Duration) {
        self.pending.push(Pending {
            token,
            then,
            sent_at_nanos: host::current_time_nanos().unwrap_or(0),
            timeout,
        });
    }

    /// The answer to callout `token` if it came (`Some(None)`: not yet; `None`: not a
    /// callout of this stream's async hooks).
    pub(crate) fn take_answer(&mut self, token: u32) -> Option<Option<Answer>> {
        let index = self.pending.iter().position(|p| p.token == token)?;
        match &mut self.pending.get_mut(index)?.then {
            Then::Task(answer @ Some(_)) => {
                let answer = answer.take();
                self.pending.swap_remove(index);
                Some(answer)
            }
            Then::Task(None) => Some(None),
            _ => None,
        }
    }

    /// Forgets callout `token` (its future was dropped: the answer is ignored).
    pub(crate) fn forget(&mut self, token: u32) {
        self.pending.retain(|p| p.token != token);
    }

    /// The next event of gRPC stream `token` for an async hook (`Some(None)`: none yet;
    /// `None`: no such stream, e.g. it closed and its last event was taken).
    pub(crate) fn next_grpc_event(&mut self, token: u32) -> Option<Option<GrpcEvent>> {
        let index = self.grpc_streams.iter().position(|s| s.token == token)?;
        let OnEvent::Task(events) = &mut self.grpc_streams.get_mut(index)?.on_event else {
            return None;
        };
        let event = events.pop_front();
        if matches!(event, Some(GrpcEvent::Closed(_))) {
            self.grpc_streams.swap_remove(index);
        }
        Some(event)
    }

    /// Forgets gRPC stream `token` (its reader was dropped).
    pub(crate) fn forget_grpc_stream(&mut self, token: u32) {
        self.grpc_streams.retain(|s| s.token != token);
    }
}

/// The current HTTP stream, in Envoy's sense: one request and its response. Through it a
/// hook makes callouts, reads the other header maps, resumes or resets the stream.
///
/// Take it as a hook parameter (`stream: &mut Stream`) or from [`HttpCx::stream`]. (A TCP
/// connection, which proxy-wasm also calls a stream, is [`crate::tcp`]'s business.)
pub struct Stream<'a> {
    /// `None` in an async hook: the state is the one lent to the task being polled.
    state: Option<&'a mut StreamState>,
}

impl<'a> Stream<'a> {
    /// The stream of a hook.
    pub(crate) fn new(state: &'a mut StreamState) -> Self {
        Stream { state: Some(state) }
    }
}

impl Stream<'static> {
    /// The stream an async hook's future holds: it reaches the stream's state only while
    /// the runtime polls the future.
    #[doc(hidden)]
    pub fn __task() -> Self {
        Stream { state: None }
    }
}

impl Stream<'_> {
    fn state(&mut self) -> Option<&mut StreamState> {
        match &mut self.state {
            Some(state) => Some(state),
            None => super::task::polled(),
        }
    }

    /// Runs `future` as the rest of the current hook: the stream waits (the hook answers
    /// [`Action::Pause`]) until it is ready, and its [`Action`] then applies as the hook's
    /// would. Hidden: `#[filter] async fn` hooks are how users write it.
    #[doc(hidden)]
    pub fn __spawn(
        &mut self,
        future: impl std::future::Future<Output = Action> + 'static,
    ) -> Action {
        match self.state() {
            Some(state) => super::task::spawn(state, Box::pin(future)),
            None => Action::Reply(crate::http::Response::filter_error()),
        }
    }
    /// Sends an HTTP request to Envoy cluster `cluster` and pauses the stream; `then`
    /// runs with the response (or the failure) and its [`Action`] decides what happens
    /// to the stream: `Continue` resumes it, `Reply` answers in place of the upstream.
    ///
    /// If the stream ends first, the call is cancelled and `then` never runs. If the host
    /// refuses to send the call, `then` runs at once with [`CallError::Rejected`]; if the
    /// call has an invalid method, path, authority or header (see [`HttpCall::header`]),
    /// it is not sent and `then` runs at once with [`CallError::InvalidHeader`]; so all
    /// failures are handled in one place.
    ///
    /// ```no_run
    /// use proxylet::prelude::*;
    /// use std::time::Duration;
    ///
    /// #[proxylet::filter]
    /// fn on_request_headers(headers: &Headers, stream: &mut Stream) -> Action {
    ///     let token = headers.get("authorization").map(|v| v.into_bytes()).unwrap_or_default();
    ///     let check = HttpCall::get("/check").header("authorization", token);
    ///     stream.http_call("auth", check, Duration::from_millis(500), |result, _stream| {
    ///         match result {
    ///             Ok(response) if response.status() == 200 => Action::Continue,
    ///             Ok(_) => Action::reply(403, "denied\n"),
    ///             Err(_) => Action::reply(503, "auth unavailable\n"),
    ///         }
    ///     })
    /// }
    /// ```
    pub fn http_call(
        &mut self,
        cluster: &str,
        call: HttpCall,
        timeout: Duration,
        then: impl FnOnce(Result<CallResponse, CallError>, &mut Stream<'_>) -> Action + 'static,
    ) -> Action {
        match (call.dispatch(cluster, timeout), self.state()) {
            (Ok(token), Some(state)) => {
                state.wait(token, Then::Http(Box::new(then)), timeout);
                Action::Pause
            }
            (Ok(_), None) => then(Err(CallError::Rejected(outside())), self),
            (Err(error), _) => then(Err(error), self),
        }
    }

    /// Sends an HTTP request to Envoy cluster `cluster`, for an `async` hook to `.await`
    /// the response (or the failure): [`Stream::http_call`] without the callback.
    ///
    /// The request is sent at once, so callouts started together run concurrently. The
    /// future is `Err` as [`Stream::http_call`]'s callback would be: [`CallError::Timeout`]
    /// after `timeout`, [`CallError::Failed`] when the cluster cannot answer,
    /// [`CallError::Rejected`] when the host refuses the call (e.g. an unknown cluster),
    /// [`CallError::InvalidHeader`] when the call is not valid (nothing is sent).
    ///
    /// If the stream ends first, the hook's future is dropped at its `.await`, and the
    /// answer, when it comes, is ignored. Dropping the returned future also stops waiting
    /// for the answer (the host cannot take back a request already sent).
    ///
    /// ```no_run
    /// use proxylet::prelude::*;
    /// use std::time::Duration;
    ///
    /// #[proxylet::filter]
    /// async fn on_request_headers(headers: &mut Headers, stream: &mut Stream) -> Action {
    ///     let check = HttpCall::get("/check").forward(headers, &["authorization"]);
    ///     match stream.call("auth", check, Duration::from_millis(500)).await {
    ///         Ok(answer) if answer.status() == 200 => Action::Continue,
    ///         Ok(_) => Action::reply(403, "denied\n"),
    ///         Err(_) => Action::reply(503, "auth unavailable\n"),
    ///     }
    /// }
    /// ```
    pub fn call(
        &mut self,
        cluster: &str,
        call: HttpCall,
        timeout: Duration,
    ) -> InFlight<Result<CallResponse, CallError>> {
        match (call.dispatch(cluster, timeout), self.state()) {
            (Ok(token), Some(state)) => {
                state.wait(token, Then::Task(None), timeout);
                InFlight::sent(token)
            }
            (Ok(_), None) => InFlight::failed(Err(CallError::Rejected(outside()))),
            (Err(error), _) => InFlight::failed(Err(error)),
        }
    }

    /// Calls gRPC method `service/method` on cluster `cluster` with a serialized request
    /// message and pauses the stream; `then` runs with the serialized response (or the
    /// gRPC status) like [`Stream::http_call`].
    ///
    /// `metadata` is checked like headers ([`HeaderError`](super::HeaderError)): a name
    /// that is not a token, a value with a control byte other than tab, a pseudo-header or
    /// a framing header is not sent; the call is not made and `then` runs at once with
    /// status `INTERNAL` (13) and a message naming the problem.
    ///
    /// Not on the native target: Envoy's dynamic modules have no gRPC client, so a native
    /// build that calls it does not compile. Use [`Stream::http_call`] there.
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    #[allow(clippy::too_many_arguments)]
    pub fn grpc_call(
        &mut self,
        cluster: &str,
        service: &str,
        method: &str,
        metadata: &[(&str, &[u8])],
        message: &[u8],
        timeout: Duration,
        then: impl FnOnce(Result<Vec<u8>, GrpcError>, &mut Stream<'_>) -> Action + 'static,
    ) -> Action {
        match (
            crate::call::dispatch_grpc(cluster, service, method, metadata, message, timeout),
            self.state(),
        ) {
            (Ok(token), Some(state)) => {
                state.wait(token, Then::Grpc(Box::new(then)), timeout);
                Action::Pause
            }
            (Ok(_), None) => then(Err(GrpcError::rejected(outside())), self),
            (Err(error), _) => then(Err(error), self),
        }
    }

    /// Calls gRPC method `service/method` on cluster `cluster`, for an `async` hook to
    /// `.await` the serialized response (or the gRPC status): [`Stream::grpc_call`]
    /// without the callback, sent at once and cancelled like [`Stream::call`].
    ///
    /// ```no_run
    /// use proxylet::prelude::*;
    /// use std::time::Duration;
    ///
    /// #[proxylet::filter]
    /// async fn on_request_headers(stream: &mut Stream) -> Action {
    ///     let timeout = Duration::from_millis(200);
    ///     match stream.call_grpc("quota", "quota.Quota", "Take", &[], b"", timeout).await {
    ///         Ok(_granted) => Action::Continue,
    ///         Err(status) => Action::reply(429, format!("no quota: {status}\n")),
    ///     }
    /// }
    /// ```
    ///
    /// Not on the native target, like [`Stream::grpc_call`].
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub fn call_grpc(
        &mut self,
        cluster: &str,
        service: &str,
        method: &str,
        metadata: &[(&str, &[u8])],
        message: &[u8],
        timeout: Duration,
    ) -> InFlight<Result<Vec<u8>, GrpcError>> {
        match (
            crate::call::dispatch_grpc(cluster, service, method, metadata, message, timeout),
            self.state(),
        ) {
            (Ok(token), Some(state)) => {
                state.wait(token, Then::Task(None), timeout);
                InFlight::sent(token)
            }
            (Ok(_), None) => InFlight::failed(Err(GrpcError::rejected(outside()))),
            (Err(error), _) => InFlight::failed(Err(error)),
        }
    }

    /// Opens a gRPC stream to method `service/method` on cluster `cluster` (an Envoy
    /// cluster speaking HTTP/2, or HTTP/1.1 with `enable_trailers`: gRPC's status travels
    /// in trailers), with initial metadata `metadata`. Send messages with the
    /// returned [`GrpcStream`]; `on_event` runs for what the server sends, in order:
    /// [`GrpcEvent::InitialMetadata`], each [`GrpcEvent::Message`],
    /// [`GrpcEvent::TrailingMetadata`], and last [`GrpcEvent::Closed`] with the status.
    ///
    /// The stream does not pause the HTTP stream by itself: return [`Action::Pause`] from
    /// the hook to wait for it. The [`Action`] `on_event` returns then decides, as for
    /// [`http_call`](Stream::http_call): `Continue` resumes the HTTP stream if a hook
    /// paused it (and no callout is pending), `Pause` keeps waiting, `Reply` answers in
    /// place of the upstream, `Close` resets the stream. If the HTTP stream ends first,
    /// the host resets the gRPC stream and `on_event` does not run again.
    ///
    /// `Err` when the host refuses to open it (Envoy: unknown cluster), and `BadArgument`
    /// without asking the host when `metadata` is invalid (checked as for
    /// [`Stream::grpc_call`]; the problem is logged at error level).
    ///
    /// ```no_run
    /// use proxylet::prelude::*;
    ///
    /// #[proxylet::filter]
    /// fn on_request_headers(stream: &mut Stream) -> Result<Action, proxylet::HostError> {
    ///     let grpc = stream.grpc_stream("grpc", "chat.Chat", "Talk", &[], |event, _grpc, stream| {
    ///         match event {
    ///             GrpcEvent::Message(message) => {
    ///                 stream.request_headers().set("x-first-message", message);
    ///                 Action::Pause
    ///             }
    ///             GrpcEvent::Closed(Ok(())) => Action::Continue,
    ///             GrpcEvent::Closed(Err(status)) => {
    ///                 Action::reply(503, format!("chat failed: {status}\n"))
    ///             }
    ///             _ => Action::Pause,
    ///         }
    ///     })?;
    ///     grpc.send(b"hello")?;
    ///     grpc.close()?;
    ///     Ok(Action::Pause)
    /// }
    /// ```
    ///
    /// Not on the native target: Envoy's dynamic modules have no gRPC client, so a native
    /// build that calls it does not compile.
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub fn grpc_stream(
        &mut self,
        cluster: &str,
        service: &str,
        method: &str,
        metadata: &[(&str, &[u8])],
        on_event: impl FnMut(GrpcEvent, &GrpcStream, &mut Stream<'_>) -> Action + 'static,
    ) -> Result<GrpcStream, HostError> {
        let state = self.state().ok_or_else(outside)?;
        let token = crate::call::open_grpc_stream(cluster, service, method, metadata)?;
        state.grpc_streams.push(OpenGrpcStream {
            token,
            on_event: OnEvent::Handler(Box::new(on_event)),
        });
        Ok(GrpcStream::new(token))
    }

    /// Opens a gRPC stream like [`Stream::grpc_stream`], for an `async` hook to `.await`
    /// its events one by one with [`GrpcEvents::next`](crate::call::GrpcEvents::next);
    /// send with [`GrpcEvents::stream`](crate::call::GrpcEvents::stream).
    ///
    /// Dropping the returned value resets the gRPC stream (nothing would read it); so does
    /// the end of the HTTP stream.
    ///
    /// ```no_run
    /// use proxylet::prelude::*;
    ///
    /// #[proxylet::filter]
    /// async fn on_request_headers(headers: &mut Headers, stream: &mut Stream) -> Action {
    ///     let Ok(mut chat) = stream.grpc_events("grpc", "chat.Chat", "Talk", &[]) else {
    ///         return Action::reply(503, "chat unavailable\n");
    ///     };
    ///     let _ = chat.stream().send_last(b"hello");
    ///     while let Some(event) = chat.next().await {
    ///         match event {
    ///             GrpcEvent::Message(message) => headers.set("x-chat", message),
    ///             GrpcEvent::Closed(Err(status)) => return Action::reply(502, format!("{status}\n")),
    ///             _ => {}
    ///         }
    ///     }
    ///     Action::Continue
    /// }
    /// ```
    ///
    /// Not on the native target, like [`Stream::grpc_stream`].
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub fn grpc_events(
        &mut self,
        cluster: &str,
        service: &str,
        method: &str,
        metadata: &[(&str, &[u8])],
    ) -> Result<crate::call::GrpcEvents, HostError> {
        let state = self.state().ok_or_else(outside)?;
        let token = crate::call::open_grpc_stream(cluster, service, method, metadata)?;
        state.grpc_streams.push(OpenGrpcStream {
            token,
            on_event: OnEvent::Task(std::collections::VecDeque::new()),
        });
        Ok(crate::call::GrpcEvents::new(token))
    }

    /// Waits `duration`, for an `async` hook to `.await`: a backoff before a retry, a
    /// delay that slows a client down. The stream stays paused meanwhile; if it ends
    /// first, the hook is dropped at its `.await`.
    ///
    /// The wait is at least `duration` by the host's clock. In wasm the plugin's tick
    /// wakes the stream (proxylet shortens the tick period while streams sleep, and
    /// `on_tick` still runs at the period the plugin asked for); natively a timer of the
    /// module wakes it on its worker. If the host has no timer to give, the wait ends at
    /// once, with a warning in the log.
    ///
    /// ```no_run
    /// use proxylet::prelude::*;
    /// use std::time::Duration;
    ///
    /// #[proxylet::filter]
    /// async fn on_request_headers(headers: &mut Headers, stream: &mut Stream) -> Action {
    ///     if headers.get("x-tarpit").is_some() {
    ///         stream.sleep(Duration::from_secs(2)).await;
    ///     }
    ///     Action::Continue
    /// }
    /// ```
    pub fn sleep(&mut self, duration: Duration) -> super::task::Sleep {
        let now = host::current_time_nanos().unwrap_or(0);
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        super::task::Sleep::until(now.saturating_add(nanos))
    }

    /// How many gRPC streams of this HTTP stream have not closed yet.
    pub fn open_grpc_streams(&mut self) -> usize {
        self.state().map_or(0, |state| state.grpc_streams.len())
    }

    /// How many callouts of this stream are waiting for a response.
    pub fn pending_calls(&mut self) -> usize {
        self.state().map_or(0, |state| state.pending.len())
    }

    /// The request headers (readable until the request is sent upstream, and at log time).
    pub fn request_headers(&self) -> Headers {
        Headers::new(MapType::RequestHeaders)
    }

    /// The response headers (from the response phase on).
    pub fn response_headers(&self) -> Headers {
        Headers::new(MapType::ResponseHeaders)
    }

    /// The request trailers.
    pub fn request_trailers(&self) -> Headers {
        Headers::new(MapType::RequestTrailers)
    }

    /// The response trailers.
    pub fn response_trailers(&self) -> Headers {
        Headers::new(MapType::ResponseTrailers)
    }

    /// Resumes the stream paused by the current direction's hook.
    pub fn resume(&mut self) -> Result<(), HostError> {
        let state = self.state().ok_or_else(outside)?;
        host::continue_stream(match state.direction {
            Direction::Request => StreamType::HttpRequest,
            Direction::Response => StreamType::HttpResponse,
        })?;
        state.paused = false;
        Ok(())
    }

    /// Makes the host pick the request's route again, after the filter changed request
    /// headers that routing depends on (Envoy: the `clear_route_cache` foreign function).
    ///
    /// Envoy picks the route when the request headers arrive, before any filter runs.
    /// Envoy 1.40 also drops that choice by itself whenever a proxy-wasm (ABI 0.2.1)
    /// filter changes a request header; the explicit call was added in
    /// envoyproxy/envoy#36671, whose discussion moves towards explicit-only refreshes, so
    /// call it when a header change must re-route. `Err` when the host has no such
    /// function (older Envoys, which refresh implicitly).
    ///
    /// ```no_run
    /// use proxylet::prelude::*;
    ///
    /// #[proxylet::filter]
    /// fn on_request_headers(headers: &mut Headers, stream: &mut Stream) {
    ///     headers.set("x-route-to", "canary");
    ///     let _ = stream.clear_route_cache();
    /// }
    /// ```
    pub fn clear_route_cache(&mut self) -> Result<(), HostError> {
        host::call_foreign_function("clear_route_cache", &[]).map(drop)
    }

    /// A handle on this stream that outlives the hook: keep it (in the plugin, say), return
    /// [`Action::Pause`], and release the stream later from plugin code, e.g. `on_tick` or
    /// a plugin callout's callback, with [`StreamHandle::resume`] or
    /// [`StreamHandle::reply`] (what the Go SDK's `postpone_requests` does).
    ///
    /// Not on the native target: a dynamic module acts on a stream only from its own
    /// hooks, so a native build that calls it does not compile.
    #[cfg(any(target_family = "wasm", feature = "testing"))]
    pub fn handle(&self) -> StreamHandle {
        StreamHandle {
            id: crate::dispatch::active(),
        }
    }

    /// Resets the stream: the downstream gets no response at all.
    pub fn reset(&mut self) -> Result<(), HostError> {
        let state = self.state().ok_or_else(outside)?;
        host::close_stream(match state.direction {
            Direction::Request => StreamType::HttpRequest,
            Direction::Response => StreamType::HttpResponse,
        })
    }
}

/// A stream used where it has no state: an async hook's stream outside the runtime's poll,
/// which proxylet never does.
fn outside() -> HostError {
    HostError::new("Stream (used outside its hook)", 2)
}

/// A paused stream that code outside its hooks can release: see [`Stream::handle`].
///
/// A handle is only an id: a stream that ended meanwhile (the client went away, a
/// timeout) is not kept alive by it, and releasing it is then an `Err` (`NotFound`), never
/// an action on another stream.
#[cfg(any(target_family = "wasm", feature = "testing"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamHandle {
    id: u32,
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
impl StreamHandle {
    /// Resumes the stream in the direction its hook paused.
    pub fn resume(self) -> Result<(), HostError> {
        crate::dispatch::release(self.id, Action::Continue)
    }

    /// Answers the stream with `response` in place of the upstream (checked as a hook's
    /// reply is: an invalid one becomes the filter error).
    pub fn reply(self, response: crate::http::Response) -> Result<(), HostError> {
        crate::dispatch::release(self.id, Action::Reply(response))
    }
}

/// What every HTTP hook of a hand-written [`HttpFilter`] is given.
pub struct HttpCx<'a, F: HttpFilter> {
    pub(crate) shared: &'a Rc<Shared<F>>,
    pub(crate) headers: Headers,
    pub(crate) end_of_stream: EndOfStream,
    pub(crate) stream: Stream<'a>,
}

impl<'a, F: HttpFilter> HttpCx<'a, F> {
    /// The header map of this phase: request headers in the request phases, response
    /// headers in the response phases, the trailers in the trailers hooks.
    pub fn headers(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The plugin's configuration.
    pub fn config(&self) -> &'a <F as Filter>::Config {
        &self.shared.config
    }

    /// The plugin's state.
    pub fn plugin(&self) -> &'a <F as Filter>::Plugin {
        &self.shared.plugin
    }

    /// Whether this direction of the stream ends with this hook.
    pub fn end_of_stream(&self) -> EndOfStream {
        self.end_of_stream
    }

    /// The stream: callouts, other header maps, resume.
    pub fn stream(&mut self) -> &mut Stream<'a> {
        &mut self.stream
    }

    /// Everything at once, for generated code that passes several parameters.
    #[doc(hidden)]
    pub fn __parts(&mut self) -> Parts<'_, 'a, F> {
        Parts {
            headers: &mut self.headers,
            config: &self.shared.config,
            plugin: &self.shared.plugin,
            end_of_stream: self.end_of_stream,
            stream: &mut self.stream,
        }
    }

    /// What an async hook's future owns: the plugin's configuration and state, the hook's
    /// header map and end of stream. Not public API.
    #[doc(hidden)]
    pub fn __owned(&self) -> Owned<F> {
        Owned {
            shared: Rc::clone(self.shared),
            headers: Headers::new(self.headers.map),
            end_of_stream: self.end_of_stream,
        }
    }
}

/// What an async hook's future owns (see [`HttpCx::__owned`]). Not public API.
#[doc(hidden)]
pub struct Owned<F: Filter> {
    shared: Rc<Shared<F>>,
    headers: Headers,
    end_of_stream: EndOfStream,
}

impl<F: Filter> Owned<F> {
    /// Everything at once, borrowed separately.
    pub fn __parts(&mut self) -> OwnedParts<'_, F> {
        OwnedParts {
            headers: &mut self.headers,
            end_of_stream: self.end_of_stream,
            config: &self.shared.config,
            plugin: &self.shared.plugin,
        }
    }
}

/// The pieces of an [`Owned`], borrowed separately. Not public API.
#[doc(hidden)]
pub struct OwnedParts<'a, F: Filter> {
    pub headers: &'a mut Headers,
    pub end_of_stream: EndOfStream,
    pub config: &'a <F as Filter>::Config,
    pub plugin: &'a <F as Filter>::Plugin,
}

/// The pieces of an [`HttpCx`], borrowed separately. Not public API.
#[doc(hidden)]
pub struct Parts<'b, 'a, F: HttpFilter> {
    pub headers: &'b mut Headers,
    pub config: &'a <F as Filter>::Config,
    pub plugin: &'a <F as Filter>::Plugin,
    pub end_of_stream: EndOfStream,
    pub stream: &'b mut Stream<'a>,
}
