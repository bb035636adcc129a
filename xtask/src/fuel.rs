//! Per-request work inside the VM, deterministic: each built module runs in the wasmi
//! interpreter (crate `proxylet-testkit`, feature `wasm`), whose fuel is about one unit
//! per executed wasm instruction (host functions cost nothing), so the counts repeat
//! exactly from run to run and compare the code proxylet generates with the hand-written
//! raw proxy-wasm code.
//!
//! Each scenario drives a proxylet module and its raw twin through the same hooks with the
//! same input and checks they answered the same, so both did the same work.

use std::fmt::Write as _;
use std::path::Path;

use proxylet_testkit::wasm::Fuel;
use proxylet_testkit::{Host, Level, TestPlugin, Verdict};

use crate::Result;

/// Requests per scenario; the figure reported is their mean.
pub(crate) const REQUESTS: u32 = 1_000;

/// One workload, run on a proxylet module and on its raw proxy-wasm twin.
pub(crate) struct Scenario {
    /// What it is, for the table.
    pub(crate) name: &'static str,
    /// Workspace packages: (proxylet, raw).
    pub(crate) packages: (&'static str, &'static str),
    /// Root ids, in the same order.
    pub(crate) root_ids: (&'static str, &'static str),
    /// The plugin configuration both get.
    pub(crate) config: &'static str,
    /// What one request is: drives the stream and checks the filter's answer.
    request: fn(&TestPlugin, &mut Phases<'_>) -> Result<()>,
    /// What a request does, for the notes under the table.
    pub(crate) describe: &'static str,
}

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "add-header (flagship)",
        packages: ("add-header", "raw-add-header"),
        root_ids: ("add_header", "add_header"),
        config: r#"{"name":"x-fruit","value":"kiwi"}"#,
        request: add_header,
        describe: "request headers (5, end of stream), response headers (3) → `x-fruit: kiwi` set",
    },
    Scenario {
        name: "JSON body rewrite",
        packages: ("body-proxylet", "body-raw"),
        root_ids: ("body_proxylet", "body_raw"),
        config: r#"{"remove":["password"],"set":{"source":"edge"}}"#,
        request: body_rewrite,
        describe: "request headers (5), a 101-byte JSON body in two chunks (buffered: the first paused), response headers → `password` removed, `source` set",
    },
    Scenario {
        name: "HTTP callout, allowed",
        packages: ("callout-proxylet", "callout-raw"),
        root_ids: ("callout_proxylet", "callout_raw"),
        config: r#"{"cluster":"auth","path":"/check","header":"authorization","timeout_ms":500}"#,
        request: callout_allowed,
        describe: "request headers (5) → callout paused the request; the service answers `200` (3 headers, 2-byte body) → request resumed; response headers",
    },
    Scenario {
        name: "HTTP callout, denied",
        packages: ("callout-proxylet", "callout-raw"),
        root_ids: ("callout_proxylet", "callout_raw"),
        config: r#"{"cluster":"auth","path":"/check","header":"authorization","timeout_ms":500}"#,
        request: callout_denied,
        describe: "as above, the service answers `401` → local reply `403`",
    },
];

/// Fuel of one request, phase by phase (summed over the requests).
pub(crate) struct Phases<'a> {
    fuel: &'a Fuel,
    costs: Vec<(&'static str, u64)>,
}

impl Phases<'_> {
    /// Runs `f` as (part of) phase `phase`.
    fn run<R>(&mut self, phase: &'static str, f: impl FnOnce() -> R) -> R {
        let (result, cost) = self.fuel.measure(f);
        match self.costs.iter_mut().find(|(p, _)| *p == phase) {
            Some(entry) => entry.1 += cost,
            None => self.costs.push((phase, cost)),
        }
        result
    }
}

/// Fuel of one module in one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Figures {
    /// `_initialize` (static constructors, dispatcher set-up).
    pub(crate) initialize: u64,
    /// Root context creation, `on_vm_start`, `on_configure` (config parsing).
    pub(crate) configure: u64,
    /// The first request.
    pub(crate) first: u64,
    /// Mean of [`REQUESTS`] requests, rounded.
    pub(crate) mean: u64,
    /// The mean per phase of a request, in order.
    pub(crate) phases: Vec<(&'static str, u64)>,
}

/// Runs `scenario` on one module.
fn measure(wasm_path: &Path, root_id: &str, scenario: &Scenario) -> Result<Figures> {
    let wasm =
        std::fs::read(wasm_path).map_err(|e| format!("reading {}: {e}", wasm_path.display()))?;
    let (host, fuel) = proxylet_testkit::wasm::load_metered(&wasm)
        .map_err(|e| format!("loading {}: {e}", wasm_path.display()))?;
    // Envoy's default log level: proxylet reads it and skips formatting below it.
    host.set_log_level(Level::Info);
    let initialize = fuel.consumed();
    let (plugin, configure) = fuel.measure(|| {
        host.plugin(root_id)
            .config(scenario.config)
            .start()
            .map_err(|e| e.to_string())
    });
    let plugin = plugin?;
    let mut costs = Vec::with_capacity(REQUESTS as usize);
    let mut phases = Phases {
        fuel: &fuel,
        costs: Vec::new(),
    };
    for i in 0..REQUESTS {
        let (result, cost) = fuel.measure(|| (scenario.request)(&plugin, &mut phases));
        result.map_err(|e| {
            format!(
                "{} ({}), request {i}: {e}; logs: {:?}",
                scenario.name,
                wasm_path.display(),
                host.logs()
            )
        })?;
        costs.push(cost);
    }
    let errors = host.logs_at(Level::Error);
    if !errors.is_empty() {
        return Err(format!(
            "{} ({}) logged errors: {errors:?}",
            scenario.name,
            wasm_path.display()
        ));
    }
    let total: u64 = costs.iter().sum();
    Ok(Figures {
        initialize,
        configure,
        first: costs.first().copied().unwrap_or(0),
        mean: mean(total),
        phases: phases
            .costs
            .iter()
            .map(|&(phase, sum)| (phase, mean(sum)))
            .collect(),
    })
}

/// Per request, rounded.
fn mean(total: u64) -> u64 {
    (total + u64::from(REQUESTS) / 2) / u64::from(REQUESTS)
}

/// One scenario's figures: (proxylet, raw).
pub(crate) struct Row {
    pub(crate) scenario: &'static Scenario,
    pub(crate) proxylet: Figures,
    pub(crate) raw: Figures,
}

/// Runs every scenario; `wasm(package)` is the built module of a package. Each is run
/// twice, to check the counts repeat.
pub(crate) fn measure_all(wasm: impl Fn(&str) -> Result<std::path::PathBuf>) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for scenario in SCENARIOS {
        let mut figures = Vec::new();
        for (package, root_id) in [
            (scenario.packages.0, scenario.root_ids.0),
            (scenario.packages.1, scenario.root_ids.1),
        ] {
            let path = wasm(package)?;
            let first = measure(&path, root_id, scenario)?;
            let again = measure(&path, root_id, scenario)?;
            if first != again {
                return Err(format!(
                    "{package}: fuel counts differ between two runs ({first:?} vs {again:?}); \
                     the measurement is not deterministic"
                ));
            }
            eprintln!(
                "{:<24} {package:<17} initialize {:>7}  start+configure {:>7}  per request {:>6} (first {})",
                scenario.name, first.initialize, first.configure, first.mean, first.first
            );
            figures.push(first);
        }
        let raw = figures.pop().ok_or("no figures")?;
        let proxylet = figures.pop().ok_or("no figures")?;
        rows.push(Row {
            scenario,
            proxylet,
            raw,
        });
    }
    Ok(rows)
}

/// The markdown section for the rows.
pub(crate) fn markdown(rows: &[Row]) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "| workload | module | `_initialize` | start + configure | per request (mean of {REQUESTS}) | first request | per request proxylet/raw |\n|---|---|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        let ratio = row.proxylet.mean as f64 / row.raw.mean as f64;
        for (i, (package, f)) in [
            (row.scenario.packages.0, &row.proxylet),
            (row.scenario.packages.1, &row.raw),
        ]
        .into_iter()
        .enumerate()
        {
            let (name, ratio) = if i == 0 {
                (row.scenario.name, format!("**{ratio:.3}**"))
            } else {
                ("", String::new())
            };
            let _ = writeln!(
                md,
                "| {name} | {package} | {} | {} | {} | {} | {ratio} |",
                thousands(f.initialize),
                thousands(f.configure),
                thousands(f.mean),
                thousands(f.first),
            );
        }
    }
    let _ = writeln!(md, "\nWhere a request's work goes, per phase (mean fuel; the phases are the host's calls into the module):\n");
    let _ = writeln!(
        md,
        "| workload | phase | proxylet | raw | proxylet − raw |\n|---|---|---:|---:|---:|"
    );
    for row in rows {
        for (i, (phase, ours)) in row.proxylet.phases.iter().enumerate() {
            let raw = row
                .raw
                .phases
                .iter()
                .find(|(p, _)| p == phase)
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(
                md,
                "| {} | {phase} | {} | {} | {} |",
                if i == 0 { row.scenario.name } else { "" },
                thousands(*ours),
                thousands(raw),
                signed(*ours as i64 - raw as i64),
            );
        }
    }
    let _ = writeln!(md, "\nWhat one request is (context create, the hooks below, then `on_log`, `on_done`, delete; the same input for both modules, and both must give the same answer):\n");
    for scenario in SCENARIOS {
        let _ = writeln!(
            md,
            "- {}: {}; config `{}`.",
            scenario.name, scenario.describe, scenario.config
        );
    }
    md
}

/// `-1234` → `−1,234`, `56` → `+56`.
fn signed(n: i64) -> String {
    let sign = if n < 0 { "−" } else { "+" };
    format!("{sign}{}", thousands(n.unsigned_abs()))
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn expect(what: &str, got: Verdict, want: Verdict) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}

const REQUEST_HEADERS: &[(&str, &str)] = &[
    (":method", "GET"),
    (":path", "/api/items?page=2"),
    (":authority", "example.com"),
    ("user-agent", "bench/1.0"),
    ("authorization", "Bearer 0123456789abcdef"),
];

const RESPONSE_HEADERS: &[(&str, &str)] = &[
    (":status", "200"),
    ("content-type", "application/json"),
    ("content-length", "17"),
];

const CREATE: &str = "context create";
const REQUEST: &str = "request headers";
const BODY_PHASE: &str = "request body";
const CALLOUT: &str = "callout response";
const RESPONSE: &str = "response headers";
const END: &str = "log, done, delete";

fn add_header(plugin: &TestPlugin, phases: &mut Phases<'_>) -> Result<()> {
    let mut stream = phases.run(CREATE, || plugin.http_stream());
    expect(
        "request headers",
        phases.run(REQUEST, || stream.request_headers(REQUEST_HEADERS, true)),
        Verdict::Continue,
    )?;
    expect(
        "response headers",
        phases.run(RESPONSE, || {
            stream.response_headers(RESPONSE_HEADERS, false)
        }),
        Verdict::Continue,
    )?;
    if stream.response_header("x-fruit").as_deref() != Some(&b"kiwi"[..]) {
        return Err("no `x-fruit: kiwi` on the response".into());
    }
    phases.run(END, || stream.complete()).map_err(|t| t.0)
}

const BODY: &str = r#"{"user":"ada","password":"hunter2","items":[1,2,3],"note":"the quick brown fox jumps over"}"#;

fn body_rewrite(plugin: &TestPlugin, phases: &mut Phases<'_>) -> Result<()> {
    let mut stream = phases.run(CREATE, || plugin.http_stream());
    let length = BODY.len().to_string();
    let headers = [
        (":method", "POST"),
        (":path", "/api/items"),
        (":authority", "example.com"),
        ("content-type", "application/json"),
        ("content-length", length.as_str()),
    ];
    expect(
        "request headers",
        phases.run(REQUEST, || stream.request_headers(&headers, false)),
        Verdict::Continue,
    )?;
    let (first, second) = BODY.as_bytes().split_at(40);
    expect(
        "first body chunk",
        phases.run(BODY_PHASE, || stream.request_body(first, false)),
        Verdict::Pause,
    )?;
    expect(
        "last body chunk",
        phases.run(BODY_PHASE, || stream.request_body(second, true)),
        Verdict::Continue,
    )?;
    let body = stream.request_body_now();
    let rewritten = String::from_utf8_lossy(&body);
    if rewritten.contains("password") || !rewritten.contains(r#""source":"edge""#) {
        return Err(format!("body not rewritten: {rewritten}"));
    }
    if stream.request_header("content-length").is_some() {
        return Err("content-length left on a rewritten body".into());
    }
    expect(
        "response headers",
        phases.run(RESPONSE, || {
            stream.response_headers(RESPONSE_HEADERS, false)
        }),
        Verdict::Continue,
    )?;
    phases.run(END, || stream.complete()).map_err(|t| t.0)
}

fn callout(plugin: &TestPlugin, status: u16, phases: &mut Phases<'_>) -> Result<()> {
    let host: &Host = plugin.host();
    let mut stream = phases.run(CREATE, || plugin.http_stream());
    expect(
        "request headers",
        phases.run(REQUEST, || stream.request_headers(REQUEST_HEADERS, true)),
        Verdict::Pause,
    )?;
    let calls = stream.callouts();
    let [call] = calls.as_slice() else {
        return Err(format!("expected one callout, got {}", calls.len()));
    };
    if call.header(":path") != Some(&b"/check"[..])
        || call.header("authorization") != Some(&b"Bearer 0123456789abcdef"[..])
    {
        return Err(format!("unexpected callout {call:?}"));
    }
    phases.run(CALLOUT, || {
        host.respond_to_call(
            call.token,
            status,
            &[("content-type", "text/plain"), ("content-length", "2")],
            b"ok",
        )
    });
    if status == 200 {
        if !stream.request_resumed() || stream.local_reply().is_some() {
            return Err("an allowed request was not resumed".into());
        }
        expect(
            "response headers",
            phases.run(RESPONSE, || {
                stream.response_headers(RESPONSE_HEADERS, false)
            }),
            Verdict::Continue,
        )?;
    } else {
        match stream.local_reply() {
            Some(reply) if reply.status == 403 => {}
            other => return Err(format!("expected a 403 local reply, got {other:?}")),
        }
        // Envoy runs the response hooks on the filter's own local reply too.
        let headers = [
            (":status", "403"),
            ("content-type", "text/plain"),
            ("content-length", "7"),
        ];
        expect(
            "local reply headers",
            phases.run(RESPONSE, || stream.response_headers(&headers, false)),
            Verdict::Continue,
        )?;
    }
    phases.run(END, || stream.complete()).map_err(|t| t.0)
}

fn callout_allowed(plugin: &TestPlugin, phases: &mut Phases<'_>) -> Result<()> {
    callout(plugin, 200, phases)
}

fn callout_denied(plugin: &TestPlugin, phases: &mut Phases<'_>) -> Result<()> {
    callout(plugin, 401, phases)
}
