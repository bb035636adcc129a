//! The whole chain in real components: the flagship is built and pushed to a real registry,
//! `deploy envoy --code remote` writes a bootstrap in which Envoy fetches the module from
//! the registry's blob URL (`vm_config.code.remote`, checked by sha256), and Envoy 1.40
//! serves `hello: melon` with it.

mod common;

use std::time::Duration;

use common::{Cli, Registry, TempDir};
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, Request, Upstream};
use serde_json::Value;

/// Builds and pushes the flagship; returns the module pushed and the bootstrap
/// `deploy envoy --code remote` writes for it (listener and admin on free loopback ports).
fn remote_bootstrap(cli: &Cli, registry: &Registry, upstream: &Upstream) -> (Vec<u8>, Value) {
    let reference = format!("{}/filters/add-header:v1", registry.host());
    cli.build_flagship(&reference, "oci");
    cli.ok(&["push", &reference, "--plain-http"]);
    let out = TempDir::new("bootstrap");
    let file = out.join("envoy.json");
    let upstream_url = format!("http://{}", upstream.addr());
    cli.ok(&[
        "deploy",
        "envoy",
        "--image",
        &reference,
        "--code",
        "remote",
        "--plain-http",
        "--upstream",
        &upstream_url,
        "--address",
        "127.0.0.1",
        "--port",
        "0",
        "--admin-port",
        "0",
        "-o",
        file.to_str().unwrap(),
    ]);
    let bootstrap = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    (cli.stored_module(&reference), bootstrap)
}

fn remote_code(bootstrap: &mut Value) -> &mut Value {
    &mut bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["http_filters"][0]["typed_config"]["config"]["vm_config"]["code"]["remote"]
}

#[test]
fn envoy_loads_the_pushed_flagship_from_the_registry_and_adds_hello_melon() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let cli = Cli::new();
    let upstream = Upstream::start_default().unwrap();
    let (module, mut bootstrap) = remote_bootstrap(&cli, &registry, &upstream);
    let remote = remote_code(&mut bootstrap).clone();
    assert_eq!(remote["sha256"], cargo_proxylet::image::sha256_hex(&module));
    assert_eq!(
        remote["http_uri"]["uri"],
        format!(
            "http://{}/v2/filters/add-header/blobs/{}",
            registry.host(),
            cargo_proxylet::image::digest(&module)
        )
    );
    assert!(
        !bootstrap.to_string().contains("\"local\""),
        "the module must not come from a file"
    );

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
    assert_eq!(response.text_body(), "upstream says hi\n");
    // Envoy really fetched the blob from the registry.
    let blob_path = format!(
        "/v2/filters/add-header/blobs/{}",
        cargo_proxylet::image::digest(&module)
    );
    assert!(
        registry.log().contains(&blob_path),
        "the registry saw no fetch of {blob_path}:\n{}",
        registry.log()
    );
}

#[test]
fn envoy_refuses_a_module_whose_sha256_does_not_match() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let cli = Cli::new();
    let upstream = Upstream::start_default().unwrap();
    let (module, mut bootstrap) = remote_bootstrap(&cli, &registry, &upstream);
    remote_code(&mut bootstrap)["sha256"] = Value::from("0".repeat(64));

    // Envoy 1.40 keeps running, but the plugin never loads: it fetches the blob, rejects
    // it for its checksum (retrying first), and the filter fails closed.
    let envoy = Envoy::start(
        &Bootstrap::from_json(bootstrap),
        EnvoyOptions::default().envoy(common::envoy()),
    )
    .unwrap();
    let log = envoy
        .wait_for_log("Plugin add-header failed to load", Duration::from_secs(30))
        .unwrap();
    let blob_path = format!(
        "/v2/filters/add-header/blobs/{}",
        cargo_proxylet::image::digest(&module)
    );
    assert!(
        registry.log().contains(&blob_path),
        "Envoy did fetch the blob; it is the checksum that fails:\n{log}"
    );

    let response = Request::get("/")
        .timeout(Duration::from_secs(10))
        .send(envoy.listener_addr())
        .unwrap();
    assert_eq!(response.status, 503, "{}", envoy.log());
    assert_eq!(response.header("hello"), None);
    assert!(
        upstream.requests().is_empty(),
        "a request went through without the filter"
    );
}
