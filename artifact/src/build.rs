//! Building filter crates into `.wasm` artifacts: the one build step `cargo proxylet build`,
//! the test hosts and `cargo xtask` share. The target is added when missing, the module is
//! compiled with cargo ([`CargoBuild`]), and its `runtime-config.json` (read back from the
//! module's custom section) is written beside it ([`finish`]).

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    ensure_target(WASM_TARGET)
}

/// Adds the Rust target `target` with rustup when it is not installed.
pub fn ensure_target(target: &str) -> Result<(), BuildError> {
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
        .join(target)
        .join("lib")
        .is_dir();
    if installed {
        return Ok(());
    }
    eprintln!("adding the Rust target {target} (rustup target add {target})");
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .map_err(|e| {
            BuildError(format!(
                "the Rust target {target} is missing and rustup could not be run ({e}); \
                 install it with your toolchain manager"
            ))
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError(format!(
            "`rustup target add {target}` failed ({status}); run it by hand to see why"
        )))
    }
}

fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned())
}

/// The cargo to run: `$CARGO` (set when running under cargo), else `cargo`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace (or package) root above `start`: the nearest directory with a `Cargo.lock`.
pub fn workspace_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
}

/// One compilation of a filter crate's library as a `cdylib`, the way every proxylet tool
/// builds modules:
///
/// `cargo rustc --release --target wasm32-wasip1 --package P --lib --crate-type cdylib`
///
/// `--crate-type cdylib` builds the module alone. A crate that is also an `rlib` (so that
/// other crates or its integration tests can link it natively) would otherwise be
/// compiled as both, and with an `rlib` in the crate types rustc's LTO must keep every
/// public symbol of every crate, which leaves about 40% more code in the `.wasm` (188 KB
/// instead of 134 KB for the flagship).
///
/// ```no_run
/// # fn main() -> Result<(), proxylet_artifact::build::BuildError> {
/// use proxylet_artifact::build::CargoBuild;
/// let wasm = CargoBuild::new("/src/my-filter", "my-filter", "/src/my-filter/target")
///     .progress(true)
///     .run()?;
/// println!("{}", wasm.display());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CargoBuild {
    dir: PathBuf,
    manifest_path: Option<PathBuf>,
    package: String,
    /// `None`: the host (a native module).
    target: Option<String>,
    target_dir: PathBuf,
    progress: bool,
}

impl CargoBuild {
    /// Builds `package` of the workspace at `dir` (where cargo runs) into `target_dir`, for
    /// [`WASM_TARGET`], quietly.
    pub fn new(
        dir: impl Into<PathBuf>,
        package: impl Into<String>,
        target_dir: impl Into<PathBuf>,
    ) -> Self {
        CargoBuild {
            dir: dir.into(),
            manifest_path: None,
            package: package.into(),
            target: Some(WASM_TARGET.to_owned()),
            target_dir: target_dir.into(),
            progress: false,
        }
    }

    /// The package's (or its workspace's) `Cargo.toml`, passed as `--manifest-path`.
    pub fn manifest_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.manifest_path = Some(path.into());
        self
    }

    /// Another target triple (e.g. `wasm32-unknown-unknown`).
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Builds for the host instead: an Envoy dynamic module (`lib<crate>.so`), with
    /// `panic = "unwind"` (proxylet catches a filter's panic at every hook, so that it
    /// answers a 500 instead of taking Envoy down; the SDK refuses to build without it).
    pub fn native(mut self) -> Self {
        self.target = None;
        self
    }

    /// Shows cargo's progress and the compiler's messages on stderr as they come (`true`),
    /// or keeps them for the error message (`false`, the default).
    pub fn progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// The command line, as a user would type it (for messages).
    pub fn command_line(&self) -> String {
        match &self.target {
            Some(target) => format!(
                "cargo rustc --release --target {target} --package {} --lib --crate-type cdylib",
                self.package
            ),
            None => format!(
                "cargo rustc --release --config 'profile.release.panic=\"unwind\"' --package {} \
                 --lib --crate-type cdylib",
                self.package
            ),
        }
    }

    /// Adds the target when missing, runs cargo and returns the module cargo reported for
    /// the package (`.wasm`, or the shared library natively).
    pub fn run(&self) -> Result<PathBuf, BuildError> {
        let cargo = cargo();
        let mut command = Command::new(&cargo);
        command.current_dir(&self.dir).args(["rustc", "--release"]);
        match &self.target {
            Some(target) => {
                ensure_target(target)?;
                command.args(["--target", target]);
            }
            None => {
                command.args(["--config", "profile.release.panic=\"unwind\""]);
            }
        }
        command
            .arg("--package")
            .arg(&self.package)
            .args(["--lib", "--crate-type", "cdylib"])
            .args(["--message-format", "json-render-diagnostics"])
            .env("CARGO_TARGET_DIR", &self.target_dir)
            // Flags meant for the host build (e.g. coverage instrumentation) would break
            // wasm, and a module Envoy loads.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if let Some(manifest) = &self.manifest_path {
            command.arg("--manifest-path").arg(manifest);
        }
        let cannot_run = |e: std::io::Error| {
            BuildError(format!(
                "cannot run {cargo} ({e}); is cargo installed and on PATH?"
            ))
        };
        let (status, stdout, stderr) = if self.progress {
            let mut child = command
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(cannot_run)?;
            let mut stdout = Vec::new();
            if let Some(out) = child.stdout.take() {
                for line in std::io::BufReader::new(out)
                    .lines()
                    .map_while(std::io::Result::ok)
                {
                    stdout.push(line);
                }
            }
            let status = child
                .wait()
                .map_err(|e| BuildError(format!("cannot wait for cargo: {e}")))?;
            (status, stdout, String::new())
        } else {
            let output = command
                .stderr(Stdio::piped())
                .output()
                .map_err(cannot_run)?;
            let stdout = String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(str::to_owned)
                .collect();
            (
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        };
        if !status.success() {
            let messages = if self.progress {
                "the compiler's messages are above".to_owned()
            } else {
                format!("cargo said:\n{}", stderr.trim_end())
            };
            return Err(BuildError(format!(
                "`{}` failed ({status}); {messages}",
                self.command_line()
            )));
        }
        stdout
            .iter()
            .rev()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| {
                message["reason"] == "compiler-artifact"
                    && message["package_id"]
                        .as_str()
                        .is_some_and(|id| package_id_names(id, &self.package))
                    && message["target"]["crate_types"]
                        .as_array()
                        .is_some_and(|types| types.iter().any(|t| t == "cdylib"))
            })
            .filter_map(|message| {
                message["filenames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str())
                    .find(|f| {
                        let module = if self.target.is_some() {
                            ".wasm"
                        } else {
                            std::env::consts::DLL_SUFFIX
                        };
                        f.ends_with(module)
                    })
                    .map(PathBuf::from)
            })
            .next()
            .ok_or_else(|| {
                BuildError(format!(
                    "cargo built `{}` but reported no module file; is it a library crate \
                     (src/lib.rs) with `[lib] crate-type = [\"cdylib\"]`?",
                    self.package
                ))
            })
    }
}

/// Whether a cargo package id (`path+file:///…/name#0.1.0`, `name 0.1.0 (…)`, or
/// `…#name@0.1.0`) is the package `name`.
pub fn package_id_names(id: &str, name: &str) -> bool {
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

/// Builds package `package` of the workspace at `root` for wasm in release mode, into
/// `target_dir` ([`CargoBuild`], quietly), then lays out its artifact directory
/// `target_dir/proxylet/<package>/` holding the `.wasm` and its `runtime-config.json`
/// (one directory per module, so modules built side by side never share a config file).
pub fn build_package(root: &Path, package: &str, target_dir: &Path) -> Result<Built, BuildError> {
    let wasm = CargoBuild::new(root, package, target_dir).run()?;
    finish(&wasm, &target_dir.join("proxylet").join(package))
}

/// What a filter crate is built into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A proxy-wasm module for `wasm32-wasip1` (`envoy.filters.http.wasm`).
    Wasm,
    /// A native Envoy dynamic module for the host (`envoy.filters.http.dynamic_modules`).
    Native,
}

impl Target {
    /// Both, for tests that run a filter on each.
    pub const BOTH: [Target; 2] = [Target::Wasm, Target::Native];

    /// `wasm` or `native`, for messages and directory names.
    pub fn name(self) -> &'static str {
        match self {
            Target::Wasm => "wasm",
            Target::Native => "native",
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Builds package `package` of the workspace at `root` for `target`, into
/// `root/target/<wasm|native>`; returns the module (`.wasm` or `lib<crate>.so`).
pub fn build_module(root: &Path, package: &str, target: Target) -> Result<PathBuf, BuildError> {
    let target_dir = root.join("target").join(target.name());
    match target {
        Target::Wasm => build_package(root, package, &target_dir).map(|built| built.wasm),
        Target::Native => build_native_package(root, package, &target_dir),
    }
}

/// Builds package `package` of the workspace at `root` as a native Envoy dynamic module
/// ([`CargoBuild::native`], quietly) into `target_dir`, and copies it to
/// `target_dir/proxylet/<package>/lib<crate>.so`. Returns that path.
pub fn build_native_package(
    root: &Path,
    package: &str,
    target_dir: &Path,
) -> Result<PathBuf, BuildError> {
    let built = CargoBuild::new(root, package, target_dir).native().run()?;
    let out_dir = target_dir.join("proxylet").join(package);
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| BuildError(format!("cannot create {}: {e}", out_dir.display())))?;
    let module = out_dir.join(built.file_name().unwrap_or_default());
    // Copied beside, then renamed over: an Envoy running the previous build keeps its
    // mapping of the old file (overwriting a mapped library in place crashes it).
    let part = module.with_extension(format!("part{}", std::process::id()));
    std::fs::copy(&built, &part)
        .and_then(|_| std::fs::rename(&part, &module))
        .map_err(|e| {
            let _ = std::fs::remove_file(&part);
            BuildError(format!(
                "cannot copy {} to {}: {e}",
                built.display(),
                module.display()
            ))
        })?;
    Ok(module)
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
        assert!(!package_id_names(
            "registry+https://github.com/rust-lang/crates.io-index#add-header-x@0.1.0",
            "add-header"
        ));
    }
}
