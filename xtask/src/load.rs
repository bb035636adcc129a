//! A closed-loop HTTP load generator for `cargo xtask bench` and `cargo xtask soak`: a
//! fixed number of keep-alive connections, each sending `GET /` as soon as its previous
//! response arrived, for a time or for a number of requests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proxylet_harness::{Client, Request, Response};

/// When a run stops.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Until {
    /// After this long (the benchmarks).
    #[cfg_attr(not(feature = "bench"), allow(dead_code))]
    Elapsed(Duration),
    /// After this many requests (answered or failed).
    Requests(u64),
}

/// What a response must look like to count as a success.
pub(crate) type Check = fn(&Response) -> bool;

/// One run's result.
#[derive(Clone, Debug, Default)]
pub(crate) struct Load {
    /// Successful requests.
    pub(crate) requests: u64,
    /// Requests that failed (transport error, or a response `check` refused).
    pub(crate) errors: u64,
    /// The first few failures, described.
    pub(crate) first_errors: Vec<String>,
    /// Successful requests per second.
    pub(crate) rps: f64,
    /// Latency percentiles of the successful requests, in microseconds.
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    /// Cores other processes used meanwhile (set by the benchmark, which measures it).
    #[cfg_attr(not(feature = "bench"), allow(dead_code))]
    pub(crate) other_cores: f64,
}

/// Runs `connections` closed-loop clients against `addr` until `until`.
pub(crate) fn run(addr: SocketAddr, connections: usize, until: Until, check: Check) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let sent = Arc::clone(&sent);
            std::thread::spawn(move || {
                let mut client = Client::new(addr);
                let request = Request::get("/").timeout(Duration::from_secs(10));
                let mut latencies = Vec::with_capacity(1 << 16);
                let mut errors = 0u64;
                let mut first_errors = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    if let Until::Requests(total) = until {
                        if sent.fetch_add(1, Ordering::Relaxed) >= total {
                            break;
                        }
                    }
                    let begun = Instant::now();
                    let failure = match client.send(&request) {
                        Ok(response) if check(&response) => {
                            latencies.push(begun.elapsed());
                            continue;
                        }
                        Ok(response) => format!(
                            "unexpected response {}: {:?}",
                            response.status,
                            response.text_body()
                        ),
                        Err(error) => error.to_string(),
                    };
                    errors += 1;
                    if first_errors.len() < 5 {
                        first_errors.push(failure);
                    }
                }
                (latencies, errors, first_errors)
            })
        })
        .collect();
    if let Until::Elapsed(duration) = until {
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    }
    let mut latencies = Vec::new();
    let mut load = Load::default();
    for worker in workers {
        match worker.join() {
            Ok((l, errors, first)) => {
                latencies.extend(l);
                load.errors += errors;
                load.first_errors.extend(first);
            }
            Err(_) => {
                load.errors += 1;
                load.first_errors.push("a load thread panicked".into());
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    load.requests = latencies.len() as u64;
    load.rps = load.requests as f64 / elapsed;
    load.p50_us = percentile(&latencies, 0.50);
    load.p99_us = percentile(&latencies, 0.99);
    load
}

/// The `p` quantile (nearest rank) of sorted latencies, in microseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let index = ((last as f64) * p).round() as usize;
    sorted
        .get(index.min(last))
        .map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// A `200`.
pub(crate) fn ok(response: &Response) -> bool {
    response.status == 200
}

/// A `200` carrying the flagship's `hello: melon`.
pub(crate) fn ok_with_hello(response: &Response) -> bool {
    response.status == 200 && response.header_str("hello") == Some("melon")
}
