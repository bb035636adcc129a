//! Shared by cargo-proxylet's end-to-end tests: the binary, temporary directories, a real
//! registry (Debian's `docker-registry`, installed with apt when missing), the flagship
//! module, Envoy.
#![allow(dead_code)]

pub mod openapi;
pub mod token;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    proxylet_artifact::build::workspace_root(env!("CARGO_MANIFEST_DIR").as_ref())
        .expect("workspace root")
}

/// The target directory the workspace tests build wasm into (shared with `tests/`).
pub fn wasm_target_dir() -> PathBuf {
    root().join("target").join("wasm")
}

/// A fresh directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "proxylet-cli-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Envoy for the tests: `$PROXYLET_ENVOY` or the harness's install in `target/tools`.
pub fn envoy() -> PathBuf {
    static ENVOY: OnceLock<PathBuf> = OnceLock::new();
    ENVOY
        .get_or_init(|| {
            proxylet_harness::ensure_envoy(&proxylet_harness::default_cache_dir())
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .clone()
}

/// Held while building into `target/wasm`: builds of one package lay out the same
/// `target/wasm/proxylet/<package>/` files, which a parallel test must not read half
/// written.
static BUILD: Mutex<()> = Mutex::new(());

/// Workspace package `package` built into `target/wasm` (under the build lock): its
/// module's bytes.
pub fn package_bytes(package: &str) -> Vec<u8> {
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let built = proxylet_artifact::build::build_package(&root(), package, &wasm_target_dir())
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::read(built.wasm).unwrap()
}

/// The flagship module, built once per test binary into `target/wasm`; the bytes, read
/// under the build lock.
pub fn flagship_bytes() -> Vec<u8> {
    static BUILT: OnceLock<Vec<u8>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
            let built =
                proxylet_artifact::build::build_package(&root(), "add-header", &wasm_target_dir())
                    .unwrap_or_else(|e| panic!("{e}"));
            std::fs::read(built.wasm).unwrap()
        })
        .clone()
}

/// The flagship module as a file of its own, named by its sha256 under
/// `target/tmp/cargo-proxylet-tests/` (so later builds cannot change it under a test, and
/// repeated runs reuse it).
pub fn flagship() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let bytes = flagship_bytes();
        let dir = root()
            .join("target")
            .join("tmp")
            .join("cargo-proxylet-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!(
            "{}.wasm",
            cargo_proxylet::image::sha256_hex(&bytes)
        ));
        if !path.is_file() {
            let temp = dir.join(format!("flagship.tmp-{}", std::process::id()));
            std::fs::write(&temp, &bytes).unwrap();
            std::fs::rename(&temp, &path).unwrap();
        }
        path
    })
    .clone()
}

/// The target directory native modules are built into (shared with `tests/`, as
/// [`proxylet_artifact::build::build_module`] lays it out).
pub fn native_target_dir() -> PathBuf {
    root().join("target").join("native")
}

/// The flagship built as a native module (once per test binary, under the build lock),
/// copied to a file named by its sha256 under `target/tmp/cargo-proxylet-tests/` so that
/// later builds cannot change it under a test.
pub fn native_flagship() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let bytes = {
            let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
            let built = proxylet_artifact::build::build_native_package(
                &root(),
                "add-header",
                &native_target_dir(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            std::fs::read(built).unwrap()
        };
        let dir = root()
            .join("target")
            .join("tmp")
            .join("cargo-proxylet-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.so", cargo_proxylet::image::sha256_hex(&bytes)));
        if !path.is_file() {
            let temp = dir.join(format!("native.tmp-{}", std::process::id()));
            std::fs::write(&temp, &bytes).unwrap();
            std::fs::rename(&temp, &path).unwrap();
        }
        path
    })
    .clone()
}

/// The CLI, with its own store and Docker config (none) so the machine's do not leak in,
/// and the tests' Envoy.
pub struct Cli {
    pub store: TempDir,
    pub home: TempDir,
}

impl Cli {
    pub fn new() -> Cli {
        Cli {
            store: TempDir::new("store"),
            home: TempDir::new("home"),
        }
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-proxylet"));
        command
            .env("PROXYLET_STORE", self.store.path())
            .env("PROXYLET_CACHE_DIR", self.home.join("cache"))
            .env("DOCKER_CONFIG", self.home.join("docker"))
            .env(proxylet_harness::envoy::ENVOY_ENV, envoy())
            .stdin(Stdio::null());
        command
    }

    /// Writes the Docker config with credentials for `registry`.
    pub fn login(&self, registry: &str, user: &str, password: &str) {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let config = serde_json::json!({ "auths": { registry: { "auth": auth } } });
        let dir = self.home.join("docker");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    }

    /// `build` of the flagship into `target/wasm` (under the build lock), storing it as
    /// `reference` in `variant`; returns stdout.
    pub fn build_flagship(&self, reference: &str, variant: &str) -> String {
        let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
        let manifest = root().join("examples/add-header/Cargo.toml");
        self.ok(&[
            "build",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--target-dir",
            wasm_target_dir().to_str().unwrap(),
            "--tag",
            reference,
            "--variant",
            variant,
        ])
    }

    /// `build --native` of the flagship into `target/native` (under the build lock),
    /// storing it as `reference`; returns stdout.
    pub fn build_native_flagship(&self, reference: &str) -> String {
        let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
        let manifest = root().join("examples/add-header/Cargo.toml");
        self.ok(&[
            "build",
            "--native",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--target-dir",
            native_target_dir().to_str().unwrap(),
            "--tag",
            reference,
        ])
    }

    /// The module of the image stored as `reference`.
    pub fn stored_module(&self, reference: &str) -> Vec<u8> {
        let store = cargo_proxylet::store::Store::open(self.store.path()).unwrap();
        let (_, image) = store.get(&reference.parse().unwrap()).unwrap();
        image.module().unwrap().1
    }

    /// Runs the CLI with `args`; returns its output (not checked).
    pub fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .expect("run cargo-proxylet")
    }

    /// Runs the CLI and panics with its output unless it succeeds; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "cargo-proxylet {args:?} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs the CLI and panics unless it fails; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            !output.status.success(),
            "cargo-proxylet {args:?} succeeded but should not have\n--- stdout ---\n{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

/// The value after `key` on a `  key  value` line of the CLI's summary output.
pub fn field(output: &str, key: &str) -> String {
    output
        .lines()
        .find_map(|line| {
            line.trim_start()
                .strip_prefix(key)
                .map(|rest| rest.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no `{key}` line in:\n{output}"))
}

/// Installs Debian's `docker-registry` (and `apache2-utils` for `htpasswd`) with apt when
/// missing; `false` (after a loud message) only when that is impossible here.
pub fn ensure_registry_tools() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        apt_install(
            &[
                ("docker-registry", "docker-registry"),
                ("htpasswd", "apache2-utils"),
            ],
            "REGISTRY TESTS",
        )
    })
}

/// Installs the Debian packages of the `(binary, package)` pairs whose binary is not on
/// PATH (apt-get, once more after `apt-get update` if the first try fails); `false`, after
/// a loud message naming `what` is skipped, only when that is impossible here.
pub fn apt_install(binaries: &[(&str, &str)], what: &str) -> bool {
    // One apt-get at a time: parallel tests would fight over dpkg's lock.
    static APT: Mutex<()> = Mutex::new(());
    let _guard = APT.lock().unwrap_or_else(|e| e.into_inner());
    let missing: Vec<&str> = binaries
        .iter()
        .filter(|(binary, _)| which(binary).is_none())
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return true;
    }
    eprintln!("installing {missing:?} with apt-get (once)");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
    };
    let mut result = install();
    if !result.as_ref().is_ok_and(|o| o.status.success()) {
        let _ = Command::new("apt-get").arg("update").output();
        result = install();
    }
    let all_there = binaries.iter().all(|(binary, _)| which(binary).is_some());
    match result {
        Ok(output) if output.status.success() && all_there => true,
        other => {
            let detail = match other {
                Ok(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            // In CI a missing tool is a failure, not a skip.
            assert!(
                std::env::var_os("CI").is_none(),
                "`apt-get install {}` failed in CI:\n{detail}",
                missing.join(" ")
            );
            eprintln!(
                "\n{bar}\nSKIPPING {what}: `apt-get install {}` failed here:\n{detail}\nInstall \
                 them (as root) to run these tests.\n{bar}\n",
                missing.join(" "),
                bar = "!".repeat(78)
            );
            false
        }
    }
}

pub fn which(binary: &str) -> Option<PathBuf> {
    proxylet_artifact::tools::on_path(binary)
}

/// How a test registry authenticates.
pub enum RegistryAuth {
    /// `htpasswd`: Basic authentication of one user.
    Htpasswd { user: String, password: String },
    /// `token`: Bearer tokens (JWTs) from `realm`, signed by the key of `cert`.
    Token {
        realm: String,
        service: String,
        issuer: String,
        cert: PathBuf,
    },
}

/// A running `docker-registry` on a free loopback port, stopped on drop (its log printed
/// if the test failed).
pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: TempDir,
}

impl Registry {
    /// Starts a registry; with `user` it asks for that user's password (htpasswd, bcrypt).
    /// `None` when the registry cannot be installed here (after a loud message).
    pub fn start(user: Option<(&str, &str)>) -> Option<Registry> {
        let auth = user.map(|(user, password)| RegistryAuth::Htpasswd {
            user: user.to_owned(),
            password: password.to_owned(),
        });
        Registry::start_with(auth)
    }

    /// Starts a registry with the given authentication.
    pub fn start_with(auth: Option<RegistryAuth>) -> Option<Registry> {
        if !ensure_registry_tools() {
            return None;
        }
        // Registries started at the same moment by parallel tests must not pick one port.
        static START: Mutex<()> = Mutex::new(());
        let _guard = START.lock().unwrap_or_else(|e| e.into_inner());
        let dir = TempDir::new("registry");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        );
        match auth {
            None => {}
            Some(RegistryAuth::Htpasswd { user, password }) => {
                let htpasswd = Command::new("htpasswd")
                    .args(["-Bbn", &user, &password])
                    .output()
                    .expect("run htpasswd");
                assert!(htpasswd.status.success(), "htpasswd failed");
                std::fs::write(dir.join("htpasswd"), &htpasswd.stdout).unwrap();
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: proxylet-test\n    path: {}\n",
                    dir.join("htpasswd").display()
                ));
            }
            Some(RegistryAuth::Token {
                realm,
                service,
                issuer,
                cert,
            }) => {
                config.push_str(&format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                    cert.display()
                ));
            }
        }
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut registry = Registry { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = registry.child.try_wait() {
                panic!("docker-registry exited ({status}):\n{}", registry.log());
            }
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = stream.write_all(b"GET /v2/ HTTP/1.0\r\nHost: x\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.0 401") {
                    return Some(registry);
                }
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not answer /v2/ within 20 s:\n{}",
                registry.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- docker-registry log ---\n{}\n--- end ---", self.log());
        }
    }
}

/// The oras Python SDK (PyPI `oras`) the OCI-client tests drive.
pub const ORAS_VERSION: &str = "0.2.43";

/// A Python with PyPI's `oras` in it: a venv in `target/tools/oras-<version>`, installed
/// once like proxylet's other tools ([`proxylet_artifact::tools::install_once`]).
pub fn oras_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let installed = proxylet_artifact::tools::install_once(
                &proxylet_harness::default_cache_dir(),
                "oras",
                ORAS_VERSION,
                &format!("oras {ORAS_VERSION} from PyPI"),
                |dir| {
                    let python = proxylet_artifact::tools::pip_venv(
                        dir,
                        &format!("oras=={ORAS_VERSION}"),
                        Duration::from_secs(600),
                        "or skip the OCI-client tests",
                    )?;
                    Ok(python.strip_prefix(dir).unwrap_or(&python).to_path_buf())
                },
            );
            installed.unwrap_or_else(|e| panic!("{e}")).path
        })
        .clone()
}
