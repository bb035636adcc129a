//! The flagship add-header filter written by hand against the raw `proxy-wasm` crate:
//! the baseline proxylet's size and per-request cost are compared with. Same behavior
//! as examples/add-header: typed JSON config (default `hello: melon`), refused when it
//! does not parse.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;
use std::rc::Rc;

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AddHeader {
    name: String,
    value: String,
}

impl Default for AddHeader {
    fn default() -> Self {
        AddHeader {
            name: "hello".into(),
            value: "melon".into(),
        }
    }
}

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(Root { config: Rc::new(AddHeader::default()) }));
}}

struct Root {
    config: Rc<AddHeader>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        match self.get_plugin_configuration() {
            None => true,
            // Same diagnostics as proxylet: the failing field's path, then the error.
            Some(bytes) => {
                let mut json = serde_json::Deserializer::from_slice(&bytes);
                match serde_path_to_error::deserialize::<_, AddHeader>(&mut json) {
                    Ok(config) => {
                        self.config = Rc::new(config);
                        true
                    }
                    Err(error) => {
                        log::error!("add_header: config.{}: {}", error.path(), error.inner());
                        false
                    }
                }
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            config: Rc::clone(&self.config),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    config: Rc<AddHeader>,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.set_http_response_header(&self.config.name, Some(&self.config.value));
        Action::Continue
    }
}
