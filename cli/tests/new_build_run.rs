//! A fresh project end to end: `new --path` (this checkout) → `build` → `run --validate` in
//! a temporary directory, with its own (cold) target directory, through the real binary and
//! a real Envoy. The time it takes is printed (measured, not asserted). The default `new`
//! (crates.io releases) is built and tested by `cargo xtask package`, with the packaged
//! crates patched in.

mod common;

use std::time::Instant;

use common::{field, Cli, TempDir};

#[test]
fn new_build_and_run_validate_a_fresh_project_show_hello_melon() {
    let cli = Cli::new();
    let dir = TempDir::new("fresh");
    let project = dir.join("my-filter");
    let started = Instant::now();

    let templates = cli.ok(&["new", "--list"]);
    assert!(
        templates.contains("add-header") && templates.contains("(default)"),
        "{templates}"
    );
    // Local development against this checkout: crates.io versions, patched by relative path.
    let root = common::root();
    cli.ok(&[
        "new",
        project.to_str().unwrap(),
        "--path",
        root.to_str().unwrap(),
    ]);
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("\nproxylet = \"0.1\"\n"), "{manifest}");
    let patch = manifest.split("[patch.crates-io]").nth(1).expect(&manifest);
    let relative = cargo_proxylet::new::relative_path(
        &std::fs::canonicalize(&project).unwrap(),
        &std::fs::canonicalize(&root).unwrap(),
    );
    assert!(
        patch.contains(&format!(
            "proxylet = {{ path = \"{}/sdk\" }}",
            relative.display()
        )),
        "{manifest}"
    );
    assert!(
        !manifest.contains("path = \"/"),
        "an absolute path in:\n{manifest}"
    );
    assert!(project.join("src/lib.rs").is_file());
    assert!(project.join("src/tests/host.rs").is_file());

    let built = cli
        .command()
        .current_dir(&project)
        .args(["build"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&built.stdout);
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(built.status.success(), "build failed:\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("Building my-filter v0.1.0 for wasm32-wasip1"),
        "{stderr}"
    );
    assert_eq!(field(&stdout, "root ids"), "my_filter");
    assert!(
        field(&stdout, "image").starts_with("my-filter:latest (oci variant"),
        "{stdout}"
    );
    let built_at = started.elapsed();

    let run = cli
        .command()
        .current_dir(&project)
        .args(["run", "--validate"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "run --validate failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.starts_with("HTTP/1.1 200"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "hello: melon"), "{stdout}");
    // The built-in echo upstream answered with the request Envoy forwarded.
    assert!(stdout.contains("\n\nGET /\n"), "{stdout}");
    eprintln!(
        "fresh project: new + build (cold target dir) {:.1} s, + run --validate {:.1} s in all",
        built_at.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    // `--optimize` shrinks the module with a wasm-opt it finds or installs (npm), says which,
    // keeps every custom section byte for byte, and the module still works.
    let plain = cli.stored_module("my-filter:latest");
    let optimized = cli
        .command()
        .current_dir(&project)
        .args(["build", "--optimize", "-t", "my-filter:small"])
        .env_remove("PROXYLET_WASM_OPT")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&optimized.stdout);
    let err = String::from_utf8_lossy(&optimized.stderr);
    assert!(optimized.status.success(), "{out}\n{err}");
    assert!(
        err.contains("with wasm-opt -Oz in") && err.contains("wasm-opt version"),
        "{err}"
    );
    assert_eq!(field(&out, "root ids"), "my_filter");
    let small = cli.stored_module("my-filter:small");
    assert!(
        small.len() < plain.len(),
        "wasm-opt did not shrink the module: {} -> {} bytes",
        plain.len(),
        small.len()
    );
    for section in [
        proxylet_artifact::RUNTIME_CONFIG_SECTION,
        proxylet_artifact::CONFIG_SCHEMA_SECTION,
    ] {
        let before = proxylet_artifact::custom_section(&plain, section).unwrap();
        assert!(before.is_some(), "the built module has no {section}");
        assert_eq!(
            proxylet_artifact::custom_section(&small, section).unwrap(),
            before,
            "{section} changed"
        );
    }
    eprintln!("wasm-opt -Oz: {} -> {} bytes", plain.len(), small.len());
    let ran = cli.ok(&["run", "my-filter:small", "--validate"]);
    assert!(ran.lines().any(|l| l == "hello: melon"), "{ran}");

    // The image `build` stored runs too, with a config.
    let by_image = cli.ok(&[
        "run",
        "my-filter:latest",
        "--validate",
        "--config",
        r#"{"name":"x-fruit","value":"kiwi"}"#,
    ]);
    assert!(by_image.lines().any(|l| l == "x-fruit: kiwi"), "{by_image}");
    let listed = cli.ok(&["list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("my-filter ") && l.contains(" latest ")),
        "{listed}"
    );
}

#[test]
fn new_writes_a_crate_that_builds_anywhere() {
    let cli = Cli::new();
    let dir = TempDir::new("portable");
    for (template, package, root_id) in [
        ("add-header", "my-filter", "my_filter"),
        ("metrics", "my_filter", "my_filter"),
    ] {
        let project = dir.join(&format!("{template}-x")).join("my-filter");
        let stderr = String::from_utf8_lossy(
            &cli.command()
                .args(["new", project.to_str().unwrap(), "--template", template])
                .output()
                .unwrap()
                .stderr,
        )
        .into_owned();
        assert!(
            stderr.contains(&format!("Created filter crate `{package}`"))
                && stderr.contains("proxylet 0.1 from crates.io"),
            "{stderr}"
        );
        let mut text = String::new();
        for entry in walk(&project) {
            text.push_str(&std::fs::read_to_string(&entry).unwrap());
        }
        // Nothing machine-specific: no path at all, no checkout, no temporary directory.
        for absolute in [
            common::root().to_string_lossy().into_owned(),
            dir.path().to_string_lossy().into_owned(),
            "path =".to_owned(),
        ] {
            assert!(
                !text.contains(&absolute),
                "{template}: `{absolute}` in:\n{text}"
            );
        }
        let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{package}\"")),
            "{manifest}"
        );
        assert!(manifest.contains("\nproxylet = \"0.1\"\n"), "{manifest}");
        assert!(manifest.contains("\nproxylet-testkit = "), "{manifest}");
        assert!(!manifest.contains("\"testing\""), "{manifest}");
        assert!(manifest.contains("crate-type = [\"cdylib\"]"), "{manifest}");
        assert!(!manifest.contains("[patch"), "{manifest}");
        let lib = std::fs::read_to_string(project.join("src/lib.rs")).unwrap();
        assert!(lib.contains("mod tests {\n    mod host;"), "{lib}");
        let host = std::fs::read_to_string(project.join("src/tests/host.rs")).unwrap();
        assert!(host.contains(&format!("plugin(\"{root_id}\")")), "{host}");
        assert!(host.contains("module!()"), "{host}");
    }

    let not_a_checkout = cli.fails(&[
        "new",
        dir.join("y").to_str().unwrap(),
        "--path",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        not_a_checkout.contains("is not a proxylet checkout"),
        "{not_a_checkout}"
    );
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn errors_say_what_to_do() {
    let cli = Cli::new();
    let empty = TempDir::new("empty");
    let no_crate = cli
        .command()
        .current_dir(empty.path())
        .args(["build"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&no_crate.stderr);
    assert!(!no_crate.status.success());
    assert!(
        stderr.contains("no Cargo.toml") && stderr.contains("cargo proxylet new NAME"),
        "{stderr}"
    );

    let no_envoy = cli.fails(&[
        "run",
        common::flagship().to_str().unwrap(),
        "--validate",
        "--envoy",
        "/no/envoy",
    ]);
    assert!(
        no_envoy.contains("--envoy /no/envoy is not a file"),
        "{no_envoy}"
    );

    let bad_template = cli.fails(&[
        "new",
        empty.join("x").to_str().unwrap(),
        "--template",
        "nope",
    ]);
    assert!(
        bad_template.contains("no template `nope`; the templates are: ")
            && bad_template.contains("add-header"),
        "{bad_template}"
    );
    let bad_name = cli.fails(&["new", empty.join("1x").to_str().unwrap()]);
    assert!(bad_name.contains("not a valid crate name"), "{bad_name}");

    let bad_config = cli.fails(&[
        "run",
        common::flagship().to_str().unwrap(),
        "--validate",
        "--config",
        "{",
    ]);
    assert!(
        bad_config.contains("the plugin config (--config) is not JSON"),
        "{bad_config}"
    );

    // The flagship's config schema refuses it before Envoy starts...
    let refused = cli.fails(&[
        "run",
        common::flagship().to_str().unwrap(),
        "--validate",
        "--config",
        r#"{"value":5}"#,
    ]);
    assert!(
        refused.contains("config.value: expected string, found integer 5"),
        "{refused}"
    );
    // ...and without the schema, Envoy does, with the filter's own message.
    let schemaless = empty.join("schemaless.wasm");
    std::fs::write(
        &schemaless,
        without_config_schema(&common::flagship_bytes()),
    )
    .unwrap();
    let refused = cli.fails(&[
        "run",
        schemaless.to_str().unwrap(),
        "--validate",
        "--config",
        r#"{"value":5}"#,
    ]);
    assert!(
        refused.contains("Envoy did not start with the filter"),
        "{refused}"
    );
    assert!(
        refused.contains("config.value: invalid type: integer `5`, expected a string"),
        "{refused}"
    );
}

/// `wasm` without its `proxylet.config_schema` custom section.
fn without_config_schema(wasm: &[u8]) -> Vec<u8> {
    let mut out = wasm[..8].to_vec();
    let mut at = 8;
    while at < wasm.len() {
        let start = at;
        at += 1;
        let size = proxylet_artifact::leb_u32(wasm, &mut at).unwrap() as usize;
        let end = at + size;
        let mut name_at = at;
        let is_schema = wasm[start] == 0 && {
            let len = proxylet_artifact::leb_u32(wasm, &mut name_at).unwrap() as usize;
            &wasm[name_at..name_at + len] == proxylet_artifact::CONFIG_SCHEMA_SECTION.as_bytes()
        };
        if !is_schema {
            out.extend_from_slice(&wasm[start..end]);
        }
        at = end;
    }
    assert!(proxylet_artifact::config_schemas(&out).unwrap().is_empty());
    out
}

#[test]
fn run_serves_until_ctrl_c_then_stops_envoy_and_the_upstream() {
    use std::io::BufRead as _;
    use std::time::Duration;

    let cli = Cli::new();
    let wasm = common::flagship();
    let mut child = cli
        .command()
        .args(["run", wasm.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines_tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let addr: std::net::SocketAddr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no `Running` line:\n{}", seen.join("\n")));
        if let Some(rest) = line.trim_start().strip_prefix("Running Envoy on http://") {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
        seen.push(line);
    };

    let response = proxylet_harness::Request::get("/")
        .timeout(Duration::from_secs(10))
        .send(addr)
        .unwrap();
    assert_eq!(response.header_str("hello"), Some("melon"));

    // Ctrl-C: SIGINT to cargo-proxylet alone (a terminal would signal Envoy too).
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "cargo-proxylet did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let rest: Vec<String> =
        std::iter::from_fn(|| lines.recv_timeout(Duration::from_secs(5)).ok()).collect();
    assert!(
        rest.iter()
            .any(|l| l.contains("Stopping Envoy and the upstream")),
        "{rest:?}"
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "Envoy still listens on {addr}"
    );
}
