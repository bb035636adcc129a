//! `cargo xtask soak`: 200,000 requests through Envoy with the flagship, then with a
//! stateful filter (rate-limit: every request takes a token from a bucket in shared data,
//! written with compare-and-swap). Every request must succeed, and Envoy's memory must stay
//! flat after warm-up: the wasm VM's linear memory lives in Envoy's resident set, so a
//! filter leaking per request shows there. The short version is tests/tests/soak_envoy.rs.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use proxylet_artifact::build::build_package;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, Request, Upstream, WasmFilter};

use crate::load::{self, Check, Until};
use crate::{root, step, wasm_target_dir, Result};

/// Requests per filter, warm-up included.
const REQUESTS: u64 = 200_000;
/// Requests before the memory baseline is taken.
const WARMUP: u64 = 20_000;
/// Memory is sampled after every this many requests.
const SAMPLE_EVERY: u64 = 20_000;
const CONNECTIONS: usize = 4;
/// Allowed growth of Envoy's resident set after warm-up: a leak of 100 bytes per request
/// would be 18 MB over the 180,000 requests after warm-up.
const MAX_GROWTH_KB: u64 = 4 * 1024;

/// The rate limit: exactly the soak's requests, refilled once an hour (never during the
/// run). So every soak request passes, and the next one is refused: proof that each of
/// them took its token.
const RATE_LIMIT_CONFIG: &str = r#"{"rules": [{"name": "soak", "path_prefix": "/",
  "limit": {"max_tokens": 200000, "fill_interval_ms": 3600000}}]}"#;

struct Filter {
    package: &'static str,
    root_id: &'static str,
    config: Option<&'static str>,
    check: Check,
    what: &'static str,
}

const FILTERS: &[Filter] = &[
    Filter {
        package: "add-header",
        root_id: "add_header",
        config: None,
        check: load::ok_with_hello,
        what: "every response `200` with `hello: melon`",
    },
    Filter {
        package: "rate-limit",
        root_id: "rate_limit",
        config: Some(RATE_LIMIT_CONFIG),
        check: load::ok,
        what: "a bucket of exactly 200,000 tokens (no refill): every response `200`, then request 200,001 answered `429`",
    },
];

/// One filter's soak.
struct Soaked {
    package: &'static str,
    requests: u64,
    errors: u64,
    seconds: f64,
    /// (requests so far, Envoy RSS kB, wasm linear memory) after warm-up and every sample.
    samples: Vec<(u64, u64, Option<WasmMemory>)>,
    after: String,
}

impl Soaked {
    fn growth_kb(&self) -> u64 {
        let Some(&(_, base, _)) = self.samples.first() else {
            return 0;
        };
        let max = self.samples.iter().map(|s| s.1).max().unwrap_or(base);
        max.saturating_sub(base)
    }

    /// Whether the wasm linear memories grew after warm-up.
    fn wasm_grew(&self) -> bool {
        let sizes: Vec<u64> = self
            .samples
            .iter()
            .filter_map(|s| s.2.map(|m| m.size_kb))
            .collect();
        sizes.windows(2).any(|w| w[1] > w[0])
    }

    fn passed(&self) -> bool {
        self.errors == 0
            && self.growth_kb() <= MAX_GROWTH_KB
            && !self.wasm_grew()
            && self.after.starts_with("ok")
    }
}

/// Envoy's resident set, in kB.
pub(crate) fn rss_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("reading Envoy's memory: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/PID/status".into())
}

/// The wasm VMs' linear memories, from `/proc/PID/smaps`: V8 reserves 8 GiB or more of
/// address space per 32-bit linear memory and makes its first pages (the memory's current
/// size) readable and writable, which splits the reservation into a `rw-p` mapping followed
/// by a large `---p` guard. Returns (VMs, total linear memory size, resident part), in kB.
fn wasm_memory_kb(pid: u32) -> Option<WasmMemory> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    // (start, end, readable+writable, size kB, rss kB), in address order.
    let mut maps: Vec<(u64, u64, bool, u64, u64)> = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(first), Some(second)) = (fields.next(), fields.next()) else {
            continue;
        };
        if let Some((start, end)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
            {
                maps.push((start, end, second.starts_with("rw"), 0, 0));
                continue;
            }
        }
        let kb = second.parse::<u64>().unwrap_or(0);
        match (first, maps.last_mut()) {
            ("Size:", Some(map)) => map.3 = kb,
            ("Rss:", Some(map)) => map.4 = kb,
            _ => {}
        }
    }
    let mut memory = WasmMemory::default();
    for pair in maps.windows(2) {
        let (memory_map, guard) = (pair[0], pair[1]);
        if memory_map.2 && memory_map.1 == guard.0 && !guard.2 && guard.3 >= 4 << 20 {
            memory.vms += 1;
            memory.size_kb += memory_map.3;
            memory.resident_kb += memory_map.4;
        }
    }
    (memory.vms > 0).then_some(memory)
}

/// The wasm VMs' linear memories (see [`wasm_memory_kb`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct WasmMemory {
    vms: u32,
    size_kb: u64,
    resident_kb: u64,
}

impl std::fmt::Display for WasmMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} kB ({} pages) in {} VMs, {} kB resident",
            self.size_kb,
            self.size_kb / 64,
            self.vms,
            self.resident_kb
        )
    }
}

fn soak_one(envoy_bin: &Path, filter: &Filter) -> Result<Soaked> {
    let built =
        build_package(&root(), filter.package, &wasm_target_dir()).map_err(|e| e.to_string())?;
    let upstream = Upstream::start_default().map_err(|e| e.to_string())?;
    let mut wasm = WasmFilter::local(filter.root_id, &built.wasm).root_id(filter.root_id);
    if let Some(config) = filter.config {
        wasm = wasm.config(config);
    }
    let bootstrap = Bootstrap::http()
        .filter(wasm)
        .cluster("upstream", upstream.addr())
        .access_log(false);
    let envoy = Envoy::start(
        &bootstrap,
        EnvoyOptions::default()
            .envoy(envoy_bin)
            .log_level("warning"),
    )
    .map_err(|e| e.to_string())?;
    let pid = envoy.pid().ok_or("Envoy has no pid")?;
    let addr = envoy.listener_addr();

    let started = Instant::now();
    let mut done = 0;
    let mut errors = 0;
    let mut samples = Vec::new();
    while done < REQUESTS {
        let chunk = if done == 0 { WARMUP } else { SAMPLE_EVERY }.min(REQUESTS - done);
        let run = load::run(addr, CONNECTIONS, Until::Requests(chunk), filter.check);
        done += chunk;
        errors += run.errors;
        for error in &run.first_errors {
            eprintln!("  error: {error}");
        }
        let sample = (done, rss_kb(pid)?, wasm_memory_kb(pid));
        eprintln!(
            "{:<12} {:>7} requests  {:>6.0} rps  errors {:>3}  Envoy RSS {:>7} kB  wasm memory {}",
            filter.package,
            done,
            run.rps,
            errors,
            sample.1,
            sample.2.map_or("?".into(), |m| m.to_string())
        );
        samples.push(sample);
        // The upstream keeps every request; only their count matters here.
        upstream.take_requests();
    }
    let seconds = started.elapsed().as_secs_f64();

    let after = if filter.package == "rate-limit" {
        match Request::get("/")
            .timeout(Duration::from_secs(10))
            .send(addr)
        {
            Ok(response) if response.status == 429 => "ok: request 200,001 got `429`".to_owned(),
            Ok(response) => format!(
                "request 200,001 got {} instead of 429: a request did not take its token",
                response.status
            ),
            Err(error) => format!("request 200,001 failed: {error}"),
        }
    } else {
        "ok".to_owned()
    };
    let log = envoy.log();
    let vm_failures = log
        .lines()
        .filter(|l| l.contains("wasm") && (l.contains("critical") || l.contains("error")))
        .count();
    let after = if vm_failures > 0 {
        format!("{vm_failures} wasm errors in Envoy's log; {after}")
    } else {
        after
    };
    Ok(Soaked {
        package: filter.package,
        requests: done,
        errors,
        seconds,
        samples,
        after,
    })
}

/// The soak section of BENCHMARKS.md.
fn markdown(soaked: &[Soaked], date: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "{SOAK_HEADING}\n");
    let _ = writeln!(md, "`cargo xtask soak`, {date}, same machine: {REQUESTS} requests per filter through Envoy (1 worker, access log off), {CONNECTIONS} keep-alive connections, closed loop. Memory is sampled after the first {WARMUP} requests (warm-up), then every {SAMPLE_EVERY}: Envoy's resident set (`VmRSS`), and the wasm VMs' linear memories (read from `/proc/PID/smaps`: V8 maps each linear memory read-write in front of its multi-GiB guard reservation; the size is the memory's current size, pages × 64 KiB, for every VM of the process: the main thread's and the worker's). Pass: 0 errors, at most {} MB of RSS growth after warm-up, and no linear memory growth after warm-up.\n", MAX_GROWTH_KB / 1024);
    for filter in FILTERS {
        let _ = writeln!(md, "- {}: {}.", filter.package, filter.what);
    }
    let _ = writeln!(md, "\n| filter | requests | errors | rps | RSS after warm-up | RSS max after | growth | wasm linear memory, warm-up → end | check after | result |\n|---|---:|---:|---:|---:|---:|---:|---|---|---|");
    for s in soaked {
        let base = s.samples.first().map_or(0, |x| x.1);
        let max = s.samples.iter().map(|x| x.1).max().unwrap_or(0);
        let wasm = match (
            s.samples.first().and_then(|x| x.2),
            s.samples.last().and_then(|x| x.2),
        ) {
            (Some(a), Some(b)) => format!(
                "{} → {} kB ({} VMs; resident {} → {} kB)",
                a.size_kb, b.size_kb, b.vms, a.resident_kb, b.resident_kb
            ),
            _ => "n/a".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0} | {base} kB | {max} kB | {} kB | {wasm} | {} | {} |",
            s.package,
            s.requests,
            s.errors,
            s.requests as f64 / s.seconds,
            s.growth_kb(),
            s.after,
            if s.passed() { "pass" } else { "**FAIL**" }
        );
    }
    let _ = writeln!(
        md,
        "\nAfter each block of requests: Envoy RSS / wasm linear memory (all VMs), kB:\n"
    );
    let _ = writeln!(
        md,
        "| requests | {} |\n|---:|{}",
        soaked
            .iter()
            .map(|s| s.package)
            .collect::<Vec<_>>()
            .join(" | "),
        "---:|".repeat(soaked.len())
    );
    let longest = soaked.iter().map(|s| s.samples.len()).max().unwrap_or(0);
    for i in 0..longest {
        let requests = soaked
            .iter()
            .find_map(|s| s.samples.get(i).map(|x| x.0))
            .unwrap_or(0);
        let cells: Vec<String> = soaked
            .iter()
            .map(|s| {
                s.samples.get(i).map_or("".into(), |x| {
                    let wasm = x.2.map_or("?".into(), |m| m.size_kb.to_string());
                    format!("{} / {wasm}", x.1)
                })
            })
            .collect();
        let _ = writeln!(md, "| {requests} | {} |", cells.join(" | "));
    }
    md
}

/// The heading the soak section starts with; `cargo xtask bench` keeps the section.
pub(crate) const SOAK_HEADING: &str = "## 5. Soak";

/// Runs the soak, prints its table and puts it into BENCHMARKS.md (replacing an earlier
/// soak section).
pub(crate) fn soak() -> Result<()> {
    let started = Instant::now();
    let date = crate::now_utc();
    let envoy = crate::ensure_envoy()?;
    let mut soaked = Vec::new();
    for filter in FILTERS {
        step(&format!(
            "soak: {REQUESTS} requests with {}",
            filter.package
        ));
        soaked.push(soak_one(&envoy, filter)?);
    }
    let section = markdown(&soaked, &date);
    println!("\n{section}");
    let path = root().join("BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let kept = old.find(SOAK_HEADING).map_or(old.as_str(), |at| &old[..at]);
    let kept = if kept.is_empty() {
        "# Benchmarks\n\nRun `cargo xtask bench` for the other sections.\n".to_owned()
    } else {
        kept.trim_end().to_owned()
    };
    std::fs::write(&path, format!("{kept}\n\n{section}"))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!(
        "wrote the soak section of {} ({:.0} s in all)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    let failed: Vec<&str> = soaked
        .iter()
        .filter(|s| !s.passed())
        .map(|s| s.package)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("the soak failed for {}", failed.join(", ")))
    }
}
