//! What a module exports: its filters (`Registration`, from `proxylet::main!` and
//! `#[filter]`), how a plugin is bound to one of them by root id, and the module's entry
//! points (`__export_filters!`, `__export_hooks!`, `__export_native!`).

use std::cell::Cell;
#[cfg(any(target_family = "wasm", feature = "testing"))]
use std::{cell::RefCell, rc::Rc};

use crate::config::ConfigFormat;
#[cfg(any(target_family = "wasm", feature = "testing"))]
use crate::context::{Child, Context};
use crate::context::{NewRoot, RootContext};
use crate::host;
#[cfg(any(target_family = "wasm", feature = "testing"))]
use crate::host::LogLevel;
#[cfg(any(target_family = "wasm", feature = "testing"))]
use crate::http::NoFilter;
use crate::http::{Http, HttpFilter};
use crate::plugin::PluginRoot;
use crate::schema::Schema;
use crate::tcp::{Tcp, TcpFilter};

/// One filter exported by a module. Built by `proxylet::main!` and `#[filter]`.
#[doc(hidden)]
pub struct Registration {
    root_id: &'static str,
    new_root: NewRoot,
    /// Read by the native target (which Envoy filter it goes in).
    #[cfg_attr(any(target_family = "wasm", feature = "testing"), allow(dead_code))]
    tcp: bool,
}

impl Registration {
    /// The registration of an HTTP filter.
    pub const fn http<F: HttpFilter>() -> Self {
        Registration {
            root_id: F::ROOT_ID,
            new_root: PluginRoot::<F, Http>::boxed,
            tcp: false,
        }
    }

    /// The registration of a TCP filter.
    pub const fn tcp<F: TcpFilter>() -> Self {
        Registration {
            root_id: F::ROOT_ID,
            new_root: PluginRoot::<F, Tcp>::boxed,
            tcp: true,
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

    /// Whether this is a TCP filter.
    #[cfg(not(any(target_family = "wasm", feature = "testing")))]
    pub(crate) fn is_tcp(&self) -> bool {
        self.tcp
    }
}

/// Filters a module can export: [`HttpFilter`]s and [`TcpFilter`]s.
/// `M` tells the two blanket impls apart. Not public API.
#[doc(hidden)]
pub trait Export<M> {
    /// How the module finds the filter.
    const REGISTRATION: Registration;
    /// The filter's config schema (compile time only: kept out of [`Registration`], so
    /// the schema trees never reach the module's data).
    const CONFIG_SCHEMA: Option<&'static Schema>;
    /// How the filter reads its configuration (for the runtime config and the section).
    const CONFIG_FORMAT: ConfigFormat;
}

#[doc(hidden)]
pub struct HttpMarker;
#[doc(hidden)]
pub struct TcpMarker;

impl<F: HttpFilter> Export<HttpMarker> for F {
    const REGISTRATION: Registration = Registration::http::<F>();
    const CONFIG_SCHEMA: Option<&'static Schema> = F::CONFIG_SCHEMA;
    const CONFIG_FORMAT: ConfigFormat = F::CONFIG_FORMAT;
}

impl<F: TcpFilter> Export<TcpMarker> for F {
    const REGISTRATION: Registration = Registration::tcp::<F>();
    const CONFIG_SCHEMA: Option<&'static Schema> = F::CONFIG_SCHEMA;
    const CONFIG_FORMAT: ConfigFormat = F::CONFIG_FORMAT;
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
    (
        F::REGISTRATION.root_id(),
        F::CONFIG_SCHEMA,
        F::CONFIG_FORMAT,
    )
}

/// How filter `F` reads its configuration, whichever kind it is (for the module's
/// `runtime-config.json`).
#[doc(hidden)]
pub const fn config_format<F: Export<M>, M>() -> ConfigFormat {
    F::CONFIG_FORMAT
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
/// configuration, which filters' `on_vm_start` ran, and the log level. A wasm VM has
/// them to itself; natively, the module is the test binary and one thread may run
/// several test hosts, so the native backend keeps one `VmLocals` per host and swaps it
/// in around each call into the module.
#[cfg(all(feature = "testing", not(target_family = "wasm")))]
pub(crate) struct VmLocals {
    filters: &'static [Registration],
    vm_configuration: Vec<u8>,
    vm_started: Vec<std::any::TypeId>,
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
            vm_started: Vec::new(),
            log_level: log::LevelFilter::Trace,
            dispatcher: crate::dispatch::Dispatcher::new(root_factory(filters)),
        }
    }

    /// Exchanges this VM's state with the thread's: call it once before a call into the
    /// module and once after.
    pub(crate) fn swap(&mut self) {
        self.filters = FILTERS.with(|f| f.replace(self.filters));
        crate::plugin::VM_CONFIGURATION
            .with(|c| std::mem::swap(&mut *c.borrow_mut(), &mut self.vm_configuration));
        crate::plugin::VM_STARTED
            .with(|s| std::mem::swap(&mut *s.borrow_mut(), &mut self.vm_started));
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
            if crate::schema::str_eq(ids[i], ids[j]) {
                panic!("two filters of this module have the same root id; give each `#[filter(root_id = \"…\")]` its own");
            }
            j += 1;
        }
        i += 1;
    }
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
    fn on_http_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        num_trailers: usize,
    ) {
        if let Some(root) = self.bound() {
            root.on_http_call_response(token, num_headers, body_size, num_trailers);
        }
    }

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

    fn streams_wait(&self) -> bool {
        matches!(self, Dispatch::Bound(root) if root.streams_wait())
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

#[doc(hidden)]
#[macro_export]
macro_rules! __export_filters {
    (@export $start:ident($arg:expr); [$($hook:ident)*]; $($filter:ty),+) => {
        const _: () = {
            const ROOT_IDS: &[&str] = &[$($crate::__private::registration::<$filter, _>().root_id()),+];
            $crate::__private::assert_unique_root_ids(ROOT_IDS);
            const FORMATS: &[$crate::__private::ConfigFormat] =
                &[$($crate::__private::config_format::<$filter, _>()),+];

            // runtime-config.json, carried by the module itself (read it with
            // `proxylet-artifact` or any wasm tool that lists custom sections). No
            // `#[used]`: on wasm, rustc turns every `#[link_section]` static into a custom
            // section, used or not (`wasm.custom_sections` metadata, rustc_codegen_llvm
            // consts.rs); `#[used]` would keep a second copy in the data section. Natively
            // (an ELF `lib<crate>.so`) it is a section of that name, which only `#[used]`
            // keeps (through `--gc-sections` too): `cargo proxylet` reads root ids there.
            #[cfg(any(target_family = "wasm", target_os = "linux"))]
            #[cfg_attr(not(target_family = "wasm"), used)]
            #[link_section = "proxylet.runtime_config"]
            static RUNTIME_CONFIG: [u8; $crate::__private::runtime_config_len(ROOT_IDS, FORMATS)] =
                $crate::__private::runtime_config(ROOT_IDS, FORMATS);

            // The filters' config schemas (`proxylet::schema`), one JSON line per filter
            // that has one; none at all: no section (an empty static makes none).
            #[allow(dead_code)]
            const CONFIG_SCHEMAS: &[(&str, $crate::__private::Option<&$crate::__private::Schema>, $crate::__private::ConfigFormat)] =
                &[$($crate::__private::schema_entry::<$filter, _>()),+];
            #[cfg(any(target_family = "wasm", target_os = "linux"))]
            #[cfg_attr(not(target_family = "wasm"), used)]
            #[link_section = "proxylet.config_schema"]
            static CONFIG_SCHEMA: [u8; $crate::__private::schema_section_len(CONFIG_SCHEMAS)] =
                $crate::__private::schema_section(CONFIG_SCHEMAS);
        };

        /// The filters this module exports (generated by proxylet).
        #[doc(hidden)]
        pub static __PROXYLET_FILTERS: &[$crate::__private::Registration] = &[
            $($crate::__private::registration::<$filter, _>()),+
        ];

        #[cfg(target_family = "wasm")]
        const _: () = {
            #[cfg(target_os = "wasi")]
            extern "C" {
                fn __wasm_call_ctors();
            }

            #[no_mangle]
            pub extern "C" fn _initialize() {
                #[cfg(target_os = "wasi")]
                // SAFETY: runs the module's static constructors once, before any other
                // export, as the reactor ABI requires.
                unsafe {
                    __wasm_call_ctors();
                }
                $crate::__private::$start($arg);
            }

            $crate::__private::__hook_set!($crate; base $($hook)*);
        };

        $crate::__private::__export_native!($($filter),+);
    };
    // From `#[filter]`: the entry points its hooks need, and no others (Envoy calls only
    // what a module exports).
    (@hooks [$($hook:ident)*] $filter:ty) => {
        $crate::__private::__export_filters!(@export start_one(&__PROXYLET_FILTERS[0]); [$($hook)*]; $filter);
    };
    // From `main!`: each listed filter adds its groups. A `#[filter]` item has a macro of
    // its name (its hooks, generated next to it) that adds them and calls back here; a
    // hand-written filter, listed as `Type: HttpFilter` (or `TcpFilter`), adds every
    // group of its kind. Then the filters are exported with the groups, each once.
    (@main [$($hook:ident)*] [$filter:path] ;) => {
        $crate::__private::__export_filters!(@export start_one(&__PROXYLET_FILTERS[0]); [$($hook)*]; $filter);
    };
    (@main [$($hook:ident)*] [$($filter:path),+] ;) => {
        $crate::__private::__export_filters!(@export start(__PROXYLET_FILTERS); [$($hook)*]; $($filter),+);
    };
    (@main [$($hook:ident)*] [$($filter:path),*] ; $next:path : $kind:ident $(, $($rest:tt)*)?) => {
        $crate::__private::__export_filters!(@main [$($hook)* $kind] [$($filter,)* $next] ; $($($rest)*)?);
    };
    (@main $hooks:tt [$($filter:path),*] ; $next:path $(, $($rest:tt)*)?) => {
        $next!(@collect $hooks [$($filter,)* $next] ; $($($rest)*)?);
    };
}

/// The native target's entry point that knows the module's filters (the other hooks are
/// the SDK's own): Envoy calls it once when it loads the module.
#[cfg(not(any(target_family = "wasm", feature = "testing")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __export_native {
    ($($filter:ty),+) => {
        #[no_mangle]
        pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const ::core::ffi::c_char {
            $crate::__private::program_init(__PROXYLET_FILTERS)
        }
    };
}

/// Nothing to export natively outside the native target (wasm, or the test host).
#[cfg(any(target_family = "wasm", feature = "testing"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __export_native {
    ($($filter:ty),+) => {};
}

/// The module's `proxy_on_*` entry points, by group: `base` (every module's), one per
/// stream hook, `callouts` (HTTP and gRPC answers) and `plugin` (tick, queue). Each group
/// once: `__hook_set!` drops repeats.
/// Each forwards to the dispatcher. A `bool` from the host arrives as a `u32` (any value
/// but 0 is true): a `bool` parameter holding another value would be undefined behavior.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_hooks {
    ($($group:ident)*) => {
        $($crate::__private::__export_hooks!(@ $group);)*
    };
    (@base) => {
        #[no_mangle]
        pub extern "C" fn proxy_abi_version_0_2_1() {}
        #[no_mangle]
        pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
            $crate::__private::memory_allocate(size)
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_context_create(id: u32, parent: u32) {
            $crate::__private::on_context_create(id, parent)
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_vm_start(id: u32, size: usize) -> u32 {
            u32::from($crate::__private::on_vm_start(id, size))
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_configure(id: u32, size: usize) -> u32 {
            u32::from($crate::__private::on_configure(id, size))
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_delete(id: u32) {
            $crate::__private::on_delete(id)
        }
    };
    (@done) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_done(id: u32) -> u32 {
            u32::from($crate::__private::on_done(id))
        }
    };
    (@log) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_log(id: u32) {
            $crate::__private::on_log(id)
        }
    };
    (@plugin) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_tick(id: u32) {
            $crate::__private::on_tick(id)
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_queue_ready(id: u32, queue: u32) {
            $crate::__private::on_queue_ready(id, queue)
        }
    };
    (@request_headers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_request_headers(id: u32, headers: usize, end: u32) -> u32 {
            $crate::__private::on_request_headers(id, headers, end != 0)
        }
    };
    (@request_body) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_request_body(id: u32, size: usize, end: u32) -> u32 {
            $crate::__private::on_request_body(id, size, end != 0)
        }
    };
    (@request_trailers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_request_trailers(id: u32, trailers: usize) -> u32 {
            $crate::__private::on_request_trailers(id, trailers)
        }
    };
    (@response_headers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_response_headers(id: u32, headers: usize, end: u32) -> u32 {
            $crate::__private::on_response_headers(id, headers, end != 0)
        }
    };
    (@response_body) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_response_body(id: u32, size: usize, end: u32) -> u32 {
            $crate::__private::on_response_body(id, size, end != 0)
        }
    };
    (@response_trailers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_response_trailers(id: u32, trailers: usize) -> u32 {
            $crate::__private::on_response_trailers(id, trailers)
        }
    };
    (@callouts) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_http_call_response(
            id: u32,
            token: u32,
            headers: usize,
            body: usize,
            trailers: usize,
        ) {
            $crate::__private::on_http_call_response(id, token, headers, body, trailers)
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_grpc_receive_initial_metadata(id: u32, token: u32, n: u32) {
            $crate::__private::on_grpc_receive_initial_metadata(id, token, n)
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_grpc_receive(id: u32, token: u32, size: usize) {
            $crate::__private::on_grpc_receive(id, token, size)
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_grpc_receive_trailing_metadata(id: u32, token: u32, n: u32) {
            $crate::__private::on_grpc_receive_trailing_metadata(id, token, n)
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_grpc_close(id: u32, token: u32, status: u32) {
            $crate::__private::on_grpc_close(id, token, status)
        }
    };
    (@new_connection) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_new_connection(id: u32) -> u32 {
            $crate::__private::on_new_connection(id)
        }
    };
    (@downstream_data) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_downstream_data(id: u32, size: usize, end: u32) -> u32 {
            $crate::__private::on_downstream_data(id, size, end != 0)
        }
    };
    (@upstream_data) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_upstream_data(id: u32, size: usize, end: u32) -> u32 {
            $crate::__private::on_upstream_data(id, size, end != 0)
        }
    };
    (@downstream_close) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_downstream_connection_close(id: u32, peer: u32) {
            $crate::__private::on_downstream_connection_close(id, peer)
        }
    };
    (@upstream_close) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_upstream_connection_close(id: u32, peer: u32) {
            $crate::__private::on_upstream_connection_close(id, peer)
        }
    };
}
