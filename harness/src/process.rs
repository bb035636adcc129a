//! Running Envoy: start it on a [`Bootstrap`], learn its ports, talk to its admin API,
//! read its log, and always stop it.

use std::fs::{self, File};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::bootstrap::Bootstrap;
use crate::envoy::{default_cache_dir, ensure_envoy};
use crate::http::Request;
use crate::Error;

/// How often the harness polls while waiting for Envoy.
const POLL: Duration = Duration::from_millis(10);
/// How long one admin request may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `stop` waits for Envoy to exit after `/quitquitquit` before killing it.
const GRACEFUL_EXIT: Duration = Duration::from_secs(2);
/// How long [`validate`] lets `envoy --mode validate` run.
const VALIDATE_TIMEOUT: Duration = Duration::from_secs(60);
/// What to do when the Envoy binary cannot be run.
const ENVOY_HINT: &str = "set PROXYLET_ENVOY to an Envoy executable, or unset it to install Envoy";
/// Set to keep Envoy's temporary directory (config, log) after the test, for debugging.
pub const KEEP_DIR_ENV: &str = "PROXYLET_KEEP_ENVOY_DIR";

/// How to run Envoy. `EnvoyOptions::default()` is what most tests want.
#[derive(Clone, Debug)]
pub struct EnvoyOptions {
    /// The Envoy binary; `None` uses [`ensure_envoy`]`(`[`default_cache_dir`]`())`.
    pub envoy: Option<PathBuf>,
    /// Worker threads (`--concurrency`); default 1, so a filter's state is one VM's.
    pub concurrency: u32,
    /// Log level (`-l`); default `info`.
    pub log_level: String,
    /// Per-component log levels (`--component-log-level`), e.g. `wasm:debug`.
    pub component_log_level: Option<String>,
    /// `--base-id`; `None` picks one unique to this process and call, so several Envoys
    /// can run at once.
    pub base_id: Option<u32>,
    /// Keep hot restart enabled. Off by default (`--disable-hot-restart`): then Envoy uses
    /// no shared memory or domain socket, so parallel Envoys cannot collide and a killed
    /// Envoy leaves nothing in `/dev/shm`.
    pub hot_restart: bool,
    /// How long Envoy may take to become ready; default 30 s.
    pub startup_timeout: Duration,
    /// More command-line arguments, appended last.
    pub extra_args: Vec<String>,
    /// The CPUs Envoy may run on (numbers below 1024), e.g. a core of its own for a
    /// benchmark; empty (the default) leaves it to the scheduler. Set before Envoy starts,
    /// so every thread it creates inherits it. Linux only (`sched_setaffinity`); ignored
    /// elsewhere.
    pub cpus: Vec<usize>,
}

impl Default for EnvoyOptions {
    fn default() -> Self {
        EnvoyOptions {
            envoy: None,
            concurrency: 1,
            log_level: "info".into(),
            component_log_level: None,
            base_id: None,
            hot_restart: false,
            startup_timeout: Duration::from_secs(30),
            extra_args: Vec::new(),
            cpus: Vec::new(),
        }
    }
}

impl EnvoyOptions {
    /// Sets [`component_log_level`](EnvoyOptions::component_log_level), e.g. `wasm:debug`.
    pub fn component_log_level(mut self, levels: impl Into<String>) -> Self {
        self.component_log_level = Some(levels.into());
        self
    }

    /// Sets [`log_level`](EnvoyOptions::log_level).
    pub fn log_level(mut self, level: impl Into<String>) -> Self {
        self.log_level = level.into();
        self
    }

    /// Sets [`envoy`](EnvoyOptions::envoy).
    pub fn envoy(mut self, binary: impl Into<PathBuf>) -> Self {
        self.envoy = Some(binary.into());
        self
    }

    /// Sets [`cpus`](EnvoyOptions::cpus): pins Envoy to these CPUs.
    pub fn cpus(mut self, cpus: impl IntoIterator<Item = usize>) -> Self {
        self.cpus = cpus.into_iter().collect();
        self
    }

    /// What to do when Envoy cannot be started.
    fn hint(&self) -> String {
        if self.cpus.is_empty() {
            ENVOY_HINT.to_owned()
        } else {
            format!(
                "{ENVOY_HINT}; and check that this machine has CPUs {:?} (`EnvoyOptions::cpus`)",
                self.cpus
            )
        }
    }

    fn binary(&self) -> Result<PathBuf, Error> {
        match &self.envoy {
            Some(path) => Ok(path.clone()),
            None => ensure_envoy(&default_cache_dir()),
        }
    }
}

/// A running Envoy. Dropping it stops Envoy (always: kill if needed, then reap) and
/// removes its temporary directory; when dropped during a panic (a failing test) it first
/// prints Envoy's log to stderr.
///
/// ```no_run
/// # fn main() -> Result<(), proxylet_harness::Error> {
/// use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, Request, Upstream};
/// let upstream = Upstream::start_default()?;
/// let envoy = Envoy::start(
///     &Bootstrap::http().cluster("upstream", upstream.addr()),
///     EnvoyOptions::default(),
/// )?;
/// let response = Request::get("/").send(envoy.listener_addr())?;
/// assert_eq!(response.body, b"upstream says hi\n");
/// # Ok(()) }
/// ```
pub struct Envoy {
    child: Option<Child>,
    dir: TempDir,
    log_path: PathBuf,
    admin: SocketAddr,
    listeners: Vec<(String, SocketAddr)>,
    dump_log_on_panic: bool,
}

impl std::fmt::Debug for Envoy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envoy")
            .field("pid", &self.child.as_ref().map(Child::id))
            .field("dir", &self.dir.path)
            .field("admin", &self.admin)
            .field("listeners", &self.listeners)
            .finish()
    }
}

impl Envoy {
    /// Starts Envoy on `bootstrap` and waits until it is ready: the admin API answers
    /// `/ready` with `LIVE` and every listener has its port.
    ///
    /// The bootstrap and the log (Envoy's stdout and stderr) go into a fresh temporary
    /// directory. If Envoy exits or is not ready within
    /// [`startup_timeout`](EnvoyOptions::startup_timeout), it is killed and the error
    /// carries its log.
    pub fn start(bootstrap: &Bootstrap, options: EnvoyOptions) -> Result<Envoy, Error> {
        if bootstrap.to_json().get("admin").is_none() {
            return Err(Error::msg(
                "the bootstrap has no `admin` section, which `Envoy::start` needs to learn \
                 the ports; add `\"admin\": {\"address\": {\"socket_address\": \
                 {\"address\": \"127.0.0.1\", \"port_value\": 0}}}`",
            ));
        }
        let binary = options.binary()?;
        let dir = TempDir::new("proxylet-envoy")?;
        let config = dir.path.join("envoy.json");
        bootstrap.write(&config)?;
        let log_path = dir.path.join("envoy.log");
        let admin_path = dir.path.join("admin-address.txt");
        let mut command = Command::new(&binary);
        command
            .arg("-c")
            .arg(&config)
            .arg("--admin-address-path")
            .arg(&admin_path);
        serve_args(&mut command, &options);
        let child = spawn_logged(command, &log_path, &options.hint())?;
        let mut envoy = Envoy {
            child: Some(child),
            dir,
            log_path,
            // Replaced once Envoy writes the file.
            admin: SocketAddr::from(([127, 0, 0, 1], 0)),
            listeners: Vec::new(),
            // A failed start reports the log in its error; no need to print it twice.
            dump_log_on_panic: false,
        };
        envoy.wait_ready(&admin_path, options.startup_timeout)?;
        envoy.dump_log_on_panic = true;
        Ok(envoy)
    }

    fn wait_ready(&mut self, admin_path: &Path, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let mut admin = None;
        let mut last_problem = String::from("the admin address file was not written");
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(Error::msg(format!(
                        "Envoy exited during startup ({status}); its log says why"
                    ))
                    .with_log(self.log()));
                }
            }
            if admin.is_none() {
                admin = fs::read_to_string(admin_path)
                    .ok()
                    .and_then(|text| text.trim().parse::<SocketAddr>().ok());
            }
            if let Some(admin) = admin {
                self.admin = admin;
                match self.probe_ready() {
                    Ok(listeners) => {
                        self.listeners = listeners;
                        return Ok(());
                    }
                    Err(problem) => last_problem = problem,
                }
            }
            if Instant::now() >= deadline {
                let log = self.log();
                let _ = self.stop();
                return Err(Error::msg(format!(
                    "Envoy was not ready after {timeout:?} ({last_problem}); raise \
                     `EnvoyOptions::startup_timeout` if the machine is slow"
                ))
                .with_log(log));
            }
            thread::sleep(POLL);
        }
    }

    /// `Ok(listeners)` when Envoy is live and every listener has a port.
    fn probe_ready(&self) -> Result<Vec<(String, SocketAddr)>, String> {
        let ready = Request::get("/ready")
            .timeout(Duration::from_secs(1))
            .send(self.admin)
            .map_err(|e| format!("admin /ready: {e}"))?;
        let state = ready.text_body();
        if ready.status != 200 || state.trim() != "LIVE" {
            return Err(format!(
                "admin /ready answered {} {}",
                ready.status,
                state.trim()
            ));
        }
        let text = self
            .admin_get("/listeners?format=json")
            .map_err(|e| e.to_string())?;
        let listeners = parse_listeners(&text)?;
        if let Some((name, _)) = listeners.iter().find(|(_, addr)| addr.port() == 0) {
            return Err(format!("listener {name} has no port yet"));
        }
        Ok(listeners)
    }

    /// Runs Envoy on a `bootstrap` it must refuse, and returns its exit status and log once
    /// it exits by itself.
    ///
    /// If Envoy is still running after `timeout`, it is killed and the error says so (and
    /// carries the log): it accepted the configuration.
    pub fn run_expecting_failure(
        bootstrap: &Bootstrap,
        options: EnvoyOptions,
        timeout: Duration,
    ) -> Result<(ExitStatus, String), Error> {
        let binary = options.binary()?;
        let dir = TempDir::new("proxylet-envoy")?;
        let config = dir.path.join("envoy.json");
        bootstrap.write(&config)?;
        let log_path = dir.path.join("envoy.log");
        let mut command = Command::new(&binary);
        command.arg("-c").arg(&config);
        serve_args(&mut command, &options);
        let child = spawn_logged(command, &log_path, &options.hint())?;
        match wait_bounded(child, timeout)? {
            Some(status) => Ok((status, read_log(&log_path))),
            None => Err(Error::msg(format!(
                "Envoy was still running after {timeout:?}, so it accepted the configuration \
                 (it was killed)"
            ))
            .with_log(read_log(&log_path))),
        }
    }

    /// The address of the first listener (`127.0.0.1:port`).
    ///
    /// # Panics
    /// If the bootstrap has no listener (only possible with
    /// [`Bootstrap::from_json`]).
    pub fn listener_addr(&self) -> SocketAddr {
        match self.listeners.first() {
            Some((_, addr)) => *addr,
            None => panic!("this Envoy's bootstrap has no listener"),
        }
    }

    /// Every listener's name and address, as the admin API reported them at startup.
    pub fn listeners(&self) -> &[(String, SocketAddr)] {
        &self.listeners
    }

    /// The admin API's address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
    }

    /// Envoy's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The temporary directory holding the bootstrap (`envoy.json`) and the log
    /// (`envoy.log`); removed on drop unless `PROXYLET_KEEP_ENVOY_DIR` is set.
    pub fn dir(&self) -> &Path {
        &self.dir.path
    }

    /// Envoy's log so far (stdout and stderr, including the access log).
    pub fn log(&self) -> String {
        read_log(&self.log_path)
    }

    /// Waits until the log contains `needle` (Envoy writes some lines shortly after the
    /// event, e.g. a filter's log on another thread); returns the log.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> Result<String, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if log.contains(needle) {
                return Ok(log);
            }
            if Instant::now() >= deadline {
                return Err(Error::msg(format!(
                    "Envoy's log did not contain {needle:?} within {timeout:?}"
                ))
                .with_log(log));
            }
            thread::sleep(POLL);
        }
    }

    /// GETs `path` (e.g. `/stats`, `/listeners?format=json`) from the admin API and returns
    /// the body; an answer other than 200 is an error carrying the body.
    pub fn admin_get(&self, path: &str) -> Result<String, Error> {
        self.admin_request(Request::get(path))
    }

    /// POSTs to `path` on the admin API (e.g. `/logging?wasm=trace`, `/reset_counters`) and
    /// returns the body; an answer other than 200 is an error carrying the body.
    pub fn admin_post(&self, path: &str) -> Result<String, Error> {
        self.admin_request(Request::new("POST", path))
    }

    fn admin_request(&self, request: Request) -> Result<String, Error> {
        let request = request.timeout(ADMIN_TIMEOUT);
        let response = request.send(self.admin)?;
        let body = response.text_body();
        if response.status == 200 {
            Ok(body)
        } else {
            Err(Error::msg(format!(
                "Envoy's admin API answered {} {} with {}: {}",
                request.method,
                request.path,
                response.status,
                body.trim()
            )))
        }
    }

    /// The value of the counter or gauge `name` (e.g. `http.ingress_http.downstream_rq_2xx`),
    /// or `None` if Envoy has no such stat.
    pub fn stat(&self, name: &str) -> Result<Option<u64>, Error> {
        let text = self.admin_get("/stats")?;
        Ok(text.lines().find_map(|line| {
            let (stat, value) = line.split_once(": ")?;
            if stat == name {
                value.trim().parse().ok()
            } else {
                None
            }
        }))
    }

    /// Whether to print the log to stderr when dropped during a panic (default: yes).
    pub fn set_dump_log_on_panic(&mut self, dump: bool) {
        self.dump_log_on_panic = dump;
    }

    /// Stops Envoy: asks it to quit through the admin API, kills it if it has not exited
    /// within two seconds, and reaps it. Returns its exit status when it exited by itself
    /// (normally 0, after `/quitquitquit`); `None` when it had to be killed or was already
    /// stopped by an earlier call.
    pub fn stop(&mut self) -> Result<Option<ExitStatus>, Error> {
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(Some(status));
        }
        if self.admin.port() != 0 {
            let _ = Request::new("POST", "/quitquitquit")
                .timeout(Duration::from_secs(1))
                .send(self.admin);
        }
        match wait_bounded(child, GRACEFUL_EXIT) {
            Ok(Some(status)) => Ok(Some(status)),
            // Killed (and reaped) by `wait_bounded`.
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.stop();
        if self.dump_log_on_panic && thread::panicking() {
            eprintln!(
                "--- Envoy log ({}) ---\n{}\n--- end of Envoy log ---",
                self.log_path.display(),
                self.log().trim_end()
            );
        }
    }
}

/// Validates `bootstrap` with `envoy --mode validate`; `Err` carries Envoy's output.
///
/// Validation builds the whole configuration without serving: a Wasm filter's local file
/// must exist (and load), clusters must be known, and so on.
pub fn validate(envoy: &Path, bootstrap: &Bootstrap) -> Result<(), String> {
    let dir = TempDir::new("proxylet-validate").map_err(|e| e.to_string())?;
    let config = dir.path.join("envoy.json");
    bootstrap.write(&config).map_err(|e| e.to_string())?;
    let log_path = dir.path.join("validate.log");
    let mut command = Command::new(envoy);
    command
        .args(["--mode", "validate", "--disable-hot-restart", "-c"])
        .arg(&config);
    let child = spawn_logged(command, &log_path, ENVOY_HINT).map_err(|e| e.to_string())?;
    let outcome = wait_bounded(child, VALIDATE_TIMEOUT).map_err(|e| e.to_string())?;
    let log = read_log(&log_path);
    match outcome {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(format!("envoy --mode validate exited with {status}\n{log}")),
        None => Err(format!(
            "envoy --mode validate was still running after {VALIDATE_TIMEOUT:?} (killed)\n{log}"
        )),
    }
}

/// Arguments (and CPU affinity) for serving, shared by [`Envoy::start`] and
/// [`Envoy::run_expecting_failure`].
fn serve_args(command: &mut Command, options: &EnvoyOptions) {
    pin_to_cpus(command, &options.cpus);
    command
        .arg("--concurrency")
        .arg(options.concurrency.to_string())
        .arg("-l")
        .arg(&options.log_level)
        .arg("--base-id")
        .arg(options.base_id.unwrap_or_else(next_base_id).to_string());
    if let Some(levels) = &options.component_log_level {
        command.arg("--component-log-level").arg(levels);
    }
    if !options.hot_restart {
        command.arg("--disable-hot-restart");
    }
    command.args(&options.extra_args);
}

/// A base id unique among the Envoys this process starts, and unlikely to be used by
/// another process (the pid is part of it). Envoy multiplies it by 10 for its shared memory
/// and socket names, so it stays well below `u32::MAX / 10`.
fn next_base_id() -> u32 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) % 64;
    (std::process::id() % 4_000_000) * 64 + n + 1
}

/// Spawns `command` with stdin closed and stdout+stderr written to `log_path`; a failure
/// to start says what to do with `hint`.
pub(crate) fn spawn_logged(
    mut command: Command,
    log_path: &Path,
    hint: &str,
) -> Result<Child, Error> {
    let log = File::create(log_path)
        .map_err(|e| Error::io(format!("cannot create {}", log_path.display()), e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| Error::io(format!("cannot reopen {}", log_path.display()), e))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err));
    let program = PathBuf::from(command.get_program());
    spawn(command).map_err(|e| Error::io(format!("cannot run {}; {hint}", program.display()), e))
}

/// Waits for `child` to exit within `timeout`; kills and reaps it otherwise (`Ok(None)`).
pub(crate) fn wait_bounded(
    mut child: Child,
    timeout: Duration,
) -> Result<Option<ExitStatus>, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(Some(status)),
            Ok(None) if Instant::now() < deadline => thread::sleep(POLL),
            Ok(None) => break,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::io("cannot wait for Envoy", e));
            }
        }
    }
    let _ = child.kill();
    // SIGKILL cannot be ignored, so this returns promptly.
    child
        .wait()
        .map_err(|e| Error::io("cannot reap the killed Envoy", e))?;
    Ok(None)
}

pub(crate) fn read_log(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => format!("(cannot read the log {}: {e})", path.display()),
    }
}

fn parse_listeners(text: &str) -> Result<Vec<(String, SocketAddr)>, String> {
    let json: Value = serde_json::from_str(text)
        .map_err(|e| format!("admin /listeners answered unparsable JSON ({e}): {text}"))?;
    let statuses = json["listener_statuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    statuses
        .iter()
        .map(|status| {
            let name = status["name"].as_str().unwrap_or_default().to_string();
            let socket = &status["local_address"]["socket_address"];
            let ip = socket["address"].as_str().unwrap_or_default();
            let port = socket["port_value"].as_u64().unwrap_or(0);
            let addr = format!("{ip}:{port}")
                .parse::<SocketAddr>()
                .or_else(|_| format!("[{ip}]:{port}").parse::<SocketAddr>())
                .map_err(|_| {
                    format!("listener {name} has an address that is not IP:port: {status}")
                })?;
            Ok((name, addr))
        })
        .collect()
}

/// A fresh directory under the system's temporary directory, removed on drop (unless
/// [`KEEP_DIR_ENV`] is set).
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(prefix: &str) -> Result<TempDir, Error> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        for _ in 0..100 {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = base.join(format!(
                "{prefix}-{}-{}-{nanos}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(Error::io(
                        format!("cannot create a directory in {}", base.display()),
                        e,
                    ))
                }
            }
        }
        Err(Error::msg(format!(
            "cannot create a unique directory in {}",
            base.display()
        )))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os(KEEP_DIR_ENV).is_some() {
            eprintln!("keeping {} ({KEEP_DIR_ENV} is set)", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Spawns `command` so that the child dies with this process.
///
/// On Linux the child gets `PR_SET_PDEATHSIG(SIGKILL)`: even if the test process is killed
/// (a CI timeout), Envoy does not outlive it. The kernel sends that signal when the *thread*
/// that forked exits, so children are forked from one thread that lives as long as the
/// process, not from the (short-lived) test thread.
fn spawn(command: Command) -> io::Result<Child> {
    type Job = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        // If the thread cannot start, `rx` is dropped, `send` below fails and we spawn
        // from the calling thread instead.
        let _ = thread::Builder::new()
            .name("proxylet-harness-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    die_with_parent(&mut command);
                    let _ = reply.send(command.spawn());
                }
            });
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    let sent = sender
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((command, reply_tx));
    match sent {
        Ok(()) => reply_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                Err(io::Error::other(
                    "the harness's spawner thread did not answer",
                ))
            }),
        Err(mpsc::SendError((mut command, _))) => command.spawn(),
    }
}

#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::raw::{c_int, c_ulong};
    use std::os::unix::process::CommandExt;
    extern "C" {
        fn prctl(option: c_int, ...) -> c_int;
    }
    const PR_SET_PDEATHSIG: c_int = 1;
    const SIGKILL: c_ulong = 9;
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and only makes two async-signal-safe
    // system calls (prctl, getppid); it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if std::os::unix::process::parent_id() != parent {
                // The parent died before prctl took effect: do not start an orphan.
                return Err(io::Error::from(io::ErrorKind::Other));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// Makes the child run only on `cpus` (none: no change). Set between fork and exec, so
/// Envoy's pid is the child's (no `taskset` wrapper) and all its threads inherit it.
#[cfg(target_os = "linux")]
fn pin_to_cpus(command: &mut Command, cpus: &[usize]) {
    use std::os::raw::c_int;
    use std::os::unix::process::CommandExt;
    extern "C" {
        fn sched_setaffinity(pid: c_int, size: usize, mask: *const u64) -> c_int;
    }
    if cpus.is_empty() {
        return;
    }
    // A `cpu_set_t`: 1024 bits. CPUs past it are left out; an empty set makes the
    // call, and so the start, fail.
    let mut mask = [0u64; 16];
    for &cpu in cpus.iter().filter(|&&cpu| cpu < 1024) {
        mask[cpu / 64] |= 1 << (cpu % 64);
    }
    // SAFETY: the closure runs between fork and exec and makes one async-signal-safe
    // system call on a mask it owns; it allocates nothing (`last_os_error` reads errno).
    unsafe {
        command.pre_exec(move || {
            if sched_setaffinity(0, std::mem::size_of_val(&mask), mask.as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_to_cpus(_command: &mut Command, _cpus: &[usize]) {}
