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

    let refused = cli.fails(&[
        "run",
        common::flagship().to_str().unwrap(),
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
