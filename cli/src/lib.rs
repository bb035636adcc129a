//! `cargo proxylet`: the wasme workflow for proxylet filters, Rust-native and without
//! Docker.
//!
//! | verb | what |
//! |---|---|
//! | `new NAME` | a filter crate from one of the templates, made from the repository's tested examples; it depends on the crates.io releases ([`new`]) |
//! | `build` | the `cdylib` built for `wasm32-wasip1` in release mode, `runtime-config.json`, optional wasm-opt ([`optimize`]), an OCI image in the local [`store`] ([`build`]); with `--native` an Envoy dynamic module `lib<crate>.so` for this machine ([`native`]) |
//! | `list` | the local store (`NAME TAG SIZE SHA UPDATED`), or a repository's tags |
//! | `push` / `pull REF` | to and from an OCI registry ([`registry`]), both wasm image variants and native module images ([`image`]) |
//! | `run` | the filter in a real Envoy in front of an upstream (`--native`: as a dynamic module); `--validate` sends one request ([`run`]) |
//! | `deploy istio\|gateway\|envoy` | an Istio `WasmPlugin`, an Envoy Gateway `EnvoyExtensionPolicy` or an Envoy bootstrap, the plugin config checked against the module's [`schema`] ([`deploy`]) |
//! | `check FILE` | the module's ABI report ([`check`]): a `.wasm`, or a native `.so` ([`native`]) |
//!
//! Each verb is a module of [`commands`], as in cargo: its clap arguments and its `exec`,
//! which calls the modules above; [`cli`] parses the command line and dispatches.
//!
//! The binary is `cargo-proxylet`; cargo runs it for `cargo proxylet …`. The library is
//! what the binary is made of, public so the end-to-end tests and other tools can use
//! the pieces (the registry client, the image formats, the schema validator).
#![warn(missing_docs)]

pub mod build;
pub mod check;
pub mod cli;
pub mod commands;
pub mod deploy;
mod error;
pub mod image;
pub mod module;
pub mod native;
pub mod new;
pub mod optimize;
pub mod paths;
pub mod plugin_config;
pub mod project;
pub mod reference;
pub mod registry;
pub mod run;
pub mod schema;
pub mod shell;
pub mod store;
pub mod wasm;

pub use error::{Error, Result};
