//! What the fuzz targets share: the examples' modules, built for wasm32-wasip1 as they
//! ship, run in proxylet's wasm test host (`proxylet_testkit::wasm`, the wasmi interpreter).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use proxylet_testkit::Host;

/// The built modules, by package.
fn modules() -> std::sync::MutexGuard<'static, HashMap<String, Vec<u8>>> {
    static MODULES: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    MODULES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Builds the modules of `packages` (`"add-header"`) before fuzzing starts: call it from
/// `fuzz_target!(init: …)`, so that a build error stops the run before the first input.
///
/// The modules are built as the tests build them (release profile, the `cdylib` alone,
/// into `<repository>/target/wasm`) with the repository's default toolchain: `cargo
/// +nightly fuzz` selects nightly for every process it starts (`RUSTUP_TOOLCHAIN`,
/// `CARGO`), so `prepare` removes that selection from this process's environment first.
/// It runs before libFuzzer starts any thread.
///
/// # Panics
/// When a module cannot be built.
pub fn prepare(packages: &[&str]) {
    for var in [
        "RUSTUP_TOOLCHAIN",
        "RUSTUP_TOOLCHAIN_SOURCE",
        "CARGO",
        "RUSTC",
    ] {
        std::env::remove_var(var);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ is inside the repository");
    let mut modules = modules();
    for &package in packages {
        let built =
            proxylet_artifact::build::build_package(root, package, &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("building `{package}`: {e}"));
        let wasm =
            std::fs::read(&built.wasm).unwrap_or_else(|e| panic!("{}: {e}", built.wasm.display()));
        modules.insert(package.to_owned(), wasm);
    }
}

/// How many inputs one VM serves before a fresh one replaces it. Loading a module costs as
/// much as a few hundred inputs (wasmi parses, validates and translates it anew), so a VM
/// per input fuzzes at about ten runs a second under `cargo fuzz`; a VM kept forever would
/// pile up every input's plugin contexts and logs.
const INPUTS_PER_VM: u32 = 1000;

/// A host running the module of `package`, built by [`prepare`]: the same VM for up to
/// [`INPUTS_PER_VM`] inputs, as an Envoy worker's VM serves many plugins and streams. A
/// crash that does not reproduce from its input alone depends on what earlier inputs left
/// in the VM.
///
/// # Panics
/// When `package` was not prepared, or its module cannot be loaded.
pub fn host(package: &str) -> Host {
    thread_local! {
        static HOSTS: RefCell<HashMap<String, (Host, u32)>> = RefCell::default();
    }
    HOSTS.with(|hosts| {
        let mut hosts = hosts.borrow_mut();
        match hosts.get_mut(package) {
            Some((host, served)) if *served < INPUTS_PER_VM => {
                *served += 1;
                host.clone()
            }
            _ => {
                let host = load(package);
                hosts.insert(package.to_owned(), (host.clone(), 1));
                host
            }
        }
    })
}

fn load(package: &str) -> Host {
    let modules = modules();
    let wasm = modules.get(package).unwrap_or_else(|| {
        panic!("`{package}` was not built: call `prepare` in the target's `init`")
    });
    proxylet_testkit::wasm::load(wasm).unwrap_or_else(|e| panic!("loading `{package}`: {e}"))
}
