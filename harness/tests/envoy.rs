//! The harness against a real Envoy 1.40: `PROXYLET_ENVOY`, or installed into
//! `target/tools` on first use.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use proxylet_harness::bootstrap::socket_address;
use proxylet_harness::{
    validate, Bootstrap, Envoy, EnvoyOptions, FailurePolicy, LuaFilter, Request, Response,
    Upstream, WasmCode, WasmFilter,
};
use serde_json::json;

use common::{envoy_binary, write_add_header_wasm, ScratchDir};

fn options() -> EnvoyOptions {
    EnvoyOptions::default().envoy(envoy_binary())
}

fn start(bootstrap: &Bootstrap) -> Envoy {
    match Envoy::start(bootstrap, options()) {
        Ok(envoy) => envoy,
        Err(e) => panic!("{e}"),
    }
}

fn send(request: Request, envoy: &Envoy) -> Response {
    match request.send(envoy.listener_addr()) {
        Ok(response) => response,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn envoy_proxies_to_the_upstream() {
    let upstream = Upstream::start_default().unwrap();
    let envoy = start(&Bootstrap::http().cluster("upstream", upstream.addr()));

    let response = send(Request::get("/hello?x=1"), &envoy);

    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"upstream says hi\n");
    assert_eq!(response.header_str("content-type"), Some("text/plain"));
    assert_eq!(response.header_str("server"), Some("envoy"));
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/hello?x=1");
    // Envoy adds its own headers on the way.
    assert!(requests[0].header_value("x-request-id").is_some());
    assert_eq!(requests[0].header_str("x-forwarded-proto"), Some("http"));
    // The listener and admin ports were picked by Envoy and read back.
    assert_ne!(envoy.listener_addr().port(), 0);
    assert!(envoy.listener_addr().ip().is_loopback());
    assert_ne!(envoy.admin_addr().port(), 0);
    assert_eq!(
        envoy.stat("cluster.upstream.upstream_rq_200").unwrap(),
        Some(1)
    );
}

#[test]
fn lua_filter_adds_a_response_header() {
    let upstream = Upstream::start_default().unwrap();
    let bootstrap = Bootstrap::http()
        .filter(LuaFilter::new(
            r#"function envoy_on_response(handle) handle:headers():add("x-lua", "yes") end"#,
        ))
        .cluster("upstream", upstream.addr());
    let envoy = start(&bootstrap);

    let response = send(Request::get("/"), &envoy);

    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-lua"), Some(&b"yes"[..]));
    assert_eq!(response.body, b"upstream says hi\n");
}

#[test]
fn wasm_filter_runs_in_the_chain_after_lua() {
    let dir = ScratchDir::new("wasm-chain");
    let wasm = write_add_header_wasm(dir.path());
    let upstream = Upstream::start_default().unwrap();
    let bootstrap = Bootstrap::http()
        .filter(
            WasmFilter::local("add-header", &wasm)
                .config("{}\u{1}anything")
                .failure_policy(FailurePolicy::FailReload),
        )
        .filter(LuaFilter::new(
            r#"function envoy_on_response(handle) handle:headers():add("x-lua", "yes") end"#,
        ))
        .cluster("upstream", upstream.addr());
    assert_eq!(validate(&envoy_binary(), &bootstrap), Ok(()));
    let envoy = start(&bootstrap);

    let response = send(Request::get("/"), &envoy);

    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-wasm"), Some(&b"yes"[..]));
    assert_eq!(response.header("x-lua"), Some(&b"yes"[..]));
    // Response filters run in reverse order: Lua first, then Wasm.
    let names: Vec<&str> = response
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| n.starts_with("x-") && !n.starts_with("x-envoy-"))
        .collect();
    assert_eq!(names, ["x-lua", "x-wasm"]);
}

#[test]
fn non_utf8_header_value_is_forwarded_byte_for_byte() {
    // Envoy 1.40 accepts a header value of bytes 0xff 0xfe (obs-text is allowed by
    // RFC 9110) and forwards it unchanged; a filter using proxy-wasm's `String` getters
    // would trap on it, which is why the tests send it.
    let upstream = Upstream::start_default().unwrap();
    let envoy = start(&Bootstrap::http().cluster("upstream", upstream.addr()));

    let response = send(
        Request::get("/").header(b"x-raw".as_slice(), [0xff, 0xfe]),
        &envoy,
    );

    assert_eq!(response.status, 200);
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header_value("x-raw"), Some(&[0xff, 0xfe][..]));
}

#[test]
fn thousands_of_headers_get_431_before_any_filter() {
    let upstream = Upstream::start_default().unwrap();
    let envoy = start(&Bootstrap::http().cluster("upstream", upstream.addr()));

    // The client adds `host` and `connection`: 98 more make 100, Envoy's default limit
    // (`max_request_headers_count`).
    let at_limit = (0..98).fold(Request::get("/"), |r, i| r.header(format!("x-h{i}"), "v"));
    assert_eq!(send(at_limit, &envoy).status, 200);
    let over = (0..99).fold(Request::get("/"), |r, i| r.header(format!("x-h{i}"), "v"));
    assert_eq!(send(over, &envoy).status, 431);
    let many = (0..5000).fold(Request::get("/"), |r, i| r.header(format!("x-h{i}"), "v"));
    assert_eq!(send(many, &envoy).status, 431);
    assert_eq!(upstream.requests().len(), 1);
}

#[test]
fn route_config_sends_canary_requests_to_another_cluster() {
    let stable = Upstream::start(|_: &Request| Response::text(200, "stable")).unwrap();
    let canary = Upstream::start(|_: &Request| Response::text(200, "canary")).unwrap();
    let bootstrap = Bootstrap::http()
        .cluster("stable", stable.addr())
        .cluster("canary", canary.addr())
        .route_config(json!({
            "name": "canary_routing",
            "virtual_hosts": [{
                "name": "all",
                "domains": ["*"],
                "routes": [
                    {
                        "match": {
                            "prefix": "/",
                            "headers": [{ "name": "x-canary", "string_match": { "exact": "1" } }],
                        },
                        "route": { "cluster": "canary" },
                    },
                    { "match": { "prefix": "/" }, "route": { "cluster": "stable" } },
                ],
            }],
        }));
    let envoy = start(&bootstrap);

    assert_eq!(send(Request::get("/"), &envoy).body, b"stable");
    assert_eq!(
        send(Request::get("/").header("x-canary", "1"), &envoy).body,
        b"canary"
    );
}

#[test]
fn tcp_proxy_with_a_wasm_network_filter_forwards_bytes() {
    let dir = ScratchDir::new("tcp");
    let wasm = write_add_header_wasm(dir.path());
    let upstream = Upstream::start_default().unwrap();
    let bootstrap = Bootstrap::tcp()
        .network_filter(WasmFilter::local("tcp-wasm", &wasm))
        .cluster("upstream", upstream.addr());
    assert_eq!(validate(&envoy_binary(), &bootstrap), Ok(()));
    let envoy = start(&bootstrap);

    let response = send(Request::get("/through-tcp"), &envoy);

    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"upstream says hi\n");
    // Plain TCP: Envoy adds no HTTP header.
    assert_eq!(response.header("server"), None);
    assert_eq!(upstream.requests()[0].header_value("x-request-id"), None);
}

#[test]
fn validate_accepts_the_generated_bootstraps() {
    let envoy = envoy_binary();
    let dir = ScratchDir::new("validate");
    let wasm = write_add_header_wasm(dir.path());
    let addr = "127.0.0.1:9".parse().unwrap();
    let bootstraps = [
        Bootstrap::http(),
        Bootstrap::http().cluster("upstream", addr),
        Bootstrap::http()
            .filter(LuaFilter::new("function envoy_on_request(handle) end"))
            .filter(
                WasmFilter::local("w", &wasm)
                    .root_id("r")
                    .vm_id("v")
                    .config("c"),
            )
            .filter(json!({
                "name": "envoy.filters.http.buffer",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
                    "max_request_bytes": 1024,
                },
            }))
            .cluster("upstream", addr)
            .add_cluster(proxylet_harness::Cluster::new("grpc", addr).http2())
            .raw_cluster(json!({
                "name": "callout",
                "type": "STATIC",
                "load_assignment": {
                    "cluster_name": "callout",
                    "endpoints": [{ "lb_endpoints": [{ "endpoint": {
                        "address": socket_address("127.0.0.1", 10)
                    } }] }],
                },
            })),
        // Every failure policy is known to Envoy 1.40.
        Bootstrap::http()
            .filter(WasmFilter::local("a", &wasm).failure_policy(FailurePolicy::FailClosed))
            .filter(WasmFilter::local("b", &wasm).failure_policy(FailurePolicy::FailOpen))
            .filter(WasmFilter::local("c", &wasm).failure_policy(FailurePolicy::FailReload)),
        // Validation does not fetch remote code: the cluster must exist, the URL need not.
        Bootstrap::http()
            .filter(WasmFilter::new(
                "remote",
                WasmCode::Remote {
                    uri: "http://127.0.0.1:9/filter.wasm".into(),
                    sha256: "ab".repeat(32),
                    cluster: "modules".into(),
                    timeout: Duration::from_millis(1500),
                },
            ))
            .cluster("modules", addr),
        Bootstrap::tcp().cluster("upstream", addr),
        Bootstrap::tcp()
            .network_filter(WasmFilter::local("n", &wasm))
            .cluster("a", addr)
            .cluster("b", addr)
            .tcp_proxy_cluster("b"),
    ];
    for bootstrap in &bootstraps {
        if let Err(log) = validate(&envoy, bootstrap) {
            panic!(
                "Envoy refused\n{}\n{log}",
                serde_json::to_string_pretty(&bootstrap.to_json()).unwrap()
            );
        }
    }
}

#[test]
fn validate_loads_the_wasm_module() {
    let envoy = envoy_binary();
    let dir = ScratchDir::new("validate-wasm");

    // The file must exist...
    let missing = dir.path().join("missing.wasm");
    let log = validate(
        &envoy,
        &Bootstrap::http().filter(WasmFilter::local("w", &missing)),
    )
    .unwrap_err();
    assert!(
        log.contains(&format!("Invalid path: {}", missing.display())),
        "{log}"
    );

    // ...and be a proxy-wasm module: validate runs the VM.
    let empty = dir.path().join("empty.wasm");
    std::fs::write(&empty, b"\0asm\x01\0\0\0").unwrap();
    let log = validate(
        &envoy,
        &Bootstrap::http().filter(WasmFilter::local("w", &empty)),
    )
    .unwrap_err();
    assert!(
        log.contains("Missing or unknown Proxy-Wasm ABI version"),
        "{log}"
    );

    // ...whose `proxy_on_configure` accepts the configuration.
    let wasm = write_add_header_wasm(dir.path());
    let log = validate(
        &envoy,
        &Bootstrap::http().filter(WasmFilter::local("w", &wasm).config("bad")),
    )
    .unwrap_err();
    assert!(log.contains("Unable to create Wasm plugin w"), "{log}");
}

#[test]
fn validate_rejects_a_broken_bootstrap() {
    let envoy = envoy_binary();
    let unknown_cluster = Bootstrap::tcp().tcp_proxy_cluster("nowhere");
    let port_out_of_range = Bootstrap::http().listener_address("127.0.0.1", 99_999);
    let unknown_field = Bootstrap::from_json(json!({ "static_resources": { "listenerz": [] } }));

    for (bootstrap, expected) in [
        (
            &port_out_of_range,
            "value must be less than or equal to 65535",
        ),
        (&unknown_field, "listenerz"),
    ] {
        let log = validate(&envoy, bootstrap).unwrap_err();
        assert!(log.contains(expected), "expected {expected:?} in\n{log}");
    }
    // A `tcp_proxy` to an unknown cluster is only noticed per connection, not by validate.
    assert_eq!(validate(&envoy, &unknown_cluster), Ok(()));
}

#[test]
fn run_expecting_failure_returns_the_log_of_a_refused_listener() {
    // 192.0.2.1 (TEST-NET-1) is not an address of this machine: bind fails.
    let bootstrap = Bootstrap::http().listener_address("192.0.2.1", 0);

    let started = Instant::now();
    let (status, log) =
        Envoy::run_expecting_failure(&bootstrap, options(), Duration::from_secs(20)).unwrap();

    assert_eq!(status.code(), Some(1));
    assert!(
        log.contains("cannot bind '192.0.2.1:0': Cannot assign requested address"),
        "{log}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn run_expecting_failure_on_an_accepted_config_kills_envoy_and_says_so() {
    let bootstrap = Bootstrap::http();

    let error =
        Envoy::run_expecting_failure(&bootstrap, options(), Duration::from_secs(2)).unwrap_err();

    assert!(
        error.message().contains("still running after 2s"),
        "{error}"
    );
    assert!(
        error.log().unwrap().contains("starting main dispatch loop"),
        "{error}"
    );
}

#[test]
fn start_failure_carries_the_log() {
    let dir = ScratchDir::new("start-failure");
    let wasm = write_add_header_wasm(dir.path());
    // The module's `proxy_on_configure` refuses a 3-byte configuration.
    let bootstrap = Bootstrap::http().filter(WasmFilter::local("refuses", &wasm).config("bad"));

    let error = Envoy::start(&bootstrap, options()).unwrap_err();

    assert!(
        error.message().contains("Envoy exited during startup"),
        "{error}"
    );
    let log = error.log().unwrap();
    assert!(
        log.contains("Unable to create Wasm plugin refuses"),
        "{log}"
    );
    // Display shows the log too, so `unwrap()` in a test prints it.
    assert!(error
        .to_string()
        .contains("Unable to create Wasm plugin refuses"));
}

#[test]
fn start_needs_an_admin_section() {
    let error = Envoy::start(
        &Bootstrap::from_json(json!({ "static_resources": {} })),
        options(),
    )
    .unwrap_err();
    assert!(error.message().contains("no `admin` section"), "{error}");
}

#[test]
fn two_envoys_run_at_once() {
    let upstream = Upstream::start_default().unwrap();
    let bootstrap = Bootstrap::http().cluster("upstream", upstream.addr());
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| start(&bootstrap));
        let b = s.spawn(|| start(&bootstrap));
        (a.join().unwrap(), b.join().unwrap())
    });

    assert_ne!(a.listener_addr(), b.listener_addr());
    assert_ne!(a.admin_addr(), b.admin_addr());
    assert_eq!(send(Request::get("/a"), &a).status, 200);
    assert_eq!(send(Request::get("/b"), &b).status, 200);
    assert_eq!(upstream.requests().len(), 2);
}

#[test]
fn drop_stops_envoy_and_removes_its_directory() {
    let envoy = start(&Bootstrap::http());
    let pid = envoy.pid().unwrap();
    let dir = envoy.dir().to_path_buf();
    let proc_dir = Path::new("/proc").join(pid.to_string());
    assert!(proc_dir.exists());
    assert!(dir.join("envoy.json").is_file());
    assert!(envoy.log().contains("starting main dispatch loop"));

    drop(envoy);

    // Reaped, not a zombie: the /proc entry is gone.
    assert!(!proc_dir.exists(), "Envoy {pid} still exists");
    assert!(!dir.exists());
}

#[test]
fn stop_is_graceful_and_idempotent() {
    let mut envoy = start(&Bootstrap::http());

    let status = envoy.stop().unwrap();

    // `/quitquitquit` makes Envoy exit by itself with status 0.
    assert!(status.unwrap().success());
    assert_eq!(envoy.pid(), None);
    assert_eq!(envoy.stop().unwrap(), None);
    assert!(envoy.log().contains("shutting down server instance"));
}

#[test]
fn admin_api_and_log_are_reachable() {
    let upstream = Upstream::start_default().unwrap();
    let envoy = Envoy::start(
        &Bootstrap::http().cluster("upstream", upstream.addr()),
        options().component_log_level("wasm:debug,lua:debug"),
    )
    .unwrap();

    send(Request::get("/logged"), &envoy);

    assert!(envoy
        .admin_get("/stats")
        .unwrap()
        .contains("http.ingress_http.downstream_rq_total: 1"));
    let listeners = envoy.admin_get("/listeners?format=json").unwrap();
    assert!(listeners.contains(&envoy.listener_addr().port().to_string()));
    assert!(envoy.admin_post("/reset_counters").is_ok());
    let error = envoy.admin_get("/no-such-page").unwrap_err();
    assert!(
        error
            .message()
            .contains("answered GET /no-such-page with 404"),
        "{error}"
    );
    // The stdout access log lands in the log.
    envoy
        .wait_for_log("\"GET /logged HTTP/1.1\" 200", Duration::from_secs(5))
        .unwrap();
    assert_eq!(envoy.listeners()[0].0, "main");
}

/// Set in the child process of [`envoy_dies_with_a_killed_test_process`].
const CHILD_ENV: &str = "PROXYLET_HARNESS_TEST_CHILD";

#[cfg(target_os = "linux")]
#[test]
fn envoy_dies_with_a_killed_test_process() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    if std::env::var_os(CHILD_ENV).is_some() {
        // The child: start Envoy, say its pid, and wait to be killed (no Drop will run).
        let envoy = start(&Bootstrap::http());
        println!("envoy dir {}", envoy.dir().display());
        println!("envoy pid {}", envoy.pid().unwrap());
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "envoy_dies_with_a_killed_test_process",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = |prefix: &str| {
        lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix(prefix).map(str::to_string))
            .unwrap_or_else(|| panic!("the child test printed no {prefix:?} line"))
    };
    let dir = ScratchDir::adopt(printed("envoy dir ").into());
    let pid = printed("envoy pid ");
    assert!(running(&pid));

    // SIGKILL: the test process gets no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();

    // PR_SET_PDEATHSIG kills Envoy (init reaps it, maybe later: a zombie counts as dead).
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(&pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !running(&pid),
        "Envoy {pid} outlived the killed test process"
    );
    // Its temporary directory is left behind (nobody ran Drop); the scratch guard removes it.
    assert!(dir.path().join("envoy.json").exists());
}

/// Whether process `pid` exists and is not a zombie.
fn running(pid: &str) -> bool {
    match std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")) {
        // The state follows the command name in parentheses: `pid (comm) S ...`.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn a_failing_test_prints_the_envoy_log() {
    if std::env::var_os(CHILD_ENV).is_some() {
        // The child: a test that fails while Envoy runs.
        let _envoy = start(&Bootstrap::http());
        panic!("the test failed");
    }
    // Without --nocapture: the log must reach the test's failure report regardless.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["a_failing_test_prints_the_envoy_log", "--exact"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);

    assert!(!output.status.success());
    assert!(stdout.contains("the test failed"), "{stdout}");
    assert!(stdout.contains("--- Envoy log ("), "{stdout}");
    assert!(stdout.contains("starting main dispatch loop"), "{stdout}");
}

#[cfg(target_os = "linux")]
#[test]
fn envoy_pinned_to_a_cpu_runs_every_thread_there() {
    let envoy = Envoy::start(&Bootstrap::http(), options().cpus([0])).unwrap();
    let pid = envoy.pid().unwrap();

    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    let mut threads = 0;
    for task in tasks {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        let allowed = status
            .lines()
            .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
            .map(str::trim);
        assert_eq!(allowed, Some("0"), "{status}");
        threads += 1;
    }
    // The main thread and the worker at least.
    assert!(threads >= 2, "{threads} threads");
}
