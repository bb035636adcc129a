//! What happens when a filter author's own code panics (an `unwrap`, an index out of
//! bounds): the VM traps, and Envoy's `failure_policy` decides what comes next. proxylet
//! cannot catch the panic (wasm32 has no unwinding), so these tests pin down each policy's
//! behavior for the book's "Choosing a failure policy" section.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use proxylet_artifact::build::{build_package, workspace_root};
use proxylet_harness::{
    Bootstrap, Envoy, EnvoyOptions, FailurePolicy, Request, Upstream, WasmFilter,
};

fn probe() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            build_package(&root, "panic-probe", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"))
                .wasm
        })
        .clone()
}

/// Starts Envoy with the probe under `policy`; returns statuses and `x-probe` of: one
/// normal request, the panicking one, then five normal ones.
fn run(policy: FailurePolicy) -> (Vec<(u16, bool)>, String) {
    let upstream = Upstream::start_default().unwrap();
    let bootstrap = Bootstrap::http()
        .filter(
            WasmFilter::local("panic_probe", probe())
                .root_id("panic_probe")
                .failure_policy(policy),
        )
        .cluster("upstream", upstream.addr());
    let envoy = Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap();
    let send = |panic: bool| {
        let mut request = Request::get("/").timeout(Duration::from_secs(10));
        if panic {
            request = request.header("x-panic", "1");
        }
        let response = request.send(envoy.listener_addr()).unwrap();
        (
            response.status,
            response.header_str("x-probe") == Some("alive"),
        )
    };
    let mut seen = vec![send(false), send(true)];
    // FAIL_RELOAD reloads the VM with a backoff (Envoy's `reload_config`, base interval
    // 1 s by default): look at the steady state after it.
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..5 {
        seen.push(send(false));
    }
    (seen, envoy.log())
}

#[test]
fn fail_closed_answers_503_to_everything_after_a_panic() {
    let (seen, log) = run(FailurePolicy::FailClosed);
    assert_eq!(seen[0], (200, true), "{log}");
    assert_eq!(seen[1].0, 503, "{log}");
    assert!(seen[2..].iter().all(|s| s.0 == 503), "{seen:?}\n{log}");
    assert!(
        log.contains("panic in filter: panicked at"),
        "the panic is logged:\n{log}"
    );
}

#[test]
fn fail_reload_loses_only_the_panicking_request() {
    let (seen, log) = run(FailurePolicy::FailReload);
    assert_eq!(seen[0], (200, true), "{log}");
    assert_eq!(seen[1].0, 503, "{log}");
    assert!(
        seen[2..].iter().all(|s| *s == (200, true)),
        "{seen:?}\n{log}"
    );
}

#[test]
fn fail_open_passes_later_requests_without_the_filter() {
    let (seen, log) = run(FailurePolicy::FailOpen);
    assert_eq!(seen[0], (200, true), "{log}");
    assert_eq!(seen[1].0, 503, "{log}");
    assert!(
        seen[2..].iter().all(|s| *s == (200, false)),
        "{seen:?}\n{log}"
    );
}
