//! `cargo xtask bench`: measures the size, the per-request work, the throughput and the
//! build time of proxylet filters against hand-written raw proxy-wasm filters (and Lua,
//! and no filter), and writes BENCHMARKS.md. Nothing here is asserted: these are
//! measurements; the targets are stated next to them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use proxylet_artifact::build::{build_package, CargoBuild, WASM_TARGET};
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, LuaFilter, Upstream, WasmFilter};

use crate::direct;
use crate::load::{self, Load, Until};
use crate::{fuel, optimize, root, step, wasm_target_dir, Result};

/// Load settings: fixed, so runs compare.
const CONNECTIONS: usize = 4;
const ROUND: Duration = Duration::from_secs(4);
const ROUNDS: usize = 10;
const WARMUP: Duration = Duration::from_secs(1);

/// The Lua equivalent of the flagship: `hello: melon` on every response.
pub(crate) const LUA_ADD_HEADER: &str = r#"
function envoy_on_response(response_handle)
  response_handle:headers():replace("hello", "melon")
end
"#;

/// The hand-written raw proxy-wasm modules, each the twin of a proxylet module.
const BASELINES: &[(&str, &str)] = &[
    ("raw-add-header", "add-header"),
    ("body-raw", "body-proxylet"),
    ("callout-raw", "callout-proxylet"),
];

/// A built module and its optimized size.
struct Sized {
    package: String,
    wasm: PathBuf,
    size: u64,
    optimized: u64,
}

/// Builds a package with the shared build step (`build_package`'s command and profile),
/// for raw proxy-wasm modules (which have no `runtime-config.json` section for
/// `build_package` to read) and for other targets.
fn build_for(package: &str, target: &str, target_dir: &Path) -> Result<PathBuf> {
    CargoBuild::new(root(), package, target_dir)
        .target(target)
        .run()
        .map_err(|e| e.to_string())
}

pub(crate) fn build_raw(package: &str) -> Result<PathBuf> {
    build_for(package, WASM_TARGET, &wasm_target_dir())
}

/// The flagship and its raw twin built for wasm32-unknown-unknown (no WASI libc) and
/// optimized: (proxylet, raw) bytes. A data point on where the size goes, not how
/// proxylet modules are built.
fn unknown_target_sizes() -> Result<(u64, u64)> {
    const TARGET: &str = "wasm32-unknown-unknown";
    let installed = std::process::Command::new("rustup")
        .args(["target", "add", TARGET])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        return Err(format!("cannot add the Rust target {TARGET} with rustup"));
    }
    let dir = root().join("target").join("bench").join("unknown");
    let mut sizes = Vec::new();
    for package in ["add-header", "raw-add-header"] {
        let wasm = build_for(package, TARGET, &dir)?;
        let out = dir.join(format!("{package}.optimized.wasm"));
        sizes.push(optimize::optimize(&wasm, &out)?);
    }
    Ok((sizes[0], sizes[1]))
}

fn is_raw(package: &str) -> bool {
    BASELINES.iter().any(|(raw, _)| *raw == package)
}

/// Builds every example (unless `pairs_only`) and every bench module, and runs the
/// size-optimize step on each.
fn sizes(pairs_only: bool) -> Result<Vec<Sized>> {
    let mut packages = if pairs_only {
        Vec::new()
    } else {
        crate::example_packages()?
    };
    for (raw, proxylet) in BASELINES {
        for package in [proxylet, raw] {
            if !packages.iter().any(|p| p == package) {
                packages.push((*package).to_owned());
            }
        }
    }
    let optimized_dir = root().join("target").join("bench").join("optimized");
    std::fs::create_dir_all(&optimized_dir)
        .map_err(|e| format!("creating {}: {e}", optimized_dir.display()))?;
    let mut out = Vec::new();
    for package in packages {
        let wasm = if is_raw(&package) {
            build_raw(&package)?
        } else {
            build_package(&root(), &package, &wasm_target_dir())
                .map_err(|e| e.to_string())?
                .wasm
        };
        let size = std::fs::metadata(&wasm)
            .map_err(|e| format!("reading {}: {e}", wasm.display()))?
            .len();
        let file = wasm.file_name().unwrap_or_default();
        let optimized = optimize::optimize(&wasm, &optimized_dir.join(file))?;
        eprintln!(
            "{package:<20} {:>10} built, {:>10} optimized",
            kb(size),
            kb(optimized)
        );
        out.push(Sized {
            package,
            wasm,
            size,
            optimized,
        });
    }
    Ok(out)
}

/// The custom sections of a module: (name, bytes in the file, section header included).
fn custom_sections(wasm: &[u8]) -> Vec<(String, usize)> {
    fn leb(bytes: &[u8], at: &mut usize) -> Option<usize> {
        let mut value = 0usize;
        for shift in (0..35).step_by(7) {
            let byte = *bytes.get(*at)?;
            *at += 1;
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    let mut sections = Vec::new();
    let mut at = 8; // magic and version
    while at < wasm.len() {
        let start = at;
        let id = wasm[at];
        at += 1;
        let Some(size) = leb(wasm, &mut at) else {
            break;
        };
        let end = at + size;
        if id == 0 {
            let mut name_at = at;
            if let Some(len) = leb(wasm, &mut name_at) {
                let name = wasm.get(name_at..name_at + len).unwrap_or_default();
                sections.push((String::from_utf8_lossy(name).into_owned(), end - start));
            }
        }
        at = end;
    }
    sections
}

pub(crate) fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

/// The four Envoys compared, started side by side.
const SETUPS: &[&str] = &["no filter", "raw proxy-wasm", "proxylet", "Lua"];

/// Runs the load rounds: every setup in turn within a round, so slow drifts of the
/// machine hit all of them alike. Returns each setup's runs.
fn throughput(envoy_bin: &Path, flagship: &Path, raw: &Path) -> Result<Throughput> {
    let upstream = Upstream::start_default().map_err(|e| e.to_string())?;
    let base = || {
        Bootstrap::http()
            .cluster("upstream", upstream.addr())
            .access_log(false)
    };
    let bootstraps = [
        base(),
        base().filter(WasmFilter::local("add_header", raw).root_id("add_header")),
        base().filter(WasmFilter::local("add_header", flagship).root_id("add_header")),
        base().filter(LuaFilter::new(LUA_ADD_HEADER)),
    ];
    let mut envoys = Vec::new();
    for (name, bootstrap) in SETUPS.iter().zip(&bootstraps) {
        let options = EnvoyOptions::default()
            .envoy(envoy_bin)
            .log_level("warning");
        let envoy = Envoy::start(bootstrap, options).map_err(|e| format!("{name}: {e}"))?;
        envoys.push(envoy);
    }
    let pids: Vec<u32> = envoys.iter().filter_map(Envoy::pid).collect();
    let pinned = pin(&pids);
    let mut results = vec![Vec::new(); SETUPS.len()];
    for round in 0..ROUNDS {
        // Each round starts with another setup, so none is always first or last.
        for i in (0..SETUPS.len()).map(|k| (k + round) % SETUPS.len()) {
            let envoy = &envoys[i];
            let check = if i == 0 {
                load::ok
            } else {
                load::ok_with_hello
            };
            let addr = envoy.listener_addr();
            // The machine is shared: a run during which other processes took CPU is run
            // again (up to MAX_RETRIES times; then the least disturbed one is kept).
            let mut best: Option<(Load, f64)> = None;
            for attempt in 0..=MAX_RETRIES {
                let _ = load::run(addr, CONNECTIONS, Until::Elapsed(WARMUP), check);
                let before = cpu_ticks(&pids);
                let result = load::run(addr, CONNECTIONS, Until::Elapsed(ROUND), check);
                let others = other_cores(before, cpu_ticks(&pids), ROUND);
                eprintln!(
                    "round {}: {:<15} {:>7.0} rps  p50 {:>5.0} µs  p99 {:>6.0} µs  errors {}  other processes {:.2} cores{}",
                    round + 1,
                    SETUPS[i],
                    result.rps,
                    result.p50_us,
                    result.p99_us,
                    result.errors,
                    others,
                    if others > QUIET_CORES && attempt < MAX_RETRIES { ": again" } else { "" }
                );
                if let Some(first) = result.first_errors.first() {
                    eprintln!("  first error: {first}");
                }
                let quiet = others <= QUIET_CORES;
                if best.as_ref().is_none_or(|(_, o)| others < *o) {
                    best = Some((result, others));
                }
                if quiet {
                    break;
                }
            }
            if let Some((mut result, others)) = best {
                result.other_cores = others;
                results[i].push(result);
            }
        }
        // The upstream keeps every request; nobody reads them here.
        upstream.take_requests();
    }
    if pinned {
        // The build timings come next: every core again.
        unpin();
    }
    Ok(Throughput {
        runs: results,
        pinned,
    })
}

/// Section 3.2 of BENCHMARKS.md.
fn throughput_markdown(load: &Throughput) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### 3.2 Behind a test upstream\n");
    let pinning = if load.pinned {
        "; the Envoys are pinned to the last core and the load generator with the upstream to the others (`taskset`)"
    } else {
        ""
    };
    let _ = writeln!(md, "Four Envoys side by side (one per setup, 1 worker each, access log off, log level warning) in front of one test upstream (the harness's, answering `200` with a 17-byte body), all on loopback on this machine; the load generator runs here too{pinning}. Load: {CONNECTIONS} keep-alive HTTP/1.1 connections, closed loop, `GET /`; {ROUNDS} rounds, each running every setup in turn (starting with the next setup each round) for {:.0} s after {:.0} s of warm-up. A request counts only if it got `200` (and `hello: melon` from the filters). Figures are medians over the rounds; ratios are the median of the per-round ratios to the raw filter in the same round.\n", ROUND.as_secs_f64(), WARMUP.as_secs_f64());
    let _ = writeln!(md, "| setup | rps | p50 µs | p99 µs | rps / raw | p50 / raw | p99 / raw | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|");
    for (i, name) in SETUPS.iter().enumerate() {
        let runs = &&load.runs[i];
        let errors: u64 = runs.iter().map(|l| l.errors).sum();
        let _ = writeln!(
            md,
            "| {name} | {:.0} | {:.0} | {:.0} | {:.3} | {:.3} | {:.3} | {errors} |",
            median(runs.iter().map(|l| l.rps).collect()),
            median(runs.iter().map(|l| l.p50_us).collect()),
            median(runs.iter().map(|l| l.p99_us).collect()),
            paired_ratio(&load.runs, i, |l| l.rps),
            paired_ratio(&load.runs, i, |l| l.p50_us),
            paired_ratio(&load.runs, i, |l| l.p99_us),
        );
    }
    let ours_raw = paired_ratio(&load.runs, 2, |l| l.rps);
    let ours_lua = median(
        load.runs[2]
            .iter()
            .zip(&load.runs[3])
            .map(|(a, b)| a.rps / b.rps)
            .collect(),
    );
    let _ = writeln!(
        md,
        "\n| throughput | figure | target | |\n|---|---:|---:|---|"
    );
    let _ = writeln!(
        md,
        "| proxylet / raw rps | **{ours_raw:.3}** | ≥ 0.98 | {} |",
        met(ours_raw >= 0.98)
    );
    let _ = writeln!(
        md,
        "| proxylet / Lua rps | **{ours_lua:.3}** | > 1.0 | {} |",
        met(ours_lua > 1.0)
    );
    let raw_lua = median(
        load.runs[1]
            .iter()
            .zip(&load.runs[3])
            .map(|(a, b)| a.rps / b.rps)
            .collect(),
    );
    let _ = writeln!(
        md,
        "| for comparison: raw proxy-wasm / Lua rps | {raw_lua:.3} | | |"
    );
    let disturbed = load
        .runs
        .iter()
        .flatten()
        .filter(|l| l.other_cores > QUIET_CORES)
        .count();
    let _ = writeln!(md, "\nThe machine is shared: a run during which other processes used more than {QUIET_CORES:.2} core on average (from `/proc/stat`, minus this process and the Envoys) was run again, up to {MAX_RETRIES} times, keeping the least disturbed; {disturbed} of the {} runs kept stayed above that.\n", SETUPS.len() * ROUNDS);
    let _ = writeln!(
        md,
        "Every round, per setup: rps (cores used by other processes meanwhile):\n"
    );
    let _ = writeln!(
        md,
        "| round | {} |\n|---|{}",
        SETUPS.join(" | "),
        "---:|".repeat(SETUPS.len())
    );
    for round in 0..ROUNDS {
        let cells: Vec<String> = load
            .runs
            .iter()
            .map(|runs| {
                runs.get(round).map_or("".into(), |l| {
                    format!("{:.0} ({:.2})", l.rps, l.other_cores)
                })
            })
            .collect();
        let _ = writeln!(md, "| {} | {} |", round + 1, cells.join(" | "));
    }
    let _ = writeln!(md, "\nEnvoy, the upstream and the load generator share this machine's cores, so absolute figures say little; compare setups within one run. The filter's own work is a small part of a request's cost in Envoy (see section 2): differences of a few percent between the wasm setups are within the run-to-run noise.\n");

    md
}

/// The load runs' results, per setup, and whether CPUs were pinned.
struct Throughput {
    runs: Vec<Vec<Load>>,
    pinned: bool,
}

/// On a machine with two cores or more, pins every Envoy (all its threads) to the last
/// core and this process (load generator and upstream) to the others, with `taskset`, so
/// that they do not take turns on the same core. Returns whether it did.
fn pin(envoys: &[u32]) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        return false;
    }
    let envoy_core = (cores - 1).to_string();
    let ours = format!("0-{}", cores - 2);
    let done =
        envoys.iter().all(|pid| taskset(&envoy_core, *pid)) && taskset(&ours, std::process::id());
    if !done {
        eprintln!("could not pin CPUs with taskset; running unpinned");
    }
    done
}

/// Lets this process run on every core again.
fn unpin() {
    let cores = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "0-1023".into());
    if !taskset(&cores, std::process::id()) {
        eprintln!("could not unpin this process ({cores}); build timings may be slower");
    }
}

/// `taskset` on every thread of `pid`.
fn taskset(cpus: &str, pid: u32) -> bool {
    std::process::Command::new("taskset")
        .args(["--all-tasks", "--cpu-list", "--pid", cpus, &pid.to_string()])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A run is "quiet" when processes other than this one and the Envoys used at most this
/// many cores on average.
const QUIET_CORES: f64 = 0.10;
const MAX_RETRIES: usize = 4;

/// CPU time so far, in clock ticks: (every process on the machine, this process (with
/// its children that were waited for, e.g. wrk) and `pids`).
pub(crate) fn cpu_ticks(pids: &[u32]) -> (u64, u64) {
    let total = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| {
            let line = stat.lines().next()?.strip_prefix("cpu ")?.to_owned();
            // user nice system idle iowait irq softirq steal...: user, nice and system.
            // Not irq/softirq: the loopback traffic of the benchmark itself is processed
            // there, and no process is charged for it.
            let busy = line
                .split_whitespace()
                .take(3)
                .map(|n| n.parse::<u64>().unwrap_or(0))
                .sum();
            Some(busy)
        })
        .unwrap_or(0);
    let process = |pid: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                // After the command name (which may hold spaces): state is field 3,
                // utime and stime are fields 14 and 15, then cutime and cstime (children
                // waited for).
                let rest = stat.rsplit_once(')')?.1;
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
                Some(ticks(11)? + ticks(12)? + ticks(13)? + ticks(14)?)
            })
            .unwrap_or(0)
    };
    let ours = process("self") + pids.iter().map(|p| process(&p.to_string())).sum::<u64>();
    (total, ours)
}

/// Cores used on average by other processes between two [`cpu_ticks`] readings.
pub(crate) fn other_cores(before: (u64, u64), after: (u64, u64), elapsed: Duration) -> f64 {
    // Linux reports CPU time in USER_HZ = 100 ticks per second.
    let total = after.0.saturating_sub(before.0);
    let ours = after.1.saturating_sub(before.1);
    total.saturating_sub(ours) as f64 / 100.0 / elapsed.as_secs_f64()
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if !n.is_multiple_of(2) => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Median over the rounds of `setup`'s figure divided by the raw filter's in the same
/// round (paired, so a drift of the machine between rounds cancels out).
fn paired_ratio(runs: &[Vec<Load>], setup: usize, figure: fn(&Load) -> f64) -> f64 {
    let raw = &runs[1];
    median(
        runs[setup]
            .iter()
            .zip(raw)
            .map(|(a, b)| figure(a) / figure(b))
            .collect(),
    )
}

/// Cold and warm build times of the flagship, in seconds.
fn build_times() -> Result<(f64, f64)> {
    let target = root().join("target").join("bench").join("build-time");
    let _ = std::fs::remove_dir_all(&target);
    let started = Instant::now();
    build_package(&root(), "add-header", &target).map_err(|e| e.to_string())?;
    let cold = started.elapsed().as_secs_f64();
    // A new mtime (same content) makes cargo rebuild the crate itself, as after an edit.
    let lib = root().join("examples/add-header/src/lib.rs");
    std::fs::File::options()
        .append(true)
        .open(&lib)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .map_err(|e| format!("touching {}: {e}", lib.display()))?;
    let started = Instant::now();
    build_package(&root(), "add-header", &target).map_err(|e| e.to_string())?;
    let warm = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&target);
    Ok((cold, warm))
}

/// Seconds a cold `cargo install --path cli` (default features, a new target directory)
/// takes: what installing `cargo-proxylet` costs a user.
fn install_time() -> Result<f64> {
    let scratch = root().join("target").join("bench").join("install");
    let _ = std::fs::remove_dir_all(&scratch);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let output = std::process::Command::new(cargo)
        .current_dir(root())
        .args(["install", "--path", "cli", "--root"])
        .arg(scratch.join("root"))
        .env("CARGO_TARGET_DIR", scratch.join("target"))
        .output()
        .map_err(|e| format!("cannot run cargo install: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&scratch);
    if !output.status.success() {
        return Err(format!(
            "cargo install --path cli failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(seconds)
}

fn machine(envoy: &Path) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or_else(String::new, |kb| {
            format!(", {:.0} GiB RAM", kb / 1024.0 / 1024.0)
        });
    let os = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| format!(", Linux {}", r.trim()))
        .unwrap_or_default();
    let version = |program: &Path, arg: &str| {
        std::process::Command::new(program)
            .arg(arg)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let rustc = version(Path::new("rustc"), "--version");
    let envoy_version = version(envoy, "--version");
    let envoy_version = envoy_version
        .split_whitespace()
        .find_map(|w| w.split('/').nth(1).filter(|v| v.contains('.')))
        .map_or_else(
            || proxylet_harness::envoy::ENVOY_VERSION.to_owned(),
            str::to_owned,
        );
    format!("{cpu}, {cores} cores{memory}{os}; {rustc}; Envoy {envoy_version} (V8)")
}

/// What `cargo xtask bench` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Everything; writes BENCHMARKS.md.
    All,
    /// Sizes and fuel of the proxylet/raw pairs, printed.
    Quick,
    /// Only the throughput rounds through Envoy, printed.
    Load,
    /// Only the direct-response rounds (a filter's cost, memory, module sizes), printed.
    Direct,
    /// Only the fuel of the proxylet/raw pairs, as built (no size step), printed: the quick
    /// loop while changing the SDK. `PROXYLET_BENCH_MODULE=package=path.wasm` (comma-separated)
    /// measures another build of a package, e.g. one from an older commit.
    Fuel,
}

/// Runs the benchmarks `mode` selects (see [`Mode`]).
pub(crate) fn bench(mode: Mode) -> Result<()> {
    let started = Instant::now();
    let date = crate::now_utc();
    if mode == Mode::Load {
        let envoy = crate::ensure_envoy()?;
        let flagship = build_package(&root(), "add-header", &wasm_target_dir())
            .map_err(|e| e.to_string())?
            .wasm;
        let raw = build_raw("raw-add-header")?;
        step("throughput and latency through Envoy");
        let load = throughput(&envoy, &flagship, &raw)?;
        println!("{}", throughput_markdown(&load));
        return Ok(());
    }
    if mode == Mode::Direct {
        let envoy = crate::ensure_envoy()?;
        let modules = direct::build_modules()?;
        let settings = direct::Settings::from_env()?;
        step(&format!(
            "a filter's cost: direct response, Envoy on a core of its own ({})",
            settings.describe()
        ));
        let run = direct::run(&envoy, &modules, settings)?;
        println!("{}", direct::markdown(&run));
        return Ok(());
    }
    if mode == Mode::Fuel {
        let overrides = std::env::var("PROXYLET_BENCH_MODULE").unwrap_or_default();
        step("per-request work inside the VM (wasmi fuel, deterministic), as built");
        let rows = fuel::measure_all(|package| {
            let given = overrides
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| *name == package);
            match given {
                Some((_, path)) => Ok(PathBuf::from(path)),
                None if is_raw(package) => build_raw(package),
                None => build_package(&root(), package, &wasm_target_dir())
                    .map(|built| built.wasm)
                    .map_err(|e| e.to_string()),
            }
        })?;
        println!("{}", fuel::markdown(&rows));
        return Ok(());
    }
    if mode == Mode::Quick {
        step("sizes of the proxylet/raw pairs, as built and optimized");
        let sized = sizes(true)?;
        let find = |package: &str| {
            sized
                .iter()
                .find(|s| s.package == package)
                .ok_or_else(|| format!("{package} was not built"))
        };
        step("per-request work inside the VM (wasmi fuel, deterministic)");
        let rows = fuel::measure_all(|package| Ok(find(package)?.wasm.clone()))?;
        println!("{}", fuel::markdown(&rows));
        return Ok(());
    }
    let envoy = crate::ensure_envoy()?;
    // Before anything pins this process to fewer cores.
    let machine = machine(&envoy);

    step("sizes: every example and bench module, as built and optimized");
    let sized = sizes(false)?;
    let find = |package: &str| {
        sized
            .iter()
            .find(|s| s.package == package)
            .ok_or_else(|| format!("{package} was not built"))
    };
    let flagship = find("add-header")?;
    let raw = find("raw-add-header")?;
    // Informational: a failure here (no rustup, say) only leaves the line out.
    let unknown = unknown_target_sizes()
        .inspect_err(|e| eprintln!("wasm32-unknown-unknown sizes skipped: {e}"))
        .ok();

    step("per-request work inside the VM (wasmi fuel, deterministic)");
    let fuel_rows = fuel::measure_all(|package| Ok(find(package)?.wasm.clone()))?;

    step(&format!(
        "throughput and latency through Envoy (1 worker, {CONNECTIONS} connections, {ROUNDS} rounds)"
    ));
    let load = throughput(&envoy, &flagship.wasm, &raw.wasm)?;

    let modules = direct::build_modules()?;
    let settings = direct::Settings::from_env()?;
    step(&format!(
        "a filter's cost: direct response, Envoy on a core of its own ({})",
        settings.describe()
    ));
    let direct = direct::run(&envoy, &modules, settings)?;

    step("build time of the flagship (cold, then warm)");
    let (cold, warm) = build_times()?;
    eprintln!("cold {cold:.1} s, warm {warm:.1} s");
    step("install time of cargo-proxylet (cold cargo install --path cli)");
    let install = install_time()?;
    eprintln!("{install:.0} s");

    let elapsed = started.elapsed();
    let md = markdown(&Report {
        date,
        machine,
        elapsed,
        sized: &sized,
        flagship,
        raw,
        unknown,
        fuel_rows: &fuel_rows,
        runs: &load.runs,
        pinned: load.pinned,
        direct: &direct,
        build: (cold, warm),
        install,
    });
    let path = root().join("BENCHMARKS.md");
    // The soak section comes from `cargo xtask soak`: keep it.
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let md = match old.find(crate::soak::SOAK_HEADING) {
        Some(at) => format!("{md}{}", &old[at..]),
        None => format!(
            "{md}{}\n\nNot run yet: `cargo xtask soak`.\n",
            crate::soak::SOAK_HEADING
        ),
    };
    std::fs::write(&path, md).map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!(
        "\nwrote {} ({:.0} s)",
        path.display(),
        elapsed.as_secs_f64()
    );
    Ok(())
}

struct Report<'a> {
    date: String,
    machine: String,
    elapsed: Duration,
    sized: &'a [Sized],
    flagship: &'a Sized,
    raw: &'a Sized,
    /// Optimized sizes for wasm32-unknown-unknown: (flagship, raw).
    unknown: Option<(u64, u64)>,
    fuel_rows: &'a [fuel::Row],
    runs: &'a [Vec<Load>],
    pinned: bool,
    direct: &'a direct::Direct,
    build: (f64, f64),
    /// Seconds of a cold `cargo install --path cli`.
    install: f64,
}

pub(crate) fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

fn markdown(r: &Report<'_>) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Generated by `cargo xtask bench` on {} (it ran {:.0} min). Machine: {}.\n",
        r.date,
        r.elapsed.as_secs_f64() / 60.0,
        r.machine
    );
    let _ = writeln!(md, "Regenerate with `cargo xtask bench`. Nothing here is asserted by tests. `cargo xtask soak` is the long reliability run; its figures are at the end.\n");

    // 1. Size.
    let _ = writeln!(md, "## 1. Size of the `.wasm`\n");
    let _ = writeln!(md, "Every module is built as `cargo xtask` and `cargo proxylet build` build it: `cargo rustc --release --target wasm32-wasip1 --crate-type cdylib` with the workspace's release profile (`opt-level = \"z\"`, `lto = true`, `codegen-units = 1`, `panic = \"abort\"`, `strip = true`). *Optimized* is after the size-optimize step: {}.\n", optimize::description());
    let _ = writeln!(
        md,
        "| module | what | as built | optimized |\n|---|---|---:|---:|"
    );
    for s in r.sized {
        let what = if is_raw(&s.package) {
            "raw proxy-wasm (benches/)"
        } else if s.package.ends_with("-proxylet") {
            "proxylet (benches/)"
        } else {
            "example"
        };
        let _ = writeln!(
            md,
            "| {} | {what} | {} | {} |",
            s.package,
            kb(s.size),
            kb(s.optimized)
        );
    }
    let built_ratio = r.flagship.size as f64 / r.raw.size as f64;
    let opt_ratio = r.flagship.optimized as f64 / r.raw.optimized as f64;
    let _ = writeln!(
        md,
        "\n| flagship (add-header) | figure | target | |\n|---|---:|---:|---|"
    );
    let _ = writeln!(
        md,
        "| proxylet / raw, as built ({} / {} bytes) | **{built_ratio:.4}** | ≤ 1.03 | {} |",
        fuel::thousands(r.flagship.size),
        fuel::thousands(r.raw.size),
        met(built_ratio <= 1.03)
    );
    let _ = writeln!(
        md,
        "| proxylet / raw, optimized ({} / {} bytes) | **{opt_ratio:.4}** | ≤ 1.03 | {} |",
        fuel::thousands(r.flagship.optimized),
        fuel::thousands(r.raw.optimized),
        met(opt_ratio <= 1.03)
    );
    let _ = writeln!(
        md,
        "| optimized size | **{}** | ≤ 96 KB | {} |",
        kb(r.flagship.optimized),
        met(r.flagship.optimized <= 96_000)
    );
    let sections = std::fs::read(&r.flagship.wasm)
        .map(|bytes| custom_sections(&bytes))
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "\nOf the flagship's {} extra bytes as built, {} are custom sections proxylet adds for tools ({}); Envoy does not load them.",
        fuel::thousands(r.flagship.size.saturating_sub(r.raw.size)),
        fuel::thousands(sections.iter().map(|(_, n)| *n as u64).sum()),
        sections
            .iter()
            .map(|(name, n)| format!("`{name}` {n} bytes"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some((ours, raw)) = r.unknown {
        let _ = writeln!(
            md,
            "\nWhere the optimized size goes: most of both modules is the same Rust std (formatting, panics, allocator) and `serde_json` with its error messages; the raw twin also carries the `proxy-wasm` crate's dispatcher and every `proxy_on_*` export (gRPC ones included), where proxylet's module has its own dispatcher and only the exports its hooks need. The WASI libc is part of it: the same two modules built for `wasm32-unknown-unknown` and optimized the same way are {} (flagship) and {} (raw), a data point only: proxylet builds for wasm32-wasip1.",
            kb(ours),
            kb(raw)
        );
    }
    let _ = writeln!(md, "\nThe raw twins do what their proxylet module does, with the same config type parsed with the same diagnostics (`serde_json` + `serde_path_to_error`): `benches/raw-add-header` is the flagship `examples/add-header`; `benches/body-raw` and `benches/body-proxylet` rewrite a JSON request body buffered up to 64 KiB; `benches/callout-raw` and `benches/callout-proxylet` make an HTTP callout on the request headers and resume the request or answer `403` (the proxylet side is an `async fn` hook that awaits `stream.call`). For the pairs: {}.\n", BASELINES
        .iter()
        .filter(|(raw, _)| *raw != "raw-add-header")
        .filter_map(|(raw, proxylet)| {
            let raw = r.sized.iter().find(|s| s.package == *raw)?;
            let ours = r.sized.iter().find(|s| s.package == *proxylet)?;
            Some(format!(
                "{} / {} = {:.3} as built, {:.3} optimized",
                ours.package,
                raw.package,
                ours.size as f64 / raw.size as f64,
                ours.optimized as f64 / raw.optimized as f64
            ))
        })
        .collect::<Vec<_>>()
        .join("; "));

    // 2. Fuel.
    let _ = writeln!(md, "## 2. Per-request work inside the VM\n");
    let _ = writeln!(md, "Deterministic: each module (as built) runs in the wasmi interpreter behind proxylet's test host (crate `proxylet-testkit`, feature `wasm`), metered with wasmi fuel, about one unit per executed wasm instruction; host functions cost nothing. The counts repeat exactly (each is measured twice and compared) but are instructions, not time. Host log level: info (Envoy's default).\n");
    let _ = write!(md, "{}", fuel::markdown(r.fuel_rows));
    let worst = r
        .fuel_rows
        .iter()
        .map(|row| row.proxylet.mean as f64 / row.raw.mean as f64)
        .fold(0.0, f64::max);
    let _ = writeln!(
        md,
        "\nTarget: per request proxylet/raw ≤ 1.03 in every workload; worst here **{worst:.3}**: {}.\n",
        met(worst <= 1.03)
    );
    if worst > 1.03 {
        let _ = writeln!(md, "Most of a request's work in these modules is heap allocation (wasi-libc's `malloc` and `free` run inside the VM, thousands of fuel units per allocation): a hook costs about what it allocates. In the callout workloads proxylet allocates more than the hand-written code: the async hook's future is allocated once per request; the callout's answer is read whole (headers and body, two allocations) where the raw code reads only `:status`, so that it stays valid across later `.await`s; and a local `Response` owns its header names, values and body (the raw code passes borrowed `&str`s). An `HttpCall` keeps its path and headers in one buffer, and a stream's first callout and first async hook live inline, not in a vector.\n");
    }

    let _ = writeln!(md, "## 3. Throughput and latency through Envoy\n");
    let _ = writeln!(md, "Two runs: in 3.1 Envoy answers by itself and has a core of its own, which is where a filter's cost shows; in 3.2 it proxies to a test upstream on a shared machine, where the upstream and the load generator cost more than any filter and the setups look alike.\n");
    md.push_str(&direct::markdown(r.direct));
    md.push_str(&throughput_markdown(&Throughput {
        runs: r.runs.to_vec(),
        pinned: r.pinned,
    }));

    // 4. Build time.
    let (cold, warm) = r.build;
    let _ = writeln!(md, "## 4. Build time of the flagship\n");
    let _ = writeln!(md, "`cargo rustc --release --target wasm32-wasip1 -p add-header --lib --crate-type cdylib` into an empty target directory (cold: compiles serde, serde_json, proxy-wasm, proxylet and the proc macros), then again after touching `examples/add-header/src/lib.rs` (warm: the crate itself, LTO and linking).\n");
    let _ = writeln!(
        md,
        "| build | seconds |\n|---|---:|\n| cold | {cold:.1} |\n| warm | {warm:.1} |\n| `cargo install --path cli` (cold: every dependency of cargo-proxylet, default features, no C++) | {:.0} |\n",
        r.install
    );
    md
}
