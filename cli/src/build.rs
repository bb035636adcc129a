//! `cargo proxylet build`: the filter crate compiled for `wasm32-wasip1` in release mode by
//! the shared build step ([`proxylet_artifact::build::CargoBuild`]), laid out by
//! [`proxylet_artifact::build::finish`] (the `.wasm` plus its `runtime-config.json`, read
//! from the module), optionally shrunk with wasm-opt ([`crate::optimize`]).

use std::path::PathBuf;
use std::time::Instant;

use proxylet_artifact::build::{finish, CargoBuild, WASM_TARGET};
use proxylet_artifact::RuntimeConfig;

use crate::project::{locate, Project};
use crate::shell::{size, status};
use crate::{err, Result};

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The crate's `Cargo.toml` (default: the nearest above the current directory).
    pub manifest_path: Option<PathBuf>,
    /// The package, in a workspace with several filter crates.
    pub package: Option<String>,
    /// The target directory (default: the workspace's).
    pub target_dir: Option<PathBuf>,
    /// Shrink the module with wasm-opt (`-Oz`).
    pub optimize: bool,
}

/// A built module.
#[derive(Debug, Clone)]
pub struct Module {
    /// The package it was built from.
    pub project: Project,
    /// The `.wasm` file (in `<target>/proxylet/<package>/`, next to `runtime-config.json`).
    pub wasm: PathBuf,
    /// The module's bytes.
    pub bytes: Vec<u8>,
    /// Its runtime config.
    pub runtime_config: RuntimeConfig,
    /// Its size before wasm-opt (equal to the size when not optimized).
    pub unoptimized_size: u64,
}

/// Builds the filter crate; progress goes to stderr.
pub fn build(options: &BuildOptions) -> Result<Module> {
    let started = Instant::now();
    let project = locate(options.manifest_path.as_deref(), options.package.as_deref())?;
    let target_dir = options
        .target_dir
        .clone()
        .unwrap_or_else(|| project.target_directory.clone());
    status(
        "Building",
        format!(
            "{} v{} for {WASM_TARGET} (release)",
            project.package, project.version
        ),
    );
    let built = CargoBuild::new(&project.workspace_root, &project.package, &target_dir)
        .manifest_path(&project.manifest_path)
        .progress(true)
        .run()?;
    let out_dir = target_dir.join("proxylet").join(&project.package);
    let finished = finish(&built, &out_dir)?;
    let unoptimized_size = finished.size;
    if options.optimize {
        let before = Instant::now();
        let used = crate::optimize::optimize(&finished.wasm, &target_dir.join("tools"))?;
        let bytes = crate::error::read(&finished.wasm)?;
        let still = proxylet_artifact::runtime_config(&bytes).map_err(|e| {
            err!("wasm-opt lost the module's runtime config ({e}); build without --optimize")
        })?;
        if still != finished.runtime_config {
            return Err(err!(
                "wasm-opt changed the module's runtime config; build without --optimize"
            ));
        }
        status(
            "Optimized",
            format!(
                "{} -> {} with wasm-opt -Oz in {:.1} s ({used})",
                size(unoptimized_size),
                size(bytes.len() as u64),
                before.elapsed().as_secs_f64()
            ),
        );
    }
    let bytes = crate::error::read(&finished.wasm)?;
    status(
        "Finished",
        format!(
            "{} ({}) in {:.1} s",
            finished.wasm.display(),
            size(bytes.len() as u64),
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(Module {
        project,
        wasm: finished.wasm,
        bytes,
        runtime_config: finished.runtime_config,
        unoptimized_size,
    })
}
