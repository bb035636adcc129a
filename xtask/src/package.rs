//! `cargo xtask package`: proxylet as a user outside this repository gets it, from the
//! packaged crates alone.
//!
//! 1. Every published crate of the workspace is packaged (`cargo package`).
//! 2. The `.crate` files are unpacked into a temporary directory outside the checkout, whose
//!    `.cargo/config.toml` patches crates.io with them (`[patch.crates-io]`), as if they
//!    were published.
//! 3. `cargo-proxylet` is installed from its unpacked package (`cargo install --path`).
//! 4. There, `cargo proxylet new` makes a filter crate, which is built (`cargo proxylet
//!    build`, a plain `cargo build --release --target wasm32-wasip1` giving the same module,
//!    and `--optimize`), tested (`cargo test`) and run in Envoy (`cargo proxylet run
//!    --validate`, which must show `hello: melon`); every other template is created and
//!    checked (`cargo check --all-targets`).
//!
//! Build output is kept in `target/package-check/` so a second run is incremental.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{root, step, Result};

/// The workspace's packages that are published (no `publish = false`), in an order where
/// each comes after its dependencies.
pub(crate) fn published() -> Result<Vec<String>> {
    let output = Command::new(cargo())
        .current_dir(root())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let publishable: Vec<&serde_json::Value> = packages
        .iter()
        .filter(|p| {
            p["publish"]
                .as_array()
                .is_none_or(|registries| !registries.is_empty())
        })
        .collect();
    let names: Vec<String> = publishable
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    // Dependencies first (a topological order of the workspace-internal dependencies).
    let mut ordered: Vec<String> = Vec::new();
    while ordered.len() < names.len() {
        let before = ordered.len();
        for package in &publishable {
            let name = package["name"].as_str().unwrap_or_default().to_owned();
            if ordered.contains(&name) {
                continue;
            }
            let ready = package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].as_str() != Some("dev"))
                .filter_map(|d| d["name"].as_str())
                .filter(|d| names.iter().any(|n| n == d))
                .all(|d| ordered.iter().any(|o| o == d));
            if ready {
                ordered.push(name);
            }
        }
        if ordered.len() == before {
            return Err(format!(
                "the published crates depend on each other in a cycle: {names:?}"
            ));
        }
    }
    Ok(ordered)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A temporary directory outside the checkout, removed on drop unless the check failed.
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("(kept {} for a look)", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A cargo command as a user types it: without the `CARGO_*` variables `cargo xtask` runs
/// under (`CARGO_MANIFEST_DIR` and the like would point into the checkout), except
/// `CARGO_HOME`.
fn user_cargo() -> Command {
    let mut command = Command::new(cargo());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_") && name != "CARGO_HOME" {
            command.env_remove(&*name);
        }
    }
    command
}

/// Runs `command`, echoing it; its output goes to the terminal. Fails with `what`.
fn run(command: &mut Command, what: &str) -> Result<()> {
    eprintln!("$ {}", shown(command));
    let status = command
        .status()
        .map_err(|e| format!("cannot run {}: {e}", shown(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status}): {}", shown(command)))
    }
}

/// Runs `command`, echoing it; returns its stdout (its stderr goes to the terminal).
fn run_stdout(command: &mut Command, what: &str) -> Result<String> {
    eprintln!("$ {}", shown(command));
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", shown(command)))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    eprint!("{stdout}");
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{what} failed ({}): {}",
            output.status,
            shown(command)
        ))
    }
}

fn shown(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    if let Some(dir) = command.get_current_dir() {
        text.push_str(&format!("   (in {})", dir.display()));
    }
    text
}

/// The check; `envoy` is the Envoy binary `run --validate` uses.
pub(crate) fn check(envoy: &Path) -> Result<()> {
    let started = Instant::now();
    let root = root();
    let cache = root.join("target").join("package-check");
    let crates = published()?;

    step(&format!(
        "packaging the published crates: {}",
        crates.join(", ")
    ));
    let mut package = Command::new(cargo());
    package
        .current_dir(&root)
        .args(["package", "--no-verify", "--allow-dirty"]);
    for name in &crates {
        package.args(["--package", name]);
    }
    run(&mut package, "cargo package")?;
    let version = env!("CARGO_PKG_VERSION");

    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let scratch = Scratch {
        path: std::env::temp_dir().join(format!(
            "proxylet-package-check-{}-{nanos}",
            std::process::id()
        )),
        keep: true,
    };
    let tmp = &scratch.path;
    let canonical_root = std::fs::canonicalize(&root).unwrap_or(root.clone());
    std::fs::create_dir_all(tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let canonical_tmp = std::fs::canonicalize(tmp).unwrap_or(tmp.clone());
    if canonical_tmp.starts_with(&canonical_root) {
        return Err(format!(
            "the temporary directory {} is inside the checkout; set TMPDIR elsewhere",
            tmp.display()
        ));
    }

    step(&format!("unpacking them into {}", tmp.display()));
    let unpacked = tmp.join("crates");
    std::fs::create_dir_all(&unpacked)
        .map_err(|e| format!("creating {}: {e}", unpacked.display()))?;
    let mut patch = String::from(
        "# The packaged crates, as if they were on crates.io (cargo xtask package).\n[patch.crates-io]\n",
    );
    for name in &crates {
        let file = root
            .join("target")
            .join("package")
            .join(format!("{name}-{version}.crate"));
        run(
            Command::new("tar")
                .arg("-xzf")
                .arg(&file)
                .arg("-C")
                .arg(&unpacked),
            "unpacking a .crate",
        )?;
        let dir = unpacked.join(format!("{name}-{version}"));
        patch.push_str(&format!(
            "{name} = {{ path = {:?} }}\n",
            dir.display().to_string()
        ));
    }
    let config_dir = tmp.join(".cargo");
    std::fs::create_dir_all(&config_dir)
        .map_err(|e| format!("creating {}: {e}", config_dir.display()))?;
    std::fs::write(config_dir.join("config.toml"), &patch)
        .map_err(|e| format!("writing the cargo config: {e}"))?;

    step("cargo install cargo-proxylet, from its package");
    let install_started = Instant::now();
    let bin = tmp.join("install");
    run(
        user_cargo()
            .current_dir(tmp)
            .args(["install", "--path"])
            .arg(unpacked.join(format!("cargo-proxylet-{version}")))
            .arg("--root")
            .arg(&bin)
            .env("CARGO_TARGET_DIR", cache.join("install")),
        "cargo install",
    )?;
    eprintln!(
        "installed in {:.0} s",
        install_started.elapsed().as_secs_f64()
    );

    // Everything below runs as a user would, in the temporary directory, with the installed
    // `cargo proxylet` first on PATH.
    let path = std::env::join_paths(
        std::iter::once(bin.join("bin")).chain(
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                .unwrap_or_default(),
        ),
    )
    .map_err(|e| format!("PATH: {e}"))?;
    let work = tmp.join("work");
    std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
    let user = |dir: &Path, args: &[&str]| {
        let mut command = user_cargo();
        command
            .current_dir(dir)
            .args(args)
            .env("PATH", &path)
            .env("CARGO_TARGET_DIR", cache.join("filters"))
            .env("PROXYLET_ENVOY", envoy)
            .env("PROXYLET_STORE", tmp.join("store"))
            .env("PROXYLET_CACHE_DIR", tmp.join("cache"))
            .env_remove("PROXYLET_WASM_OPT")
            .env_remove("RUSTFLAGS");
        command
    };

    step("cargo proxylet new → build → cargo test → run --validate, outside the checkout");
    run(
        &mut user(&work, &["proxylet", "new", "my-filter"]),
        "cargo proxylet new",
    )?;
    let project = work.join("my-filter");
    let manifest = std::fs::read_to_string(project.join("Cargo.toml"))
        .map_err(|e| format!("reading the new crate's manifest: {e}"))?;
    let release_line: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
    if !manifest.contains(&format!("proxylet = \"{release_line}\""))
        || manifest.contains("path =")
        || manifest.contains(&*canonical_root.to_string_lossy())
    {
        return Err(format!(
            "`cargo proxylet new` did not write a portable manifest:\n{manifest}"
        ));
    }

    let built = run_stdout(
        &mut user(&project, &["proxylet", "build"]),
        "cargo proxylet build",
    )?;
    let proxylet_size = size_field(&built)?;
    if !built.lines().any(|l| l.trim() == "root ids  my_filter") {
        return Err(format!(
            "`cargo proxylet build` printed no `root ids  my_filter`:\n{built}"
        ));
    }

    // What CI pipelines and the peers' docs run gives the same module.
    run(
        &mut user(
            &project,
            &["build", "--release", "--target", "wasm32-wasip1"],
        ),
        "cargo build --release --target wasm32-wasip1",
    )?;
    let plain = cache
        .join("filters")
        .join("wasm32-wasip1")
        .join("release")
        .join("my_filter.wasm");
    let plain_size = std::fs::metadata(&plain)
        .map_err(|e| format!("{}: {e}", plain.display()))?
        .len();
    eprintln!("cargo proxylet build: {proxylet_size} bytes; plain cargo build: {plain_size} bytes");
    if plain_size != proxylet_size {
        return Err(format!(
            "a plain `cargo build --release --target wasm32-wasip1` gave {plain_size} bytes, \
             `cargo proxylet build` {proxylet_size}: the new crate is not a cdylib alone"
        ));
    }

    let optimized = run_stdout(
        &mut user(&project, &["proxylet", "build", "--optimize", "--no-store"]),
        "cargo proxylet build --optimize",
    )?;
    let optimized_size = size_field(&optimized)?;
    if optimized_size >= proxylet_size {
        return Err(format!(
            "--optimize did not shrink the module ({proxylet_size} -> {optimized_size} bytes)"
        ));
    }

    run(&mut user(&project, &["test"]), "cargo test")?;

    let validated = run_stdout(
        &mut user(&project, &["proxylet", "run", "--validate"]),
        "cargo proxylet run --validate",
    )?;
    if !validated.lines().any(|l| l.trim() == "hello: melon") {
        return Err(format!(
            "`cargo proxylet run --validate` did not answer with `hello: melon`:\n{validated}"
        ));
    }

    step("every other template: new → cargo check --all-targets");
    let list = run_stdout(
        &mut user(&work, &["proxylet", "new", "--list"]),
        "new --list",
    )?;
    for template in list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|t| *t != "add-header")
    {
        let name = format!("my-{template}");
        run(
            &mut user(&work, &["proxylet", "new", &name, "--template", template]),
            "cargo proxylet new --template",
        )?;
        run(
            &mut user(&work.join(&name), &["check", "--all-targets", "--quiet"]),
            "cargo check --all-targets",
        )?;
    }

    let mut scratch = scratch;
    scratch.keep = false;
    drop(scratch);
    eprintln!(
        "the packaged crates work outside the checkout ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The byte count of a `size  134.3 KB (134300 bytes…)` line.
fn size_field(output: &str) -> Result<u64> {
    output
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("size"))
        .and_then(|rest| rest.split('(').nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no `size … (N bytes)` line in:\n{output}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What crates.io shows and needs, for every crate this workspace publishes.
    #[test]
    fn published_crates_carry_their_metadata() {
        let output = Command::new(cargo())
            .current_dir(root())
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .output()
            .unwrap();
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let names = published().unwrap();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [
                "cargo-proxylet",
                "proxylet",
                "proxylet-artifact",
                "proxylet-harness",
                "proxylet-macros",
                "proxylet-testkit",
            ],
            "the published crates changed: update this list, and their READMEs"
        );
        for package in metadata["packages"].as_array().unwrap() {
            let name = package["name"].as_str().unwrap();
            if !names.iter().any(|n| n == name) {
                continue;
            }
            for field in [
                "description",
                "license",
                "repository",
                "documentation",
                "readme",
                "rust_version",
            ] {
                assert!(
                    package[field].as_str().is_some_and(|v| !v.is_empty()),
                    "{name} has no `{field}`"
                );
            }
            assert!(
                package["keywords"]
                    .as_array()
                    .is_some_and(|k| !k.is_empty()),
                "{name} has no keywords"
            );
            let dir = Path::new(package["manifest_path"].as_str().unwrap())
                .parent()
                .unwrap()
                .to_path_buf();
            let license = std::fs::read_to_string(dir.join("LICENSE"))
                .unwrap_or_else(|e| panic!("{name}: no LICENSE file ({e})"));
            assert!(license.contains("Apache License"), "{name}");
            assert!(license.contains("Version 2.0, January 2004"), "{name}");
        }
    }

    #[test]
    fn size_lines_are_read() {
        assert_eq!(
            size_field("    module  x.wasm\n      size  134.3 KB (134300 bytes)\n").unwrap(),
            134300
        );
        assert_eq!(
            size_field("      size  107.4 KB (107389 bytes; 134.3 KB before wasm-opt)").unwrap(),
            107389
        );
    }
}
