//! Envoy v3 bootstrap configuration, generated as JSON (Envoy reads `.json` files as JSON).
//!
//! [`Bootstrap::http`] builds one listener with an HTTP connection manager, your filters,
//! then the router; [`Bootstrap::tcp`] builds one listener with your network filters, then
//! `tcp_proxy`. Both listen on `127.0.0.1` port 0 (Envoy picks a free port;
//! [`Envoy`](crate::Envoy) reads it back from the admin API) with the admin API on
//! `127.0.0.1` port 0 too.
//!
//! ```
//! use proxylet_harness::bootstrap::{Bootstrap, LuaFilter, WasmCode, WasmFilter};
//! let upstream: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
//! let bootstrap = Bootstrap::http()
//!     .filter(WasmFilter::new("add-header", WasmCode::Local("/tmp/filter.wasm".into()))
//!         .config(r#"{"name": "x-hello"}"#))
//!     .filter(LuaFilter::new("function envoy_on_response(h) end"))
//!     .cluster("upstream", upstream);
//! let json = bootstrap.to_json();
//! assert!(json["static_resources"]["listeners"][0].is_object());
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::Error;

/// Type URL of the HTTP Wasm filter's configuration.
pub const HTTP_WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
/// Type URL of the network Wasm filter's configuration.
pub const NETWORK_WASM_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm";
/// Type URL of the HTTP connection manager's configuration.
pub const HCM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
/// Type URL of the router filter's configuration.
pub const ROUTER_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
/// Type URL of the Lua filter's configuration.
pub const LUA_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua";
/// Type URL of the TCP proxy filter's configuration.
pub const TCP_PROXY_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
/// Type URL of a plugin configuration given as a string.
pub const STRING_VALUE_TYPE: &str = "type.googleapis.com/google.protobuf.StringValue";
/// Type URL of a plugin configuration given as bytes (base64 in JSON).
pub const BYTES_VALUE_TYPE: &str = "type.googleapis.com/google.protobuf.BytesValue";

/// A filter configuration as Envoy passes it on byte for byte: a `StringValue` when it is
/// UTF-8 (readable in the bootstrap), else a `BytesValue` (protobuf strings must be UTF-8;
/// Envoy's wasm and dynamic modules filters unpack either).
///
/// ```
/// use proxylet_harness::bootstrap::configuration;
/// assert_eq!(configuration(b"hi")["value"], "hi");
/// let bytes = configuration(b"\xff\0");
/// assert_eq!(bytes["@type"], "type.googleapis.com/google.protobuf.BytesValue");
/// assert_eq!(bytes["value"], "/wA=");
/// ```
pub fn configuration(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!({ "@type": STRING_VALUE_TYPE, "value": text }),
        Err(_) => json!({ "@type": BYTES_VALUE_TYPE, "value": base64(bytes) }),
    }
}

/// Standard base64 with padding (protobuf's JSON form of `bytes`).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
/// Type URL of the dynamic modules HTTP filter's configuration (native filters).
pub const DYNAMIC_MODULE_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter";
/// Type URL of the dynamic modules network filter's configuration (native TCP filters).
pub const NETWORK_DYNAMIC_MODULE_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.network.dynamic_modules.v3.DynamicModuleNetworkFilter";
/// Type URL of a cluster's HTTP protocol options.
pub const HTTP_PROTOCOL_OPTIONS_TYPE: &str =
    "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
/// Type URL of the access logger writing to stdout (the [`Envoy`](crate::Envoy) log file).
pub const STDOUT_ACCESS_LOG_TYPE: &str =
    "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";

/// The name of the listener the builders generate.
pub const LISTENER_NAME: &str = "main";

/// Where a Wasm filter's module comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WasmCode {
    /// A file on this machine (`vm_config.code.local.filename`). It must exist when Envoy
    /// loads the configuration, `--mode validate` included.
    Local(PathBuf),
    /// Fetched by Envoy over HTTP from `uri` through `cluster`
    /// (`vm_config.code.remote`), checked against `sha256` (hex).
    Remote {
        /// The module's URL.
        uri: String,
        /// The SHA-256 of the module, lowercase hex.
        sha256: String,
        /// The cluster Envoy fetches it through (add it with
        /// [`Bootstrap::cluster`] or [`Bootstrap::raw_cluster`]).
        cluster: String,
        /// How long one fetch may take.
        timeout: Duration,
    },
}

/// How Envoy treats requests after a filter's VM failed (trapped, or could not start).
///
/// As observed on Envoy 1.40 after a trap: `FailClosed` (Envoy's default) answers 503 to
/// that request and every later one on the worker; `FailReload` answers 503 to that
/// request, reloads the VM, and filters later requests again; `FailOpen` answers 503 to
/// that request and passes every later one without the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    /// `FAIL_CLOSED`.
    FailClosed,
    /// `FAIL_OPEN`.
    FailOpen,
    /// `FAIL_RELOAD`.
    FailReload,
}

impl FailurePolicy {
    /// The protobuf enum value's name, e.g. `FAIL_CLOSED`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::FailClosed => "FAIL_CLOSED",
            FailurePolicy::FailOpen => "FAIL_OPEN",
            FailurePolicy::FailReload => "FAIL_RELOAD",
        }
    }
}

/// A proxy-wasm filter (`envoy.extensions.wasm.v3.PluginConfig`), usable as an HTTP filter
/// or as a network filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WasmFilter {
    /// The plugin's name (also the filter's name in the chain).
    pub name: String,
    /// The root id the module registered its root context under (`""` for the default).
    pub root_id: String,
    /// The VM id; filters with the same id and code share a VM.
    pub vm_id: String,
    /// Where the module comes from.
    pub code: WasmCode,
    /// The plugin configuration, sent as `google.protobuf.StringValue` when it is UTF-8,
    /// else as `google.protobuf.BytesValue` (either reaches `proxy_on_configure` byte for
    /// byte). `None` sends no configuration.
    pub config: Option<Vec<u8>>,
    /// What happens after the VM fails; `None` leaves Envoy's default (`FAIL_CLOSED`).
    pub failure_policy: Option<FailurePolicy>,
    /// The Wasm runtime; default `envoy.wasm.runtime.v8`.
    pub runtime: String,
}

impl WasmFilter {
    /// A filter named `name` running `code` in V8, with empty root and VM ids, no
    /// configuration and Envoy's default failure policy.
    pub fn new(name: impl Into<String>, code: WasmCode) -> Self {
        WasmFilter {
            name: name.into(),
            root_id: String::new(),
            vm_id: String::new(),
            code,
            config: None,
            failure_policy: None,
            runtime: "envoy.wasm.runtime.v8".into(),
        }
    }

    /// Shorthand for a filter whose module is the local file `path`.
    pub fn local(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        WasmFilter::new(name, WasmCode::Local(path.into()))
    }

    /// Sets the root id.
    pub fn root_id(mut self, root_id: impl Into<String>) -> Self {
        self.root_id = root_id.into();
        self
    }

    /// Sets the VM id.
    pub fn vm_id(mut self, vm_id: impl Into<String>) -> Self {
        self.vm_id = vm_id.into();
        self
    }

    /// Sets the plugin configuration string.
    pub fn config(mut self, config: impl Into<String>) -> Self {
        self.config = Some(config.into().into_bytes());
        self
    }

    /// Sets the plugin configuration bytes (a `BytesValue` unless they are UTF-8).
    pub fn config_bytes(mut self, config: impl Into<Vec<u8>>) -> Self {
        self.config = Some(config.into());
        self
    }

    /// Sets the failure policy.
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure_policy = Some(policy);
        self
    }

    /// Sets the runtime, e.g. `envoy.wasm.runtime.v8`.
    pub fn runtime(mut self, runtime: impl Into<String>) -> Self {
        self.runtime = runtime.into();
        self
    }

    /// The `PluginConfig` message as JSON.
    pub fn plugin_config(&self) -> Value {
        let code = match &self.code {
            WasmCode::Local(path) => json!({ "local": { "filename": path.to_string_lossy() } }),
            WasmCode::Remote {
                uri,
                sha256,
                cluster,
                timeout,
            } => json!({
                "remote": {
                    "http_uri": { "uri": uri, "cluster": cluster, "timeout": duration(*timeout) },
                    "sha256": sha256,
                }
            }),
        };
        let mut config = json!({
            "name": self.name,
            "root_id": self.root_id,
            "vm_config": {
                "vm_id": self.vm_id,
                "runtime": self.runtime,
                "code": code,
            },
        });
        if let Some(bytes) = &self.config {
            config["configuration"] = configuration(bytes);
        }
        if let Some(policy) = self.failure_policy {
            config["failure_policy"] = json!(policy.as_str());
        }
        config
    }

    fn to_filter(&self, type_url: &str) -> Value {
        json!({
            "name": self.name,
            "typed_config": { "@type": type_url, "config": self.plugin_config() },
        })
    }
}

/// A native filter: an Envoy dynamic module (`envoy.filters.http.dynamic_modules`, or
/// `envoy.filters.network.dynamic_modules` as a [`NetworkFilter`]), e.g. a proxylet crate
/// built with `cargo proxylet build --native`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicModuleFilter {
    /// The filter's name in the chain.
    pub name: String,
    /// The shared library (`lib<crate>.so`).
    pub path: PathBuf,
    /// Which filter of the module (for proxylet: the root id).
    pub filter_name: String,
    /// The filter configuration, sent as `google.protobuf.StringValue` when it is UTF-8,
    /// else as `google.protobuf.BytesValue`; `None` sends none.
    pub config: Option<Vec<u8>>,
}

impl DynamicModuleFilter {
    /// The filter `filter_name` of the module at `path`, named `name` in the chain, with no
    /// configuration.
    pub fn local(
        name: impl Into<String>,
        path: impl Into<PathBuf>,
        filter_name: impl Into<String>,
    ) -> Self {
        DynamicModuleFilter {
            name: name.into(),
            path: path.into(),
            filter_name: filter_name.into(),
            config: None,
        }
    }

    /// Sets the configuration string.
    pub fn config(mut self, config: impl Into<String>) -> Self {
        self.config = Some(config.into().into_bytes());
        self
    }

    /// Sets the configuration bytes (a `BytesValue` unless they are UTF-8).
    pub fn config_bytes(mut self, config: impl Into<Vec<u8>>) -> Self {
        self.config = Some(config.into());
        self
    }

    fn to_filter(&self, type_url: &str) -> Value {
        let mut config = json!({
            "@type": type_url,
            "dynamic_module_config": {
                "module": { "local": { "filename": self.path.to_string_lossy() } },
            },
            "filter_name": self.filter_name,
        });
        if let Some(bytes) = &self.config {
            config["filter_config"] = configuration(bytes);
        }
        json!({ "name": self.name, "typed_config": config })
    }
}

/// A proxylet module built for either target, as an HTTP (or network) filter: a `.wasm`
/// file goes in `envoy.filters.http.wasm`, a shared library in
/// `envoy.filters.http.dynamic_modules` (the root id is its filter name). Lets one test
/// run on both targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleFilter {
    name: String,
    path: PathBuf,
    root_id: String,
    vm_id: String,
    config: Option<Vec<u8>>,
}

impl ModuleFilter {
    /// The module at `path`, named `name` in the chain.
    pub fn local(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        ModuleFilter {
            name: name.into(),
            path: path.into(),
            root_id: String::new(),
            vm_id: String::new(),
            config: None,
        }
    }

    /// Sets the root id (natively: the filter name).
    pub fn root_id(mut self, root_id: impl Into<String>) -> Self {
        self.root_id = root_id.into();
        self
    }

    /// Sets the wasm VM id (natively: unused, there is no VM).
    pub fn vm_id(mut self, vm_id: impl Into<String>) -> Self {
        self.vm_id = vm_id.into();
        self
    }

    /// Sets the configuration string.
    pub fn config(mut self, config: impl Into<String>) -> Self {
        self.config = Some(config.into().into_bytes());
        self
    }

    /// Sets the configuration bytes (a `BytesValue` unless they are UTF-8).
    pub fn config_bytes(mut self, config: impl Into<Vec<u8>>) -> Self {
        self.config = Some(config.into());
        self
    }

    /// Whether the module is a native one (not a `.wasm` file).
    pub fn is_native(&self) -> bool {
        self.path.extension().is_none_or(|e| e != "wasm")
    }
}

impl ModuleFilter {
    /// The filter for the module's target: `native` makes it of a dynamic module's
    /// filter, `wasm` of a wasm one's.
    fn build<T>(
        self,
        native: impl FnOnce(DynamicModuleFilter) -> T,
        wasm: impl FnOnce(WasmFilter) -> T,
    ) -> T {
        if self.is_native() {
            let mut filter = DynamicModuleFilter::local(self.name, self.path, self.root_id);
            filter.config = self.config;
            native(filter)
        } else {
            let mut filter = WasmFilter::local(self.name, self.path)
                .root_id(self.root_id)
                .vm_id(self.vm_id);
            filter.config = self.config;
            wasm(filter)
        }
    }
}

impl From<ModuleFilter> for HttpFilter {
    fn from(module: ModuleFilter) -> Self {
        module.build(HttpFilter::DynamicModule, HttpFilter::Wasm)
    }
}

impl From<ModuleFilter> for NetworkFilter {
    fn from(module: ModuleFilter) -> Self {
        module.build(NetworkFilter::DynamicModule, NetworkFilter::Wasm)
    }
}

/// A Lua HTTP filter with inline code (`default_source_code.inline_string`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LuaFilter {
    /// The Lua source, defining `envoy_on_request` and/or `envoy_on_response`.
    pub inline_code: String,
}

impl LuaFilter {
    /// A Lua filter running `inline_code`.
    pub fn new(inline_code: impl Into<String>) -> Self {
        LuaFilter {
            inline_code: inline_code.into(),
        }
    }
}

/// One filter of an HTTP filter chain (before the router, which is always last).
#[derive(Clone, Debug, PartialEq)]
pub enum HttpFilter {
    /// A proxy-wasm filter (`envoy.filters.http.wasm`).
    Wasm(WasmFilter),
    /// A Lua filter (`envoy.filters.http.lua`).
    Lua(LuaFilter),
    /// A native filter (`envoy.filters.http.dynamic_modules`).
    DynamicModule(DynamicModuleFilter),
    /// Any other filter, as the JSON of an `HttpFilter` message (`name`, `typed_config`).
    Raw(Value),
}

impl HttpFilter {
    /// The `HttpFilter` message as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            HttpFilter::Wasm(wasm) => wasm.to_filter(HTTP_WASM_TYPE),
            HttpFilter::Lua(lua) => json!({
                "name": "envoy.filters.http.lua",
                "typed_config": {
                    "@type": LUA_TYPE,
                    "default_source_code": { "inline_string": lua.inline_code },
                },
            }),
            HttpFilter::DynamicModule(module) => module.to_filter(DYNAMIC_MODULE_TYPE),
            HttpFilter::Raw(raw) => raw.clone(),
        }
    }
}

impl From<DynamicModuleFilter> for HttpFilter {
    fn from(filter: DynamicModuleFilter) -> Self {
        HttpFilter::DynamicModule(filter)
    }
}

impl From<WasmFilter> for HttpFilter {
    fn from(filter: WasmFilter) -> Self {
        HttpFilter::Wasm(filter)
    }
}

impl From<LuaFilter> for HttpFilter {
    fn from(filter: LuaFilter) -> Self {
        HttpFilter::Lua(filter)
    }
}

impl From<Value> for HttpFilter {
    fn from(raw: Value) -> Self {
        HttpFilter::Raw(raw)
    }
}

/// One filter of a network filter chain (before `tcp_proxy`, which is always last).
#[derive(Clone, Debug, PartialEq)]
pub enum NetworkFilter {
    /// A proxy-wasm network filter (`envoy.filters.network.wasm`).
    Wasm(WasmFilter),
    /// A native network filter (`envoy.filters.network.dynamic_modules`).
    DynamicModule(DynamicModuleFilter),
    /// Any other filter, as the JSON of a `Filter` message (`name`, `typed_config`).
    Raw(Value),
}

impl NetworkFilter {
    /// The `Filter` message as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            NetworkFilter::Wasm(wasm) => wasm.to_filter(NETWORK_WASM_TYPE),
            NetworkFilter::DynamicModule(module) => module.to_filter(NETWORK_DYNAMIC_MODULE_TYPE),
            NetworkFilter::Raw(raw) => raw.clone(),
        }
    }
}

impl From<WasmFilter> for NetworkFilter {
    fn from(filter: WasmFilter) -> Self {
        NetworkFilter::Wasm(filter)
    }
}

impl From<Value> for NetworkFilter {
    fn from(raw: Value) -> Self {
        NetworkFilter::Raw(raw)
    }
}

/// The HTTP protocol Envoy speaks to a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamProtocol {
    /// HTTP/1.1 (Envoy's default).
    Http1,
    /// HTTP/2 over cleartext (e.g. for gRPC).
    Http2,
}

/// A `STATIC` cluster with one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// The cluster's name, referenced by routes, `tcp_proxy` and callouts.
    pub name: String,
    /// The endpoint.
    pub addr: SocketAddr,
    /// The protocol Envoy speaks to it.
    pub protocol: UpstreamProtocol,
    /// Connect timeout (default 2 s).
    pub connect_timeout: Duration,
}

impl Cluster {
    /// An HTTP/1.1 cluster `name` with the one endpoint `addr`.
    pub fn new(name: impl Into<String>, addr: SocketAddr) -> Self {
        Cluster {
            name: name.into(),
            addr,
            protocol: UpstreamProtocol::Http1,
            connect_timeout: Duration::from_secs(2),
        }
    }

    /// Makes Envoy speak HTTP/2 (cleartext) to it.
    pub fn http2(mut self) -> Self {
        self.protocol = UpstreamProtocol::Http2;
        self
    }

    /// The `Cluster` message as JSON.
    pub fn to_json(&self) -> Value {
        let mut cluster = json!({
            "name": self.name,
            "type": "STATIC",
            "connect_timeout": duration(self.connect_timeout),
            "load_assignment": {
                "cluster_name": self.name,
                "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": socket_address(
                    &self.addr.ip().to_string(),
                    u32::from(self.addr.port()),
                ) } }] }],
            },
        });
        if self.protocol == UpstreamProtocol::Http2 {
            cluster["typed_extension_protocol_options"] = json!({
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": HTTP_PROTOCOL_OPTIONS_TYPE,
                    "explicit_http_config": { "http2_protocol_options": {} },
                }
            });
        }
        cluster
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Http {
        filters: Vec<HttpFilter>,
        route_config: Option<Value>,
        access_log: bool,
    },
    Tcp {
        filters: Vec<NetworkFilter>,
        tcp_proxy_cluster: Option<String>,
    },
    Raw(Value),
}

/// An Envoy bootstrap configuration, built step by step. See the [module docs](self).
#[derive(Clone, Debug, PartialEq)]
pub struct Bootstrap {
    kind: Kind,
    clusters: Vec<Cluster>,
    raw_clusters: Vec<Value>,
    listener_address: String,
    listener_port: u32,
}

impl Bootstrap {
    /// An HTTP listener: HTTP connection manager → your filters → router. With no
    /// [`route_config`](Bootstrap::route_config), every request (prefix `/`) goes to the
    /// first cluster added (or gets a 404 direct response if there is none). Requests are
    /// logged to stdout, i.e. into [`Envoy::log`](crate::Envoy::log).
    pub fn http() -> Self {
        Bootstrap::new(Kind::Http {
            filters: Vec::new(),
            route_config: None,
            access_log: true,
        })
    }

    /// A TCP listener: your network filters → `tcp_proxy` to the first cluster added (or
    /// the one named with [`tcp_proxy_cluster`](Bootstrap::tcp_proxy_cluster)).
    pub fn tcp() -> Self {
        Bootstrap::new(Kind::Tcp {
            filters: Vec::new(),
            tcp_proxy_cluster: None,
        })
    }

    /// A bootstrap given whole as JSON, used as is by [`to_json`](Bootstrap::to_json) (the
    /// builder methods then only add clusters to `static_resources.clusters`).
    ///
    /// For [`Envoy::start`](crate::Envoy::start) it needs an `admin` address (port 0 is
    /// fine); listeners are found through the admin API.
    pub fn from_json(bootstrap: Value) -> Self {
        Bootstrap::new(Kind::Raw(bootstrap))
    }

    fn new(kind: Kind) -> Self {
        Bootstrap {
            kind,
            clusters: Vec::new(),
            raw_clusters: Vec::new(),
            listener_address: "127.0.0.1".into(),
            listener_port: 0,
        }
    }

    /// Appends an HTTP filter (before the router). Accepts [`WasmFilter`], [`LuaFilter`],
    /// or raw JSON.
    ///
    /// # Panics
    /// On a TCP or raw bootstrap.
    pub fn filter(mut self, filter: impl Into<HttpFilter>) -> Self {
        match &mut self.kind {
            Kind::Http { filters, .. } => filters.push(filter.into()),
            _ => panic!(
                "`Bootstrap::filter` adds HTTP filters; use `network_filter` on `Bootstrap::tcp()`"
            ),
        }
        self
    }

    /// Appends a network filter (before `tcp_proxy`). Accepts [`WasmFilter`] or raw JSON.
    ///
    /// # Panics
    /// On an HTTP or raw bootstrap.
    pub fn network_filter(mut self, filter: impl Into<NetworkFilter>) -> Self {
        match &mut self.kind {
            Kind::Tcp { filters, .. } => filters.push(filter.into()),
            _ => panic!("`Bootstrap::network_filter` needs `Bootstrap::tcp()`; use `filter` for HTTP filters"),
        }
        self
    }

    /// Adds an HTTP/1.1 `STATIC` cluster `name` with the single endpoint `addr`.
    pub fn cluster(self, name: impl Into<String>, addr: SocketAddr) -> Self {
        self.add_cluster(Cluster::new(name, addr))
    }

    /// Adds a cluster built with [`Cluster`] (e.g. HTTP/2).
    pub fn add_cluster(mut self, cluster: Cluster) -> Self {
        self.clusters.push(cluster);
        self
    }

    /// Adds a cluster given as the JSON of a `Cluster` message, after the others.
    pub fn raw_cluster(mut self, cluster: Value) -> Self {
        self.raw_clusters.push(cluster);
        self
    }

    /// Replaces the default route configuration with the JSON of a `RouteConfiguration`
    /// (`virtual_hosts`, routes with header matching, ...).
    ///
    /// # Panics
    /// On a TCP or raw bootstrap.
    pub fn route_config(mut self, config: Value) -> Self {
        match &mut self.kind {
            Kind::Http { route_config, .. } => *route_config = Some(config),
            _ => panic!("`Bootstrap::route_config` needs `Bootstrap::http()`"),
        }
        self
    }

    /// Turns the stdout access log on (the default) or off.
    ///
    /// # Panics
    /// On a TCP or raw bootstrap.
    pub fn access_log(mut self, on: bool) -> Self {
        match &mut self.kind {
            Kind::Http { access_log, .. } => *access_log = on,
            _ => panic!("`Bootstrap::access_log` needs `Bootstrap::http()`"),
        }
        self
    }

    /// Makes `tcp_proxy` forward to the cluster `name` instead of the first one.
    ///
    /// # Panics
    /// On an HTTP or raw bootstrap.
    pub fn tcp_proxy_cluster(mut self, name: impl Into<String>) -> Self {
        match &mut self.kind {
            Kind::Tcp {
                tcp_proxy_cluster, ..
            } => *tcp_proxy_cluster = Some(name.into()),
            _ => panic!("`Bootstrap::tcp_proxy_cluster` needs `Bootstrap::tcp()`"),
        }
        self
    }

    /// Sets the listener's address, written as given (default `127.0.0.1` port 0). Envoy
    /// refuses to start when it cannot bind it, which is what tests of refusal want.
    pub fn listener_address(mut self, address: impl Into<String>, port: u32) -> Self {
        self.listener_address = address.into();
        self.listener_port = port;
        self
    }

    /// The clusters' names, in order (builder clusters, then raw ones that have a name).
    pub fn cluster_names(&self) -> Vec<String> {
        self.clusters
            .iter()
            .map(|c| c.name.clone())
            .chain(
                self.raw_clusters
                    .iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string)),
            )
            .collect()
    }

    /// The whole bootstrap as JSON.
    pub fn to_json(&self) -> Value {
        let clusters: Vec<Value> = self
            .clusters
            .iter()
            .map(Cluster::to_json)
            .chain(self.raw_clusters.iter().cloned())
            .collect();
        let first_cluster = self.cluster_names().into_iter().next();
        let filters = match &self.kind {
            Kind::Raw(raw) => {
                let mut raw = raw.clone();
                if !clusters.is_empty() {
                    let resources = &mut raw["static_resources"];
                    if !resources["clusters"].is_array() {
                        resources["clusters"] = json!([]);
                    }
                    if let Some(list) = resources["clusters"].as_array_mut() {
                        list.extend(clusters);
                    }
                }
                return raw;
            }
            Kind::Http {
                filters,
                route_config,
                access_log,
            } => {
                let route_config = route_config
                    .clone()
                    .unwrap_or_else(|| default_route_config(first_cluster.as_deref()));
                let mut http_filters: Vec<Value> =
                    filters.iter().map(HttpFilter::to_json).collect();
                http_filters.push(json!({
                    "name": "envoy.filters.http.router",
                    "typed_config": { "@type": ROUTER_TYPE },
                }));
                let mut hcm = json!({
                    "@type": HCM_TYPE,
                    "stat_prefix": "ingress_http",
                    "codec_type": "AUTO",
                    "route_config": route_config,
                    "http_filters": http_filters,
                });
                if *access_log {
                    hcm["access_log"] = json!([{
                        "name": "envoy.access_loggers.stdout",
                        "typed_config": { "@type": STDOUT_ACCESS_LOG_TYPE },
                    }]);
                }
                vec![json!({
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": hcm,
                })]
            }
            Kind::Tcp {
                filters,
                tcp_proxy_cluster,
            } => {
                let cluster = tcp_proxy_cluster
                    .clone()
                    .or(first_cluster)
                    .unwrap_or_else(|| "no_cluster_configured".into());
                let mut list: Vec<Value> = filters.iter().map(NetworkFilter::to_json).collect();
                list.push(json!({
                    "name": "envoy.filters.network.tcp_proxy",
                    "typed_config": {
                        "@type": TCP_PROXY_TYPE,
                        "stat_prefix": "tcp",
                        "cluster": cluster,
                    },
                }));
                list
            }
        };
        json!({
            "admin": { "address": socket_address("127.0.0.1", 0) },
            "static_resources": {
                "listeners": [{
                    "name": LISTENER_NAME,
                    "address": socket_address(&self.listener_address, self.listener_port),
                    "filter_chains": [{ "filters": filters }],
                }],
                "clusters": clusters,
            },
        })
    }

    /// Writes [`to_json`](Bootstrap::to_json), pretty-printed, to `path` (use a `.json`
    /// extension: Envoy picks the parser by extension).
    pub fn write(&self, path: &std::path::Path) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(&self.to_json())
            .map_err(|e| Error::msg(format!("cannot serialize the bootstrap: {e}")))?;
        std::fs::write(path, text)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }
}

fn default_route_config(cluster: Option<&str>) -> Value {
    let route = match cluster {
        Some(cluster) => json!({ "match": { "prefix": "/" }, "route": { "cluster": cluster } }),
        None => json!({
            "match": { "prefix": "/" },
            "direct_response": {
                "status": 404,
                "body": { "inline_string": "no cluster configured in the proxylet harness bootstrap\n" },
            },
        }),
    };
    json!({
        "name": "local_route",
        "virtual_hosts": [{ "name": "all", "domains": ["*"], "routes": [route] }],
    })
}

/// A `core.v3.Address` with a socket address.
pub fn socket_address(address: &str, port: u32) -> Value {
    json!({ "socket_address": { "address": address, "port_value": port } })
}

/// A protobuf `Duration` in its JSON form, e.g. `"1.500s"`.
pub fn duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}.{:09}s", d.as_secs(), d.subsec_nanos())
    }
}

#[cfg(test)]
mod configuration_tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    #[test]
    fn utf8_configs_are_string_values_and_others_bytes_values() {
        assert_eq!(
            configuration("caf\u{e9} \0".as_bytes()),
            json!({ "@type": STRING_VALUE_TYPE, "value": "caf\u{e9} \0" })
        );
        assert_eq!(
            configuration(b"caf\xe9"),
            json!({ "@type": BYTES_VALUE_TYPE, "value": "Y2Fm6Q==" })
        );
    }
}
