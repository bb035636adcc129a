//! A fresh project end to end: `new` → `build` → `run --validate` in a temporary
//! directory, with its own (cold) target directory, through the real binary and a real
//! Envoy. The time it takes is printed (measured, not asserted).

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
    cli.ok(&["new", project.to_str().unwrap()]);
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    let sdk = common::root().join("sdk");
    assert!(
        manifest.contains(&format!("path = {:?}", sdk.display().to_string())),
        "{manifest}"
    );
    assert!(project.join("src/lib.rs").is_file());

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

    // `--optimize` shrinks the module, keeps its runtime config, and it still works.
    if cfg!(feature = "wasm-opt") {
        let plain_size: u64 = field(&String::from_utf8_lossy(&built.stdout), "size")
            .split(" (")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        let optimized = cli
            .command()
            .current_dir(&project)
            .args(["build", "--optimize", "-t", "my-filter:small"])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&optimized.stdout);
        assert!(
            optimized.status.success(),
            "{out}\n{}",
            String::from_utf8_lossy(&optimized.stderr)
        );
        assert_eq!(field(&out, "root ids"), "my_filter");
        let size = field(&out, "size");
        let bytes: u64 = size
            .split(" (")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(
            bytes < plain_size,
            "wasm-opt did not shrink the module: {plain_size} -> {size}"
        );
        eprintln!("wasm-opt -Oz: {plain_size} -> {bytes} bytes");
        let small = cli.ok(&["run", "my-filter:small", "--validate"]);
        assert!(small.lines().any(|l| l == "hello: melon"), "{small}");
    }

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
