//! Our images in third-party OCI clients, installed by the tests from package registries:
//! skopeo and umoci (Debian), oras (the PyPI SDK). Everything goes through Debian's
//! `docker-registry` on loopback, which `cargo proxylet` speaks plain HTTP to without being
//! told (`--plain-http` is for other hosts).

mod common;

use std::process::Command;

use common::{field, Cli, Registry, TempDir};

/// Runs a command and returns its stdout; panics with its output when it fails.
fn ok(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Builds the flagship as `reference` in `variant` and pushes it without `--plain-http`;
/// returns the digest the registry stored and the module.
fn push(cli: &Cli, reference: &str, variant: &str) -> (String, Vec<u8>) {
    let built = cli.build_flagship(reference, variant);
    let digest = cli.ok(&["push", reference]).trim().to_owned();
    assert_eq!(digest, field(&built, "digest"));
    (digest, cli.stored_module(reference))
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", cargo_proxylet::image::sha256_hex(bytes))
}

fn runtime_config_json(module: &[u8]) -> serde_json::Value {
    serde_json::to_value(proxylet_artifact::runtime_config(module).unwrap()).unwrap()
}

#[test]
fn skopeo_reads_both_variants_and_umoci_unpacks_the_compat_one() {
    if !common::apt_install(
        &[("skopeo", "skopeo"), ("umoci", "umoci")],
        "OCI CLIENT TESTS (skopeo, umoci)",
    ) {
        return;
    }
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let cli = Cli::new();
    let dir = TempDir::new("skopeo");
    let repository = format!("{}/filters/add-header", registry.host());
    let skopeo = || {
        let mut command = Command::new("skopeo");
        command.arg("--insecure-policy");
        command
    };

    // The compat variant: skopeo sees our manifest byte for byte and a `linux` config,
    // copies it into an OCI layout, and umoci unpacks plugin.wasm from it.
    let compat = format!("{repository}:v1-compat");
    let (digest, module) = push(&cli, &compat, "compat");
    let raw = ok(skopeo()
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{compat}")));
    assert_eq!(sha256(&raw), digest, "skopeo got another manifest");
    let config: serde_json::Value = serde_json::from_slice(&ok(skopeo()
        .args(["inspect", "--tls-verify=false", "--config"])
        .arg(format!("docker://{compat}"))))
    .unwrap();
    assert_eq!(config["os"], "linux", "{config}");
    let layout = dir.join("layout");
    ok(skopeo()
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{compat}"))
        .arg(format!("oci:{}:compat", layout.display())));
    let bundle = dir.join("bundle");
    ok(Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:compat", layout.display()))
        .arg(&bundle));
    let rootfs = bundle.join("rootfs");
    assert_eq!(std::fs::read(rootfs.join("plugin.wasm")).unwrap(), module);
    let unpacked: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rootfs.join("runtime-config.json")).unwrap())
            .unwrap();
    assert_eq!(unpacked, runtime_config_json(&module));

    // ...and what skopeo pushes from that layout is pulled back by cargo proxylet.
    let copied = format!("{repository}:copied-by-skopeo");
    ok(skopeo()
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:compat", layout.display()))
        .arg(format!("docker://{copied}")));
    let out = dir.join("copied.wasm");
    let pulled = Cli::new().ok(&["pull", &copied, "-o", out.to_str().unwrap()]);
    assert!(pulled.contains("module"), "{pulled}");
    assert_eq!(std::fs::read(&out).unwrap(), module);

    // The oci variant: a Wasm artifact, not a container image, so skopeo copies its blobs
    // as they are (`dir:` transport): the module layer is the `.wasm`.
    let oci = format!("{repository}:v1-oci");
    let (digest, module) = push(&cli, &oci, "oci");
    let raw = ok(skopeo()
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{oci}")));
    assert_eq!(sha256(&raw), digest);
    let blobs = dir.join("oci-blobs");
    ok(skopeo()
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{oci}"))
        .arg(format!("dir:{}", blobs.display())));
    let module_blob = blobs.join(cargo_proxylet::image::sha256_hex(&module));
    assert_eq!(std::fs::read(&module_blob).unwrap(), module);
    assert_eq!(
        sha256(&std::fs::read(blobs.join("manifest.json")).unwrap()),
        digest
    );
}

/// Runs `script` with the oras SDK's Python; `argv[1..]` are `args`.
fn oras(script: &str, args: &[&str]) -> String {
    String::from_utf8(ok(Command::new(common::oras_python())
        .arg("-c")
        .arg(script)
        .args(args)))
    .unwrap()
}

const ORAS_PULL: &str = r#"
import sys, oras.client
host, target, outdir = sys.argv[1:4]
client = oras.client.OrasClient(hostname=host, insecure=True)
for path in sorted(client.pull(target=target, outdir=outdir)):
    print(path)
"#;

const ORAS_PUSH: &str = r#"
import os, sys, oras.client
host, target, config = sys.argv[1:4]
files = sys.argv[4:]
os.chdir(os.path.dirname(config))
client = oras.client.OrasClient(hostname=host, insecure=True)
response = client.push(
    target=target,
    files=[os.path.basename(f.split(":")[0]) + ":" + f.split(":", 1)[1] for f in files],
    manifest_config=os.path.basename(config) + ":application/vnd.module.wasm.config.v1+json",
    disable_path_validation=True,
)
print(response.status_code)
"#;

#[test]
fn oras_pulls_the_oci_variant_by_file_name_and_what_it_pushes_is_pulled_as_istio_would() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let cli = Cli::new();
    let dir = TempDir::new("oras");
    let host = registry.host();
    let reference = format!("{host}/filters/add-header:v1");
    let (_, module) = push(&cli, &reference, "oci");

    // oras names the layers' files by their `org.opencontainers.image.title`.
    let out = dir.join("pulled");
    std::fs::create_dir_all(&out).unwrap();
    let files = oras(ORAS_PULL, &[&host, &reference, out.to_str().unwrap()]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        [
            out.join("plugin.wasm").to_str().unwrap(),
            out.join("runtime-config.json").to_str().unwrap()
        ],
        "{files}"
    );
    assert_eq!(std::fs::read(out.join("plugin.wasm")).unwrap(), module);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("runtime-config.json")).unwrap()).unwrap();
    assert_eq!(config, runtime_config_json(&module));

    // An oras push in the "oci" variant's layout (config layer, then the module) is pulled.
    let config_file = out.join("runtime-config.json");
    let wasm_layer = format!(
        "{}:{}",
        out.join("plugin.wasm").display(),
        cargo_proxylet::image::WASM_LAYER
    );
    let config_layer = format!(
        "{}:{}",
        config_file.display(),
        cargo_proxylet::image::WASM_CONFIG
    );
    let by_oras = format!("{host}/filters/by-oras:v1");
    let pushed = oras(
        ORAS_PUSH,
        &[
            &host,
            &by_oras,
            config_file.to_str().unwrap(),
            &config_layer,
            &wasm_layer,
        ],
    );
    assert_eq!(pushed.trim(), "201");
    let file = dir.join("by-oras.wasm");
    let pulled = Cli::new().ok(&["pull", &by_oras, "-o", file.to_str().unwrap()]);
    assert_eq!(field(&pulled, "root ids"), "add_header");
    assert_eq!(std::fs::read(&file).unwrap(), module);

    // A module alone (one layer) is not an image Istio loads, and pull says so.
    let one_layer = format!("{host}/filters/by-oras:one-layer");
    oras(
        ORAS_PUSH,
        &[
            &host,
            &one_layer,
            config_file.to_str().unwrap(),
            &wasm_layer,
        ],
    );
    let refused = Cli::new().fails(&["pull", &one_layer]);
    assert!(
        refused.contains("not a Wasm image") && refused.contains("expected two layers"),
        "{refused}"
    );
}
