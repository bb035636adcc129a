//! Size optimization with Binaryen's `wasm-opt -Oz`, run as a program: the one in
//! `$PROXYLET_WASM_OPT`, else `wasm-opt` on `PATH`, else Binaryen [`BINARYEN_VERSION`]
//! from the npm registry (JavaScript and wasm, no C++ compiler), installed once into a tool
//! cache directory. Custom sections (the runtime config, the config schemas) are kept:
//! wasm-opt keeps sections it does not know, and [`WasmOpt::optimize`] checks that they
//! are still there, byte for byte.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::build::BuildError;
use crate::tools::{install_once, installed, npm_install, on_path, run_bounded};

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
    if let Some(path) = installed(cache_dir, "binaryen", BINARYEN_VERSION) {
        return WasmOpt::probe(path, Origin::Cache);
    }
    let spec = format!("binaryen@{BINARYEN_VERSION}");
    let npm = on_path("npm").ok_or_else(|| {
        BuildError(format!(
            "--optimize needs Binaryen's wasm-opt: none is on PATH and npm (to install {spec}) \
             is not either; install Node.js and npm, or a wasm-opt (e.g. `apt-get install \
             binaryen`), or set {WASM_OPT_ENV}"
        ))
    })?;
    let installed = install_once(
        cache_dir,
        "binaryen",
        BINARYEN_VERSION,
        &format!("Binaryen {BINARYEN_VERSION} (wasm-opt) from npm"),
        |dir| {
            npm_install(
                &npm,
                dir,
                &spec,
                INSTALL_TIMEOUT,
                &format!("or install a wasm-opt yourself (PATH or {WASM_OPT_ENV})"),
            )?;
            Ok(Path::new("node_modules").join(".bin").join("wasm-opt"))
        },
    )
    .map_err(|e| BuildError(e.to_string()))?;
    let origin = if installed.just_installed {
        Origin::Installed
    } else {
        Origin::Cache
    };
    WasmOpt::probe(installed.path, origin)
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
        let result = match run_bounded(command, RUN_TIMEOUT) {
            Ok(ran) if ran.status.success() => Ok(()),
            Ok(ran) => Err(BuildError(format!(
                "{self} failed on {}:\n{}\nbuild without --optimize, or set {WASM_OPT_ENV} to \
                 another wasm-opt",
                input.display(),
                ran.output.trim_end()
            ))),
            Err(e) => Err(BuildError(e.to_string())),
        };
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
