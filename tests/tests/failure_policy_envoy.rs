//! What happens when a filter author's own code panics (an `unwrap`, an index out of
//! bounds). In wasm the VM traps, and Envoy's `failure_policy` decides what comes next:
//! proxylet cannot catch the panic (wasm32 has no unwinding), so these tests pin down each
//! policy's behavior for the book's "Choosing a failure policy" section. Natively, proxylet
//! catches it at the hook (the last test).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use proxylet_artifact::build::{build_module, build_package, workspace_root, Target};
use proxylet_harness::{
    Bootstrap, Envoy, EnvoyOptions, FailurePolicy, ModuleFilter, Request, Upstream, WasmFilter,
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

/// Natively there is no VM to trap: every hook of proxylet's dynamic module catches a
/// panic before it reaches Envoy. The panicking request gets a 500 (the filter steps out
/// of that stream's way), the panic is in Envoy's log, and Envoy and the filter go on:
/// every later request is filtered as before.
#[test]
fn native_a_panic_answers_500_and_envoy_lives_on() {
    static NATIVE: OnceLock<PathBuf> = OnceLock::new();
    let module = NATIVE.get_or_init(|| {
        let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
        build_module(&root, "panic-probe", Target::Native).unwrap_or_else(|e| panic!("{e}"))
    });
    let upstream = Upstream::start_default().unwrap();
    let bootstrap = Bootstrap::http()
        .filter(ModuleFilter::local("panic_probe", module).root_id("panic_probe"))
        .cluster("upstream", upstream.addr());
    let envoy = Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap();
    let send = |panic: bool| {
        let mut request = Request::get("/").timeout(Duration::from_secs(10));
        if panic {
            request = request.header("x-panic", "1");
        }
        request.send(envoy.listener_addr()).unwrap()
    };

    assert_eq!(
        send(false).header_str("x-probe"),
        Some("alive"),
        "{}",
        envoy.log()
    );
    for round in 0..3 {
        let refused = send(true);
        assert_eq!(refused.status, 500, "round {round}: {}", envoy.log());
        assert_eq!(refused.text_body(), "filter error\n");
        for i in 0..5 {
            let response = send(false);
            assert_eq!(response.status, 200, "round {round}, request {i}");
            assert_eq!(response.header_str("x-probe"), Some("alive"));
        }
    }
    // Only the requests without `x-panic` reached the upstream.
    assert_eq!(upstream.requests().len(), 16);
    let log = envoy.log();
    assert_eq!(
        log.matches("panic in filter: panicked at").count(),
        3,
        "each panic is logged once:\n{log}"
    );
    assert!(log.contains("the author's bug: x-panic seen"), "{log}");
}

/// `on_log` runs once for every request that ends, on both targets, including the ones
/// the filter answers itself (natively, a local reply goes through Envoy's encoder chain
/// while the filter's hook is still running).
#[test]
fn on_log_runs_for_requests_the_filter_answers_itself() {
    for target in Target::BOTH {
        let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
        let module = build_module(&root, "panic-probe", target).unwrap_or_else(|e| panic!("{e}"));
        let upstream = Upstream::start_default().unwrap();
        let bootstrap = Bootstrap::http()
            .filter(ModuleFilter::local("panic_probe", module).root_id("panic_probe"))
            .cluster("upstream", upstream.addr());
        let envoy = Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap();
        for deny in [false, true, false, true, false] {
            let mut request = Request::get("/").timeout(Duration::from_secs(10));
            if deny {
                request = request.header("x-deny", "1");
            }
            let response = request.send(envoy.listener_addr()).unwrap();
            assert_eq!(response.status, if deny { 403 } else { 200 }, "{target}");
        }
        let stat = match target {
            Target::Wasm => "wasmcustom.probe.logged",
            Target::Native => "dynamicmodulescustom.probe.logged",
        };
        // Envoy flushes a stream's log after answering it: wait (bounded) for the count.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut logged = envoy.stat(stat).unwrap();
        while logged != Some(5) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            logged = envoy.stat(stat).unwrap();
        }
        assert_eq!(logged, Some(5), "{target}: {}", envoy.log());
        assert_eq!(upstream.requests().len(), 3, "{target}");
    }
}
