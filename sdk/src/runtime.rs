//! Glue between [`HttpFilter`] and proxylet's dispatcher: one root context per plugin,
//! bound to a filter by Envoy's root id, one HTTP context per stream.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::context::{Child, Context, HostAction, HttpContext, NewRoot, RootContext};

use crate::action::{Action, HookOutput, Response};
use crate::body::Body;
use crate::call::{
    grpc_close_status, read_grpc_metadata, read_grpc_response, CallError, CallResponse, GrpcError,
    GrpcEvent, GrpcStream,
};
use crate::config::ConfigError;
use crate::cx::{Direction, HttpCx, PluginCx, Stream, StreamState, Then};
use crate::filter::{hooks, BodyMode, HttpFilter};
use crate::headers::Headers;
use crate::host::{self, BufferType, HostError, LogLevel, MapType, StreamType};
use crate::schema::Schema;
use crate::shared::Queue;

/// One filter exported by a module. Built by `proxylet::main!` and `#[filter]`.
#[doc(hidden)]
pub struct Registration {
    root_id: &'static str,
    new_root: NewRoot,
    /// Read by the native target (which Envoy filter it goes in).
    #[cfg_attr(any(target_family = "wasm", feature = "testing"), allow(dead_code))]
    network: bool,
}

impl Registration {
    /// The registration of an HTTP filter.
    pub const fn http<F: HttpFilter>() -> Self {
        Registration {
            root_id: F::ROOT_ID,
            new_root: new_http_root::<F>,
            network: false,
        }
    }

    /// The registration of a network (TCP) filter.
    pub const fn network<F: crate::network::NetworkFilter>() -> Self {
        Registration {
            root_id: <F as crate::network::NetworkFilter>::ROOT_ID,
            new_root: crate::network::new_root::<F>,
            network: true,
        }
    }

    /// The root id.
    pub const fn root_id(&self) -> &'static str {
        self.root_id
    }

    /// Makes the root context of a new plugin of this filter.
    #[cfg(not(any(target_family = "wasm", feature = "testing")))]
    pub(crate) fn new_root(&self) -> Box<dyn RootContext> {
        (self.new_root)()
    }

    /// Whether this is a network (TCP) filter.
    #[cfg(not(any(target_family = "wasm", feature = "testing")))]
    pub(crate) fn is_network(&self) -> bool {
        self.network
    }
}

/// Filters a module can export: [`HttpFilter`]s and [`NetworkFilter`](crate::NetworkFilter)s.
/// `M` tells the two blanket impls apart. Not public API.
#[doc(hidden)]
pub trait Export<M> {
    /// How the module finds the filter.
    const REGISTRATION: Registration;
    /// The filter's config schema (compile time only: kept out of [`Registration`], so
    /// the schema trees never reach the module's data).
    const CONFIG_SCHEMA: Option<&'static Schema>;
}

#[doc(hidden)]
pub struct HttpMarker;
#[doc(hidden)]
pub struct TcpMarker;

impl<F: HttpFilter> Export<HttpMarker> for F {
    const REGISTRATION: Registration = Registration::http::<F>();
    const CONFIG_SCHEMA: Option<&'static Schema> = F::CONFIG_SCHEMA;
}

impl<F: crate::network::NetworkFilter> Export<TcpMarker> for F {
    const REGISTRATION: Registration = Registration::network::<F>();
    const CONFIG_SCHEMA: Option<&'static Schema> = F::CONFIG_SCHEMA;
}

/// The registration of filter `F`, whichever kind it is.
#[doc(hidden)]
pub const fn registration<F: Export<M>, M>() -> Registration {
    F::REGISTRATION
}

/// The config schema entry of filter `F` for the module's `proxylet.config_schema`
/// section, whichever kind it is.
#[doc(hidden)]
pub const fn schema_entry<F: Export<M>, M>() -> crate::schema::SectionEntry {
    (F::REGISTRATION.root_id(), F::CONFIG_SCHEMA)
}

fn new_http_root<F: HttpFilter>() -> Box<dyn RootContext> {
    Box::new(HttpRoot::<F> { shared: None })
}

thread_local! {
    // Per thread like the dispatcher's table: a wasm VM has one thread. Natively, the
    // test host swaps each host's filters in around its calls (`VmLocals`).
    static FILTERS: Cell<&'static [Registration]> = const { Cell::new(&[]) };
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
/// Entry point of a module with several filters: called once from `_initialize`. Each
/// plugin's root context is bound to a filter by its root id.
#[doc(hidden)]
pub fn start(filters: &'static [Registration]) {
    FILTERS.with(|f| f.set(filters));
    crate::logger::install();
    set_root_factory(filters);
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
/// Tells the dispatcher how to make the root context of a plugin.
fn set_root_factory(filters: &'static [Registration]) {
    crate::dispatch::set_root_factory(root_factory(filters));
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
/// How plugins of a module with `filters` are made: bound to its only filter, or to one
/// picked by root id once the plugin can be asked for it.
fn root_factory(filters: &'static [Registration]) -> NewRoot {
    match filters {
        [only] => only.new_root,
        _ => || Box::new(Dispatch::Unbound),
    }
}

/// The module-side state of one VM that lives in thread locals: the filters, the VM
/// configuration and the log level. A wasm VM has them to itself; natively, the module
/// is the test binary and one thread may run several test hosts, so the native backend
/// keeps one `VmLocals` per host and swaps it in around each call into the module.
#[cfg(all(feature = "testing", not(target_family = "wasm")))]
pub(crate) struct VmLocals {
    filters: &'static [Registration],
    vm_configuration: Vec<u8>,
    log_level: log::LevelFilter,
    dispatcher: crate::dispatch::Dispatcher,
}

#[cfg(all(feature = "testing", not(target_family = "wasm")))]
impl VmLocals {
    /// The state of a VM that has just started (`_initialize`) with `filters`.
    pub(crate) fn new(filters: &'static [Registration]) -> Self {
        crate::logger::install();
        VmLocals {
            filters,
            vm_configuration: Vec::new(),
            log_level: log::LevelFilter::Trace,
            dispatcher: crate::dispatch::Dispatcher::new(root_factory(filters)),
        }
    }

    /// Exchanges this VM's state with the thread's: call it once before a call into the
    /// module and once after.
    pub(crate) fn swap(&mut self) {
        self.filters = FILTERS.with(|f| f.replace(self.filters));
        VM_CONFIGURATION.with(|c| std::mem::swap(&mut *c.borrow_mut(), &mut self.vm_configuration));
        crate::logger::swap_vm_level(&mut self.log_level);
        crate::dispatch::swap(&mut self.dispatcher);
    }
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
/// Entry point of a module with one filter: no dispatch by root id at all (the filter
/// checks the root id itself), so none of that code is in the module.
#[doc(hidden)]
pub fn start_one(filter: &'static Registration) {
    crate::logger::install();
    crate::dispatch::set_root_factory(filter.new_root);
}

/// `Some(error)` when the host selected this plugin by a root id other than `expected`
/// (an empty root id selects the module's only filter).
// `push_str("`")`, not `push('`')`: a `char` pulls a UTF-8 encoder into every module.
#[allow(clippy::single_char_add_str)]
pub(crate) fn root_id_mismatch(expected: &str) -> Option<String> {
    let actual = match host::get_property(&["plugin_root_id"]) {
        Ok(Some(bytes)) => bytes,
        _ => return None,
    };
    if actual.is_empty() || actual == expected.as_bytes() {
        return None;
    }
    let mut message = String::from("no filter with root id `");
    message.push_str(std::str::from_utf8(&actual).unwrap_or("<not UTF-8>"));
    message.push_str("` in this module; it has ");
    let filters: &[Registration] = FILTERS.with(Cell::get);
    let ids = filters.iter().map(|f| f.root_id);
    for (i, id) in ids
        .chain(filters.is_empty().then_some(expected))
        .enumerate()
    {
        if i > 0 {
            message.push_str(", ");
        }
        message.push_str("`");
        message.push_str(id);
        message.push_str("`");
    }
    Some(message)
}

/// Compile-time check used by `proxylet::main!`: every root id appears once. (Const
/// evaluation only: its indexing and `panic!` are compile errors, never runtime traps.)
#[doc(hidden)]
#[allow(clippy::indexing_slicing, clippy::panic)]
pub const fn assert_unique_root_ids(ids: &[&str]) {
    let mut i = 0;
    while i < ids.len() {
        let mut j = i + 1;
        while j < ids.len() {
            if const_str_eq(ids[i], ids[j]) {
                panic!("two filters of this module have the same root id; give each `#[filter(root_id = \"…\")]` its own");
            }
            j += 1;
        }
        i += 1;
    }
}

#[allow(clippy::indexing_slicing)]
const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
/// Finds the filter Envoy asks for by `plugin_root_id`.
fn bind() -> Result<Box<dyn RootContext>, String> {
    let filters: &[Registration] = FILTERS.with(Cell::get);
    let root_id = match host::get_property(&["plugin_root_id"]) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(None) => String::new(),
        Err(error) => {
            crate::logger::emit(LogLevel::Debug, &format!("reading plugin_root_id: {error}"));
            String::new()
        }
    };
    if let Some(found) = filters.iter().find(|f| f.root_id == root_id) {
        return Ok((found.new_root)());
    }
    if let ([only], "") = (filters, root_id.as_str()) {
        return Ok((only.new_root)());
    }
    let known: Vec<String> = filters.iter().map(|f| format!("`{}`", f.root_id)).collect();
    Err(if root_id.is_empty() {
        format!(
            "this module has several filters ({}); set `root_id` in the Envoy Wasm config to pick one",
            known.join(", ")
        )
    } else {
        format!(
            "no filter with root id `{root_id}` in this module; it has {}",
            known.join(", ")
        )
    })
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
/// The root context of every plugin of a module with several filters, before we know
/// which filter it is.
enum Dispatch {
    Unbound,
    Bound(Box<dyn RootContext>),
    Failed,
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
impl Dispatch {
    fn bound(&mut self) -> Option<&mut Box<dyn RootContext>> {
        if let Dispatch::Unbound = self {
            *self = match bind() {
                Ok(root) => Dispatch::Bound(root),
                Err(message) => {
                    crate::logger::emit(LogLevel::Error, &message);
                    Dispatch::Failed
                }
            };
        }
        match self {
            Dispatch::Bound(root) => Some(root),
            _ => None,
        }
    }
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
impl Context for Dispatch {
    fn on_done(&mut self) -> bool {
        self.bound().is_none_or(|root| root.on_done())
    }
}

#[cfg(any(target_family = "wasm", feature = "testing"))]
// A plugin bound to a filter makes its filter's kind of context; a plugin without a
// filter makes a `NoFilter` one, which refuses the stream.
impl RootContext for Dispatch {
    fn on_vm_start(&mut self, size: usize) -> bool {
        self.bound().is_some_and(|root| root.on_vm_start(size))
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        if let Some(root) = self.bound() {
            root.on_queue_ready(queue_id);
        }
    }

    fn on_configure(&mut self, size: usize) -> bool {
        self.bound().is_some_and(|root| root.on_configure(size))
    }

    fn on_tick(&mut self) {
        if let Some(root) = self.bound() {
            root.on_tick();
        }
    }

    fn new_context(&self) -> Child {
        match self {
            Dispatch::Bound(root) => root.new_context(),
            // Envoy does not create streams for a plugin that failed to configure.
            _ => Child::Http(Rc::new(RefCell::new(NoFilter::new(
                "refusing a stream of a plugin that has no filter (its root id was refused \
                 when it was configured)",
            )))),
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

/// Configuration and plugin state of one HTTP plugin, shared by its streams.
struct Shared<F: HttpFilter> {
    config: F::Config,
    plugin: F::Plugin,
}

/// The root context of one HTTP filter.
struct HttpRoot<F: HttpFilter> {
    shared: Option<Rc<Shared<F>>>,
}

impl<F: HttpFilter> HttpRoot<F> {
    fn plugin_cx() -> PluginCx<'static> {
        PluginCx {
            root_id: F::ROOT_ID,
        }
    }
}

impl<F: HttpFilter> Context for HttpRoot<F> {}

impl<F: HttpFilter> RootContext for HttpRoot<F> {
    fn on_vm_start(&mut self, size: usize) -> bool {
        if F::__VM_CONFIGURATION {
            store_vm_configuration(size);
        }
        true
    }

    fn on_configure(&mut self, size: usize) -> bool {
        crate::logger::sync_max_level();
        if let Some(error) = root_id_mismatch(F::ROOT_ID) {
            crate::logger::emit(LogLevel::Error, &error);
            return false;
        }
        let shared = plugin_configuration(F::ROOT_ID, size).and_then(|raw| {
            let config = F::configure(&raw)?;
            let plugin = F::plugin(&config, &mut Self::plugin_cx())?;
            Ok(Shared { config, plugin })
        });
        match shared {
            Ok(shared) => {
                self.shared = Some(Rc::new(shared));
                true
            }
            Err(error) => {
                crate::logger::error(F::ROOT_ID, &error);
                false
            }
        }
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            F::on_tick(&shared.plugin, &mut Self::plugin_cx());
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        if let Some(shared) = &self.shared {
            F::on_queue_ready(&shared.plugin, Queue(queue_id), &mut Self::plugin_cx());
        }
    }

    fn new_context(&self) -> Child {
        // Envoy never creates streams of a plugin that failed to configure; if a host
        // does, the stream passes through untouched (`active: None`).
        let active = self
            .shared
            .as_ref()
            .map(|shared| (F::new(&shared.config, &shared.plugin), Rc::clone(shared)));
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
    /// The filter's stream state and the plugin's shared state; `None` only if the host
    /// created a stream for an unconfigured plugin.
    active: Option<(F, Rc<Shared<F>>)>,
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
            config: &shared.config,
            plugin: &shared.plugin,
            headers: Headers::new(map),
            end_of_stream,
            stream: Stream {
                state: &mut self.state,
            },
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

    fn callback(&mut self, token: u32, run: impl FnOnce(Then, u64, &mut Stream<'_>) -> Action) {
        let Some(index) = self.state.pending.iter().position(|p| p.token == token) else {
            return;
        };
        let pending = self.state.pending.swap_remove(index);
        let elapsed = host::current_time_nanos()
            .unwrap_or(0)
            .saturating_sub(pending.sent_at_nanos);
        let timeout_nanos = u64::try_from(pending.timeout.as_nanos()).unwrap_or(u64::MAX);
        // Envoy reports a timeout like any failure (no headers): tell them apart by time.
        let timed_out = elapsed.saturating_add(timeout_nanos / 10) >= timeout_nanos;
        let mut stream = Stream {
            state: &mut self.state,
        };
        let action = run(pending.then, u64::from(timed_out), &mut stream);
        let direction = self.state.direction;
        match apply::<F>(action) {
            HostAction::Continue if self.state.pending.is_empty() => {
                let resumed = host::continue_stream(match direction {
                    Direction::Request => StreamType::HttpRequest,
                    Direction::Response => StreamType::HttpResponse,
                });
                self.state.paused = false;
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
        let action = {
            let mut stream = Stream {
                state: &mut self.state,
            };
            (open.on_event)(event, &GrpcStream::new(token), &mut stream)
        };
        if !closed {
            self.state.grpc_streams.push(open);
        }
        let direction = self.state.direction;
        let resume =
            action == Action::Continue && self.state.paused && self.state.pending.is_empty();
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
        let response = CallResponse::read(num_headers, body_size);
        self.callback(token_id, |then, timed_out, stream| match then {
            Then::Http(then) => {
                let result = match response {
                    Ok(Some(response)) => Ok(response),
                    Ok(None) if timed_out == 1 => Err(CallError::Timeout),
                    Ok(None) => Err(CallError::Failed),
                    Err(error) => Err(CallError::Rejected(error)),
                };
                then(result, stream)
            }
            Then::Grpc(then) => then(
                Err(GrpcError {
                    code: 13,
                    message: "an HTTP response arrived for a gRPC call".into(),
                }),
                stream,
            ),
        });
    }

    fn on_grpc_call_response(&mut self, token_id: u32, status_code: u32, response_size: usize) {
        if !F::__CALLOUTS {
            return;
        }
        let result = read_grpc_response(status_code, response_size);
        self.callback(token_id, |then, _, stream| match then {
            Then::Grpc(then) => then(result, stream),
            Then::Http(then) => then(Err(CallError::Failed), stream),
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
                self.state.pending.clear();
                self.state.grpc_streams.clear();
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
        // Envoy cancels the stream's callouts and resets its gRPC streams when it is
        // destroyed; drop their callbacks.
        self.state.pending.clear();
        self.state.grpc_streams.clear();
        true
    }
}

impl<F: HttpFilter> HttpStream<F> {
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

thread_local! {
    // Per thread, like the dispatcher: a native test host starts a "VM" per `Host`, each
    // with its own VM configuration, in one process.
    static VM_CONFIGURATION: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads the plugin configuration bytes of a configure call.
pub(crate) fn plugin_configuration(root_id: &str, size: usize) -> Result<Vec<u8>, ConfigError> {
    host::get_buffer(BufferType::PluginConfiguration, 0, size)
        .map(Option::unwrap_or_default)
        .map_err(|error| {
            ConfigError::new(
                "config",
                format!("reading the plugin configuration of `{root_id}`: {error}"),
            )
        })
}

pub(crate) fn store_vm_configuration(size: usize) {
    // Every plugin of a VM starts with the same VM configuration (Envoy calls
    // `on_vm_start` once per plugin): the last one read is the VM's.
    let bytes = if size == 0 {
        Vec::new()
    } else {
        match host::get_buffer(BufferType::VmConfiguration, 0, size) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(_) => return,
        }
    };
    VM_CONFIGURATION.with(|c| *c.borrow_mut() = bytes);
}

/// The VM configuration recorded at VM start.
pub(crate) fn vm_configuration() -> Vec<u8> {
    VM_CONFIGURATION.with(|c| c.borrow().clone())
}

#[cfg(all(test, feature = "testing", not(target_family = "wasm")))]
mod tests {
    use super::*;
    use crate::testing::{Host, Level};

    /// Runs `hook` as context `id` of `host` (the native host of this thread).
    fn as_context<R>(host: &Host, id: u32, hook: impl FnOnce() -> R) -> R {
        host.state().effective_context = id;
        hook()
    }

    #[test]
    fn a_stream_of_a_plugin_without_a_filter_is_refused_not_a_trap() {
        let host = Host::native(&[]);
        for (id, root) in [(5, Dispatch::Failed), (6, Dispatch::Unbound)] {
            let Child::Http(stream) = root.new_context() else {
                panic!("a plugin without a filter makes HTTP contexts");
            };
            let verdict = as_context(&host, id, || {
                stream.borrow_mut().on_http_request_headers(1, false)
            });
            assert_eq!(verdict, HostAction::Pause);
            let reply = host.state().local_replies.get(&id).cloned().unwrap();
            assert_eq!(
                (reply.status, reply.details.as_str()),
                (500, "proxylet_no_filter")
            );
            // The rest of the request goes nowhere; the reply itself goes out.
            let verdict = as_context(&host, id, || {
                stream.borrow_mut().on_http_request_body(3, true)
            });
            assert_eq!(verdict, HostAction::Continue);
            let verdict = as_context(&host, id, || {
                stream.borrow_mut().on_http_response_headers(1, true)
            });
            assert_eq!(verdict, HostAction::Continue);
            assert_eq!(host.state().local_replies.len(), 1, "one reply");
            assert_eq!(
                host.logs_at(Level::Error),
                [
                    "refusing a stream of a plugin that has no filter (its root id was refused \
                  when it was configured)"
                ]
            );
            host.state().logs.clear();
            host.state().local_replies.clear();
        }
    }

    /// A filter with the hooks `HOOKS` and a request body in `REQUEST_BODY` mode.
    struct Hooks<const HOOKS: u32, const BUFFERED: bool>;

    impl<const HOOKS: u32, const BUFFERED: bool> HttpFilter for Hooks<HOOKS, BUFFERED> {
        const ROOT_ID: &'static str = "hooks";
        const __HOOKS: u32 = HOOKS;
        const __CALLOUTS: bool = false;
        const REQUEST_BODY: BodyMode = if BUFFERED {
            BodyMode::Buffered { max: 10 }
        } else {
            BodyMode::Streaming
        };
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

    #[test]
    fn a_stream_refused_in_its_response_is_answered_there() {
        let host = Host::native(&[]);
        let Child::Http(stream) = Dispatch::Failed.new_context() else {
            panic!("a plugin without a filter makes HTTP contexts");
        };
        let verdict = as_context(&host, 7, || {
            stream.borrow_mut().on_http_response_headers(2, false)
        });
        assert_eq!(verdict, HostAction::Pause);
        assert_eq!(host.state().local_replies[&7].status, 500);
    }
}
