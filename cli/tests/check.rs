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
