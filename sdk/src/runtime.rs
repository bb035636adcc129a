//! Glue between [`HttpFilter`] and the proxy-wasm dispatcher: one root context per plugin,
//! bound to a filter by Envoy's root id, one HTTP context per stream.

use std::rc::Rc;
use std::sync::OnceLock;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action as HostAction, ContextType};

use crate::action::{Action, HookOutput, Response};
use crate::filter::{HeadersCx, HttpFilter};
use crate::headers::Headers;
use crate::host::{self, BufferType, LogLevel, MapType};

/// One filter exported by a module. Built by `proxylet::main!` and `#[filter]`.
#[doc(hidden)]
pub struct Registration {
    root_id: &'static str,
    new_root: fn() -> Box<dyn RootContext>,
}

impl Registration {
    /// The registration of an HTTP filter.
    pub const fn http<F: HttpFilter>() -> Self {
        Registration {
            root_id: F::ROOT_ID,
            new_root: new_http_root::<F>,
        }
    }

    /// The root id.
    pub const fn root_id(&self) -> &'static str {
        self.root_id
    }
}

fn new_http_root<F: HttpFilter>() -> Box<dyn RootContext> {
    Box::new(HttpRoot::<F> { config: None })
}

static FILTERS: OnceLock<&'static [Registration]> = OnceLock::new();

/// Entry point of a module: called once from `_initialize`.
#[doc(hidden)]
pub fn start(filters: &'static [Registration]) {
    if FILTERS.set(filters).is_ok() {
        crate::logger::install();
        proxy_wasm::set_root_context(|_| Box::new(Dispatch::Unbound));
    }
}

/// Compile-time check used by `proxylet::main!`: every root id appears once.
#[doc(hidden)]
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

/// Finds the filter Envoy asks for by `plugin_root_id`.
fn bind() -> Result<Box<dyn RootContext>, String> {
    let filters: &[Registration] = FILTERS.get().copied().unwrap_or(&[]);
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

/// The root context proxy-wasm creates for every plugin, before we know which filter it is.
enum Dispatch {
    Unbound,
    Bound(Box<dyn RootContext>),
    Failed,
}

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

impl Context for Dispatch {
    fn on_done(&mut self) -> bool {
        self.bound().is_none_or(|root| root.on_done())
    }
}

impl RootContext for Dispatch {
    fn on_vm_start(&mut self, size: usize) -> bool {
        self.bound().is_some_and(|root| root.on_vm_start(size))
    }

    fn on_configure(&mut self, size: usize) -> bool {
        self.bound().is_some_and(|root| root.on_configure(size))
    }

    fn on_tick(&mut self) {
        if let Some(root) = self.bound() {
            root.on_tick();
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        match self {
            Dispatch::Bound(root) => root.create_http_context(context_id),
            // Envoy does not create streams for a plugin that failed to configure; if a
            // host does, pass the traffic through untouched rather than trapping.
            _ => Some(Box::new(Passthrough)),
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        match self {
            Dispatch::Bound(root) => root.get_type(),
            _ => Some(ContextType::HttpContext),
        }
    }
}

/// A stream of a plugin that has no usable filter.
struct Passthrough;

impl Context for Passthrough {}
impl HttpContext for Passthrough {}

/// The root context of one HTTP filter: holds its parsed configuration.
struct HttpRoot<F: HttpFilter> {
    config: Option<Rc<F::Config>>,
}

impl<F: HttpFilter> Context for HttpRoot<F> {}

impl<F: HttpFilter> RootContext for HttpRoot<F> {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        true
    }

    fn on_configure(&mut self, size: usize) -> bool {
        crate::logger::sync_max_level();
        let raw = match host::get_buffer(BufferType::PluginConfiguration, 0, size) {
            Ok(raw) => raw.unwrap_or_default(),
            Err(error) => {
                crate::logger::emit(
                    LogLevel::Error,
                    &format!("{}: reading the plugin configuration: {error}", F::ROOT_ID),
                );
                return false;
            }
        };
        match F::configure(&raw) {
            Ok(config) => {
                self.config = Some(Rc::new(config));
                true
            }
            Err(error) => {
                crate::logger::emit(LogLevel::Error, &format!("{}: {error}", F::ROOT_ID));
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(match &self.config {
            Some(config) => Box::new(HttpStream::<F> {
                filter: F::new(config),
                config: Rc::clone(config),
            }),
            None => Box::new(Passthrough),
        })
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One HTTP stream of a filter.
struct HttpStream<F: HttpFilter> {
    filter: F,
    config: Rc<F::Config>,
}

impl<F: HttpFilter> Context for HttpStream<F> {}

impl<F: HttpFilter> HttpContext for HttpStream<F> {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> HostAction {
        let mut cx = HeadersCx::new(
            Headers::new(MapType::RequestHeaders),
            &*self.config,
            end_of_stream,
        );
        apply::<F>(self.filter.on_request_headers(&mut cx))
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> HostAction {
        let mut cx = HeadersCx::new(
            Headers::new(MapType::ResponseHeaders),
            &*self.config,
            end_of_stream,
        );
        apply::<F>(self.filter.on_response_headers(&mut cx))
    }
}

/// Turns a hook's return value into an [`Action`]: an `Err` is logged with the filter's
/// root id and answered with [`Response::filter_error`].
#[doc(hidden)]
pub fn finish<F: HttpFilter>(output: impl HookOutput) -> Action {
    match output.into_action() {
        Ok(action) => action,
        Err(error) => {
            crate::logger::emit(LogLevel::Error, &format!("{}: {error}", F::ROOT_ID));
            Action::Reply(Response::filter_error())
        }
    }
}

fn apply<F: HttpFilter>(action: Action) -> HostAction {
    match action {
        Action::Continue => HostAction::Continue,
        Action::Pause => HostAction::Pause,
        Action::Reply(response) => {
            if let Err(error) = host::send_local_response(
                u32::from(response.status),
                &response.details,
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
