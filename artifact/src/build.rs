//! Building filter crates into `.wasm` artifacts: the wasm target is added when missing,
//! the module is built with cargo, and its `runtime-config.json` (read back from the
//! module's custom section) is written beside it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{runtime_config, RuntimeConfig};

/// The target proxylet filters are built for.
pub const WASM_TARGET: &str = "wasm32-wasip1";

/// A built module.
#[derive(Debug, Clone)]
pub struct Built {
    /// The `.wasm` file.
    pub wasm: PathBuf,
    /// `runtime-config.json`, written beside the module.
    pub runtime_config_path: PathBuf,
    /// What the module declares.
    pub runtime_config: RuntimeConfig,
    /// Size of the module in bytes.
    pub size: u64,
}

/// Why a build failed; the message says what to do.
#[derive(Debug)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// Adds the `wasm32-wasip1` target with rustup when it is not installed.
pub fn ensure_wasm_target() -> Result<(), BuildError> {
    let sysroot = Command::new(rustc())
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| {
            BuildError(format!(
                "cannot run rustc ({e}); is a Rust toolchain installed?"
            ))
        })?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    let installed = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .join("lib")
        .is_dir();
    if installed {
        return Ok(());
    }
    eprintln!("adding the Rust target {WASM_TARGET} (rustup target add {WASM_TARGET})");
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .status()
        .map_err(|e| {
            BuildError(format!(
                "the Rust target {WASM_TARGET} is missing and rustup could not be run ({e}); \
                 install it with your toolchain manager"
            ))
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError(format!(
            "`rustup target add {WASM_TARGET}` failed ({status}); run it by hand to see why"
        )))
    }
}

fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace (or package) root above `start`: the nearest directory with a `Cargo.lock`.
pub fn workspace_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
}

/// Builds package `package` of the workspace at `root` for wasm in release mode, into
/// `target_dir`, then lays out its artifact directory
/// `target_dir/proxylet/<package>/` holding the `.wasm` and its `runtime-config.json`
/// (one directory per module, so modules built side by side never share a config file).
pub fn build_package(root: &Path, package: &str, target_dir: &Path) -> Result<Built, BuildError> {
    ensure_wasm_target()?;
    let output = Command::new(cargo())
        .current_dir(root)
        // `cargo rustc --crate-type cdylib` builds the module alone: a filter crate is
        // usually also an `rlib` (for native tests), and with both crate types rustc's
        // LTO leaves ~40% more code in the `.wasm`.
        .args([
            "rustc",
            "--release",
            "--target",
            WASM_TARGET,
            "--package",
            package,
            "--lib",
            "--crate-type",
            "cdylib",
        ])
        .env("CARGO_TARGET_DIR", target_dir)
        // Flags of an outer cargo (e.g. coverage) are for the host, not for wasm.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .map_err(|e| BuildError(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        return Err(BuildError(format!(
            "building `{package}` for {WASM_TARGET} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let wasm = target_dir
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    finish(&wasm, &target_dir.join("proxylet").join(package))
}

/// Copies a built module into `out_dir` and writes its `runtime-config.json` beside it,
/// read from the module's custom section.
pub fn finish(built: &Path, out_dir: &Path) -> Result<Built, BuildError> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| BuildError(format!("cannot create {}: {e}", out_dir.display())))?;
    let file_name = built.file_name().unwrap_or_default();
    let wasm = out_dir.join(file_name);
    std::fs::copy(built, &wasm).map_err(|e| {
        BuildError(format!(
            "cannot copy {} to {} ({e}); is the crate a `cdylib`?",
            built.display(),
            wasm.display()
        ))
    })?;
    let bytes = std::fs::read(&wasm)
        .map_err(|e| BuildError(format!("cannot read {}: {e}", wasm.display())))?;
    let config =
        runtime_config(&bytes).map_err(|e| BuildError(format!("{}: {e}", wasm.display())))?;
    let runtime_config_path = wasm.with_file_name("runtime-config.json");
    std::fs::write(&runtime_config_path, config.to_json()).map_err(|e| {
        BuildError(format!(
            "cannot write {}: {e}",
            runtime_config_path.display()
        ))
    })?;
    Ok(Built {
        wasm,
        runtime_config_path,
        runtime_config: config,
        size: bytes.len() as u64,
    })
}
