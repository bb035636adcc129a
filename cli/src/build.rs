//! `cargo proxylet build`: the filter crate compiled for `wasm32-wasip1` in release mode by
//! the shared build step ([`proxylet_artifact::build::CargoBuild`]), laid out by
//! [`proxylet_artifact::build::finish`] (the `.wasm` plus its `runtime-config.json`, read
//! from the module), optionally shrunk with wasm-opt ([`crate::optimize`]). With `--native`
//! it is built for this machine instead, as an Envoy dynamic module `lib<crate>.so`
//! ([`build_native`]).

use std::path::PathBuf;
use std::time::Instant;

use proxylet_artifact::build::{build_native_package, finish, CargoBuild, WASM_TARGET};
use proxylet_artifact::RuntimeConfig;

use crate::native::{NativeModule, Platform};

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

/// A built native module.
#[derive(Debug, Clone)]
pub struct NativeBuild {
    /// The package it was built from.
    pub project: Project,
    /// The shared library (`<target>/proxylet/<package>/lib<crate>.so`).
    pub library: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// What it holds (hooks, ABI version, root ids, config schemas).
    pub module: NativeModule,
}

impl NativeBuild {
    /// The library's file name, `lib<crate>.so`.
    pub fn file_name(&self) -> String {
        self.library
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Builds the filter crate for this machine as an Envoy dynamic module (release,
/// `panic = "unwind"`: [`CargoBuild::native`]); progress goes to stderr.
pub fn build_native(options: &BuildOptions) -> Result<NativeBuild> {
    if options.optimize {
        return Err(err!(
            "--optimize runs wasm-opt, which shrinks wasm modules only; drop it with --native"
        ));
    }
    let started = Instant::now();
    let project = locate(options.manifest_path.as_deref(), options.package.as_deref())?;
    let target_dir = options
        .target_dir
        .clone()
        .unwrap_or_else(|| project.target_directory.clone());
    status(
        "Building",
        format!(
            "{} v{} as an Envoy dynamic module for {} (release, panic = \"unwind\")",
            project.package,
            project.version,
            Platform::host()
        ),
    );
    // Compiled here with cargo's progress on the terminal; `build_native_package` then
    // runs cargo again (nothing left to compile) and lays the library out as every
    // proxylet tool does, copied beside and renamed over the previous one, so that an
    // Envoy running the old build keeps its mapping.
    CargoBuild::new(&project.workspace_root, &project.package, &target_dir)
        .manifest_path(&project.manifest_path)
        .native()
        .progress(true)
        .run()?;
    let library = build_native_package(&project.workspace_root, &project.package, &target_dir)?;
    // Absolute: the path goes into Envoy configurations as is.
    let library = std::fs::canonicalize(&library).unwrap_or(library);
    let bytes = crate::error::read(&library)?;
    let module = NativeModule::read(&bytes).map_err(|e| e.context(library.display()))?;
    status(
        "Finished",
        format!(
            "{} ({}) in {:.1} s",
            library.display(),
            size(bytes.len() as u64),
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(NativeBuild {
        project,
        library,
        bytes,
        module,
    })
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
