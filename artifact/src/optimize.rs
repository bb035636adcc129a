//! Size optimization with Binaryen's `wasm-opt -Oz`, run as a program: the one in
//! `$PROXYLET_WASM_OPT`, else `wasm-opt` on `PATH`, else Binaryen [`BINARYEN_VERSION`]
//! from the npm registry (JavaScript and wasm, no C++ compiler), installed once into a tool
//! cache directory. Custom sections (the runtime config, the config schemas) are kept:
//! wasm-opt keeps sections it does not know, and [`WasmOpt::optimize`] checks that they
//! are still there, byte for byte.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::build::BuildError;

/// The Binaryen release installed from npm when no `wasm-opt` is at hand.
pub const BINARYEN_VERSION: &str = "132.0.0";

/// The environment variable naming a `wasm-opt` executable to use.
pub const WASM_OPT_ENV: &str = "PROXYLET_WASM_OPT";

/// The WebAssembly features rustc enables for `wasm32-wasip1` by default: Binaryen must
/// accept them in the input and may use them in the output (Envoy's V8 supports them all).
pub const FEATURE_FLAGS: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-multivalue",
    "--enable-reference-types",
];

/// How long one `wasm-opt` run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// How long the npm install may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// Where a [`WasmOpt`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `$PROXYLET_WASM_OPT`.
    Env,
    /// `wasm-opt` on `PATH`.
    Path,
    /// The tool cache, installed from npm earlier.
    Cache,
    /// The tool cache, installed from npm just now.
    Installed,
}

/// A `wasm-opt` program.
#[derive(Debug, Clone)]
pub struct WasmOpt {
    /// The executable.
    pub path: PathBuf,
    /// Where it came from.
    pub origin: Origin,
    /// What `wasm-opt --version` printed, e.g. `wasm-opt version 132 (version_132)`.
    pub version: String,
}

impl fmt::Display for WasmOpt {
    /// E.g. `wasm-opt version 132 (version_132) (npm binaryen@132.0.0, /p/target/tools/…)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match self.origin {
            Origin::Env => format!("from ${WASM_OPT_ENV}"),
            Origin::Path => "from PATH".to_owned(),
            Origin::Cache => format!("npm binaryen@{BINARYEN_VERSION}"),
            Origin::Installed => format!("npm binaryen@{BINARYEN_VERSION}, just installed"),
        };
        write!(f, "{} ({origin}, {})", self.version, self.path.display())
    }
}

/// Serializes installs within this process; installs from several processes are made safe
/// by the atomic rename instead.
static INSTALL: Mutex<()> = Mutex::new(());

/// Finds `wasm-opt`: `$PROXYLET_WASM_OPT`, else `wasm-opt` on `PATH`, else Binaryen
/// [`BINARYEN_VERSION`] in `cache_dir` (`binaryen-<version>/`), installed there with
/// `npm install` first when missing (a few seconds; needs Node.js and npm).
pub fn find_wasm_opt(cache_dir: &Path) -> Result<WasmOpt, BuildError> {
    if let Some(path) = std::env::var_os(WASM_OPT_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(BuildError(format!(
                "{WASM_OPT_ENV} is set to {}, which is not a file; point it at a wasm-opt \
                 executable or unset it",
                path.display()
            )));
        }
        return WasmOpt::probe(path, Origin::Env);
    }
    if let Some(path) = on_path("wasm-opt") {
        return WasmOpt::probe(path, Origin::Path);
    }
    npm_wasm_opt(cache_dir)
}

/// Binaryen [`BINARYEN_VERSION`] from npm in `cache_dir` (`binaryen-<version>/`), installed
/// there first when missing, whatever else is on `PATH`: the same optimizer on every
/// machine (for measurements).
pub fn npm_wasm_opt(cache_dir: &Path) -> Result<WasmOpt, BuildError> {
    let dir = cache_dir.join(format!("binaryen-{BINARYEN_VERSION}"));
    if let Some(path) = installed(&dir) {
        return WasmOpt::probe(path, Origin::Cache);
    }
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = installed(&dir) {
        return WasmOpt::probe(path, Origin::Cache);
    }
    install(cache_dir, &dir)?;
    let path = installed(&dir).ok_or_else(|| {
        BuildError(format!(
            "npm installed binaryen@{BINARYEN_VERSION} into {} but it has no \
             node_modules/.bin/wasm-opt; delete the directory and try again",
            dir.display()
        ))
    })?;
    WasmOpt::probe(path, Origin::Installed)
}

impl WasmOpt {
    /// Runs `path --version` to check that it works.
    pub fn probe(path: PathBuf, origin: Origin) -> Result<WasmOpt, BuildError> {
        let output = Command::new(&path)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                BuildError(format!(
                    "cannot run {} ({e}){}",
                    path.display(),
                    if origin == Origin::Cache || origin == Origin::Installed {
                        "; npm's wasm-opt is a Node.js script: is `node` on PATH?"
                    } else {
                        ""
                    }
                ))
            })?;
        if !output.status.success() {
            return Err(BuildError(format!(
                "`{} --version` failed ({}): {}",
                path.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        Ok(WasmOpt {
            path,
            origin,
            version,
        })
    }

    /// Runs `wasm-opt -Oz` with [`FEATURE_FLAGS`] on `input`, writing `output` (which may be
    /// `input`), then checks that every custom section of the input is still in the output
    /// with the same bytes.
    pub fn optimize(&self, input: &Path, output: &Path) -> Result<(), BuildError> {
        let before = std::fs::read(input)
            .map_err(|e| BuildError(format!("cannot read {}: {e}", input.display())))?;
        let sections = custom_sections(&before)
            .map_err(|e| BuildError(format!("{}: {e}", input.display())))?;
        // wasm-opt writes to a temporary file first, so a failure leaves `output` as it was.
        let temp = output.with_extension(format!("wasm-opt-{}.wasm", std::process::id()));
        let mut command = Command::new(&self.path);
        command
            .arg("-Oz")
            .args(FEATURE_FLAGS)
            .arg(input)
            .arg("-o")
            .arg(&temp);
        let result = run_bounded(command, RUN_TIMEOUT).and_then(|(success, log)| {
            if success {
                Ok(())
            } else {
                Err(BuildError(format!(
                    "{self} failed on {}:\n{}\nbuild without --optimize, or set {WASM_OPT_ENV} to \
                     another wasm-opt",
                    input.display(),
                    log.trim_end()
                )))
            }
        });
        let after = result.and_then(|()| {
            std::fs::read(&temp)
                .map_err(|e| BuildError(format!("cannot read {}: {e}", temp.display())))
        });
        let after = match after {
            Ok(after) => after,
            Err(error) => {
                let _ = std::fs::remove_file(&temp);
                return Err(error);
            }
        };
        let kept = custom_sections(&after).unwrap_or_default();
        if let Some((name, _)) = sections.iter().find(|section| !kept.contains(section)) {
            let _ = std::fs::remove_file(&temp);
            return Err(BuildError(format!(
                "{self} dropped or changed the custom section `{name}` of {}; build without \
                 --optimize, or set {WASM_OPT_ENV} to another wasm-opt",
                input.display()
            )));
        }
        std::fs::rename(&temp, output).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            BuildError(format!(
                "cannot move {} to {}: {e}",
                temp.display(),
                output.display()
            ))
        })
    }
}

/// Every custom section as (name, contents), in order.
fn custom_sections(wasm: &[u8]) -> Result<Vec<(String, Vec<u8>)>, crate::Error> {
    Ok(crate::sections(wasm)?
        .into_iter()
        .filter(|s| s.id == 0)
        .map(|s| (s.name.to_owned(), s.data.to_vec()))
        .collect())
}

/// The first executable `name` in the directories of `PATH`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The `wasm-opt` of a complete install directory.
fn installed(dir: &Path) -> Option<PathBuf> {
    let wasm_opt = dir.join("node_modules").join(".bin").join("wasm-opt");
    (dir.join(MARKER).is_file() && wasm_opt.is_file()).then_some(wasm_opt)
}

/// Written last into an install directory, before it is renamed into place.
const MARKER: &str = "proxylet-binaryen-installed";

/// `npm install --prefix TEMP binaryen@VERSION`, then renames TEMP to `dir`.
fn install(cache_dir: &Path, dir: &Path) -> Result<(), BuildError> {
    let npm = on_path("npm").ok_or_else(|| {
        BuildError(format!(
            "--optimize needs Binaryen's wasm-opt: none is on PATH and npm (to install \
             binaryen@{BINARYEN_VERSION}) is not either; install Node.js and npm, or a \
             wasm-opt (e.g. `apt-get install binaryen`), or set {WASM_OPT_ENV}"
        ))
    })?;
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| BuildError(format!("cannot create {}: {e}", cache_dir.display())))?;
    if dir.exists() {
        // Incomplete: no marker.
        std::fs::remove_dir_all(dir).map_err(|e| {
            BuildError(format!(
                "cannot remove the incomplete install {} ({e}); delete it by hand",
                dir.display()
            ))
        })?;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let temp = cache_dir.join(format!(
        ".binaryen-{BINARYEN_VERSION}.tmp-{}-{nanos}",
        std::process::id()
    ));
    eprintln!(
        "installing Binaryen {BINARYEN_VERSION} (wasm-opt) from npm into {} (once)",
        dir.display()
    );
    let mut command = Command::new(npm);
    command
        .args(["install", "--prefix"])
        .arg(&temp)
        .args([
            "--no-audit",
            "--no-fund",
            "--no-package-lock",
            "--loglevel=error",
        ])
        .arg(format!("binaryen@{BINARYEN_VERSION}"));
    let result = run_bounded(command, INSTALL_TIMEOUT).and_then(|(success, log)| {
        if !success {
            return Err(BuildError(format!(
                "`npm install binaryen@{BINARYEN_VERSION}` failed:\n{}\ncheck access to the \
                 npm registry, or install a wasm-opt yourself (PATH or {WASM_OPT_ENV})",
                log.trim_end()
            )));
        }
        std::fs::write(temp.join(MARKER), BINARYEN_VERSION)
            .map_err(|e| BuildError(format!("cannot write into {}: {e}", temp.display())))?;
        match std::fs::rename(&temp, dir) {
            Ok(()) => Ok(()),
            // Another process finished first: use its install.
            Err(_) if installed(dir).is_some() => Ok(()),
            Err(e) => Err(BuildError(format!(
                "cannot move {} to {}: {e}",
                temp.display(),
                dir.display()
            ))),
        }
    });
    let _ = std::fs::remove_dir_all(&temp);
    result
}

/// Runs `command` with stdout and stderr in a temporary file (so the wait can be bounded),
/// killing it after `timeout`; returns whether it succeeded and what it printed.
fn run_bounded(mut command: Command, timeout: Duration) -> Result<(bool, String), BuildError> {
    let shown = format!("{command:?}");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let log =
        std::env::temp_dir().join(format!("proxylet-tool-{}-{nanos}.log", std::process::id()));
    let file = std::fs::File::create(&log)
        .map_err(|e| BuildError(format!("cannot create {}: {e}", log.display())))?;
    let file2 = file
        .try_clone()
        .map_err(|e| BuildError(format!("cannot create {}: {e}", log.display())))?;
    let child = command
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(file2)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            let _ = std::fs::remove_file(&log);
            return Err(BuildError(format!("cannot run {shown}: {e}")));
        }
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(&log);
                return Err(BuildError(format!("cannot wait for {shown}: {e}")));
            }
        }
    };
    let printed = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    match status {
        Some(status) => Ok((status.success(), printed)),
        None => Err(BuildError(format!(
            "{shown} did not finish within {timeout:?} (killed):\n{printed}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wasm_opt_that_is_not_a_file_is_refused_naming_the_variable() {
        let error = WasmOpt::probe(PathBuf::from("/nonexistent/wasm-opt"), Origin::Env)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("cannot run /nonexistent/wasm-opt"),
            "{error}"
        );
    }

    #[test]
    fn custom_sections_are_listed_in_order() {
        let mut wasm = crate::tests_support::module_with_section("a", b"1");
        let extra = crate::tests_support::module_with_section("b", b"22");
        wasm.extend_from_slice(&extra[8..]);
        assert_eq!(
            custom_sections(&wasm).unwrap(),
            [
                ("a".to_owned(), b"1".to_vec()),
                ("b".to_owned(), b"22".to_vec())
            ]
        );
    }
}
