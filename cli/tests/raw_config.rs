//! Filters whose configuration is text (`String`) or bytes (`Vec<u8>`), from the
//! `raw-config` fixture: `run` and `deploy envoy` pass `--config`/`--config-file` on
//! unchanged (a `StringValue`, or a `BytesValue` for bytes that are not UTF-8; Envoy
//! validates the bootstraps), text that is not UTF-8 is refused before anything is
//! written, Istio and Envoy Gateway (which re-encode every configuration as JSON) refuse a
//! text or bytes configuration saying what to do and still deploy without one (manifests
//! checked against the real CRDs), and `check` says which filters take text or bytes.

mod common;

use cargo_proxylet::image::{Image, Variant};
use cargo_proxylet::reference::Reference;
use cargo_proxylet::store::Store;
use common::openapi::{crd_schema, validate};
use common::{Cli, TempDir};
use proxylet_artifact::build::Target;
use serde_json::{json, Value};

const IMAGE: &str = "registry.example:5000/filters/raw-config:v1";
const ISTIO_CRD: &str = "istio-wasmplugins.extensions.istio.io.yaml";
const GATEWAY_CRD: &str = "envoy-gateway-envoyextensionpolicies.gateway.envoyproxy.io.yaml";

/// The fixture's `.wasm`, written to `dir`.
fn wasm(dir: &TempDir) -> String {
    let path = dir.join("raw_config.wasm");
    std::fs::write(&path, common::package_bytes("raw-config")).unwrap();
    path.to_str().unwrap().to_owned()
}

fn json_file(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

const HTTP_FILTER: &str =
    "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters/0/typed_config";

#[test]
fn deploy_envoy_passes_text_and_bytes_on_unchanged_and_envoy_takes_them() {
    let cli = Cli::new();
    let dir = TempDir::new("raw-envoy");
    let wasm = wasm(&dir);

    // Text that is not JSON, as given.
    let text = " deny /admin\n\t{not json} caf\u{e9}\n";
    let out = dir.join("text.json");
    cli.ok(&[
        "deploy",
        "envoy",
        "--wasm",
        &wasm,
        "--root-id",
        "text_config",
        "--config",
        text,
        "-o",
        out.to_str().unwrap(),
    ]);
    let config = &json_file(&out).pointer(HTTP_FILTER).unwrap()["config"]["configuration"].clone();
    assert_eq!(
        config,
        &json!({ "@type": "type.googleapis.com/google.protobuf.StringValue", "value": text })
    );

    // Bytes that are not UTF-8 (with NULs), from a file, as a BytesValue.
    let bytes = dir.join("config.bin");
    std::fs::write(&bytes, b"\0\xff\xfe\0raw").unwrap();
    let out = dir.join("bytes.json");
    cli.ok(&[
        "deploy",
        "envoy",
        "--wasm",
        &wasm,
        "--root-id",
        "bytes_config",
        "--config-file",
        bytes.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let config = &json_file(&out).pointer(HTTP_FILTER).unwrap()["config"]["configuration"].clone();
    assert_eq!(
        config,
        &json!({ "@type": "type.googleapis.com/google.protobuf.BytesValue", "value": "AP/+AHJhdw==" })
    );

    // Text that is not UTF-8: refused before Envoy sees it, and nothing is written.
    let latin1 = dir.join("latin1.txt");
    std::fs::write(&latin1, b"caf\xe9").unwrap();
    let out = dir.join("refused.json");
    let error = cli.fails(&[
        "deploy",
        "envoy",
        "--wasm",
        &wasm,
        "--root-id",
        "text_config",
        "--config-file",
        latin1.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        error.contains("is not UTF-8 text (byte 0xe9 at offset 3), and filter `text_config` takes its configuration as text"),
        "{error}"
    );
    assert!(!out.exists());
}

#[test]
fn deploy_envoy_native_passes_text_on_unchanged() {
    let cli = Cli::new();
    let dir = TempDir::new("raw-native");
    let library =
        proxylet_artifact::build::build_module(&common::root(), "raw-config", Target::Native)
            .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("native.json");
    cli.ok(&[
        "deploy",
        "envoy",
        "--native",
        "--wasm",
        library.to_str().unwrap(),
        "--root-id",
        "lines_config",
        "--config",
        "alpha\nbeta\n",
        "-o",
        out.to_str().unwrap(),
    ]);
    let filter = json_file(&out).pointer(HTTP_FILTER).unwrap().clone();
    assert_eq!(filter["filter_name"], "lines_config");
    assert_eq!(filter["filter_config"]["value"], "alpha\nbeta\n");
}

#[test]
fn run_hands_the_filter_the_text_as_given() {
    let cli = Cli::new();
    let dir = TempDir::new("raw-run");
    let wasm = wasm(&dir);
    let ran = cli.ok(&[
        "run",
        &wasm,
        "--root-id",
        "text_config",
        "--validate",
        "--config",
        "no JSON here \u{1f980}",
    ]);
    assert!(ran.starts_with("HTTP/1.1 200"), "{ran}");
    assert!(ran.lines().any(|l| l == "x-config-len: 17"), "{ran}");
    assert!(ran.ends_with("no JSON here \u{1f980}"), "{ran}");
}

/// A CLI whose store holds the fixture as IMAGE.
fn cli_with_image() -> Cli {
    let cli = Cli::new();
    let image = Image::build(&common::package_bytes("raw-config"), Variant::Oci).unwrap();
    Store::open(cli.store.path())
        .unwrap()
        .put(&IMAGE.parse::<Reference>().unwrap(), &image)
        .unwrap();
    cli
}

#[test]
fn istio_and_envoy_gateway_refuse_a_text_config_saying_what_to_do() {
    let cli = cli_with_image();
    let istio = [
        "deploy",
        "istio",
        "--image",
        IMAGE,
        "--root-id",
        "text_config",
    ];
    let error = cli.fails(&[&istio[..], &["--config", "deny /admin"]].concat());
    assert!(
        error.contains(
            "filter `text_config` takes its configuration as text (its config type is `String`), \
             and Istio's WasmPlugin takes pluginConfig as a JSON object"
        ),
        "{error}"
    );
    assert!(error.contains("`cargo proxylet deploy envoy`"), "{error}");
    // Not even a JSON object passes: Istio would hand the filter its re-encoding.
    cli.fails(&[&istio[..], &["--config", r#"{"a": 1}"#]].concat());
    // Without a configuration (the filter gets an empty one), a valid WasmPlugin.
    let manifest: Value = serde_norway::from_str(&cli.ok(&istio)).unwrap();
    assert_eq!(
        validate(&crd_schema(ISTIO_CRD, "v1alpha1"), &manifest),
        Vec::<String>::new()
    );
    assert_eq!(manifest["spec"]["pluginName"], "text_config");
    assert!(
        manifest["spec"].get("pluginConfig").is_none(),
        "{manifest:#}"
    );

    let gateway = [
        "deploy",
        "gateway",
        "--image",
        IMAGE,
        "--root-id",
        "bytes_config",
        "--target-ref",
        "Gateway/eg",
    ];
    let error = cli.fails(&[&gateway[..], &["--config", "raw"]].concat());
    assert!(
        error.contains(
            "filter `bytes_config` takes its configuration as bytes (its config type is \
             `Vec<u8>`), and Envoy Gateway hands the filter its `config` re-encoded as JSON text"
        ),
        "{error}"
    );
    let policy: Value = serde_norway::from_str(&cli.ok(&gateway)).unwrap();
    assert_eq!(
        validate(&crd_schema(GATEWAY_CRD, "v1alpha1"), &policy),
        Vec::<String>::new()
    );
    assert!(
        policy["spec"]["wasm"][0].get("config").is_none(),
        "{policy:#}"
    );
}

#[test]
fn check_says_which_filters_take_text_or_bytes() {
    let cli = Cli::new();
    let dir = TempDir::new("raw-check");
    let wasm = wasm(&dir);
    let report = cli.ok(&["check", &wasm]);
    assert!(
        report.contains(
            "text_config: text, passed on as it is (a `String` config, UTF-8; no schema)"
        ),
        "{report}"
    );
    assert!(
        report.contains("bytes_config: bytes, passed on as it is (a `Vec<u8>` config; no schema)"),
        "{report}"
    );
    let report: Value = serde_json::from_str(&cli.ok(&["check", "--json", &wasm])).unwrap();
    assert_eq!(
        report["configFormats"],
        json!({ "text_config": "text", "bytes_config": "bytes", "lines_config": "text" })
    );
    assert_eq!(report["configSchemas"], json!({}));
}
