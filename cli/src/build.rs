//! `cargo proxylet build`: the filter crate compiled for `wasm32-wasip1` in release mode,
//! laid out by [`proxylet_artifact::build::finish`] (the `.wasm` plus its
//! `runtime-config.json`, read from the module), optionally shrunk with wasm-opt.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use proxylet_artifact::build::{ensure_wasm_target, finish, WASM_TARGET};
use proxylet_artifact::RuntimeConfig;

use crate::project::{locate, Project};
use crate::registry::size;
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

/// Prints a cargo-style status line to stderr: `   Compiling something`.
pub fn status(verb: &str, message: impl std::fmt::Display) {
    eprintln!("{verb:>12} {message}");
}

/// Builds the filter crate; progress goes to stderr.
pub fn build(options: &BuildOptions) -> Result<Module> {
    let started = Instant::now();
    let project = locate(options.manifest_path.as_deref(), options.package.as_deref())?;
    let target_dir = options
        .target_dir
        .clone()
        .unwrap_or_else(|| project.target_directory.clone());
    ensure_wasm_target()?;
    status(
        "Building",
        format!(
            "{} v{} for {WASM_TARGET} (release)",
            project.package, project.version
        ),
    );
    let built = cargo_build(&project, &target_dir)?;
    let out_dir = target_dir.join("proxylet").join(&project.package);
    let finished = finish(&built, &out_dir)?;
    let unoptimized_size = finished.size;
    if options.optimize {
        let before = Instant::now();
        crate::optimize::optimize(&finished.wasm)?;
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
                "with wasm-opt -Oz: {} -> {} in {:.1} s",
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

/// Runs `cargo rustc` (the cdylib alone) with cargo's progress on stderr; returns the
/// `.wasm` cargo reports.
fn cargo_build(project: &Project, target_dir: &Path) -> Result<PathBuf> {
    let cargo = crate::project::cargo();
    let mut child = Command::new(&cargo)
        .current_dir(&project.workspace_root)
        // `cargo rustc --crate-type cdylib` builds the module alone: a filter crate is
        // usually an `rlib` too (for native tests), and with both crate types rustc's LTO
        // leaves ~40% more code in the `.wasm` (188 KB instead of 134 KB for the flagship).
        .args([
            "rustc",
            "--release",
            "--target",
            WASM_TARGET,
            "--package",
            &project.package,
            "--lib",
            "--crate-type",
            "cdylib",
        ])
        .arg("--manifest-path")
        .arg(&project.manifest_path)
        .args(["--message-format", "json-render-diagnostics"])
        .env("CARGO_TARGET_DIR", target_dir)
        // Flags meant for the host (e.g. coverage instrumentation) would break wasm.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| err!("cannot run {cargo} ({e}); is cargo installed and on PATH?"))?;
    let mut wasm = None;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(std::io::Result::ok)
        {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let is_filter = message["reason"] == "compiler-artifact"
                && message["target"]["crate_types"]
                    .as_array()
                    .is_some_and(|types| types.iter().any(|t| t == "cdylib"))
                && message["package_id"]
                    .as_str()
                    .is_some_and(|id| package_id_names(id, &project.package));
            if is_filter {
                wasm = message["filenames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str())
                    .find(|f| f.ends_with(".wasm"))
                    .map(PathBuf::from);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| err!("cannot wait for cargo: {e}"))?;
    if !status.success() {
        return Err(err!(
            "`cargo rustc --release --target {WASM_TARGET} -p {} --lib --crate-type cdylib` failed \
             ({status}); the compiler's messages are above",
            project.package
        ));
    }
    wasm.ok_or_else(|| {
        err!(
            "cargo built `{}` but reported no .wasm file; is its [lib] `crate-type = [\"cdylib\"]`?",
            project.package
        )
    })
}

/// Whether a cargo package id (`path+file:///…/name#0.1.0`, `name 0.1.0 (…)`, or
/// `…#name@0.1.0`) is the package `name`.
fn package_id_names(id: &str, name: &str) -> bool {
    if let Some((first, _)) = id.split_once(' ') {
        return first == name;
    }
    let fragment = id.rsplit_once('#').map(|(_, f)| f).unwrap_or(id);
    match fragment.split_once('@') {
        Some((package, _)) => package == name,
        // `…/add-header#0.1.0`: the name is the last path segment.
        None => id
            .rsplit_once('#')
            .map(|(path, _)| path.rsplit('/').next() == Some(name))
            .unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::package_id_names;

    #[test]
    fn package_ids_in_every_cargo_format() {
        assert!(package_id_names(
            "path+file:///w/examples/add-header#0.1.0",
            "add-header"
        ));
        assert!(package_id_names(
            "path+file:///w/x#add-header@0.1.0",
            "add-header"
        ));
        assert!(package_id_names(
            "add-header 0.1.0 (path+file:///w/x)",
            "add-header"
        ));
        assert!(!package_id_names(
            "path+file:///w/examples/add-header#0.1.0",
            "header"
        ));
    }
}
