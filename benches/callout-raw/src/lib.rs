//! Benchmark pair, raw proxy-wasm side (benches/callout-proxylet is the proxylet side;
//! both must keep doing exactly the same thing): on the request headers, asks an HTTP
//! service (`GET <path>` on cluster `cluster`, forwarding the `header` request header)
//! whether the request may pass; a `200` resumes the request, anything else (another
//! status, a failure, a timeout) answers `403`.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;
use std::rc::Rc;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Check {
    cluster: String,
    path: String,
    header: String,
    timeout_ms: u64,
}

impl Default for Check {
    fn default() -> Self {
        Check {
            cluster: "auth".into(),
            path: "/check".into(),
            header: "authorization".into(),
            timeout_ms: 500,
        }
    }
}

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(Root { config: Rc::new(Check::default()) }));
}}

struct Root {
    config: Rc<Check>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        match self.get_plugin_configuration() {
            None => true,
            Some(bytes) => {
                let mut json = serde_json::Deserializer::from_slice(&bytes);
                match serde_path_to_error::deserialize::<_, Check>(&mut json) {
                    Ok(config) => {
                        self.config = Rc::new(config);
                        true
                    }
                    Err(error) => {
                        log::error!("callout_raw: config.{}: {}", error.path(), error.inner());
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
    config: Rc<Check>,
}

impl Stream {
    fn deny(&self) {
        self.send_http_response(403, vec![("content-type", "text/plain")], Some(b"denied\n"));
    }
}

impl Context for Stream {
    fn on_http_call_response(
        &mut self,
        _token_id: u32,
        num_headers: usize,
        _body_size: usize,
        _num_trailers: usize,
    ) {
        // No headers: the call failed or timed out (reading them could trap).
        let status = (num_headers > 0)
            .then(|| self.get_http_call_response_header_bytes(":status"))
            .flatten();
        if status.as_deref() == Some(b"200") {
            self.resume_http_request();
        } else {
            self.deny();
        }
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let config = &self.config;
        // Bytes, then lossy: the `String` getter traps on a non-UTF-8 value.
        let value = self
            .get_http_request_header_bytes(&config.header)
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let mut headers = vec![
            (":method", "GET"),
            (":path", config.path.as_str()),
            (":authority", config.cluster.as_str()),
        ];
        if let Some(value) = &value {
            headers.push((config.header.as_str(), value.as_str()));
        }
        let timeout = Duration::from_millis(config.timeout_ms);
        match self.dispatch_http_call(&config.cluster, headers, None, vec![], timeout) {
            Ok(_token) => Action::Pause,
            Err(_) => {
                self.deny();
                Action::Pause
            }
        }
    }
}
