//! `check FILE.wasm` on the real flagship and on hand-made modules with foreign imports.

mod common;

use cargo_proxylet::wasm::tests_support::module;
use common::{flagship, Cli, TempDir};

#[test]
fn the_flagship_passes_with_its_abi_root_id_and_size() {
    let cli = Cli::new();
    let wasm = flagship();
    let report = cli.ok(&["check", wasm.to_str().unwrap()]);
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(report.contains(&format!("{size} bytes")), "{report}");
    assert!(report.contains("proxy-wasm 0.2.1"), "{report}");
    assert!(report.contains("root ids  add_header"), "{report}");
    assert!(report.contains(", 0 flagged"), "{report}");
    assert!(report.contains("proxy_on_response_headers"), "{report}");
    assert!(report.contains("ok: loadable by Envoy"), "{report}");

    let json: serde_json::Value =
        serde_json::from_str(&cli.ok(&["check", "--json", wasm.to_str().unwrap()])).unwrap();
    assert_eq!(json["abiVersions"], serde_json::json!(["0.2.1"]));
    assert_eq!(json["rootIds"], serde_json::json!(["add_header"]));
    assert_eq!(json["size"], size);
    let imports = json["imports"].as_array().unwrap();
    assert!(!imports.is_empty());
    assert!(
        imports.iter().all(|i| i["flagged"] == false),
        "{imports:#?}"
    );
    assert!(imports
        .iter()
        .all(|i| i["module"] == "env" || i["module"] == "wasi_snapshot_preview1"));
}

#[test]
fn a_module_with_a_foreign_import_is_flagged_and_fails() {
    let cli = Cli::new();
    let dir = TempDir::new("check");
    let bad = dir.join("bad.wasm");
    std::fs::write(
        &bad,
        module(
            &[
                ("env", "proxy_log"),
                ("env", "emscripten_memcpy_big"),
                ("wasi_snapshot_preview1", "fd_write"),
            ],
            &[
                "proxy_abi_version_0_2_1",
                "_initialize",
                "proxy_on_request_headers",
            ],
        ),
    )
    .unwrap();
    let output = cli.run(&["check", bad.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("3 (2 from env, 1 from wasi_snapshot_preview1), 1 flagged"),
        "{report}"
    );
    assert!(
        report.contains("error: imports func `env.emscripten_memcpy_big`, which is not a proxy-wasm ABI 0.2.1 host function"),
        "{report}"
    );
    assert!(report.contains("root ids  unknown"), "{report}");

    let no_abi = dir.join("no-abi.wasm");
    std::fs::write(&no_abi, module(&[], &["_start"])).unwrap();
    let output = cli.run(&["check", no_abi.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout)
        .contains("exports no `proxy_abi_version_*` function"));

    let not_wasm = dir.join("text.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    let error = cli.fails(&["check", not_wasm.to_str().unwrap()]);
    assert!(error.contains("not a WebAssembly module"), "{error}");
}

/// The `proxy_on_*` entry points of a module (from `check --json`), sorted.
fn entry_points(cli: &Cli, wasm: &std::path::Path) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_str(&cli.ok(&["check", "--json", wasm.to_str().unwrap()])).unwrap();
    let mut hooks: Vec<String> = json["exports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .filter(|name| name.starts_with("proxy_on_"))
        .map(str::to_owned)
        .collect();
    hooks.sort();
    hooks
}

/// Envoy calls only what a module exports, and each call into the VM costs: a module
/// exports the entry points its filters' hooks need, whether it has one `#[filter]` or
/// several listed in `main!` (here an HTTP and two TCP filters, one with a plugin, `on_log`
/// and `on_done`). Plus
/// the first entry point of the other kind of stream, which Envoy calls only for a root id
/// configured in the wrong kind of chain, to refuse it (`mixed-module`'s Envoy tests).
#[test]
fn modules_export_only_the_entry_points_their_hooks_need() {
    let cli = Cli::new();
    let base = [
        "proxy_on_configure",
        "proxy_on_context_create",
        "proxy_on_delete",
        "proxy_on_memory_allocate",
        "proxy_on_vm_start",
    ];
    let expect = |extra: &[&str]| {
        let mut all: Vec<String> = base.iter().chain(extra).map(|s| s.to_string()).collect();
        all.sort();
        all
    };
    assert_eq!(
        entry_points(&cli, &flagship()),
        expect(&["proxy_on_new_connection", "proxy_on_response_headers"])
    );

    let dir = TempDir::new("entry-points");
    let mixed = dir.join("mixed.wasm");
    std::fs::write(&mixed, common::package_bytes("mixed-module")).unwrap();
    assert_eq!(
        entry_points(&cli, &mixed),
        expect(&[
            "proxy_on_done",
            "proxy_on_downstream_data",
            "proxy_on_grpc_close",
            "proxy_on_grpc_receive",
            "proxy_on_grpc_receive_initial_metadata",
            "proxy_on_grpc_receive_trailing_metadata",
            "proxy_on_http_call_response",
            "proxy_on_log",
            "proxy_on_new_connection",
            "proxy_on_queue_ready",
            "proxy_on_request_headers",
            "proxy_on_response_headers",
            "proxy_on_tick",
        ])
    );
}
