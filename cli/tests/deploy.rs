//! `deploy istio|gateway|envoy`: manifests checked against the real CRD schemas (Istio
//! `WasmPlugin`, Envoy Gateway `EnvoyExtensionPolicy`, from `../shared/schemas/`),
//! bootstraps checked by Envoy itself, the plugin config checked against the module's
//! schema before anything is written, and `--apply` through kubectl.

mod common;

use cargo_proxylet::image::{Image, Variant};
use cargo_proxylet::reference::Reference;
use cargo_proxylet::store::Store;
use cargo_proxylet::wasm::tests_support::{module, with_custom_section};
use common::openapi::{crd_identity, crd_schema, validate};
use common::{flagship, Cli, TempDir};
use serde_json::{json, Value};

const ISTIO_CRD: &str = "istio-wasmplugins.extensions.istio.io.yaml";
const GATEWAY_CRD: &str = "envoy-gateway-envoyextensionpolicies.gateway.envoyproxy.io.yaml";
const IMAGE: &str = "registry.example:5000/filters/add-header:v1";

/// A CLI whose store holds the flagship as IMAGE; returns the image digest too.
fn cli_with_flagship() -> (Cli, String) {
    let cli = Cli::new();
    let module = std::fs::read(flagship()).unwrap();
    let image = Image::build(&module, Variant::Oci).unwrap();
    Store::open(cli.store.path())
        .unwrap()
        .put(&IMAGE.parse::<Reference>().unwrap(), &image)
        .unwrap();
    (cli, image.digest())
}

/// A module with the flagship's root id and a config schema, stored as `reference`.
fn store_module_with_schema(cli: &Cli, reference: &str) {
    let schema = json!({
        "type": "object",
        "properties": { "name": { "type": "string" }, "value": { "type": "string" } },
        "additionalProperties": false
    });
    let wasm = module(
        &[("env", "proxy_log")],
        &["proxy_abi_version_0_2_1", "_initialize"],
    );
    let wasm = with_custom_section(
        wasm,
        proxylet_artifact::RUNTIME_CONFIG_SECTION,
        br#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["add_header"]}}"#,
    );
    let line = json!({ "rootId": "add_header", "schema": schema });
    let wasm = with_custom_section(
        wasm,
        cargo_proxylet::schema::CONFIG_SCHEMA_SECTION,
        format!("{line}\n").as_bytes(),
    );
    let image = Image::build(&wasm, Variant::Oci).unwrap();
    Store::open(cli.store.path())
        .unwrap()
        .put(&reference.parse::<Reference>().unwrap(), &image)
        .unwrap();
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

#[test]
fn istio_wasmplugin_matches_the_real_crd_schema() {
    let (cli, digest) = cli_with_flagship();
    let schema = crd_schema(ISTIO_CRD, "v1alpha1");
    let with_selector = yaml(&cli.ok(&[
        "deploy",
        "istio",
        "--image",
        IMAGE,
        "--config",
        r#"{"name":"x-fruit","value":"kiwi"}"#,
        "--namespace",
        "shop",
        "--phase",
        "authz",
        "--priority",
        "-10",
        "--fail-strategy",
        "fail-open",
        "--selector",
        "app=reviews",
        "--selector",
        "version=v2",
        "--pull-policy",
        "always",
        "--pull-secret",
        "regcred",
    ]));
    assert_eq!(
        validate(&schema, &with_selector),
        Vec::<String>::new(),
        "{with_selector:#}"
    );
    let spec = &with_selector["spec"];
    let (api_version, kind) = crd_identity(ISTIO_CRD, "v1alpha1");
    assert_eq!(
        (
            with_selector["apiVersion"].as_str(),
            with_selector["kind"].as_str()
        ),
        (Some(&*api_version), Some(&*kind))
    );
    assert_eq!(
        with_selector["metadata"],
        json!({ "name": "add-header", "namespace": "shop" })
    );
    assert_eq!(spec["url"], format!("oci://{IMAGE}"));
    assert_eq!(spec["sha256"], digest.trim_start_matches("sha256:"));
    assert_eq!(spec["pluginName"], "add_header");
    assert_eq!(
        spec["pluginConfig"],
        json!({ "name": "x-fruit", "value": "kiwi" })
    );
    assert_eq!(spec["phase"], "AUTHZ");
    assert_eq!(spec["priority"], -10);
    assert_eq!(spec["failStrategy"], "FAIL_OPEN");
    assert_eq!(spec["imagePullPolicy"], "Always");
    assert_eq!(
        spec["selector"]["matchLabels"],
        json!({ "app": "reviews", "version": "v2" })
    );

    let with_targets = yaml(&cli.ok(&[
        "deploy",
        "istio",
        "--image",
        IMAGE,
        "--target-ref",
        "Gateway/bookinfo-gateway",
    ]));
    assert_eq!(
        validate(&schema, &with_targets),
        Vec::<String>::new(),
        "{with_targets:#}"
    );
    assert_eq!(
        with_targets["spec"]["targetRefs"],
        json!([{ "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "bookinfo-gateway" }])
    );

    // The validator can fail: a wrong enum value and an unknown field are caught.
    let mut broken = with_selector.clone();
    broken["spec"]["phase"] = json!("LATE");
    broken["spec"]["rootId"] = json!("add_header");
    let found = validate(&schema, &broken);
    assert!(
        found.iter().any(|v| v.starts_with(".spec.phase:")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with(".spec.rootId: unknown field")),
        "{found:?}"
    );
}

#[test]
fn envoy_gateway_policy_matches_the_real_crd_schema() {
    let (cli, digest) = cli_with_flagship();
    let schema = crd_schema(GATEWAY_CRD, "v1alpha1");
    let out = TempDir::new("gateway");
    let file = out.join("policy.yaml");
    cli.ok(&[
        "deploy",
        "gateway",
        "--image",
        IMAGE,
        "--config",
        r#"{"value":"kiwi"}"#,
        "--target-ref",
        "Gateway/eg",
        "--target-ref",
        "HTTPRoute/backend",
        "--fail-open",
        "--pull-secret",
        "regcred",
        "-o",
        file.to_str().unwrap(),
    ]);
    let policy = yaml(&std::fs::read_to_string(&file).unwrap());
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
    let wasm = &policy["spec"]["wasm"][0];
    assert_eq!(wasm["rootID"], "add_header");
    assert_eq!(wasm["code"]["type"], "Image");
    assert_eq!(wasm["code"]["image"]["url"], IMAGE);
    assert_eq!(
        wasm["code"]["image"]["sha256"],
        digest.trim_start_matches("sha256:")
    );
    assert_eq!(wasm["config"], json!({ "value": "kiwi" }));
    assert_eq!(wasm["failOpen"], true);
    assert_eq!(policy["spec"]["targetRefs"][1]["kind"], "HTTPRoute");

    let untargeted = cli.fails(&["deploy", "gateway", "--image", IMAGE]);
    assert!(
        untargeted.contains("needs a target: pass --target-ref Gateway/NAME"),
        "{untargeted}"
    );
    let mut broken = policy.clone();
    broken["spec"]["wasm"][0]["code"]["type"] = json!("Git");
    assert!(!validate(&schema, &broken).is_empty());
}

#[test]
fn a_config_that_breaks_the_module_schema_is_refused_naming_the_field_and_nothing_is_written() {
    let cli = Cli::new();
    let reference = "registry.example/schema-filter:v1";
    store_module_with_schema(&cli, reference);
    let out = TempDir::new("refused");
    let file = out.join("plugin.yaml");
    for platform in ["istio", "gateway"] {
        let error = cli.fails(&[
            "deploy",
            platform,
            "--image",
            reference,
            "--target-ref",
            "Gateway/eg",
            "--config",
            r#"{"name":"x-fruit","value":5,"colour":"red"}"#,
            "-o",
            file.to_str().unwrap(),
        ]);
        assert!(
            error.contains("config.value: expected string, found integer 5"),
            "{error}"
        );
        assert!(
            error.contains("config.colour: unknown field `colour`; expected one of: name, value"),
            "{error}"
        );
        assert!(error.contains("Nothing was written"), "{error}");
        assert!(
            !file.exists(),
            "{platform}: a manifest was written despite the bad config"
        );
    }
    let accepted = cli.run(&[
        "deploy",
        "istio",
        "--image",
        reference,
        "--config",
        r#"{"value":"kiwi"}"#,
    ]);
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    assert!(String::from_utf8_lossy(&accepted.stderr)
        .contains("Checked the plugin config against the module's config schema"));
}

#[test]
fn the_flagship_carries_its_derived_schema_and_deploy_checks_configs_against_it() {
    let (cli, _) = cli_with_flagship();
    let error = cli.fails(&[
        "deploy",
        "istio",
        "--image",
        IMAGE,
        "--config",
        r#"{"name":"hello","value":5}"#,
    ]);
    assert!(
        error.contains("config.value: expected string, found integer 5"),
        "{error}"
    );
    assert!(error.contains("Nothing was written"), "{error}");

    let accepted = cli.run(&[
        "deploy",
        "istio",
        "--image",
        IMAGE,
        "--config",
        r#"{"name":"x-fruit","value":"kiwi"}"#,
    ]);
    let stderr = String::from_utf8_lossy(&accepted.stderr);
    assert!(accepted.status.success(), "{stderr}");
    assert!(
        stderr.contains("Checked the plugin config against the module's config schema"),
        "{stderr}"
    );
    let manifest = yaml(&String::from_utf8_lossy(&accepted.stdout));
    assert_eq!(manifest["spec"]["pluginConfig"]["value"], "kiwi");

    // `#[serde(deny_unknown_fields)]` made it into the schema too.
    let error = cli.fails(&[
        "deploy",
        "istio",
        "--image",
        IMAGE,
        "--config",
        r#"{"nmae":"x"}"#,
    ]);
    assert!(
        error.contains("config.nmae: unknown field `nmae`; expected one of: name, value"),
        "{error}"
    );
}

#[test]
fn envoy_bootstrap_is_complete_and_validated_by_envoy() {
    let cli = Cli::new();
    let out = TempDir::new("envoy");
    let file = out.join("envoy.yaml");
    let wasm = flagship();
    cli.ok(&[
        "deploy",
        "envoy",
        "--wasm",
        wasm.to_str().unwrap(),
        "--config",
        r#"{"name":"x-fruit","value":"kiwi"}"#,
        "--upstream",
        "https://httpbin.org",
        "--module-path",
        "/etc/envoy/add_header.wasm",
        "-o",
        file.to_str().unwrap(),
    ]);
    let bootstrap = yaml(&std::fs::read_to_string(&file).unwrap());
    let filter = &bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["http_filters"][0]["typed_config"]["config"];
    assert_eq!(filter["root_id"], "add_header");
    assert_eq!(
        filter["vm_config"]["code"]["local"]["filename"],
        "/etc/envoy/add_header.wasm"
    );
    assert_eq!(
        filter["configuration"]["value"],
        r#"{"name":"x-fruit","value":"kiwi"}"#
    );
    let upstream = &bootstrap["static_resources"]["clusters"][0];
    assert_eq!(upstream["type"], "LOGICAL_DNS");
    assert_eq!(
        upstream["transport_socket"]["typed_config"]["sni"],
        "httpbin.org"
    );
    assert_eq!(
        bootstrap["admin"]["address"]["socket_address"]["port_value"],
        9901
    );
    assert_eq!(
        bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"],
        10000
    );

    // Envoy refuses a broken bootstrap, and then nothing is written.
    let broken = out.join("broken.yaml");
    let error = cli.fails(&[
        "deploy",
        "envoy",
        "--wasm",
        wasm.to_str().unwrap(),
        "--upstream",
        "http://127.0.0.1:8080",
        "--address",
        "not-an-ip",
        "-o",
        broken.to_str().unwrap(),
    ]);
    assert!(
        error.contains("Envoy refuses the generated bootstrap"),
        "{error}"
    );
    assert!(!broken.exists());
}

#[test]
fn apply_pipes_the_manifest_to_kubectl_and_says_when_kubectl_is_missing() {
    let (cli, _) = cli_with_flagship();
    let dir = TempDir::new("kubectl");
    let received = dir.join("received.yaml");
    let fake = dir.join("kubectl");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" > {0}.args\ncat > {0}\n",
            received.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let output = cli
        .command()
        .env("KUBECTL", &fake)
        .args(["deploy", "istio", "--image", IMAGE, "--apply"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&received).unwrap(),
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("received.yaml.args"))
            .unwrap()
            .trim(),
        "apply -f -"
    );

    let missing = cli
        .command()
        .env("KUBECTL", dir.join("no-such-kubectl"))
        .args(["deploy", "istio", "--image", IMAGE, "--apply"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(
        stderr.contains("--apply needs kubectl, which is not on PATH"),
        "{stderr}"
    );
}

#[test]
fn images_without_a_registry_or_missing_from_the_store_are_explained() {
    let (cli, _) = cli_with_flagship();
    let module = std::fs::read(flagship()).unwrap();
    let image = Image::build(&module, Variant::Oci).unwrap();
    Store::open(cli.store.path())
        .unwrap()
        .put(&"add-header:latest".parse().unwrap(), &image)
        .unwrap();
    let local = cli.fails(&["deploy", "istio", "--image", "add-header:latest"]);
    assert!(local.contains("names no registry"), "{local}");
    let missing = cli.fails(&["deploy", "istio", "--image", "registry.example/nope:v1"]);
    assert!(
        missing.contains("cargo proxylet pull registry.example/nope:v1"),
        "{missing}"
    );
}
