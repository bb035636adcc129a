//! The native target through the CLI: `build --native` of the flagship, `run --native` in a
//! real Envoy 1.40 (`hello: melon`), `check` of the `.so`, `deploy envoy|gateway --native`
//! (the bootstrap checked by Envoy, the EnvoyExtensionPolicy against the real CRD schema),
//! and the native image through a real registry, down to Envoy fetching the library from
//! the registry's blob URL.

mod common;

use std::time::Duration;

use cargo_proxylet::image::{Manifest, NativeConfig, NATIVE_ARTIFACT, NATIVE_CONFIG, NATIVE_LAYER};
use cargo_proxylet::native::tests_support::shared_object;
use cargo_proxylet::native::{Platform, PROGRAM_INIT, REQUIRED_HTTP_FILTER_HOOKS};
use cargo_proxylet::reference::Reference;
use cargo_proxylet::registry::{Client, DockerAuth};
use common::openapi::{crd_identity, crd_schema, validate};
use common::{field, native_flagship, Cli, Registry, TempDir};
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, Request, Upstream};
use serde_json::{json, Value};

const GATEWAY_CRD: &str = "envoy-gateway-envoyextensionpolicies.gateway.envoyproxy.io.yaml";

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

/// Lines of `text` exactly equal to `line`.
fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn build_native_then_run_native_answers_hello_melon_from_envoy() {
    let cli = Cli::new();
    let built = cli.build_native_flagship("add-header:native");
    let library = field(&built, "module");
    assert!(library.ends_with("/libadd_header.so"), "{built}");
    assert!(std::path::Path::new(&library).is_absolute(), "{built}");
    let size = std::fs::metadata(&library).unwrap().len();
    assert_eq!(
        field(&built, "size"),
        format!("{} ({size} bytes)", cargo_proxylet::shell::size(size))
    );
    assert_eq!(field(&built, "root ids"), "add_header");
    assert_eq!(field(&built, "abi"), "Envoy dynamic modules v0.2.0");
    assert_eq!(field(&built, "platform"), Platform::host().to_string());

    // The .so, in Envoy's dynamic modules filter.
    let ran = cli.ok(&["run", "--native", &library, "--validate"]);
    assert!(ran.starts_with("HTTP/1.1 200"), "{ran}");
    assert!(has_line(&ran, "hello: melon"), "{ran}");

    // The image `build --native` stored, with a config.
    let configured = cli.ok(&[
        "run",
        "--native",
        "add-header:native",
        "--validate",
        "--config",
        r#"{"name":"x-fruit","value":"kiwi"}"#,
    ]);
    assert!(has_line(&configured, "x-fruit: kiwi"), "{configured}");

    // The config is checked against the schema the .so carries, before Envoy starts.
    let refused = cli.fails(&[
        "run",
        "--native",
        &library,
        "--validate",
        "--config",
        r#"{"name":"x-fruit","value":5}"#,
    ]);
    assert!(
        refused.contains("config.value: expected string, found integer 5"),
        "{refused}"
    );
    assert!(!refused.contains("Starting"), "{refused}");

    // The target must be the one asked for, both ways.
    let not_wasm = cli.fails(&["run", &library, "--validate"]);
    assert!(not_wasm.contains("is a native module"), "{not_wasm}");
    assert!(not_wasm.contains("pass --native"), "{not_wasm}");
    let wasm = common::flagship();
    let not_native = cli.fails(&["run", "--native", wasm.to_str().unwrap(), "--validate"]);
    assert!(
        not_native.contains("is not a native module"),
        "{not_native}"
    );
}

#[test]
fn check_reports_the_hooks_abi_version_and_root_ids_of_the_native_flagship() {
    let cli = Cli::new();
    let library = native_flagship();
    let report = cli.ok(&["check", library.to_str().unwrap()]);
    let size = std::fs::metadata(&library).unwrap().len();
    assert!(report.contains(&format!("{size} bytes")), "{report}");
    assert!(
        report.contains(&format!(
            "native: an Envoy dynamic module (ELF shared library), {}",
            Platform::host()
        )),
        "{report}"
    );
    // The ABI the SDK records in the module's `proxylet.runtime_config` section.
    assert!(
        report.contains("abi  Envoy dynamic modules v0.2.0"),
        "{report}"
    );
    assert!(report.contains("root ids  add_header"), "{report}");
    assert!(
        // Every HTTP filter hook Envoy requires, and the network filter's too (a proxylet
        // module serves both filters: 21 + 1 optional + 9).
        report.contains("31 exported; 21 of the 21 an HTTP filter module needs"),
        "{report}"
    );
    for hook in std::iter::once(PROGRAM_INIT).chain(REQUIRED_HTTP_FILTER_HOOKS) {
        assert!(
            has_line(&report, &format!("{:>14}  {hook}", "")),
            "{hook}:\n{report}"
        );
    }
    assert!(
        report.contains("config schema  add_header: object: name (string), value (string)"),
        "{report}"
    );
    assert!(
        report.contains(
            "ok: loadable by Envoy 1.40 (envoy.filters.http.dynamic_modules, ABI v0.2.0)"
        ),
        "{report}"
    );

    let json: Value =
        serde_json::from_str(&cli.ok(&["check", "--json", library.to_str().unwrap()])).unwrap();
    assert_eq!(json["target"], "native");
    assert_eq!(json["abiVersion"], "v0.2.0");
    assert_eq!(json["rootIds"], json!(["add_header"]));
    assert_eq!(json["hooks"].as_array().unwrap().len(), 31);
    assert_eq!(json["missingHooks"], json!([]));
    assert_eq!(
        json["platform"]["architecture"],
        Platform::host().architecture
    );
    assert!(json["callbacks"].as_u64().unwrap() > 0, "{json:#}");
}

#[test]
fn check_fails_a_native_module_that_lacks_a_hook_envoy_requires() {
    let cli = Cli::new();
    let dir = TempDir::new("native-check");
    // Every required hook but `scheduled`, and no proxylet sections.
    let exports: Vec<&str> = std::iter::once(PROGRAM_INIT)
        .chain(REQUIRED_HTTP_FILTER_HOOKS)
        .filter(|h| !h.ends_with("_scheduled"))
        .collect();
    let so = dir.join("libpartial.so");
    std::fs::write(&so, shared_object(&[(".rodata", b"\0v0.2.0\0")], &exports)).unwrap();
    let output = cli.run(&["check", so.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("20 exported; 20 of the 21 an HTTP filter module needs"),
        "{report}"
    );
    assert!(
        report.contains("error: does not export `envoy_dynamic_module_on_http_filter_scheduled`: Envoy refuses the module"),
        "{report}"
    );
    // Not built by proxylet: no recorded ABI version, and the report says so.
    assert!(
        report.contains("unknown (not built by proxylet)"),
        "{report}"
    );
    assert!(report.contains("records no ABI version"), "{report}");
    assert!(report.contains("root ids  unknown"), "{report}");
    assert!(
        report.contains("warning: carries no `proxylet.runtime_config` section"),
        "{report}"
    );

    let garbage = dir.join("libgarbage.so");
    std::fs::write(&garbage, b"\x7fELF\x02\x01").unwrap();
    let error = cli.fails(&["check", garbage.to_str().unwrap()]);
    assert!(error.contains("malformed ELF file"), "{error}");
}

#[test]
fn deploy_envoy_native_writes_a_dynamic_modules_bootstrap_envoy_accepts() {
    let cli = Cli::new();
    let out = TempDir::new("native-envoy");
    let file = out.join("envoy.yaml");
    let library = native_flagship();
    cli.ok(&[
        "deploy",
        "envoy",
        "--native",
        "--file",
        library.to_str().unwrap(),
        "--config",
        r#"{"name":"x-fruit","value":"kiwi"}"#,
        "--upstream",
        "http://127.0.0.1:8080",
        // Not on this machine: Envoy validates with the local copy.
        "--module-path",
        "/etc/envoy/libadd_header.so",
        "-o",
        file.to_str().unwrap(),
    ]);
    let bootstrap = yaml(&std::fs::read_to_string(&file).unwrap());
    let filter = &bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["http_filters"][0];
    assert_eq!(filter["name"], "add-header");
    let config = &filter["typed_config"];
    assert_eq!(
        config["@type"],
        "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter"
    );
    assert_eq!(
        config["dynamic_module_config"]["module"]["local"]["filename"],
        "/etc/envoy/libadd_header.so"
    );
    assert_eq!(config["filter_name"], "add_header");
    assert_eq!(
        config["filter_config"],
        json!({
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": r#"{"name":"x-fruit","value":"kiwi"}"#,
        })
    );

    // The config is checked against the module's schema; nothing is written then.
    let refused = out.join("refused.yaml");
    let error = cli.fails(&[
        "deploy",
        "envoy",
        "--native",
        "--file",
        library.to_str().unwrap(),
        "--config",
        r#"{"nmae":"x"}"#,
        "-o",
        refused.to_str().unwrap(),
    ]);
    assert!(
        error.contains("config.nmae: unknown field `nmae`; expected one of: name, value"),
        "{error}"
    );
    assert!(!refused.exists());
    // A wasm module with --native, and a native one without, are refused.
    let wasm = common::flagship();
    let error = cli.fails(&[
        "deploy",
        "envoy",
        "--native",
        "--file",
        wasm.to_str().unwrap(),
    ]);
    assert!(error.contains("is not a native module"), "{error}");
    let error = cli.fails(&["deploy", "envoy", "--wasm", library.to_str().unwrap()]);
    assert!(error.contains("pass --native"), "{error}");
}

#[test]
fn deploy_gateway_native_policy_matches_the_real_crd_schema() {
    let cli = Cli::new();
    let reference = "registry.example:5000/filters/add-header:v1-native";
    let library = native_flagship();
    let bytes = std::fs::read(&library).unwrap();
    let image = cargo_proxylet::image::Image::native(&bytes, "libadd_header.so").unwrap();
    cargo_proxylet::store::Store::open(cli.store.path())
        .unwrap()
        .put(&reference.parse::<Reference>().unwrap(), &image)
        .unwrap();
    let schema = crd_schema(GATEWAY_CRD, "v1alpha1");
    let output = cli
        .command()
        .args([
            "deploy",
            "gateway",
            "--native",
            "--image",
            reference,
            "--config",
            r#"{"name":"x-fruit","value":"kiwi"}"#,
            "--target-ref",
            "Gateway/eg",
            "--target-ref",
            "HTTPRoute/backend",
            "--namespace",
            "shop",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let policy = yaml(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(
        validate(&schema, &policy),
        Vec::<String>::new(),
        "{policy:#}"
    );
    let (api_version, kind) = crd_identity(GATEWAY_CRD, "v1alpha1");
    assert_eq!(
        (policy["apiVersion"].as_str(), policy["kind"].as_str()),
        (Some(&*api_version), Some(&*kind))
    );
    assert_eq!(
        policy["metadata"],
        json!({ "name": "add-header", "namespace": "shop" })
    );
    let module = &policy["spec"]["dynamicModule"][0];
    assert_eq!(module["name"], "add-header");
    assert_eq!(module["filterName"], "add_header");
    assert_eq!(
        module["config"],
        json!({ "name": "x-fruit", "value": "kiwi" })
    );
    assert!(policy["spec"].get("wasm").is_none(), "{policy:#}");
    // The validator skips `pattern`; the CRD's for the module name: ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$
    let name = module["name"].as_str().unwrap();
    assert!(
        name.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric()),
        "{name}"
    );
    // What the operator registers in EnvoyProxy: the registry blob, checked by sha256.
    assert!(
        stderr.contains("dynamicModules:\n    - name: add-header"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "url: https://registry.example:5000/v2/filters/add-header/blobs/{}",
            cargo_proxylet::image::digest(&bytes)
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "sha256: {}",
            cargo_proxylet::image::sha256_hex(&bytes)
        )),
        "{stderr}"
    );

    let renamed = yaml(&cli.ok(&[
        "deploy",
        "gateway",
        "--native",
        "--image",
        reference,
        "--module-name",
        "fruit-headers",
        "--target-ref",
        "Gateway/eg",
    ]));
    assert_eq!(renamed["spec"]["dynamicModule"][0]["name"], "fruit-headers");
    assert_eq!(validate(&schema, &renamed), Vec::<String>::new());

    // The validator can fail on this part of the schema too.
    let mut broken = policy.clone();
    broken["spec"]["dynamicModule"][0]["filter"] = json!("add_header");
    broken["spec"]["dynamicModule"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    let found = validate(&schema, &broken);
    assert!(
        found
            .iter()
            .any(|v| v.contains(".name: required field missing")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|v| v.contains(".filter: unknown field")),
        "{found:?}"
    );

    let istio = cli.fails(&["deploy", "istio", "--native", "--image", reference]);
    assert!(istio.contains("Istio loads wasm plugins only"), "{istio}");
    let wasm_options = cli.fails(&[
        "deploy",
        "gateway",
        "--native",
        "--image",
        reference,
        "--target-ref",
        "Gateway/eg",
        "--fail-open",
    ]);
    assert!(
        wasm_options.contains("are for wasm extensions"),
        "{wasm_options}"
    );
}

#[test]
fn a_native_image_round_trips_through_a_real_registry_and_envoy_fetches_its_library() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let cli = Cli::new();
    let repository = format!("{}/filters/add-header", registry.host());
    let reference = format!("{repository}:v1-native");
    let built = cli.build_native_flagship(&reference);
    let digest = field(&built, "digest");
    let module = cli.stored_module(&reference);
    assert_eq!(
        cargo_proxylet::image::sha256_hex(&module),
        field(&built, "sha256")
    );
    let pushed = cli.ok(&["push", &reference]);
    assert_eq!(pushed.trim(), digest);

    // The layout in the registry: an OCI 1.1 artifact, platform in the config, raw .so.
    let parsed: Reference = reference.parse().unwrap();
    let client = Client::with_auth(&parsed, true, DockerAuth::default());
    let (media_type, manifest_bytes) = client
        .manifest(&parsed.api_repository(), "v1-native")
        .unwrap();
    assert_eq!(media_type, cargo_proxylet::image::OCI_MANIFEST);
    assert_eq!(cargo_proxylet::image::digest(&manifest_bytes), digest);
    let manifest = Manifest::parse(&manifest_bytes).unwrap();
    assert_eq!(manifest.artifact_type.as_deref(), Some(NATIVE_ARTIFACT));
    assert_eq!(manifest.config.media_type, NATIVE_CONFIG);
    assert_eq!(manifest.layers.len(), 1);
    assert_eq!(manifest.layers[0].media_type, NATIVE_LAYER);
    assert_eq!(
        manifest.layers[0].annotations["org.opencontainers.image.title"],
        "libadd_header.so"
    );
    let config = NativeConfig::parse(
        &client
            .blob(&parsed.api_repository(), &manifest.config.digest)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(config.platform(), Platform::host());
    assert_eq!(config.abi_version.as_deref(), Some("v0.2.0"));
    assert_eq!(config.root_ids, ["add_header"]);
    assert_eq!(
        client
            .blob(&parsed.api_repository(), &manifest.layers[0].digest)
            .unwrap(),
        module
    );

    // Pulled into an empty store: same digest, same library, and `run` takes it.
    let fresh = Cli::new();
    let out = TempDir::new("pulled-native");
    let file = out.join("libpulled.so");
    let pulled = fresh.ok(&["pull", &reference, "-o", file.to_str().unwrap()]);
    assert_eq!(field(&pulled, "digest"), digest);
    assert_eq!(field(&pulled, "root ids"), "add_header");
    assert_eq!(field(&pulled, "platform"), Platform::host().to_string());
    assert_eq!(field(&pulled, "abi"), "Envoy dynamic modules v0.2.0");
    assert_eq!(std::fs::read(&file).unwrap(), module);
    let listed = fresh.ok(&["list"]);
    let line = listed
        .lines()
        .find(|l| l.contains("v1-native"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        line.trim_end()
            .ends_with(&format!("native {}", Platform::host())),
        "{line}"
    );
    let tags = cli.ok(&["list", "--remote", &repository]);
    let line = tags
        .lines()
        .find(|l| l.contains("v1-native"))
        .unwrap_or_else(|| panic!("{tags}"));
    assert!(
        line.trim_end()
            .ends_with(&format!("native {}", Platform::host())),
        "{line}"
    );
    let ran = fresh.ok(&["run", "--native", &reference, "--validate"]);
    assert!(has_line(&ran, "hello: melon"), "{ran}");

    // Envoy fetches the raw layer from the registry (`module.remote`, checked by sha256).
    let upstream = Upstream::start_default().unwrap();
    let bootstrap_file = out.join("envoy.json");
    cli.ok(&[
        "deploy",
        "envoy",
        "--native",
        "--image",
        &reference,
        "--code",
        "remote",
        "--upstream",
        &format!("http://{}", upstream.addr()),
        "--address",
        "127.0.0.1",
        "--port",
        "0",
        "--admin-port",
        "0",
        "-o",
        bootstrap_file.to_str().unwrap(),
    ]);
    let bootstrap: Value =
        serde_json::from_str(&std::fs::read_to_string(&bootstrap_file).unwrap()).unwrap();
    let remote = &bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["http_filters"][0]["typed_config"]["dynamic_module_config"]["module"]
        ["remote"];
    let blob_path = format!(
        "/v2/filters/add-header/blobs/{}",
        cargo_proxylet::image::digest(&module)
    );
    assert_eq!(
        remote["http_uri"]["uri"],
        format!("http://{}{blob_path}", registry.host())
    );
    assert_eq!(remote["sha256"], cargo_proxylet::image::sha256_hex(&module));
    let envoy = Envoy::start(
        &Bootstrap::from_json(bootstrap),
        EnvoyOptions::default().envoy(common::envoy()),
    )
    .unwrap();
    let response = Request::get("/")
        .timeout(Duration::from_secs(10))
        .send(envoy.listener_addr())
        .unwrap();
    assert_eq!(response.status, 200, "{}", envoy.log());
    assert_eq!(
        response.header_str("hello"),
        Some("melon"),
        "{}",
        envoy.log()
    );
    assert!(
        registry.log().contains(&blob_path),
        "the registry saw no fetch of {blob_path}:\n{}",
        registry.log()
    );
}
