//! The emulated host's state: what the filter did and what it sees. Every proxy-wasm
//! hostcall is a (crate-private) method of [`HostState`] working on plain bytes: the
//! native backend and the wasm backend both forward the module's imports there, so a
//! filter sees the same host either way.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

/// Header pairs: names and values as raw bytes, in order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A foreign function registered with the host.
pub type ForeignFunction = Box<dyn FnMut(&[u8]) -> Option<Vec<u8>>>;

/// proxy-wasm status codes (Envoy's `WasmResult` numbering).
#[allow(missing_docs)]
pub mod status {
    pub const OK: u32 = 0;
    pub const NOT_FOUND: u32 = 1;
    pub const BAD_ARGUMENT: u32 = 2;
    pub const SERIALIZATION_FAILURE: u32 = 3;
    pub const PARSE_FAILURE: u32 = 4;
    pub const EMPTY: u32 = 7;
    pub const CAS_MISMATCH: u32 = 8;
    pub const INTERNAL_FAILURE: u32 = 10;
    /// Every error status a proxy-wasm host may return (that the `proxy-wasm` crate can
    /// also represent).
    pub const ERRORS: &[u32] = &[
        NOT_FOUND,
        BAD_ARGUMENT,
        SERIALIZATION_FAILURE,
        PARSE_FAILURE,
        EMPTY,
        CAS_MISMATCH,
        INTERNAL_FAILURE,
    ];
}

/// A log level, as the module sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// 0
    Trace,
    /// 1
    Debug,
    /// 2
    Info,
    /// 3
    Warn,
    /// 4
    Error,
    /// 5
    Critical,
}

impl Level {
    fn from_u32(level: u32) -> Level {
        match level {
            0 => Level::Trace,
            1 => Level::Debug,
            2 => Level::Info,
            3 => Level::Warn,
            4 => Level::Error,
            _ => Level::Critical,
        }
    }
}

/// A local reply the filter sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body.
    pub body: Vec<u8>,
    /// `grpc-status`, when one was given.
    pub grpc_status: Option<i32>,
    /// Response code details.
    pub details: String,
}

impl LocalReply {
    /// The value of a header of the reply.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// An HTTP or gRPC callout the filter made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    /// The token the host returned for it.
    pub token: u32,
    /// The context (stream or plugin) that made it.
    pub context_id: u32,
    /// The target cluster.
    pub cluster: String,
    /// HTTP: the request headers, pseudo-headers included. gRPC: initial metadata.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// HTTP: the body. gRPC: the serialized message.
    pub body: Vec<u8>,
    /// The timeout given.
    pub timeout: Duration,
    /// gRPC: `(service, method)`; `None` for HTTP calls.
    pub grpc: Option<(String, String)>,
}

impl Callout {
    /// The value of a request header (e.g. `:path`).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}

/// What arrived for a direction of a stream while its headers hook held it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Held {
    pub(crate) body: Vec<u8>,
    pub(crate) body_arrived: bool,
    pub(crate) end_of_stream: bool,
    pub(crate) trailers: Option<Pairs>,
    /// The filter resumed the direction: deliver what was held.
    pub(crate) resumed: bool,
}

/// A gRPC stream the filter opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcStreamRecord {
    /// The token the host returned for it.
    pub token: u32,
    /// The context (stream or plugin) that opened it.
    pub context_id: u32,
    /// The target cluster.
    pub cluster: String,
    /// The gRPC service, e.g. `chat.Chat`.
    pub service: String,
    /// The method, e.g. `Talk`.
    pub method: String,
    /// The initial metadata the filter sent.
    pub metadata: Vec<(Vec<u8>, Vec<u8>)>,
    /// The messages the filter sent, in order.
    pub sent: Vec<Vec<u8>>,
    /// The filter half-closed it (`close`, or a message sent with end of stream).
    pub half_closed: bool,
    /// The filter cancelled it, or its HTTP stream ended first (Envoy resets it then).
    pub cancelled: bool,
    /// The host closed it (with a status).
    pub remote_closed: bool,
}

impl GrpcStreamRecord {
    /// Whether events can still be delivered to the filter for it.
    pub fn is_open(&self) -> bool {
        !self.cancelled && !self.remote_closed
    }
}

/// A metric the filter defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// Its name.
    pub name: String,
    /// 0 counter, 1 gauge, 2 histogram.
    pub kind: u32,
    /// Counter/gauge value.
    pub value: i64,
    /// Histogram: every recorded value.
    pub records: Vec<u64>,
}

/// The state of the emulated host. Tests read it through [`Host`](crate::Host).
#[derive(Default)]
pub struct HostState {
    pub(crate) effective_context: u32,
    maps: HashMap<(u32, u32), Pairs>,
    buffers: HashMap<(u32, u32), Vec<u8>>,
    pub(crate) properties: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The metadata namespaces set by tests, by source (served serialized as properties).
    pub(crate) metadata:
        HashMap<proxylet::property::MetadataSource, BTreeMap<String, proxylet::property::Struct>>,
    shared: BTreeMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
    pub(crate) queues: Vec<(String, String, VecDeque<Vec<u8>>, u32)>,
    /// Enqueues not yet announced to the queue's owner: `(queue id, owner context)`.
    pub(crate) ready_queues: VecDeque<(u32, u32)>,
    /// The root id of each plugin's contexts (its root context and its streams), which
    /// `plugin_root_id` and `plugin_name` answer with.
    pub(crate) plugin_of_context: HashMap<u32, Vec<u8>>,
    /// Directions `(context, 0 request | 1 response)` whose headers hook paused them. Like
    /// Envoy, whose proxy-wasm host turns a headers `StopIteration` into
    /// `StopAllIterationAndWatermark`, the host holds their body and trailers until the
    /// filter resumes, then hands them to the filter.
    pub(crate) held: HashMap<(u32, u32), Held>,
    /// Directions whose body hook paused: the hook sees every chunk so far next time.
    pub(crate) buffering: HashSet<(u32, u32)>,
    pub(crate) metrics: Vec<Metric>,
    pub(crate) logs: Vec<(Level, String)>,
    pub(crate) log_level: u32,
    pub(crate) tick_periods: HashMap<u32, u32>,
    pub(crate) now_nanos: u64,
    pub(crate) callouts: Vec<Callout>,
    pub(crate) grpc_streams: Vec<GrpcStreamRecord>,
    next_token: u32,
    /// Where tokens come from instead of `next_token`: natively, every host of a thread
    /// draws from one per-thread counter, so a token names one callout on the thread.
    pub(crate) shared_tokens: Option<fn() -> u32>,
    pub(crate) local_replies: HashMap<u32, LocalReply>,
    pub(crate) continued: Vec<(u32, u32)>,
    pub(crate) closed: Vec<(u32, u32)>,
    pub(crate) foreign: HashMap<String, ForeignFunction>,
    pub(crate) grpc_status: (u32, Vec<u8>),
    pub(crate) done: Vec<u32>,
    /// When set, every hostcall answers with this error status instead of working: for
    /// checking that a filter survives a host that refuses everything.
    pub fail_with: Option<u32>,
    /// When set, the clusters that exist: HTTP and gRPC callouts to any other cluster are
    /// refused with `BAD_ARGUMENT`, as Envoy refuses a callout to an unknown cluster.
    pub clusters: Option<Vec<String>>,
    pub(crate) vm_id: String,
}

fn decode_path(path: &[u8]) -> Vec<u8> {
    path.to_vec()
}

impl HostState {
    /// A host at time 2026-01-01T00:00:00Z with log level `trace`.
    pub fn new() -> Self {
        HostState {
            now_nanos: 1_767_225_600_000_000_000,
            next_cas: 1,
            next_token: 1,
            vm_id: String::new(),
            ..HostState::default()
        }
    }

    fn refused(&self) -> Option<u32> {
        self.fail_with
    }

    /// A fresh callout or gRPC stream token.
    fn take_token(&mut self) -> u32 {
        match self.shared_tokens {
            Some(next) => next(),
            None => {
                let token = self.next_token;
                self.next_token = self.next_token.wrapping_add(1).max(1);
                token
            }
        }
    }

    fn cluster_exists(&self, cluster: &str) -> bool {
        self.clusters
            .as_ref()
            .is_none_or(|known| known.iter().any(|c| c == cluster))
    }

    fn map_key(&self, map: u32) -> (u32, u32) {
        (self.effective_context, map)
    }

    /// Sets a header map of a context (used by the test API before calling hooks).
    pub fn set_map(&mut self, context: u32, map: u32, pairs: Vec<(Vec<u8>, Vec<u8>)>) {
        self.maps.insert((context, map), pairs);
    }

    /// A header map of a context.
    pub fn map(&self, context: u32, map: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.maps.get(&(context, map)).cloned().unwrap_or_default()
    }

    /// Sets a buffer of a context.
    pub fn set_buffer(&mut self, context: u32, buffer: u32, bytes: Vec<u8>) {
        self.buffers.insert((context, buffer), bytes);
    }

    /// The host's clock in nanoseconds since the Unix epoch (what the module's WASI clocks
    /// read; unlike `proxy_get_current_time_nanoseconds`, this never fails).
    pub fn now_nanos(&self) -> u64 {
        self.now_nanos
    }

    /// A buffer of a context.
    pub fn buffer(&self, context: u32, buffer: u32) -> Vec<u8> {
        self.buffers
            .get(&(context, buffer))
            .cloned()
            .unwrap_or_default()
    }

    // ---- hostcalls ------------------------------------------------------------------

    /// `proxy_log`.
    pub(crate) fn proxy_log(&mut self, level: u32, message: &[u8]) -> u32 {
        self.logs.push((
            Level::from_u32(level),
            String::from_utf8_lossy(message).into_owned(),
        ));
        status::OK
    }

    /// `proxy_get_log_level`.
    pub(crate) fn proxy_get_log_level(&mut self) -> Result<u32, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        Ok(self.log_level)
    }

    /// `proxy_get_current_time_nanoseconds`.
    pub(crate) fn proxy_get_current_time_nanoseconds(&mut self) -> Result<u64, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        Ok(self.now_nanos)
    }

    /// `proxy_set_tick_period_milliseconds`.
    pub(crate) fn proxy_set_tick_period_milliseconds(&mut self, period: u32) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        self.tick_periods.insert(self.effective_context, period);
        status::OK
    }

    /// `proxy_get_buffer_bytes`.
    pub(crate) fn proxy_get_buffer_bytes(
        &mut self,
        buffer: u32,
        start: usize,
        max: usize,
    ) -> Result<Vec<u8>, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        let key = if buffer == 6 || buffer == 7 || buffer == 4 || buffer == 5 {
            (0, buffer)
        } else {
            self.map_key(buffer)
        };
        let bytes = self.buffers.get(&key).ok_or(status::NOT_FOUND)?;
        if start > bytes.len() {
            return Err(status::BAD_ARGUMENT);
        }
        let end = start.saturating_add(max).min(bytes.len());
        Ok(bytes.get(start..end).unwrap_or_default().to_vec())
    }

    /// `proxy_set_buffer_bytes`: replaces `size` bytes at `start` with `data`.
    pub(crate) fn proxy_set_buffer_bytes(
        &mut self,
        buffer: u32,
        start: usize,
        size: usize,
        data: &[u8],
    ) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        let key = self.map_key(buffer);
        let bytes = self.buffers.entry(key).or_default();
        if start > bytes.len() {
            return status::BAD_ARGUMENT;
        }
        let end = start.saturating_add(size).min(bytes.len());
        bytes.splice(start..end, data.iter().copied());
        status::OK
    }

    /// `proxy_get_header_map_pairs`.
    pub(crate) fn proxy_get_header_map_pairs(&mut self, map: u32) -> Result<Pairs, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        let key = self.call_map_key(map);
        Ok(self.maps.get(&key).cloned().unwrap_or_default())
    }

    fn call_map_key(&self, map: u32) -> (u32, u32) {
        // Callout response maps and received gRPC metadata are the host's, not a stream's.
        if (4..=7).contains(&map) {
            (0, map)
        } else {
            self.map_key(map)
        }
    }

    /// `proxy_set_header_map_pairs`.
    pub(crate) fn proxy_set_header_map_pairs(
        &mut self,
        map: u32,
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        let key = self.map_key(map);
        self.maps.insert(key, pairs);
        status::OK
    }

    /// `proxy_get_header_map_value`: the first value of `key` (names are case-insensitive).
    pub(crate) fn proxy_get_header_map_value(
        &mut self,
        map: u32,
        key: &[u8],
    ) -> Result<Vec<u8>, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        let k = self.call_map_key(map);
        self.maps
            .get(&k)
            .and_then(|pairs| pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(key)))
            .map(|(_, v)| v.clone())
            .ok_or(status::NOT_FOUND)
    }

    /// `proxy_replace_header_map_value`.
    pub(crate) fn proxy_replace_header_map_value(
        &mut self,
        map: u32,
        key: &[u8],
        value: &[u8],
    ) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        let k = self.map_key(map);
        let pairs = self.maps.entry(k).or_default();
        let lower = key.to_ascii_lowercase();
        let mut replaced = false;
        pairs.retain_mut(|(n, v)| {
            if n.eq_ignore_ascii_case(&lower) {
                if replaced {
                    return false;
                }
                *v = value.to_vec();
                replaced = true;
            }
            true
        });
        if !replaced {
            pairs.push((lower, value.to_vec()));
        }
        status::OK
    }

    /// `proxy_add_header_map_value`.
    pub(crate) fn proxy_add_header_map_value(&mut self, map: u32, key: &[u8], value: &[u8]) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        let k = self.map_key(map);
        self.maps
            .entry(k)
            .or_default()
            .push((key.to_ascii_lowercase(), value.to_vec()));
        status::OK
    }

    /// `proxy_remove_header_map_value`.
    pub(crate) fn proxy_remove_header_map_value(&mut self, map: u32, key: &[u8]) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        let k = self.map_key(map);
        if let Some(pairs) = self.maps.get_mut(&k) {
            pairs.retain(|(n, _)| !n.eq_ignore_ascii_case(key));
        }
        status::OK
    }

    /// `proxy_get_property` (path segments joined by NUL bytes).
    pub(crate) fn proxy_get_property(&mut self, path: &[u8]) -> Result<Vec<u8>, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        if path == b"plugin_root_id" || path == b"plugin_name" {
            if let Some(root_id) = self.plugin_of_context.get(&self.effective_context) {
                return Ok(root_id.clone());
            }
        }
        self.properties
            .get(&decode_path(path))
            .cloned()
            .ok_or(status::NOT_FOUND)
    }

    /// `proxy_set_property`.
    pub(crate) fn proxy_set_property(&mut self, path: &[u8], value: &[u8]) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        self.properties.insert(decode_path(path), value.to_vec());
        status::OK
    }

    /// `proxy_get_shared_data`: value and CAS.
    pub(crate) fn proxy_get_shared_data(&mut self, key: &[u8]) -> Result<(Vec<u8>, u32), u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        self.shared
            .get(&String::from_utf8_lossy(key).into_owned())
            .cloned()
            .ok_or(status::NOT_FOUND)
    }

    /// `proxy_set_shared_data`: `cas` 0 writes unconditionally.
    pub(crate) fn proxy_set_shared_data(&mut self, key: &[u8], value: &[u8], cas: u32) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        let key = String::from_utf8_lossy(key).into_owned();
        if let Some((_, current)) = self.shared.get(&key) {
            if cas != 0 && cas != *current {
                return status::CAS_MISMATCH;
            }
        }
        self.next_cas = self.next_cas.wrapping_add(1).max(1);
        self.shared.insert(key, (value.to_vec(), self.next_cas));
        status::OK
    }

    /// `proxy_register_shared_queue`.
    pub(crate) fn proxy_register_shared_queue(&mut self, name: &[u8]) -> Result<u32, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        let name = String::from_utf8_lossy(name).into_owned();
        if let Some(i) = self
            .queues
            .iter()
            .position(|q| q.0 == self.vm_id && q.1 == name)
        {
            return Ok(i as u32 + 1);
        }
        self.queues.push((
            self.vm_id.clone(),
            name,
            VecDeque::new(),
            self.effective_context,
        ));
        Ok(self.queues.len() as u32)
    }

    /// `proxy_resolve_shared_queue`.
    pub(crate) fn proxy_resolve_shared_queue(
        &mut self,
        vm_id: &[u8],
        name: &[u8],
    ) -> Result<u32, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        let (vm_id, name) = (
            String::from_utf8_lossy(vm_id),
            String::from_utf8_lossy(name),
        );
        self.queues
            .iter()
            .position(|q| q.0 == vm_id && q.1 == name)
            .map(|i| i as u32 + 1)
            .ok_or(status::NOT_FOUND)
    }

    /// `proxy_dequeue_shared_queue`.
    pub(crate) fn proxy_dequeue_shared_queue(&mut self, queue: u32) -> Result<Vec<u8>, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        let q = self
            .queues
            .get_mut((queue as usize).wrapping_sub(1))
            .ok_or(status::NOT_FOUND)?;
        q.2.pop_front().ok_or(status::EMPTY)
    }

    /// `proxy_enqueue_shared_queue`.
    pub(crate) fn proxy_enqueue_shared_queue(&mut self, queue: u32, value: &[u8]) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        match self.queues.get_mut((queue as usize).wrapping_sub(1)) {
            Some(q) => {
                q.2.push_back(value.to_vec());
                // Like Envoy, the owner hears of it once the current call returns.
                let owner = q.3;
                self.ready_queues.push_back((queue, owner));
                status::OK
            }
            None => status::NOT_FOUND,
        }
    }

    /// `proxy_continue_stream`.
    pub(crate) fn proxy_continue_stream(&mut self, stream: u32) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        self.continued.push((self.effective_context, stream));
        if let Some(held) = self.held.get_mut(&(self.effective_context, stream)) {
            held.resumed = true;
        }
        status::OK
    }

    /// `proxy_close_stream`.
    pub(crate) fn proxy_close_stream(&mut self, stream: u32) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        self.closed.push((self.effective_context, stream));
        status::OK
    }

    /// `proxy_send_local_response`.
    pub(crate) fn proxy_send_local_response(
        &mut self,
        status_code: u32,
        details: &[u8],
        body: &[u8],
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        grpc_status: i32,
    ) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        let reply = LocalReply {
            status: u16::try_from(status_code).unwrap_or(u16::MAX),
            headers: headers
                .into_iter()
                .map(|(n, v)| (String::from_utf8_lossy(&n).into_owned(), v))
                .collect(),
            body: body.to_vec(),
            grpc_status: (grpc_status >= 0).then_some(grpc_status),
            details: String::from_utf8_lossy(details).into_owned(),
        };
        self.local_replies.insert(self.effective_context, reply);
        status::OK
    }

    /// `proxy_http_call`.
    pub(crate) fn proxy_http_call(
        &mut self,
        cluster: &[u8],
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        body: &[u8],
        timeout_ms: u32,
    ) -> Result<u32, u32> {
        if let Some(s) = self.refused() {
            // proxy-wasm's wrapper panics on anything else: answer as Envoy would.
            return Err(if s == status::BAD_ARGUMENT {
                s
            } else {
                status::INTERNAL_FAILURE
            });
        }
        let cluster = String::from_utf8_lossy(cluster).into_owned();
        if cluster.is_empty()
            || !headers.iter().any(|(n, _)| n == b":path")
            || !self.cluster_exists(&cluster)
        {
            return Err(status::BAD_ARGUMENT);
        }
        Ok(self.record_call(cluster, headers, body, timeout_ms, None))
    }

    fn record_call(
        &mut self,
        cluster: String,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        body: &[u8],
        timeout_ms: u32,
        grpc: Option<(String, String)>,
    ) -> u32 {
        let token = self.take_token();
        self.callouts.push(Callout {
            token,
            context_id: self.effective_context,
            cluster,
            headers,
            body: body.to_vec(),
            timeout: Duration::from_millis(u64::from(timeout_ms)),
            grpc,
        });
        token
    }

    /// `proxy_grpc_call`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn proxy_grpc_call(
        &mut self,
        cluster: &[u8],
        service: &[u8],
        method: &[u8],
        metadata: Vec<(Vec<u8>, Vec<u8>)>,
        message: &[u8],
        timeout_ms: u32,
    ) -> Result<u32, u32> {
        if let Some(s) = self.refused() {
            return Err(grpc_refusal(s));
        }
        // Envoy answers an unknown cluster with `ParseFailure` (the name is first tried
        // as a serialized `GrpcService`); proxy-wasm's wrapper panics on `BadArgument`.
        if !self.cluster_exists(&String::from_utf8_lossy(cluster)) {
            return Err(status::PARSE_FAILURE);
        }
        let grpc = Some((
            String::from_utf8_lossy(service).into_owned(),
            String::from_utf8_lossy(method).into_owned(),
        ));
        Ok(self.record_call(
            String::from_utf8_lossy(cluster).into_owned(),
            metadata,
            message,
            timeout_ms,
            grpc,
        ))
    }

    /// `proxy_grpc_stream`.
    pub(crate) fn proxy_grpc_stream(
        &mut self,
        cluster: &[u8],
        service: &[u8],
        method: &[u8],
        metadata: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<u32, u32> {
        if let Some(s) = self.refused() {
            return Err(grpc_refusal(s));
        }
        let cluster = String::from_utf8_lossy(cluster).into_owned();
        if !self.cluster_exists(&cluster) {
            return Err(status::PARSE_FAILURE);
        }
        let token = self.take_token();
        self.grpc_streams.push(GrpcStreamRecord {
            token,
            context_id: self.effective_context,
            cluster,
            service: String::from_utf8_lossy(service).into_owned(),
            method: String::from_utf8_lossy(method).into_owned(),
            metadata,
            sent: Vec::new(),
            half_closed: false,
            cancelled: false,
            remote_closed: false,
        });
        Ok(token)
    }

    fn grpc_stream_mut(&mut self, token: u32) -> Option<&mut GrpcStreamRecord> {
        self.grpc_streams.iter_mut().find(|s| s.token == token)
    }

    /// `proxy_grpc_send`. Like Envoy: `NotFound` once the stream is cancelled, or closed
    /// on both sides; `BadArgument` for a token that is not a stream. Sending after a
    /// half-close is refused with `BadArgument` (Envoy would pass it to a stream that
    /// forbids it).
    pub(crate) fn proxy_grpc_send(&mut self, token: u32, message: &[u8], end_stream: bool) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        let Some(stream) = self.grpc_stream_mut(token) else {
            return if self.callouts.iter().any(|c| c.token == token) {
                status::BAD_ARGUMENT
            } else {
                status::NOT_FOUND
            };
        };
        if stream.cancelled || (stream.remote_closed && stream.half_closed) {
            return status::NOT_FOUND;
        }
        if stream.half_closed {
            return status::BAD_ARGUMENT;
        }
        stream.sent.push(message.to_vec());
        stream.half_closed = end_stream;
        status::OK
    }

    /// `proxy_grpc_close`: half-closes a stream, cancels a gRPC call.
    pub(crate) fn proxy_grpc_close(&mut self, token: u32) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        if let Some(stream) = self.grpc_stream_mut(token) {
            if stream.cancelled || (stream.remote_closed && stream.half_closed) {
                return status::NOT_FOUND;
            }
            stream.half_closed = true;
            return status::OK;
        }
        self.cancel_grpc_call(token)
    }

    /// `proxy_grpc_cancel`: resets a stream, cancels a gRPC call.
    pub(crate) fn proxy_grpc_cancel(&mut self, token: u32) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        if let Some(stream) = self.grpc_stream_mut(token) {
            if stream.cancelled || (stream.remote_closed && stream.half_closed) {
                return status::NOT_FOUND;
            }
            stream.cancelled = true;
            return status::OK;
        }
        self.cancel_grpc_call(token)
    }

    fn cancel_grpc_call(&mut self, token: u32) -> u32 {
        match self
            .callouts
            .iter()
            .position(|c| c.token == token && c.grpc.is_some())
        {
            Some(index) => {
                self.callouts.remove(index);
                status::OK
            }
            None => status::NOT_FOUND,
        }
    }

    /// `proxy_get_status`.
    pub(crate) fn proxy_get_status(&mut self) -> Result<(u32, Vec<u8>), u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        Ok(self.grpc_status.clone())
    }

    /// `proxy_set_effective_context`.
    pub(crate) fn proxy_set_effective_context(&mut self, context: u32) -> u32 {
        self.effective_context = context;
        status::OK
    }

    /// `proxy_done`.
    pub(crate) fn proxy_done(&mut self) -> u32 {
        self.done.push(self.effective_context);
        status::OK
    }

    /// `proxy_call_foreign_function`.
    pub(crate) fn proxy_call_foreign_function(
        &mut self,
        name: &[u8],
        args: &[u8],
    ) -> Result<Vec<u8>, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let function = self.foreign.get_mut(&name).ok_or(status::NOT_FOUND)?;
        function(args).ok_or(status::INTERNAL_FAILURE)
    }

    /// `proxy_define_metric`.
    pub(crate) fn proxy_define_metric(&mut self, kind: u32, name: &[u8]) -> Result<u32, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        if kind > 2 {
            return Err(status::BAD_ARGUMENT);
        }
        let name = String::from_utf8_lossy(name).into_owned();
        if let Some(i) = self
            .metrics
            .iter()
            .position(|m| m.name == name && m.kind == kind)
        {
            return Ok(i as u32 + 1);
        }
        self.metrics.push(Metric {
            name,
            kind,
            value: 0,
            records: Vec::new(),
        });
        Ok(self.metrics.len() as u32)
    }

    fn metric(&mut self, id: u32) -> Result<&mut Metric, u32> {
        self.metrics
            .get_mut((id as usize).wrapping_sub(1))
            .ok_or(status::NOT_FOUND)
    }

    /// `proxy_get_metric`.
    pub(crate) fn proxy_get_metric(&mut self, id: u32) -> Result<u64, u32> {
        if let Some(s) = self.refused() {
            return Err(s);
        }
        let metric = self.metric(id)?;
        if metric.kind == 2 {
            return Err(status::BAD_ARGUMENT);
        }
        Ok(u64::try_from(metric.value).unwrap_or(0))
    }

    /// `proxy_record_metric`.
    pub(crate) fn proxy_record_metric(&mut self, id: u32, value: u64) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        match self.metric(id) {
            Ok(metric) if metric.kind == 2 => {
                metric.records.push(value);
                status::OK
            }
            Ok(metric) if metric.kind == 1 => {
                metric.value = i64::try_from(value).unwrap_or(i64::MAX);
                status::OK
            }
            Ok(_) => status::BAD_ARGUMENT,
            Err(s) => s,
        }
    }

    /// `proxy_increment_metric`.
    pub(crate) fn proxy_increment_metric(&mut self, id: u32, offset: i64) -> u32 {
        if let Some(s) = self.refused() {
            return s;
        }
        match self.metric(id) {
            Ok(metric) if metric.kind == 2 => status::BAD_ARGUMENT,
            Ok(metric) if metric.kind == 0 && offset < 0 => status::BAD_ARGUMENT,
            Ok(metric) => {
                metric.value = metric.value.saturating_add(offset);
                status::OK
            }
            Err(s) => s,
        }
    }
}

/// What a refused gRPC call or stream answers: proxy-wasm's wrappers accept only
/// `ParseFailure` and `InternalFailure` (anything else panics in the module).
fn grpc_refusal(status: u32) -> u32 {
    if status == status::PARSE_FAILURE {
        status
    } else {
        status::INTERNAL_FAILURE
    }
}

/// Decodes the proxy-wasm map format (module → host); `None` when malformed.
pub fn decode_map(bytes: &[u8]) -> Option<Pairs> {
    proxylet::__private::testkit::decode_map(bytes)
}

/// Encodes pairs in the proxy-wasm map format (host → module).
pub fn encode_map(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    proxylet::__private::testkit::encode_map(pairs)
}
