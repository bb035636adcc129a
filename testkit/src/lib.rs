//! Unit tests for [proxylet](https://docs.rs/proxylet) filters, without Envoy: a
//! proxy-wasm host emulator that runs the filter, and assertions on what it did.
//!
//! The filter's real code (proxylet's dispatcher, `proxy-wasm`'s calls included) runs
//! against an emulated host that records every header, reply, callout, log line and
//! metric, and lets the test answer callouts, move the clock and break the host. It runs
//! the filter two ways, behind one API ([`Host`]):
//!
//! - natively ([`Host::native`]): the module is the test binary itself, so tests are
//!   plain `cargo test`, fast, and debuggable;
//! - as the built `.wasm` (feature `wasm`, [`wasm`]): the module that ships, in the wasmi
//!   interpreter, where a panic traps the VM as in Envoy and work is counted in fuel.
//!
//! Add it as a dev-dependency, `proxylet-testkit = "0.1"` (with `features = ["wasm"]` to
//! test the built module too), and write the tests as unit tests of the filter crate
//! (`src/tests/*.rs`, as `cargo proxylet new` lays them out): a `cdylib`-only crate
//! cannot be linked by integration tests in `tests/`. [`module!`] names the filters your
//! crate exports:
//!
//! ```
//! use proxylet::prelude::*;
//! use proxylet_testkit::{Host, Verdict};
//!
//! #[derive(Deserialize, Default)]
//! struct Config { value: String }
//!
//! #[proxylet::filter(root_id = "tag")]
//! fn on_response_headers(headers: &mut Headers, config: &Config) {
//!     headers.set("x-tag", &config.value);
//! }
//!
//! # fn main() {
//! let host = Host::native(proxylet_testkit::module!());
//! let plugin = host.plugin("tag").config(r#"{"value":"blue"}"#).start().unwrap();
//! let mut stream = plugin.http_stream();
//! assert_eq!(stream.request_headers(&[(":path", "/")], true), Verdict::Continue);
//! assert_eq!(stream.response_headers(&[(":status", "200")], true), Verdict::Continue);
//! assert_eq!(stream.response_header("x-tag").as_deref(), Some(&b"blue"[..]));
//! # }
//! ```
//!
//! The testkit turns on proxylet's `testing` feature, which compiles the SDK's hostcalls
//! for this host; a filter's own `proxylet` dependency needs no feature.
#![warn(missing_docs, unreachable_pub)]

// Natively only: the emulator defines the proxy-wasm imports (`proxy_*`) that a wasm
// module gets from Envoy, and the `wasm` backend is an interpreter.
#[cfg(target_family = "wasm")]
compile_error!(
    "proxylet-testkit runs filters on the machine that runs the tests; use it as a \
     dev-dependency, and build the filter itself for wasm32-wasip1"
);

mod native;
pub mod state;
#[cfg(feature = "wasm")]
pub mod wasm;

use std::cell::{Cell, RefCell};

use proxylet::property::{MetadataSource, Value};
use std::rc::Rc;
use std::time::Duration;

pub use state::{Callout, GrpcStreamRecord, HostState, Level, LocalReply, Metric};

/// The filters a crate exports, as [`Host::native`] takes them: [`module!`] names them.
pub use proxylet::__private::Registration;

/// The filters a module exports, for [`Host::native`] (and
/// [`wasm::for_each_backend`](crate::wasm::for_each_backend)): what `#[proxylet::filter]`
/// and `proxylet::main!` register.
///
/// `module!()` names the calling crate's filters, from any of its test modules:
///
/// ```
/// # use proxylet::prelude::*;
/// # #[proxylet::filter]
/// # fn on_request_headers(_: &Headers) {}
/// # fn main() {
/// let host = proxylet_testkit::Host::native(proxylet_testkit::module!());
/// # }
/// ```
///
/// `module!(path)` names those of another crate (or module), e.g. in an integration test
/// (`tests/*.rs`) of a filter crate that is also an `rlib`: `module!(my_filter)`.
///
/// Both name the `__PROXYLET_FILTERS` static the macros generate where they run: at the
/// crate root in a filter crate. `module!()` also finds one declared in the scope of the
/// call, as in a doctest's `fn main`.
#[macro_export]
// `crate`, not `$crate`: the filters are the calling crate's.
#[allow(clippy::crate_in_macro_def)]
macro_rules! module {
    () => {{
        // The crate root's, unless one is declared closer (in a function body).
        #[allow(unused_imports)]
        use crate::*;
        __PROXYLET_FILTERS
    }};
    ($($path:ident)::+) => {
        $($path::)+__PROXYLET_FILTERS
    };
}

/// How the emulated host runs the module's code: natively ([`Host::native`]) or in wasmi
/// ([`wasm::load`](crate::wasm::load)). Both forward the module's imports to the host's
/// [`HostState`].
pub(crate) trait Backend {
    /// Calls export `export` of the module with ABI arguments; `Err` when the module
    /// trapped (panicked, ran out of fuel...).
    fn call(&mut self, export: &str, args: &[u64]) -> Result<u64, Trap>;
}

/// The module trapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap(pub String);

/// What a hook told the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Continue the stream.
    Continue,
    /// Pause it (stop iteration; for body hooks: buffer).
    Pause,
    /// The module trapped: with Envoy, the VM would be dead or reloaded.
    Trapped(String),
}

struct Inner {
    state: Rc<RefCell<HostState>>,
    backend: RefCell<Box<dyn Backend>>,
    vm_configuration: RefCell<Vec<u8>>,
    /// The next context id: every host runs a VM of its own (natively, its own
    /// dispatcher), numbered from 1 as in an Envoy VM.
    next_context: Cell<u32>,
}

/// An emulated proxy-wasm host (cheap to clone: clones share the host).
#[derive(Clone)]
pub struct Host {
    inner: Rc<Inner>,
}

impl Host {
    /// A host for the filters linked into this test binary: pass
    /// [`module!()`](module!), your crate's filters.
    ///
    /// The module is the test binary itself, but each native host has its own state: its
    /// log level, VM configuration and everything it records, so tests running side by
    /// side on threads (and several hosts in one test) do not see each other.
    pub fn native(filters: &'static [Registration]) -> Host {
        native::link_imports();
        let mut state = HostState::new();
        state.shared_tokens = Some(native::next_token);
        let state = Rc::new(RefCell::new(state));
        native::install(Rc::clone(&state));
        let backend = native::Native::new(Rc::clone(&state), filters);
        Host::new(state, Box::new(backend))
    }

    /// A host running the module through `backend`, which forwards the module's imports
    /// to `state`. The backend runs a VM of its own: the host numbers its contexts from 1.
    pub(crate) fn new(state: Rc<RefCell<HostState>>, backend: Box<dyn Backend>) -> Host {
        Host {
            inner: Rc::new(Inner {
                state,
                backend: RefCell::new(backend),
                vm_configuration: RefCell::new(Vec::new()),
                next_context: Cell::new(1),
            }),
        }
    }

    /// A fresh context id.
    fn next_context(&self) -> u32 {
        let next = &self.inner.next_context;
        let id = next.get();
        next.set(id.wrapping_add(1).max(1));
        id
    }

    /// The host's state, for direct inspection.
    pub fn state(&self) -> std::cell::RefMut<'_, HostState> {
        self.inner.state.borrow_mut()
    }

    fn call(&self, context: u32, export: &str, args: &[u64]) -> Result<u64, Trap> {
        self.state().effective_context = context;
        let mut all = vec![u64::from(context)];
        all.extend_from_slice(args);
        let result = self.inner.backend.borrow_mut().call(export, &all);
        self.announce_queues();
        self.deliver_held();
        result
    }

    /// Hands a resumed direction what arrived while its headers hook held it: the body,
    /// then the trailers (Envoy dispatches them to the filter once it continues).
    fn deliver_held(&self) {
        loop {
            let next = {
                let mut state = self.state();
                let key = state
                    .held
                    .iter()
                    .find(|(_, held)| held.resumed)
                    .map(|(key, _)| *key);
                key.and_then(|key| state.held.remove(&key).map(|held| (key, held)))
            };
            let Some(((context, direction), held)) = next else {
                return;
            };
            let (body_export, trailers_export, trailers_map) = match direction {
                0 => ("proxy_on_request_body", "proxy_on_request_trailers", 1),
                _ => ("proxy_on_response_body", "proxy_on_response_trailers", 3),
            };
            if held.body_arrived {
                let size = held.body.len();
                let end = held.end_of_stream && held.trailers.is_none();
                self.state().set_buffer(context, direction, held.body);
                let verdict = self.call(context, body_export, &[size as u64, u64::from(end)]);
                let mut state = self.state();
                if matches!(verdict, Ok(v) if v != 0) {
                    state.buffering.insert((context, direction));
                } else {
                    state.buffering.remove(&(context, direction));
                }
            }
            if let Some(trailers) = held.trailers {
                let n = trailers.len();
                self.state().set_map(context, trailers_map, trailers);
                let _ = self.call(context, trailers_export, &[n as u64]);
            }
        }
    }

    /// Tells queue owners about items enqueued during the call that just returned (Envoy
    /// posts `on_queue_ready` to the owner's thread, once per enqueue).
    fn announce_queues(&self) {
        loop {
            let Some((queue, owner)) = self.state().ready_queues.pop_front() else {
                return;
            };
            let _ = self.call(owner, "proxy_on_queue_ready", &[u64::from(queue)]);
        }
    }

    fn verdict(&self, context: u32, export: &str, args: &[u64]) -> Verdict {
        match self.call(context, export, args) {
            Ok(0) => Verdict::Continue,
            Ok(_) => Verdict::Pause,
            Err(Trap(message)) => Verdict::Trapped(message),
        }
    }

    /// Sets the VM configuration given to plugins started afterwards.
    pub fn vm_configuration(&self, bytes: impl Into<Vec<u8>>) -> &Self {
        *self.inner.vm_configuration.borrow_mut() = bytes.into();
        self
    }

    /// Starts configuring a plugin with this root id.
    pub fn plugin(&self, root_id: &str) -> PluginBuilder {
        PluginBuilder {
            host: self.clone(),
            root_id: root_id.to_owned(),
            config: Vec::new(),
        }
    }

    /// Everything logged so far.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.state().logs.clone()
    }

    /// The messages logged at exactly `level`.
    pub fn logs_at(&self, level: Level) -> Vec<String> {
        self.state()
            .logs
            .iter()
            .filter(|(l, _)| *l == level)
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// Sets the log level the host reports (default: trace).
    pub fn set_log_level(&self, level: Level) {
        self.state().log_level = level as u32;
    }

    /// Callouts made and not answered yet.
    pub fn callouts(&self) -> Vec<Callout> {
        self.state().callouts.clone()
    }

    fn take_callout(&self, token: u32) -> Option<Callout> {
        let mut state = self.state();
        let index = state.callouts.iter().position(|c| c.token == token)?;
        Some(state.callouts.remove(index))
    }

    /// Answers HTTP callout `token` with a response. Returns `false` if there is no such
    /// pending callout.
    pub fn respond_to_call(
        &self,
        token: u32,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> bool {
        let Some(call) = self.take_callout(token) else {
            return false;
        };
        let mut pairs = vec![(b":status".to_vec(), status.to_string().into_bytes())];
        pairs.extend(
            headers
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())),
        );
        let count = pairs.len();
        {
            let mut state = self.state();
            state.set_map(0, 6, pairs);
            state.set_buffer(0, 4, body.to_vec());
        }
        let _ = self.call(
            call.context_id,
            "proxy_on_http_call_response",
            &[u64::from(token), count as u64, body.len() as u64, 0],
        );
        true
    }

    /// Makes HTTP callout `token` fail (connection refused, reset...).
    pub fn fail_call(&self, token: u32) -> bool {
        let Some(call) = self.take_callout(token) else {
            return false;
        };
        let _ = self.call(
            call.context_id,
            "proxy_on_http_call_response",
            &[u64::from(token), 0, 0, 0],
        );
        true
    }

    /// Lets HTTP callout `token` time out: the clock advances by its timeout, then the
    /// host reports the failure.
    pub fn time_out_call(&self, token: u32) -> bool {
        let Some(call) = self.take_callout(token) else {
            return false;
        };
        self.advance(call.timeout);
        let _ = self.call(
            call.context_id,
            "proxy_on_http_call_response",
            &[u64::from(token), 0, 0, 0],
        );
        true
    }

    /// Answers gRPC call `token`: `Ok(message)` or `Err((status, message))`.
    pub fn respond_to_grpc(&self, token: u32, result: Result<&[u8], (u32, &str)>) -> bool {
        let Some(call) = self.take_callout(token) else {
            return false;
        };
        match result {
            Ok(message) => {
                {
                    let mut state = self.state();
                    state.set_buffer(0, 5, message.to_vec());
                    state.grpc_status = (0, Vec::new());
                }
                let _ = self.call(
                    call.context_id,
                    "proxy_on_grpc_receive",
                    &[u64::from(token), message.len() as u64],
                );
            }
            Err((code, message)) => {
                self.state().grpc_status = (code, message.as_bytes().to_vec());
                let _ = self.call(
                    call.context_id,
                    "proxy_on_grpc_close",
                    &[u64::from(token), u64::from(code)],
                );
            }
        }
        true
    }

    /// Every gRPC stream the filters opened, open or not, in order.
    pub fn grpc_streams(&self) -> Vec<GrpcStreamRecord> {
        self.state().grpc_streams.clone()
    }

    /// The gRPC stream `token`, if it was opened.
    pub fn grpc_stream(&self, token: u32) -> Option<GrpcStreamRecord> {
        self.state()
            .grpc_streams
            .iter()
            .find(|s| s.token == token)
            .cloned()
    }

    /// The context of gRPC stream `token`, while events can reach it.
    fn open_grpc_stream(&self, token: u32) -> Option<u32> {
        self.grpc_stream(token)
            .filter(GrpcStreamRecord::is_open)
            .map(|s| s.context_id)
    }

    /// The server of gRPC stream `token` sends its initial metadata (response headers).
    /// Returns `false` if the stream is not open (never opened, cancelled or closed).
    pub fn grpc_stream_initial_metadata(&self, token: u32, metadata: &[(&str, &str)]) -> bool {
        let Some(context) = self.open_grpc_stream(token) else {
            return false;
        };
        self.state().set_map(0, 4, pairs(metadata));
        let _ = self.call(
            context,
            "proxy_on_grpc_receive_initial_metadata",
            &[u64::from(token), metadata.len() as u64],
        );
        true
    }

    /// The server of gRPC stream `token` sends one message. Returns `false` if the stream
    /// is not open.
    pub fn grpc_stream_message(&self, token: u32, message: &[u8]) -> bool {
        let Some(context) = self.open_grpc_stream(token) else {
            return false;
        };
        self.state().set_buffer(0, 5, message.to_vec());
        let _ = self.call(
            context,
            "proxy_on_grpc_receive",
            &[u64::from(token), message.len() as u64],
        );
        true
    }

    /// The server of gRPC stream `token` sends its trailing metadata. Returns `false` if
    /// the stream is not open.
    pub fn grpc_stream_trailing_metadata(&self, token: u32, metadata: &[(&str, &str)]) -> bool {
        let Some(context) = self.open_grpc_stream(token) else {
            return false;
        };
        self.state().set_map(0, 5, pairs(metadata));
        let _ = self.call(
            context,
            "proxy_on_grpc_receive_trailing_metadata",
            &[u64::from(token), metadata.len() as u64],
        );
        true
    }

    /// gRPC stream `token` ends with status `code` (0 = OK, 14 = UNAVAILABLE...) and
    /// `message`; no event reaches the filter for it afterwards. Returns `false` if the
    /// stream is not open.
    pub fn grpc_stream_close(&self, token: u32, code: u32, message: &str) -> bool {
        let Some(context) = self.open_grpc_stream(token) else {
            return false;
        };
        {
            let mut state = self.state();
            state.grpc_status = (code, message.as_bytes().to_vec());
            if let Some(stream) = state.grpc_streams.iter_mut().find(|s| s.token == token) {
                stream.remote_closed = true;
            }
        }
        let _ = self.call(
            context,
            "proxy_on_grpc_close",
            &[u64::from(token), u64::from(code)],
        );
        true
    }

    /// Moves the host's clock forward.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let mut state = self.state();
        state.now_nanos = state.now_nanos.saturating_add(nanos);
    }

    /// A metric by name.
    pub fn metric(&self, name: &str) -> Option<Metric> {
        self.state()
            .metrics
            .iter()
            .find(|m| m.name == name)
            .cloned()
    }

    /// Every metric defined.
    pub fn metrics(&self) -> Vec<Metric> {
        self.state().metrics.clone()
    }

    /// The value of a shared-data entry.
    pub fn shared_data(&self, key: &str) -> Option<Vec<u8>> {
        self.state()
            .proxy_get_shared_data(key.as_bytes())
            .ok()
            .map(|(v, _)| v)
    }

    /// Writes a shared-data entry (as another VM would).
    pub fn set_shared_data(&self, key: &str, value: &[u8]) {
        let _ = self.state().proxy_set_shared_data(key.as_bytes(), value, 0);
    }

    /// Sets a property (`&["request", "path"]`) the filter can read.
    pub fn set_property(&self, path: &[&str], value: &[u8]) {
        let key = path.join("\0").into_bytes();
        self.state().properties.insert(key, value.to_vec());
    }

    /// A property's current value.
    pub fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        self.state()
            .properties
            .get(path.join("\0").as_bytes())
            .cloned()
    }

    /// Sets namespace `namespace` of the `source` metadata (route, cluster, upstream host
    /// or the stream's dynamic metadata) to `fields`, a JSON object, for the filter to read
    /// with [`proxylet::property::metadata`] and its shorthands. The host serves it as
    /// Envoy does: the whole `envoy.config.core.v3.Metadata`, serialized, at the
    /// source's property (`xds.route_metadata`, ...); other namespaces of the source are
    /// kept. `Value::Null` removes the namespace.
    ///
    /// ```
    /// # use proxylet::prelude::*;
    /// use proxylet::property::{self, MetadataSource, Value};
    /// # #[proxylet::filter(root_id = "tier")]
    /// # fn on_request_headers(headers: &mut Headers) {
    /// #     let tier = property::route_metadata("acme").and_then(|m| m.get("tier").cloned());
    /// #     headers.set("x-tier", tier.as_ref().and_then(Value::as_str).unwrap_or("none"));
    /// # }
    /// # fn main() {
    /// let host = proxylet_testkit::Host::native(proxylet_testkit::module!());
    /// let fields: Value = serde_json::from_str(r#"{"tier": "gold", "rps": 100}"#).unwrap();
    /// host.set_metadata(MetadataSource::Route, "acme", fields);
    /// # let plugin = host.plugin("tier").start().unwrap();
    /// # let mut stream = plugin.http_stream();
    /// # stream.request_headers(&[(":path", "/")], true);
    /// # assert_eq!(stream.request_header("x-tier").as_deref(), Some(&b"gold"[..]));
    /// # }
    /// ```
    ///
    /// # Panics
    /// When `fields` is neither an object nor null (metadata namespaces are structs).
    pub fn set_metadata(&self, source: MetadataSource, namespace: &str, fields: Value) {
        let path = proxylet::__private::metadata_path(source);
        let mut state = self.state();
        let namespaces = state.metadata.entry(source).or_default();
        match fields {
            Value::Object(fields) => {
                namespaces.insert(namespace.to_owned(), fields);
            }
            Value::Null => {
                namespaces.remove(namespace);
            }
            other => panic!("metadata namespace `{namespace}` must be an object, not `{other}`"),
        }
        let encoded = proxylet::__private::encode_metadata(
            namespaces
                .iter()
                .map(|(name, fields)| (name.as_str(), fields)),
        );
        let key = path.join("\0").into_bytes();
        state.properties.insert(key, encoded);
    }

    /// Registers a foreign function the filter can call.
    pub fn register_foreign_function(
        &self,
        name: &str,
        f: impl FnMut(&[u8]) -> Option<Vec<u8>> + 'static,
    ) {
        self.state().foreign.insert(name.to_owned(), Box::new(f));
    }

    /// The items waiting in queue `name`.
    pub fn queue(&self, name: &str) -> Vec<Vec<u8>> {
        self.state()
            .queues
            .iter()
            .find(|q| q.1 == name)
            .map(|q| q.2.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Enqueues `item` on queue `name` (as another VM would) and wakes the plugin that
    /// registered it with `on_queue_ready`. Returns `false` if no such queue exists.
    pub fn enqueue(&self, name: &str, item: &[u8]) -> bool {
        let found = {
            let mut state = self.state();
            let index = state.queues.iter().position(|q| q.1 == name);
            index.and_then(|i| {
                let q = state.queues.get_mut(i)?;
                q.2.push_back(item.to_vec());
                Some((i as u32 + 1, q.3))
            })
        };
        match found {
            Some((id, owner)) => {
                let _ = self.call(owner, "proxy_on_queue_ready", &[u64::from(id)]);
                true
            }
            None => false,
        }
    }

    /// Makes every hostcall fail with `status` (`None` restores normal service): a
    /// filter must survive a host that refuses everything.
    pub fn fail_every_hostcall(&self, status: Option<u32>) {
        self.state().fail_with = status;
    }

    /// Declares the clusters that exist (by default any name is accepted): a callout to
    /// another cluster is then refused with `BAD_ARGUMENT`, as Envoy refuses a callout to
    /// an unknown cluster, and the filter's callback gets `CallError::Rejected`.
    pub fn set_clusters(&self, clusters: &[&str]) {
        self.state().clusters = Some(clusters.iter().map(|c| (*c).to_owned()).collect());
    }
}

/// A plugin being configured (see [`Host::plugin`]).
pub struct PluginBuilder {
    host: Host,
    root_id: String,
    config: Vec<u8>,
}

/// The host refused to start a plugin: `configure` returned false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// What the plugin logged at error level while configuring.
    pub errors: Vec<String>,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the plugin refused its configuration: {}",
            self.errors.join("; ")
        )
    }
}

impl std::error::Error for Rejected {}

impl PluginBuilder {
    /// The plugin configuration (JSON for `#[filter]` config types).
    pub fn config(mut self, config: impl Into<Vec<u8>>) -> Self {
        self.config = config.into();
        self
    }

    /// Creates the root context, starts the VM and configures the plugin.
    pub fn start(self) -> Result<TestPlugin, Rejected> {
        let (plugin, refused) = self.configure();
        match refused {
            Some(rejected) => Err(rejected),
            None => Ok(plugin),
        }
    }

    /// Like [`start`](Self::start), but keeps the plugin when it refuses its
    /// configuration (the refusal is in [`Host::logs`]), as a host that ignores the
    /// refusal would. Envoy does not: it refuses such a plugin, and creates no streams for
    /// it. This shows what the filter does with a stream it should never get.
    pub fn start_despite_refusal(self) -> TestPlugin {
        self.configure().0
    }

    /// Runs the plugin's start and configure hooks; the refusal, if any.
    fn configure(self) -> (TestPlugin, Option<Rejected>) {
        let host = self.host;
        let root = host.next_context();
        let before = host.state().logs.len();
        host.set_property(&["plugin_root_id"], self.root_id.as_bytes());
        host.set_property(&["plugin_name"], self.root_id.as_bytes());
        host.state()
            .plugin_of_context
            .insert(root, self.root_id.clone().into_bytes());
        let vm_config = host.inner.vm_configuration.borrow().clone();
        let config_len = self.config.len();
        {
            let mut state = host.state();
            state.set_buffer(0, 6, vm_config.clone());
            state.set_buffer(0, 7, self.config);
        }
        let rejected = |host: &Host, trap: Option<String>| {
            let mut errors: Vec<String> = host
                .state()
                .logs
                .iter()
                .skip(before)
                .filter(|(l, _)| *l >= Level::Error)
                .map(|(_, m)| m.clone())
                .collect();
            errors.extend(trap);
            Rejected { errors }
        };
        let ok = host
            .call(root, "proxy_on_context_create", &[0])
            .and_then(|_| host.call(root, "proxy_on_vm_start", &[vm_config.len() as u64]))
            .and_then(|started| {
                if started == 0 {
                    return Ok(0);
                }
                host.call(root, "proxy_on_configure", &[config_len as u64])
            });
        let refused = match ok {
            Ok(0) => Some(rejected(&host, None)),
            Ok(_) => None,
            Err(Trap(message)) => Some(rejected(&host, Some(format!("trap: {message}")))),
        };
        (TestPlugin { host, root }, refused)
    }
}

/// A configured plugin under test (named apart from the [`Plugin`](proxylet::Plugin) trait).
#[derive(Clone)]
pub struct TestPlugin {
    host: Host,
    root: u32,
}

impl TestPlugin {
    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    fn new_context(&self) -> u32 {
        let id = self.host.next_context();
        let mut state = self.host.state();
        if let Some(root_id) = state.plugin_of_context.get(&self.root).cloned() {
            state.plugin_of_context.insert(id, root_id);
        }
        id
    }

    /// Creates an HTTP stream of this plugin.
    ///
    /// On a TCP filter's plugin, the stream is refused as in Envoy: its first hook
    /// answers with a 500 and the log says why.
    pub fn http_stream(&self) -> HttpStream {
        HttpStream {
            host: self.host.clone(),
            id: self.open(),
        }
    }

    /// Creates a TCP connection of this plugin (a network filter). On an HTTP filter's
    /// plugin, the first hook closes the connection and the log says why.
    pub fn tcp_connection(&self) -> TcpConnection {
        TcpConnection {
            host: self.host.clone(),
            id: self.open(),
        }
    }

    /// Creates a context of this plugin for a stream or a connection.
    fn open(&self) -> u32 {
        let id = self.new_context();
        let _ = self
            .host
            .call(id, "proxy_on_context_create", &[u64::from(self.root)]);
        id
    }

    /// The tick period the plugin asked for, if any.
    pub fn tick_period(&self) -> Option<Duration> {
        self.host
            .state()
            .tick_periods
            .get(&self.root)
            .filter(|ms| **ms > 0)
            .map(|ms| Duration::from_millis(u64::from(*ms)))
    }

    /// Advances the clock by the tick period (if any) and fires `on_tick`.
    pub fn tick(&self) -> Result<(), Trap> {
        if let Some(period) = self.tick_period() {
            self.host.advance(period);
        }
        self.host.call(self.root, "proxy_on_tick", &[]).map(drop)
    }
}

/// One HTTP stream, driven hook by hook.
pub struct HttpStream {
    host: Host,
    id: u32,
}

fn pairs(headers: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

impl HttpStream {
    /// The stream's context id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Delivers request headers.
    pub fn request_headers(&mut self, headers: &[(&str, &str)], end_of_stream: bool) -> Verdict {
        self.request_headers_bytes(pairs(headers), end_of_stream)
    }

    /// Delivers request headers given as raw bytes (e.g. non-UTF-8 values).
    pub fn request_headers_bytes(
        &mut self,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        end_of_stream: bool,
    ) -> Verdict {
        let n = headers.len();
        self.host.state().set_map(self.id, 0, headers);
        let verdict = self.host.verdict(
            self.id,
            "proxy_on_request_headers",
            &[n as u64, u64::from(end_of_stream)],
        );
        self.hold_after_headers(0, &verdict, end_of_stream);
        verdict
    }

    /// After a headers hook paused (without a local reply), Envoy hands the filter no
    /// body or trailers of that direction until the filter resumes it.
    fn hold_after_headers(&self, direction: u32, verdict: &Verdict, end_of_stream: bool) {
        let mut state = self.host.state();
        let replied = state.local_replies.contains_key(&self.id);
        if *verdict == Verdict::Pause && !end_of_stream && !replied {
            state.held.insert((self.id, direction), Default::default());
        }
    }

    /// Holds a body chunk of a direction whose headers hook paused it; `false` when the
    /// direction is not held.
    fn held_body(&self, direction: u32, chunk: &[u8], end_of_stream: bool) -> bool {
        let mut state = self.host.state();
        match state.held.get_mut(&(self.id, direction)) {
            Some(held) => {
                held.body.extend_from_slice(chunk);
                held.body_arrived = true;
                held.end_of_stream = end_of_stream;
                true
            }
            None => false,
        }
    }

    /// Holds the trailers of a held direction; `false` when the direction is not held.
    fn held_trailers(&self, direction: u32, trailers: &[(&str, &str)]) -> bool {
        let mut state = self.host.state();
        match state.held.get_mut(&(self.id, direction)) {
            Some(held) => {
                held.trailers = Some(pairs(trailers));
                true
            }
            None => false,
        }
    }

    /// Delivers a request body chunk. After a `Pause` of the body hook the host buffers:
    /// the hook then sees every chunk so far. After a `Pause` of the headers hook, as in
    /// Envoy, the hook does not run: the host holds the body (the verdict is `Pause`)
    /// and hands it over once the filter resumes the request.
    pub fn request_body(&mut self, chunk: &[u8], end_of_stream: bool) -> Verdict {
        if self.held_body(0, chunk, end_of_stream) {
            return Verdict::Pause;
        }
        self.body(0, chunk, end_of_stream, "proxy_on_request_body")
    }

    /// Delivers request trailers (held like the body after a headers `Pause`).
    pub fn request_trailers(&mut self, trailers: &[(&str, &str)]) -> Verdict {
        if self.held_trailers(0, trailers) {
            return Verdict::Pause;
        }
        self.host.state().set_map(self.id, 1, pairs(trailers));
        self.host.verdict(
            self.id,
            "proxy_on_request_trailers",
            &[trailers.len() as u64],
        )
    }

    /// Delivers response headers.
    pub fn response_headers(&mut self, headers: &[(&str, &str)], end_of_stream: bool) -> Verdict {
        self.response_headers_bytes(pairs(headers), end_of_stream)
    }

    /// Delivers response headers given as raw bytes.
    pub fn response_headers_bytes(
        &mut self,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        end_of_stream: bool,
    ) -> Verdict {
        let n = headers.len();
        self.host.state().set_map(self.id, 2, headers);
        let verdict = self.host.verdict(
            self.id,
            "proxy_on_response_headers",
            &[n as u64, u64::from(end_of_stream)],
        );
        self.hold_after_headers(1, &verdict, end_of_stream);
        verdict
    }

    /// Delivers a response body chunk (buffered or held after a `Pause`, like requests).
    pub fn response_body(&mut self, chunk: &[u8], end_of_stream: bool) -> Verdict {
        if self.held_body(1, chunk, end_of_stream) {
            return Verdict::Pause;
        }
        self.body(1, chunk, end_of_stream, "proxy_on_response_body")
    }

    /// Delivers response trailers (held like the body after a headers `Pause`).
    pub fn response_trailers(&mut self, trailers: &[(&str, &str)]) -> Verdict {
        if self.held_trailers(1, trailers) {
            return Verdict::Pause;
        }
        self.host.state().set_map(self.id, 3, pairs(trailers));
        self.host.verdict(
            self.id,
            "proxy_on_response_trailers",
            &[trailers.len() as u64],
        )
    }

    fn body(&mut self, buffer: u32, chunk: &[u8], end_of_stream: bool, export: &str) -> Verdict {
        let size = {
            let mut state = self.host.state();
            let mut bytes = if state.buffering.contains(&(self.id, buffer)) {
                state.buffer(self.id, buffer)
            } else {
                Vec::new()
            };
            bytes.extend_from_slice(chunk);
            let size = bytes.len();
            state.set_buffer(self.id, buffer, bytes);
            size
        };
        let verdict = self
            .host
            .verdict(self.id, export, &[size as u64, u64::from(end_of_stream)]);
        let mut state = self.host.state();
        if verdict == Verdict::Pause {
            state.buffering.insert((self.id, buffer));
        } else {
            state.buffering.remove(&(self.id, buffer));
        }
        verdict
    }

    /// Ends the stream: `on_log`, then `on_done`, then the context is deleted.
    pub fn complete(self) -> Result<(), Trap> {
        self.host.call(self.id, "proxy_on_log", &[])?;
        self.host.call(self.id, "proxy_on_done", &[])?;
        self.host.call(self.id, "proxy_on_delete", &[])?;
        let id = self.id;
        let mut state = self.host.state();
        state.callouts.retain(|c| c.context_id != id);
        state.held.retain(|(context, _), _| *context != id);
        state.buffering.retain(|(context, _)| *context != id);
        // Envoy resets the gRPC streams of a stream that ends.
        for stream in state.grpc_streams.iter_mut() {
            if stream.context_id == id && !stream.remote_closed {
                stream.cancelled = true;
            }
        }
        Ok(())
    }

    fn map(&self, map: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.host.state().map(self.id, map)
    }

    fn first(&self, map: u32, name: &str) -> Option<Vec<u8>> {
        self.map(map)
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// A request header as the filter left it.
    pub fn request_header(&self, name: &str) -> Option<Vec<u8>> {
        self.first(0, name)
    }

    /// A response header as the filter left it.
    pub fn response_header(&self, name: &str) -> Option<Vec<u8>> {
        self.first(2, name)
    }

    /// All request headers as the filter left them.
    pub fn request_headers_now(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.map(0)
    }

    /// All response headers as the filter left them.
    pub fn response_headers_now(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.map(2)
    }

    /// The request trailers as the filter left them.
    pub fn request_trailers_now(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.map(1)
    }

    /// The response trailers as the filter left them.
    pub fn response_trailers_now(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.map(3)
    }

    /// The request body (buffered so far) as the filter left it.
    pub fn request_body_now(&self) -> Vec<u8> {
        self.host.state().buffer(self.id, 0)
    }

    /// The response body (buffered so far) as the filter left it.
    pub fn response_body_now(&self) -> Vec<u8> {
        self.host.state().buffer(self.id, 1)
    }

    /// The local reply the filter sent, if any.
    pub fn local_reply(&self) -> Option<LocalReply> {
        self.host.state().local_replies.get(&self.id).cloned()
    }

    /// Whether the filter resumed the request (after a pause).
    pub fn request_resumed(&self) -> bool {
        self.host.state().continued.contains(&(self.id, 0))
    }

    /// Whether the filter resumed the response (after a pause).
    pub fn response_resumed(&self) -> bool {
        self.host.state().continued.contains(&(self.id, 1))
    }

    /// Whether the filter reset the stream.
    pub fn reset(&self) -> bool {
        self.host.state().closed.iter().any(|(c, _)| *c == self.id)
    }

    /// The gRPC streams this stream opened, open or not.
    pub fn grpc_streams(&self) -> Vec<GrpcStreamRecord> {
        self.host
            .grpc_streams()
            .into_iter()
            .filter(|s| s.context_id == self.id)
            .collect()
    }

    /// Callouts this stream made that are still pending.
    pub fn callouts(&self) -> Vec<Callout> {
        self.host
            .callouts()
            .into_iter()
            .filter(|c| c.context_id == self.id)
            .collect()
    }
}

/// One TCP connection through a network filter.
pub struct TcpConnection {
    host: Host,
    id: u32,
}

impl TcpConnection {
    /// The downstream connected.
    pub fn connect(&mut self) -> Verdict {
        self.host.verdict(self.id, "proxy_on_new_connection", &[])
    }

    /// Bytes from the downstream.
    pub fn downstream_data(&mut self, data: &[u8], end_of_stream: bool) -> Verdict {
        self.host.state().set_buffer(self.id, 2, data.to_vec());
        self.host.verdict(
            self.id,
            "proxy_on_downstream_data",
            &[data.len() as u64, u64::from(end_of_stream)],
        )
    }

    /// Bytes from the upstream.
    pub fn upstream_data(&mut self, data: &[u8], end_of_stream: bool) -> Verdict {
        self.host.state().set_buffer(self.id, 3, data.to_vec());
        self.host.verdict(
            self.id,
            "proxy_on_upstream_data",
            &[data.len() as u64, u64::from(end_of_stream)],
        )
    }

    /// The downstream bytes as the filter left them.
    pub fn downstream_data_now(&self) -> Vec<u8> {
        self.host.state().buffer(self.id, 2)
    }

    /// The upstream bytes as the filter left them.
    pub fn upstream_data_now(&self) -> Vec<u8> {
        self.host.state().buffer(self.id, 3)
    }

    /// Whether the filter closed the connection.
    pub fn closed(&self) -> bool {
        self.host.state().closed.iter().any(|(c, _)| *c == self.id)
    }

    /// Both sides close: `on_downstream_close`, `on_upstream_close`, then the connection
    /// is logged and done (as Envoy does: `on_log`, `on_done`).
    pub fn close(self) -> Result<(), Trap> {
        self.host
            .call(self.id, "proxy_on_downstream_connection_close", &[2])?;
        self.host
            .call(self.id, "proxy_on_upstream_connection_close", &[2])?;
        self.host.call(self.id, "proxy_on_log", &[])?;
        self.host.call(self.id, "proxy_on_done", &[])?;
        self.host.call(self.id, "proxy_on_delete", &[]).map(drop)
    }
}
