//! Argument groups that more than one verb flattens into its own arguments.

use std::path::PathBuf;

use clap::Args;

use crate::build::BuildOptions;
use crate::plugin_config::GivenConfig;
use crate::Result;

/// Where to find the filter crate (`build`, `run`).
#[derive(Debug, Args, Clone, Default)]
pub struct ProjectArgs {
    /// The filter crate's Cargo.toml (default: the nearest above the current directory).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// The package to build, in a workspace with several filter crates.
    #[arg(long, short, value_name = "NAME")]
    pub package: Option<String>,
    /// Cargo's target directory (default: the workspace's).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Shrink the module with Binaryen's wasm-opt -Oz: $PROXYLET_WASM_OPT, wasm-opt on PATH,
    /// or Binaryen installed from npm into the target directory's tools/ (custom sections
    /// are kept).
    #[arg(long)]
    pub optimize: bool,
}

impl ProjectArgs {
    /// What to build.
    pub fn options(&self) -> BuildOptions {
        BuildOptions {
            manifest_path: self.manifest_path.clone(),
            package: self.package.clone(),
            target_dir: self.target_dir.clone(),
            optimize: self.optimize,
        }
    }
}

/// The plugin configuration, inline or from a file (`run`, `deploy`).
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// The plugin configuration: JSON (e.g. '{"name":"x-fruit","value":"kiwi"}'), or the
    /// text as is for a filter whose config type is `String` or `Vec<u8>`.
    #[arg(long, value_name = "CONFIG", conflicts_with = "config_file")]
    pub config: Option<String>,
    /// Read the plugin configuration from this file: JSON, or taken as it is (any bytes)
    /// for a filter whose config type is `String` (UTF-8 text) or `Vec<u8>`.
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
}

impl ConfigArgs {
    /// The configuration as given, if one was; it is read once the module says how its
    /// filter reads it ([`GivenConfig::read_for`]).
    pub fn load(&self) -> Result<Option<GivenConfig>> {
        Ok(match (&self.config, &self.config_file) {
            (Some(text), _) => Some(GivenConfig::new(text.clone().into_bytes(), "--config")),
            (None, Some(path)) => Some(GivenConfig::new(
                crate::error::read(path)?,
                path.display().to_string(),
            )),
            (None, None) => None,
        })
    }
}

/// How to reach a registry (`list --remote`, `push`, `pull`).
#[derive(Debug, Args, Clone, Default)]
pub struct RegistryArgs {
    /// Speak plain HTTP to the registry (one without TLS). Registries on the loopback
    /// interface (localhost, 127.0.0.0/8, ::1) always get plain HTTP.
    #[arg(long)]
    pub plain_http: bool,
}
