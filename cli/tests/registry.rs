//! `build`, `push`, `list --remote` and `pull` against a real registry (Debian's
//! `docker-registry`, distribution 2.8) on loopback, started by each test.

mod common;

use cargo_proxylet::image::{Manifest, Variant, OCI_LAYER_GZIP, WASM_CONFIG, WASM_LAYER};
use cargo_proxylet::reference::Reference;
use cargo_proxylet::registry::{Client, DockerAuth};
use common::token::{TokenRequest, TokenServer};
use common::{field, Cli, Registry, RegistryAuth, TempDir};

fn build_flagship(cli: &Cli, reference: &str, variant: &str) -> String {
    cli.build_flagship(reference, variant)
}

#[test]
fn both_variants_round_trip_through_a_real_registry_byte_for_byte() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let cli = Cli::new();
    let repository = format!("{}/filters/add-header", registry.host());

    for (variant, tag) in [(Variant::Oci, "v1-oci"), (Variant::Compat, "v1-compat")] {
        let reference = format!("{repository}:{tag}");
        let built = build_flagship(&cli, &reference, &variant.to_string());
        let digest = field(&built, "digest");
        let module = cli.stored_module(&reference);
        assert_eq!(
            cargo_proxylet::image::sha256_hex(&module),
            field(&built, "sha256")
        );
        assert!(digest.starts_with("sha256:"), "{built}");

        // A registry on loopback gets plain HTTP without being told.
        let pushed = cli.ok(&["push", &reference]);
        assert_eq!(
            pushed.trim(),
            digest,
            "push prints the digest the registry stored"
        );

        // The registry holds the format Istio reads.
        let parsed: Reference = reference.parse().unwrap();
        let client = Client::with_auth(&parsed, true, DockerAuth::default());
        let (media_type, manifest_bytes) = client.manifest(&parsed.api_repository(), tag).unwrap();
        assert_eq!(cargo_proxylet::image::digest(&manifest_bytes), digest);
        let manifest = Manifest::parse(&manifest_bytes).unwrap();
        let types: Vec<&str> = manifest
            .layers
            .iter()
            .map(|l| l.media_type.as_str())
            .collect();
        match variant {
            Variant::Oci => {
                assert_eq!(types, [WASM_CONFIG, WASM_LAYER]);
                assert_eq!(
                    manifest.annotations["module.wasm.runtime/type"],
                    "envoy_proxy"
                );
                assert_eq!(
                    manifest.annotations["module.wasm.runtime/abi_version"],
                    "v0.2.1"
                );
                // The module layer is the raw module: what Envoy fetches by URL.
                let blob = client
                    .blob(&parsed.api_repository(), &manifest.layers[1].digest)
                    .unwrap();
                assert_eq!(blob, module);
            }
            Variant::Compat => {
                assert_eq!(types, [OCI_LAYER_GZIP]);
                assert_eq!(manifest.annotations["module.wasm.image/variant"], "compat");
            }
            // Native images have their own test (tests/native.rs).
            Variant::Native => unreachable!("only the wasm variants are built here"),
        }
        assert_eq!(manifest.classify(&media_type).unwrap().0, variant);

        // Pull into an empty store: same digest, same module bytes.
        let fresh = Cli::new();
        let out = TempDir::new("pulled");
        let module_file = out.join("pulled.wasm");
        let pulled = fresh.ok(&[
            "pull",
            &reference,
            "--plain-http",
            "-o",
            module_file.to_str().unwrap(),
        ]);
        assert_eq!(field(&pulled, "digest"), digest);
        assert_eq!(field(&pulled, "root ids"), "add_header");
        assert_eq!(
            std::fs::read(&module_file).unwrap(),
            module,
            "{variant}: module differs after the round trip"
        );
        let listed = fresh.ok(&["list"]);
        assert!(
            listed.contains(&repository) && listed.contains(tag) && listed.contains(&digest[7..15]),
            "{listed}"
        );
    }

    let tags = cli.ok(&["list", "--remote", &repository, "--plain-http"]);
    for (tag, variant) in [("v1-oci", "oci"), ("v1-compat", "compat")] {
        let line = tags
            .lines()
            .find(|l| l.contains(tag))
            .unwrap_or_else(|| panic!("no {tag} in\n{tags}"));
        assert!(line.trim_end().ends_with(variant), "{line}");
    }
}

#[test]
fn pushing_again_uploads_nothing_new() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let cli = Cli::new();
    let first = format!("{}/add-header:a", registry.host());
    let second = format!("{}/add-header:b", registry.host());
    build_flagship(&cli, &first, "oci");
    build_flagship(&cli, &second, "oci");
    cli.ok(&["push", &first, "--plain-http"]);
    let output = cli
        .command()
        .args(["push", &second, "--plain-http"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("already there").count(),
        2,
        "both blobs are skipped:\n{stderr}"
    );
    assert!(!stderr.contains("Uploading"), "{stderr}");
}

#[test]
fn credentials_come_from_the_docker_config_and_refusals_say_what_to_do() {
    let Some(registry) = Registry::start(Some(("melon", "s3cret"))) else {
        return;
    };
    let cli = Cli::new();
    let reference = format!("{}/private/add-header:v1", registry.host());
    build_flagship(&cli, &reference, "oci");

    let anonymous = cli.fails(&["push", &reference, "--plain-http"]);
    assert!(anonymous.contains("requires credentials"), "{anonymous}");
    assert!(
        anonymous.contains(&format!("docker login {}", registry.host())),
        "{anonymous}"
    );

    cli.login(&registry.host(), "melon", "wrong");
    let refused = cli.fails(&["push", &reference, "--plain-http"]);
    assert!(refused.contains("refused user `melon`"), "{refused}");
    assert!(refused.contains("docker login"), "{refused}");

    cli.login(&registry.host(), "melon", "s3cret");
    let digest = cli.ok(&["push", &reference, "--plain-http"]);
    let fresh = Cli::new();
    fresh.login(&format!("http://{}", registry.host()), "melon", "s3cret");
    let pulled = fresh.ok(&["pull", &reference, "--plain-http"]);
    assert_eq!(field(&pulled, "digest"), digest.trim());
}

#[test]
fn an_unreachable_or_plain_http_registry_is_explained() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let cli = Cli::new();
    let reference = format!("{}/add-header:v1", registry.host());
    build_flagship(&cli, &reference, "oci");

    // Loopback registries get plain HTTP by default; every other host HTTPS unless told.
    cli.ok(&["push", &reference]);
    for (reference, plain_http, scheme) in [
        ("localhost:5000/f:v1", false, "http://localhost:5000"),
        ("[::1]:5000/f:v1", false, "http://[::1]:5000"),
        ("127.0.0.2/f:v1", false, "http://127.0.0.2"),
        (
            "registry.example:5000/f:v1",
            false,
            "https://registry.example:5000",
        ),
        (
            "registry.example:5000/f:v1",
            true,
            "http://registry.example:5000",
        ),
        ("10.1.2.3:5000/f:v1", false, "https://10.1.2.3:5000"),
    ] {
        let parsed: Reference = reference.parse().unwrap();
        let client = Client::with_auth(&parsed, plain_http, DockerAuth::default());
        assert_eq!(
            client.base_url(),
            scheme,
            "{reference} --plain-http={plain_http}"
        );
    }

    let port = registry.port;
    drop(registry);
    let gone = cli.fails(&["push", &reference]);
    assert!(
        gone.contains(&format!("cannot reach the registry 127.0.0.1:{port}")),
        "{gone}"
    );
    assert!(gone.contains("Is it running?"), "{gone}");

    let missing = cli.fails(&["push", "127.0.0.1:1/never-built:v1", "--plain-http"]);
    assert!(
        missing.contains("no image `127.0.0.1:1/never-built:v1` in the local store"),
        "{missing}"
    );
    assert!(missing.contains("cargo proxylet build -t"), "{missing}");
}

#[test]
fn pulling_an_image_that_is_not_wasm_is_refused_before_downloading_layers() {
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let reference: Reference = format!("{}/not/wasm:v1", registry.host()).parse().unwrap();
    let client = Client::with_auth(&reference, true, DockerAuth::default());
    let repository = reference.api_repository();
    let layer = b"not a tarball".to_vec();
    let config = b"{}".to_vec();
    for blob in [&layer, &config] {
        client
            .push_blob(&repository, &cargo_proxylet::image::digest(blob), blob)
            .unwrap();
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": cargo_proxylet::image::OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": cargo_proxylet::image::digest(&config), "size": config.len() },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": cargo_proxylet::image::digest(&layer), "size": layer.len() }],
    });
    client
        .push_manifest(
            &repository,
            "v1",
            cargo_proxylet::image::OCI_MANIFEST,
            manifest.to_string().as_bytes(),
        )
        .unwrap();

    let cli = Cli::new();
    let error = cli.fails(&["pull", &reference.to_string(), "--plain-http"]);
    assert!(error.contains("not a Wasm image"), "{error}");
    assert!(!error.contains("Downloading"), "{error}");
    let missing = cli.fails(&[
        "pull",
        &format!("{}/not/there:v9", registry.host()),
        "--plain-http",
    ]);
    assert!(missing.contains("has no image not/there:v9"), "{missing}");
}

/// The repository the Bearer token test pushes to.
const REPOSITORY: &str = "private/add-header";

/// Whether `request` asks for exactly one scope, `repository:NAME:ACTIONS`, with exactly
/// `actions` in any order.
fn asks_only_for(request: &TokenRequest, name: &str, actions: &[&str]) -> bool {
    match &request.scopes()[..] {
        [scope] => scope.is("repository", name, actions),
        _ => false,
    }
}

#[test]
fn bearer_tokens_are_fetched_from_the_realm_the_registry_names() {
    let Some(tokens) = TokenServer::start("melon", "s3cret") else {
        return;
    };
    let Some(registry) = Registry::start_with(Some(RegistryAuth::Token {
        realm: tokens.realm.clone(),
        service: common::token::SERVICE.into(),
        issuer: common::token::ISSUER.into(),
        cert: tokens.cert.clone(),
    })) else {
        return;
    };
    let cli = Cli::new();
    let reference = format!("{}/{REPOSITORY}:v1", registry.host());
    build_flagship(&cli, &reference, "oci");

    let anonymous = cli.fails(&["push", &reference, "--plain-http"]);
    assert!(anonymous.contains("requires credentials"), "{anonymous}");

    cli.login(&registry.host(), "melon", "wrong");
    let refused = cli.fails(&["push", &reference, "--plain-http"]);
    assert!(
        refused.contains("token service refused the credentials for user `melon`"),
        "{refused}"
    );

    // Each CLI run is over when `ok` returns, and the token service records a request
    // before answering it, so a run's token requests are the ones added during it.
    cli.login(&registry.host(), "melon", "s3cret");
    let before = tokens.requests().len();
    let digest = cli.ok(&["push", &reference, "--plain-http"]);
    let pushed = tokens.requests().split_off(before);
    let fresh = Cli::new();
    fresh.login(&registry.host(), "melon", "s3cret");
    let out = TempDir::new("bearer");
    let file = out.join("module.wasm");
    let before = tokens.requests().len();
    let pulled = fresh.ok(&[
        "pull",
        &reference,
        "--plain-http",
        "-o",
        file.to_str().unwrap(),
    ]);
    let pulls = tokens.requests().split_off(before);
    assert_eq!(field(&pulled, "digest"), digest.trim());
    assert_eq!(std::fs::read(&file).unwrap(), cli.stored_module(&reference));

    // The tokens were asked for, with the credentials, for the repository scope each
    // challenge named: `pull` for HEAD/GET, `pull` and `push` (in whichever order the
    // registry lists them) for POST/PUT.
    let granted = |requests: &[TokenRequest], actions: &[&str]| {
        requests
            .iter()
            .any(|request| request.accepted && asks_only_for(request, REPOSITORY, actions))
    };
    assert!(granted(&pushed, &["pull", "push"]), "push: {pushed:#?}");
    assert!(granted(&pushed, &["pull"]), "push: {pushed:#?}");
    assert!(granted(&pulls, &["pull"]), "pull: {pulls:#?}");
    let pull_scopes: Vec<_> = pulls.iter().flat_map(TokenRequest::scopes).collect();
    assert!(
        pull_scopes
            .iter()
            .all(|scope| scope.is("repository", REPOSITORY, &["pull"])),
        "a pull asks for nothing more than `pull`: {pulls:#?}"
    );
    for request in pushed.iter().chain(&pulls) {
        assert!(request.accepted, "{request:?}");
    }
    let all = tokens.requests();
    assert!(
        all.iter()
            .all(|request| request.param("service") == [common::token::SERVICE]),
        "{all:#?}"
    );
}

#[test]
fn token_scopes_match_whatever_order_the_registry_lists_the_actions_in() {
    // Distribution 2.8 joins a challenge's actions in Go map order.
    let request = |query: &str| TokenRequest {
        query: query.to_owned(),
        accepted: true,
    };
    let push = ["pull", "push"];
    for query in [
        "service=s&scope=repository%3Aprivate%2Fadd%2Dheader%3Apull%2Cpush",
        "service=s&scope=repository%3Aprivate%2Fadd%2Dheader%3Apush%2Cpull",
        "scope=repository:private/add-header:push,pull&service=s",
    ] {
        assert!(asks_only_for(&request(query), REPOSITORY, &push), "{query}");
    }
    for query in [
        "scope=repository%3Aprivate%2Fadd%2Dheader%3Apull",
        "scope=repository:private/add-header:pull,pull",
        "scope=repository:private/add-header:pull,push,delete",
        "scope=repository:private/add-header:pull,push,push",
        "scope=repository:private/add-header:pull,push&scope=repository:other:pull",
        "scope=repository:private/add-header:pull,push+repository:other:pull",
        "scope=repository:private/other:pull,push",
        "scope=registry:private/add-header:pull,push",
        "scope=repository:private/add-header:",
        "scope=private/add-header:pull,push",
        "service=s",
        "",
    ] {
        assert!(
            !asks_only_for(&request(query), REPOSITORY, &push),
            "{query}"
        );
    }
    // A name may hold `:` (a registry's port); one parameter may hold several scopes.
    let scopes =
        request("scope=repository%3Ahost%3A5000%2Fa%3Apull+registry%3Acatalog%3A%2A").scopes();
    assert!(
        scopes[0].is("repository", "host:5000/a", &["pull"]),
        "{scopes:?}"
    );
    assert!(scopes[1].is("registry", "catalog", &["*"]), "{scopes:?}");
    assert_eq!(scopes.len(), 2);
}

#[test]
fn a_docker_built_compat_image_is_pulled_too() {
    // What `docker build` of `FROM scratch` + `COPY plugin.wasm ./` and `docker push`
    // produce (the compat spec's appendix): a Docker schema-2 manifest with one
    // `rootfs.diff.tar.gzip` layer.
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let cli = Cli::new();
    let local = format!("{}/docker/add-header:built-by-us", registry.host());
    build_flagship(&cli, &local, "compat");
    let module = cli.stored_module(&local);
    let (_, image) = cargo_proxylet::store::Store::open(cli.store.path())
        .unwrap()
        .get(&local.parse().unwrap())
        .unwrap();
    let parsed = image.parsed().unwrap();
    let layer = image.blob(&parsed.layers[0].digest).unwrap().to_vec();
    let config = image.blob(&parsed.config.digest).unwrap().to_vec();

    let reference: Reference = format!("{}/docker/add-header:v1", registry.host())
        .parse()
        .unwrap();
    let client = Client::with_auth(&reference, true, DockerAuth::default());
    let repository = reference.api_repository();
    for blob in [&layer, &config] {
        client
            .push_blob(&repository, &cargo_proxylet::image::digest(blob), blob)
            .unwrap();
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": cargo_proxylet::image::DOCKER_MANIFEST,
        "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "digest": cargo_proxylet::image::digest(&config), "size": config.len() },
        "layers": [{ "mediaType": cargo_proxylet::image::DOCKER_LAYER_GZIP, "digest": cargo_proxylet::image::digest(&layer), "size": layer.len() }],
    })
    .to_string();
    let digest = client
        .push_manifest(
            &repository,
            "v1",
            cargo_proxylet::image::DOCKER_MANIFEST,
            manifest.as_bytes(),
        )
        .unwrap();

    let fresh = Cli::new();
    let out = TempDir::new("docker");
    let file = out.join("plugin.wasm");
    let pulled = fresh.ok(&[
        "pull",
        &reference.to_string(),
        "--plain-http",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(field(&pulled, "digest"), digest);
    assert_eq!(std::fs::read(&file).unwrap(), module);
    let (_, stored) = cargo_proxylet::store::Store::open(fresh.store.path())
        .unwrap()
        .get(&reference)
        .unwrap();
    assert_eq!(stored.media_type, cargo_proxylet::image::DOCKER_MANIFEST);
    assert_eq!(stored.manifest, manifest.as_bytes(), "stored byte for byte");
}
