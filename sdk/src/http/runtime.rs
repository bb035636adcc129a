//! Glue between an [`HttpFilter`] and the host's contexts: one [`HttpStream`] per HTTP
//! stream, and [`NoFilter`] for a stream whose plugin has no filter.

use std::cell::RefCell;
use std::rc::Rc;

use crate::action::{Action, HookOutput, Response};
use crate::call::{
    grpc_close_status, http_outcome, read_grpc_metadata, read_grpc_response, Answer, CallError,
    CallResponse, GrpcError, GrpcEvent, GrpcStream,
};
use crate::context::{Child, Context, HostAction, HttpContext};
use crate::host::{self, BufferType, HostError, LogLevel, MapType, StreamType};
use crate::plugin::{Active, Streams};

use super::stream::{Direction, OnEvent, StreamState, Then};
use super::{Body, BodyMode, Headers, HttpCx, HttpFilter, Stream};
use crate::__private::hooks;

/// The HTTP kind of filter: its plugins make [`HttpStream`]s.
pub(crate) struct Http;

impl<F: HttpFilter> Streams<F> for Http {
    const WAIT: bool = F::__CALLOUTS;

    fn new_context(active: Active<F>) -> Child {
        Child::Http(Rc::new(RefCell::new(HttpStream::<F> {
            active,
            state: StreamState::new(),
            request_body_size: 0,
            response_body_size: 0,
            request_body_done: false,
            response_body_done: false,
            request_headers_held: false,
            response_headers_held: false,
        })))
    }
}

/// One HTTP stream of a filter.
struct HttpStream<F: HttpFilter> {
    /// The filter's stream state and the plugin's shared state.
    active: Active<F>,
    state: StreamState,
    request_body_size: usize,
    response_body_size: usize,
    request_body_done: bool,
    response_body_done: bool,
    /// The headers wait for the buffered body's verdict (natively: see `HOLD_HEADERS`).
    request_headers_held: bool,
    response_headers_held: bool,
}

/// Whether the host lets a filter hold the headers while it reads a buffered body. Envoy's
/// dynamic modules do (a stopped headers phase still gets its body); Envoy's wasm host does
/// not (see [`unframe`]).
const HOLD_HEADERS: bool = cfg!(not(any(target_family = "wasm", feature = "testing")));

impl<F: HttpFilter> HttpStream<F> {
    /// After a headers hook: headers that a buffered body follows are held until the body
    /// is judged where the host allows it (a refused body then never starts upstream), and
    /// sent on without `content-length` where it does not.
    fn before_buffered_body(
        &mut self,
        direction: Direction,
        action: HostAction,
        end_of_stream: bool,
    ) -> HostAction {
        let (mode, map) = match direction {
            Direction::Request => (F::REQUEST_BODY, MapType::RequestHeaders),
            Direction::Response => (F::RESPONSE_BODY, MapType::ResponseHeaders),
        };
        if action != HostAction::Continue || end_of_stream || !buffered(mode) {
            return action;
        }
        if HOLD_HEADERS {
            match direction {
                Direction::Request => self.request_headers_held = true,
                Direction::Response => self.response_headers_held = true,
            }
            return HostAction::Pause;
        }
        unframe::<F>(map);
        action
    }

    /// After the hook of a buffered body whose headers were held: they go on with the
    /// body, with a `content-length` (if they had one) that says the body's new length.
    fn release_held_headers(&mut self, direction: Direction, action: HostAction, len: usize) {
        let (held, map) = match direction {
            Direction::Request => (&mut self.request_headers_held, MapType::RequestHeaders),
            Direction::Response => (&mut self.response_headers_held, MapType::ResponseHeaders),
        };
        if !std::mem::take(held) || action != HostAction::Continue {
            return;
        }
        let framed = matches!(host::get_map_value(map, b"content-length"), Ok(Some(_)));
        if framed {
            if let Err(error) =
                host::replace_map_value(map, b"content-length", len.to_string().as_bytes())
            {
                crate::logger::emit(
                    LogLevel::Warn,
                    &format!("{}: updating content-length: {error}", F::ROOT_ID),
                );
            }
        }
    }

    fn run(
        &mut self,
        direction: Direction,
        map: MapType,
        end_of_stream: bool,
        hook: impl FnOnce(&mut F, &mut HttpCx<'_, F>) -> Action,
    ) -> HostAction {
        self.state.direction = direction;
        let Some((filter, shared)) = &mut self.active else {
            return HostAction::Continue;
        };
        let mut cx = HttpCx {
            shared,
            headers: Headers::new(map),
            end_of_stream: crate::action::EndOfStream(end_of_stream),
            stream: Stream::new(&mut self.state),
        };
        let action = hook(filter, &mut cx);
        self.state.paused = action == Action::Pause;
        apply::<F>(action)
    }

    /// Runs a body hook, buffering first when the direction is in buffered mode.
    fn body(&mut self, direction: Direction, size: usize, end_of_stream: bool) -> HostAction {
        let (mode, buffer, map) = match direction {
            Direction::Request => (
                F::REQUEST_BODY,
                BufferType::HttpRequestBody,
                MapType::RequestHeaders,
            ),
            Direction::Response => (
                F::RESPONSE_BODY,
                BufferType::HttpResponseBody,
                MapType::ResponseHeaders,
            ),
        };
        match direction {
            Direction::Request => self.request_body_size = size,
            Direction::Response => self.response_body_size = size,
        }
        if let BodyMode::Buffered { max } = mode {
            if size > max {
                return apply::<F>(Action::Reply(body_too_large(direction, max)));
            }
            if !end_of_stream {
                // Pause in a body hook: the host buffers and calls again with the total.
                return HostAction::Pause;
            }
            match direction {
                Direction::Request => self.request_body_done = true,
                Direction::Response => self.response_body_done = true,
            }
        }
        // The headers are held (natively), or gone without `content-length` (`unframe`).
        let mut body = Body::new(buffer, size, end_of_stream);
        let action = self.run(
            direction,
            map,
            end_of_stream,
            |filter, cx| match direction {
                Direction::Request => filter.on_request_body(cx, &mut body),
                Direction::Response => filter.on_response_body(cx, &mut body),
            },
        );
        if end_of_stream {
            self.release_held_headers(direction, action, body.len());
        }
        action
    }

    /// Trailers end a buffered body that never saw `end_of_stream`: run its hook first.
    fn flush_buffered(&mut self, direction: Direction) -> Option<HostAction> {
        let (buffered, done, size) = match direction {
            Direction::Request => (
                matches!(F::REQUEST_BODY, BodyMode::Buffered { .. }),
                self.request_body_done,
                self.request_body_size,
            ),
            Direction::Response => (
                matches!(F::RESPONSE_BODY, BodyMode::Buffered { .. }),
                self.response_body_done,
                self.response_body_size,
            ),
        };
        if !buffered || done {
            return None;
        }
        match self.body(direction, size, true) {
            HostAction::Continue => None,
            other => Some(other),
        }
    }

    /// Hands the answer to callout `token` to what waits for it: its callback, or the
    /// async hook that awaits it. `answer` reads it, given whether the call ran out its time.
    fn callback(&mut self, token: u32, answer: impl FnOnce(bool) -> Answer) {
        let Some(index) = self.state.pending.iter().position(|p| p.token == token) else {
            return;
        };
        let Some(pending) = self.state.pending.get_mut(index) else {
            return;
        };
        let timed_out = crate::call::timed_out(pending.sent_at_nanos, pending.timeout);
        if let Then::Task(slot) = &mut pending.then {
            *slot = Some(answer(timed_out));
            self.wake();
            return;
        }
        let Some(pending) = self.state.pending.swap_remove(index) else {
            return;
        };
        let mut stream = Stream::new(&mut self.state);
        let action = match (pending.then, answer(timed_out)) {
            (Then::Http(then), Answer::Http(result)) => then(result, &mut stream),
            (Then::Grpc(then), Answer::Grpc(result)) => then(result, &mut stream),
            (Then::Http(then), Answer::Grpc(_)) => then(Err(CallError::Failed), &mut stream),
            (Then::Grpc(then), Answer::Http(_)) => then(
                Err(GrpcError {
                    code: 13,
                    message: "an HTTP response arrived for a gRPC call".into(),
                }),
                &mut stream,
            ),
            (Then::Task(_), _) => return,
        };
        self.decided(action);
    }

    /// Polls the stream's async hooks after one of its events, and applies what those
    /// that finished decided.
    fn wake(&mut self) {
        if self.state.tasks.is_empty() {
            return;
        }
        super::task::wake(&mut self.state, |state, action| {
            Self::apply_later(state, action);
        });
    }

    /// Applies an action decided outside a hook (a callback, an async hook that finished):
    /// `Continue` resumes the stream once nothing else of it is waiting.
    fn decided(&mut self, action: Action) {
        Self::apply_later(&mut self.state, action);
    }

    fn apply_later(state: &mut StreamState, action: Action) {
        let direction = state.direction;
        match apply::<F>(action) {
            HostAction::Continue if state.pending.is_empty() && state.tasks.is_empty() => {
                let resumed = host::continue_stream(match direction {
                    Direction::Request => StreamType::HttpRequest,
                    Direction::Response => StreamType::HttpResponse,
                });
                state.paused = false;
                if let Err(error) = resumed {
                    crate::logger::emit(
                        LogLevel::Warn,
                        &format!("{}: resuming the stream: {error}", F::ROOT_ID),
                    );
                }
            }
            _ => {}
        }
    }
}

impl<F: HttpFilter> HttpStream<F> {
    /// Runs the handler of gRPC stream `token` for `event` (read from the host by `read`),
    /// then applies its action; a `Closed` event forgets the stream.
    fn grpc_event(&mut self, token: u32, read: impl FnOnce() -> Result<GrpcEvent, HostError>) {
        let Some(index) = self
            .state
            .grpc_streams
            .iter()
            .position(|s| s.token == token)
        else {
            return;
        };
        let event = match read() {
            Ok(event) => event,
            Err(error) => {
                crate::logger::emit(
                    LogLevel::Warn,
                    &format!("{}: reading a gRPC stream event: {error}", F::ROOT_ID),
                );
                return;
            }
        };
        let closed = matches!(event, GrpcEvent::Closed(_));
        // Out of the list while it runs: the handler gets `&mut Stream`, which can open
        // more streams.
        let mut open = self.state.grpc_streams.swap_remove(index);
        let action = match &mut open.on_event {
            OnEvent::Handler(on_event) => {
                let mut stream = Stream::new(&mut self.state);
                on_event(event, &GrpcStream::new(token), &mut stream)
            }
            OnEvent::Task(events) => {
                // The async hook reading it takes the event, the close included.
                events.push_back(event);
                self.state.grpc_streams.push(open);
                self.wake();
                return;
            }
        };
        if !closed {
            self.state.grpc_streams.push(open);
        }
        let direction = self.state.direction;
        let resume = action == Action::Continue
            && self.state.paused
            && self.state.pending.is_empty()
            && self.state.tasks.is_empty();
        apply::<F>(action);
        if resume {
            match host::continue_stream(match direction {
                Direction::Request => StreamType::HttpRequest,
                Direction::Response => StreamType::HttpResponse,
            }) {
                Ok(()) => self.state.paused = false,
                Err(error) => crate::logger::emit(
                    LogLevel::Warn,
                    &format!("{}: resuming the stream: {error}", F::ROOT_ID),
                ),
            }
        }
    }
}

impl<F: HttpFilter> Context for HttpStream<F> {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if !F::__CALLOUTS {
            return;
        }
        self.callback(token_id, |timed_out| {
            Answer::Http(http_outcome(
                CallResponse::read(num_headers, body_size),
                timed_out,
            ))
        });
    }

    fn on_grpc_call_response(&mut self, token_id: u32, status_code: u32, response_size: usize) {
        if !F::__CALLOUTS {
            return;
        }
        self.callback(token_id, |_| {
            Answer::Grpc(read_grpc_response(status_code, response_size))
        });
    }

    fn on_grpc_stream_initial_metadata(&mut self, token_id: u32, _num_elements: u32) {
        if !F::__CALLOUTS {
            return;
        }
        self.grpc_event(token_id, || {
            read_grpc_metadata(MapType::GrpcReceiveInitialMetadata).map(GrpcEvent::InitialMetadata)
        });
    }

    fn on_grpc_stream_message(&mut self, token_id: u32, message_size: usize) {
        if !F::__CALLOUTS {
            return;
        }
        self.grpc_event(token_id, || {
            host::get_buffer(BufferType::GrpcReceiveBuffer, 0, message_size)
                .map(|message| GrpcEvent::Message(message.unwrap_or_default()))
        });
    }

    fn on_grpc_stream_trailing_metadata(&mut self, token_id: u32, _num_elements: u32) {
        if !F::__CALLOUTS {
            return;
        }
        self.grpc_event(token_id, || {
            read_grpc_metadata(MapType::GrpcReceiveTrailingMetadata)
                .map(GrpcEvent::TrailingMetadata)
        });
    }

    fn on_grpc_stream_close(&mut self, token_id: u32, status_code: u32) {
        if !F::__CALLOUTS {
            return;
        }
        self.grpc_event(token_id, || {
            Ok(GrpcEvent::Closed(grpc_close_status(status_code)))
        });
    }

    fn on_done(&mut self) -> bool {
        if F::__HOOKS & hooks::DONE == 0 {
            if F::__CALLOUTS {
                self.forget_waiting();
            }
            return true;
        }
        self.run(
            Direction::Response,
            MapType::ResponseHeaders,
            true,
            |filter, cx| {
                filter.on_done(cx);
                Action::Continue
            },
        );
        self.forget_waiting();
        true
    }
}

impl<F: HttpFilter> HttpStream<F> {
    /// At the stream's end: Envoy cancels its callouts and resets its gRPC streams, so
    /// their callbacks are dropped, and so are the async hooks still waiting (cancelled at
    /// their `.await`).
    fn forget_waiting(&mut self) {
        let tasks = std::mem::take(&mut self.state.tasks);
        self.state.pending.clear();
        self.state.grpc_streams.clear();
        // Last: dropping a hook's future may run the filter's `Drop` code.
        drop(tasks);
    }

    /// [`HttpContext::active_hooks`]: the hooks below that get past their first line.
    const ACTIVE_HOOKS: u32 = {
        let h = F::__HOOKS;
        let mut active = h & (hooks::LOG | hooks::REQUEST_BODY | hooks::RESPONSE_BODY);
        if h & hooks::REQUEST_HEADERS != 0 || buffered(F::REQUEST_BODY) {
            active |= hooks::REQUEST_HEADERS;
        }
        if h & (hooks::REQUEST_TRAILERS | hooks::REQUEST_BODY) != 0 {
            active |= hooks::REQUEST_TRAILERS;
        }
        if h & hooks::RESPONSE_HEADERS != 0 || buffered(F::RESPONSE_BODY) {
            active |= hooks::RESPONSE_HEADERS;
        }
        if h & (hooks::RESPONSE_TRAILERS | hooks::RESPONSE_BODY) != 0 {
            active |= hooks::RESPONSE_TRAILERS;
        }
        if h & hooks::DONE != 0 || F::__CALLOUTS {
            active |= hooks::DONE;
        }
        active
    };
}

impl<F: HttpFilter> HttpContext for HttpStream<F> {
    fn active_hooks(&self) -> u32 {
        Self::ACTIVE_HOOKS
    }

    fn wake(&mut self) {
        if F::__CALLOUTS {
            HttpStream::wake(self);
        }
    }

    fn release(&mut self, action: Action) {
        // Only a hook that takes `&mut Stream` can hand out a handle.
        if !F::__CALLOUTS || apply::<F>(action) != HostAction::Continue {
            return;
        }
        let mut stream = Stream::new(&mut self.state);
        if let Err(error) = stream.resume() {
            crate::logger::emit(
                LogLevel::Warn,
                &format!("{}: resuming the stream: {error}", F::ROOT_ID),
            );
        }
    }

    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> HostAction {
        if F::__HOOKS & hooks::REQUEST_HEADERS == 0 && !buffered(F::REQUEST_BODY) {
            return HostAction::Continue;
        }
        let action = self.run(
            Direction::Request,
            MapType::RequestHeaders,
            end_of_stream,
            |f, cx| f.on_request_headers(cx),
        );
        self.before_buffered_body(Direction::Request, action, end_of_stream)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> HostAction {
        if F::__HOOKS & hooks::REQUEST_BODY == 0 {
            return HostAction::Continue;
        }
        self.body(Direction::Request, body_size, end_of_stream)
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> HostAction {
        if F::__HOOKS & (hooks::REQUEST_TRAILERS | hooks::REQUEST_BODY) == 0 {
            return HostAction::Continue;
        }
        if let Some(action) = self.flush_buffered(Direction::Request) {
            return action;
        }
        self.run(
            Direction::Request,
            MapType::RequestTrailers,
            true,
            |f, cx| f.on_request_trailers(cx),
        )
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> HostAction {
        if F::__HOOKS & hooks::RESPONSE_HEADERS == 0 && !buffered(F::RESPONSE_BODY) {
            return HostAction::Continue;
        }
        let action = self.run(
            Direction::Response,
            MapType::ResponseHeaders,
            end_of_stream,
            |f, cx| f.on_response_headers(cx),
        );
        self.before_buffered_body(Direction::Response, action, end_of_stream)
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> HostAction {
        if F::__HOOKS & hooks::RESPONSE_BODY == 0 {
            return HostAction::Continue;
        }
        self.body(Direction::Response, body_size, end_of_stream)
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> HostAction {
        if F::__HOOKS & (hooks::RESPONSE_TRAILERS | hooks::RESPONSE_BODY) == 0 {
            return HostAction::Continue;
        }
        if let Some(action) = self.flush_buffered(Direction::Response) {
            return action;
        }
        self.run(
            Direction::Response,
            MapType::ResponseTrailers,
            true,
            |f, cx| f.on_response_trailers(cx),
        )
    }

    fn on_log(&mut self) {
        if F::__HOOKS & hooks::LOG == 0 {
            return;
        }
        self.run(
            Direction::Response,
            MapType::ResponseHeaders,
            true,
            |filter, cx| {
                filter.on_log(cx);
                Action::Continue
            },
        );
    }
}

/// Lets the headers of a buffered body go on without `content-length` (wasm).
///
/// Holding them until the body is rewritten cannot work in wasm: Envoy never hands the
/// body to a filter whose headers hook paused (proxy-wasm's host turns that
/// `StopIteration` into `StopAllIterationAndWatermark`, and the stream hangs). So the
/// headers leave first, and
/// without a length, so that a body rewritten to another size is still framed right:
/// Envoy sends it chunked over HTTP/1.1.
fn unframe<F: HttpFilter>(map: MapType) {
    if let Err(error) = host::remove_map_value(map, b"content-length") {
        crate::logger::emit(
            LogLevel::Warn,
            &format!("{}: removing content-length: {error}", F::ROOT_ID),
        );
    }
}

const fn buffered(mode: BodyMode) -> bool {
    matches!(mode, BodyMode::Buffered { .. })
}

fn body_too_large(direction: Direction, max: usize) -> Response {
    let (status, what) = match direction {
        Direction::Request => (413, "request"),
        Direction::Response => (502, "response"),
    };
    Response::new(status)
        .header("content-type", "text/plain")
        .body(format!("{what} body larger than {max} bytes\n"))
        .details(format!("proxylet_{what}_body_too_large"))
}

/// Turns a hook's return value into an [`Action`]: an `Err` is logged with the filter's
/// root id and answered with [`Response::filter_error`].
#[doc(hidden)]
pub fn finish<F: HttpFilter>(output: impl HookOutput) -> Action {
    match output.into_action() {
        Ok(action) => action,
        Err(error) => {
            crate::logger::error(F::ROOT_ID, &error);
            Action::Reply(Response::filter_error())
        }
    }
}

fn apply<F: HttpFilter>(action: Action) -> HostAction {
    match action {
        Action::Continue => HostAction::Continue,
        Action::Pause => HostAction::Pause,
        Action::Close => {
            let direction = StreamType::HttpRequest;
            if let Err(error) = host::close_stream(direction) {
                crate::logger::emit(
                    LogLevel::Warn,
                    &format!("{}: resetting the stream: {error}", F::ROOT_ID),
                );
            }
            HostAction::Pause
        }
        Action::Reply(mut response) => {
            // A reply that would be invalid on the wire (a header with CR/LF, a framing
            // header, a 1xx or 600 status) is never sent: the filter error goes instead.
            if let Err(error) = response.check() {
                crate::logger::emit(
                    LogLevel::Error,
                    &format!("{}: local reply not sent: {error}", F::ROOT_ID),
                );
                response = Response::filter_error();
            }
            if let Err(error) = host::send_local_response(
                u32::from(response.status),
                response.details_for_host(),
                &response.body,
                &response.headers,
                response.grpc_status.unwrap_or(-1),
            ) {
                // Fail closed: the filter meant to answer in place of the upstream, so the
                // request must not reach it.
                crate::logger::emit(
                    LogLevel::Error,
                    &format!("{}: sending a local reply: {error}", F::ROOT_ID),
                );
            }
            HostAction::Pause
        }
    }
}

/// A stream of a plugin without a filter: its root id is not in the module (or the host
/// never configured it). Envoy creates none, since it refuses such a plugin; a host that
/// does gets the stream refused, never passed on: a 500, and the reason at error level.
pub(crate) struct NoFilter {
    /// What to log.
    why: &'static str,
    replied: bool,
}

impl NoFilter {
    /// A context that refuses its stream, logging `why`.
    pub(crate) fn new(why: &'static str) -> Self {
        NoFilter {
            why,
            replied: false,
        }
    }

    /// Answers with a 500 and stops the stream, the first time; afterwards lets through
    /// what follows (the reply itself, on its way out through the filter).
    fn refuse(&mut self) -> HostAction {
        if self.replied {
            return HostAction::Continue;
        }
        self.replied = true;
        crate::logger::emit(LogLevel::Error, self.why);
        let body = b"no filter for this stream\n";
        let headers = [("content-type".to_owned(), b"text/plain".to_vec())];
        if let Err(error) = host::send_local_response(500, "proxylet_no_filter", body, &headers, -1)
        {
            crate::logger::emit(LogLevel::Error, &format!("refusing the stream: {error}"));
        }
        HostAction::Pause
    }
}

impl Context for NoFilter {}

impl HttpContext for NoFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> HostAction {
        self.refuse()
    }

    fn on_http_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> HostAction {
        self.refuse()
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> HostAction {
        self.refuse()
    }

    fn on_http_response_headers(
        &mut self,
        _num_headers: usize,
        _end_of_stream: bool,
    ) -> HostAction {
        self.refuse()
    }

    fn on_http_response_body(&mut self, _body_size: usize, _end_of_stream: bool) -> HostAction {
        self.refuse()
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> HostAction {
        self.refuse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;
    use crate::plugin::{Filter, PluginCx};

    /// A filter with the hooks `HOOKS` and a request body in `REQUEST_BODY` mode.
    struct Hooks<const HOOKS: u32, const BUFFERED: bool>;

    impl<const HOOKS: u32, const BUFFERED: bool> Filter for Hooks<HOOKS, BUFFERED> {
        const ROOT_ID: &'static str = "hooks";
        type Config = ();
        type Plugin = ();

        fn configure(_raw: &[u8]) -> Result<(), ConfigError> {
            Ok(())
        }

        fn plugin(_config: &(), _cx: &mut PluginCx<'_>) -> Result<(), ConfigError> {
            Ok(())
        }

        fn new(_config: &(), _plugin: &()) -> Self {
            Hooks
        }
    }

    impl<const HOOKS: u32, const BUFFERED: bool> HttpFilter for Hooks<HOOKS, BUFFERED> {
        const __HOOKS: u32 = HOOKS;
        const __CALLOUTS: bool = false;
        const REQUEST_BODY: BodyMode = if BUFFERED {
            BodyMode::Buffered { max: 10 }
        } else {
            BodyMode::Streaming
        };
    }

    #[test]
    fn only_the_hooks_that_can_act_are_active() {
        use hooks::*;
        // The flagship: one hook; the others answer `Continue` at their first line.
        assert_eq!(
            HttpStream::<Hooks<RESPONSE_HEADERS, false>>::ACTIVE_HOOKS,
            RESPONSE_HEADERS
        );
        // A body hook also runs for trailers (a buffered body ends there).
        assert_eq!(
            HttpStream::<Hooks<REQUEST_BODY, false>>::ACTIVE_HOOKS,
            REQUEST_BODY | REQUEST_TRAILERS
        );
        // A buffered body holds its headers, hook or not.
        assert_eq!(
            HttpStream::<Hooks<REQUEST_BODY, true>>::ACTIVE_HOOKS,
            REQUEST_HEADERS | REQUEST_BODY | REQUEST_TRAILERS
        );
        assert_eq!(
            HttpStream::<Hooks<{ LOG | DONE }, false>>::ACTIVE_HOOKS,
            LOG | DONE
        );
        // A filter written by hand keeps every hook.
        assert_eq!(HttpStream::<Hooks<ALL, false>>::ACTIVE_HOOKS & 0xff, 0xff);
    }
}
