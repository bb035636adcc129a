//! The built module, behind the same API (feature `wasm`): runs a proxylet (or any
//! proxy-wasm 0.2.1) `.wasm` module, so the module that ships is the one that is tested.
//!
//! The module runs in the [wasmi] interpreter (pure Rust, compiles in seconds) against the
//! same emulated host as the native backend: the same [`HostState`], the same [`Host`],
//! [`TestPlugin`](crate::TestPlugin) and [`HttpStream`](crate::HttpStream) assertions.
//! What only the real module can show shows up here too:
//!
//! - a trap (a panic with `panic = "abort"`, `unreachable`, running out of fuel, an
//!   out-of-bounds access) is reported as [`Verdict::Trapped`](crate::Verdict) or a
//!   [`Trap`](crate::Trap), and the VM is dead from then on, like Envoy's default
//!   `FAIL_CLOSED` (every later call answers `Trap("the VM trapped earlier")`);
//! - what the module writes to stdout/stderr (`println!`, or the panic message of a module
//!   without proxylet's panic hook) is logged at info/error level, as Envoy logs it;
//! - execution is metered with wasmi fuel (about one unit per instruction): [`Fuel`] gives
//!   deterministic work counts for benchmarks.
//!
//! # Running one test on both backends
//!
//! [`for_each_backend`] builds the filter crate for `wasm32-wasip1` once per test process
//! and runs the test body on the native host and on the built module:
//!
//! ```no_run
//! use proxylet_testkit::Verdict;
//!
//! # #[proxylet::filter]
//! # fn on_response_headers(headers: &mut proxylet::http::Headers) {}
//! # fn main() {
//! // in examples/add-header/src/tests/host.rs
//! proxylet_testkit::wasm::for_each_backend("add-header", proxylet_testkit::module!(), |host| {
//!     let plugin = host.plugin("add_header").start().unwrap();
//!     let mut stream = plugin.http_stream();
//!     assert_eq!(stream.response_headers(&[(":status", "200")], true), Verdict::Continue);
//!     assert_eq!(stream.response_header("hello").as_deref(), Some(&b"melon"[..]));
//! });
//! # }
//! ```
//!
//! A failing assertion names the backend it failed on. The crate needs
//! `proxylet-testkit` with feature `wasm` as a dev-dependency, and the test must link the
//! filter natively: a unit test (what `cargo proxylet new` writes), or an integration
//! test of a crate that is also an `rlib`.
//!
//! # The module alone, with fuel
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wasm = proxylet_testkit::wasm::build("add-header")?;
//! let (host, fuel) = proxylet_testkit::wasm::load_metered(&wasm)?;
//! let plugin = host.plugin("add_header").start()?;
//! println!("start + configure: {} fuel", fuel.consumed());
//! let (_, per_request) = fuel.measure(|| {
//!     let mut stream = plugin.http_stream();
//!     stream.request_headers(&[(":path", "/")], true);
//!     stream.response_headers(&[(":status", "200")], true);
//!     stream.complete()
//! });
//! println!("one request: {per_request} fuel");
//! # Ok(())
//! # }
//! ```
//!
//! The numbers are exact and repeat from run to run (the host's clock and WASI
//! `random_get` are deterministic), but they count wasmi instructions, not time: compare
//! two modules with them, do not read them as nanoseconds.

mod backend;
mod guest;
mod imports;
mod wasi;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};

use crate::{Host, HostState, Registration};

use backend::{Meter, WasmBackend};

/// Why a module could not be loaded (or built).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    Io(String),
    /// Not a valid wasm module (or one using features wasmi does not support).
    Invalid(String),
    /// The module imports something the host does not provide (Envoy would refuse it too).
    Link(String),
    /// The module does not follow the proxy-wasm 0.2.1 ABI.
    Abi(String),
    /// The module trapped while initializing (`_initialize`).
    Trap(String),
    /// Building the filter crate for wasm failed.
    Build(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(m) => write!(f, "cannot read the module: {m}"),
            Error::Invalid(m) => write!(f, "invalid wasm module: {m}"),
            Error::Link(m) => write!(f, "cannot instantiate the module: {m}"),
            Error::Abi(m) => f.write_str(m),
            Error::Trap(m) => write!(f, "the module trapped while initializing: {m}"),
            Error::Build(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// Loads a module (the bytes of a `.wasm` file), runs its `_initialize` and returns a
/// [`Host`] driving it. Fuel is metered but unlimited; see [`load_metered`] to read it.
pub fn load(wasm: &[u8]) -> Result<Host, Error> {
    load_metered(wasm).map(|(host, _)| host)
}

/// [`load`] from a file.
pub fn load_file(path: impl AsRef<Path>) -> Result<Host, Error> {
    let path = path.as_ref();
    let wasm = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    load(&wasm)
}

/// [`load`], also returning the module's [`Fuel`] meter.
pub fn load_metered(wasm: &[u8]) -> Result<(Host, Fuel), Error> {
    let state = Rc::new(RefCell::new(HostState::new()));
    let meter = Rc::new(Meter::default());
    let backend = WasmBackend::new(wasm, Rc::clone(&state), Rc::clone(&meter))?;
    Ok((Host::new(state, Box::new(backend)), Fuel { meter }))
}

/// The fuel meter of a loaded module: wasmi fuel, about one unit per executed wasm
/// instruction (host functions cost nothing). Cheap to clone.
#[derive(Clone)]
pub struct Fuel {
    meter: Rc<Meter>,
}

impl Fuel {
    /// Fuel burnt since the module was loaded, `_initialize` included.
    pub fn consumed(&self) -> u64 {
        self.meter.consumed.get()
    }

    /// Runs `f` and returns its result with the fuel the module burnt meanwhile.
    pub fn measure<R>(&self, f: impl FnOnce() -> R) -> (R, u64) {
        let before = self.consumed();
        let result = f();
        (result, self.consumed() - before)
    }

    /// Caps the total fuel (counted from load, like [`consumed`](Self::consumed)); the
    /// module traps with "all fuel consumed" when it reaches the cap. `None` (the default)
    /// removes the cap.
    pub fn set_limit(&self, limit: Option<u64>) {
        self.meter.limit.set(limit);
    }

    /// The cap set with [`set_limit`](Self::set_limit).
    pub fn limit(&self) -> Option<u64> {
        self.meter.limit.get()
    }
}

/// Builds workspace package `package` for `wasm32-wasip1` (release profile, into
/// `<workspace>/target/wasm`, as `cargo xtask` does) once per process, and returns the
/// module's bytes. The workspace is the one holding the crate whose tests are running
/// (`CARGO_MANIFEST_DIR`), else the current directory's.
pub fn build(package: &str) -> Result<Arc<[u8]>, Error> {
    type Built = HashMap<String, Result<Arc<[u8]>, Error>>;
    static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Mutex::default)
        .lock()
        // A panic elsewhere while holding the lock leaves the map intact.
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    built
        .entry(package.to_owned())
        .or_insert_with(|| build_uncached(package))
        .clone()
}

fn build_uncached(package: &str) -> Result<Arc<[u8]>, Error> {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    let root = proxylet_artifact::build::workspace_root(&start).ok_or_else(|| {
        Error::Build(format!(
            "no Cargo.lock above {}: cannot find the workspace of `{package}`",
            start.display()
        ))
    })?;
    let built =
        proxylet_artifact::build::build_package(&root, package, &root.join("target").join("wasm"))
            .map_err(|e| Error::Build(e.to_string()))?;
    let wasm = std::fs::read(&built.wasm)
        .map_err(|e| Error::Io(format!("{}: {e}", built.wasm.display())))?;
    Ok(wasm.into())
}

/// The two hosts of a filter crate: `("native", …)` running `filters` linked into the test
/// binary, and `("wasm", …)` running the module built from `package` (see [`build`]).
///
/// # Panics
/// When the package cannot be built or loaded: that is a failed test.
pub fn hosts(package: &str, filters: &'static [Registration]) -> Vec<(&'static str, Host)> {
    let wasm = build(package).unwrap_or_else(|e| panic!("{e}"));
    let module = load(&wasm).unwrap_or_else(|e| panic!("loading `{package}`: {e}"));
    vec![("native", Host::native(filters)), ("wasm", module)]
}

/// Runs `test` on each of [`hosts`]`(package, filters)`, a fresh host each time; when it
/// fails, the panic says on which backend.
pub fn for_each_backend(package: &str, filters: &'static [Registration], test: impl Fn(Host)) {
    for (backend, host) in hosts(package, filters) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| test(host))) {
            eprintln!("the test failed on the {backend} backend (package `{package}`)");
            resume_unwind(panic);
        }
    }
}
