//! Benchmark pair, raw proxy-wasm side (benches/body-proxylet is the proxylet side; both
//! must keep doing exactly the same thing): rewrites JSON request bodies, removing the
//! fields listed in `remove` and setting those in `set`. The body is buffered whole, up to
//! 64 KiB: a larger one is answered `413`, one that is not a JSON object `400`. Like
//! proxylet's buffered mode, the request headers go on first without `content-length` (the
//! rewritten body has another length).

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::rc::Rc;

const MAX_BODY: usize = 65536;

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Rewrite {
    remove: Vec<String>,
    set: Map<String, Value>,
}

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(Root { config: Rc::new(Rewrite::default()) }));
}}

struct Root {
    config: Rc<Rewrite>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        match self.get_plugin_configuration() {
            None => true,
            Some(bytes) => {
                let mut json = serde_json::Deserializer::from_slice(&bytes);
                match serde_path_to_error::deserialize::<_, Rewrite>(&mut json) {
                    Ok(config) => {
                        self.config = Rc::new(config);
                        true
                    }
                    Err(error) => {
                        log::error!("body_raw: config.{}: {}", error.path(), error.inner());
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
    config: Rc<Rewrite>,
}

impl Stream {
    fn reply(&self, status: u32, body: &[u8]) -> Action {
        self.send_http_response(status, vec![("content-type", "text/plain")], Some(body));
        Action::Pause
    }
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            self.set_http_request_header("content-length", None);
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if body_size > MAX_BODY {
            return self.reply(413, b"request body larger than 65536 bytes\n");
        }
        if !end_of_stream {
            // The host buffers and calls again with everything so far.
            return Action::Pause;
        }
        if body_size == 0 {
            return Action::Continue;
        }
        let bytes = self.get_http_request_body(0, body_size).unwrap_or_default();
        let mut fields = match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(fields)) => fields,
            _ => return self.reply(400, b"request body must be a JSON object\n"),
        };
        for name in &self.config.remove {
            fields.remove(name);
        }
        for (name, value) in &self.config.set {
            fields.insert(name.clone(), value.clone());
        }
        match serde_json::to_vec(&fields) {
            Ok(rewritten) => {
                self.set_http_request_body(0, body_size, &rewritten);
                Action::Continue
            }
            Err(_) => self.reply(500, b"filter error\n"),
        }
    }
}
