//! Native test hosts running at the same time on parallel threads (as `cargo test` runs
//! tests) share no state: each sees exactly its own log level and its own context ids,
//! whatever the others do meanwhile.
#![cfg(not(target_family = "wasm"))]

use std::sync::Barrier;
use std::thread;

use proxylet_testkit::{module, Host, Level};

mod levels {
    use proxylet::http::Headers;

    /// Logs one line at each level.
    #[proxylet::filter(root_id = "levels", export = false)]
    pub fn on_request_headers(_headers: &Headers) {
        log::trace!("levels: trace");
        log::debug!("levels: debug");
        log::info!("levels: info");
        log::warn!("levels: warn");
        log::error!("levels: error");
    }
}

mod caller {
    use std::time::Duration;

    use proxylet::prelude::*;

    /// Calls cluster `svc` and puts the answer's status in `x-status`.
    #[proxylet::filter(root_id = "caller", export = false)]
    pub fn on_request_headers(stream: &mut Stream<'_>) -> Action {
        let call = HttpCall::get("/");
        let timeout = Duration::from_secs(1);
        stream.http_call("svc", call, timeout, |result, stream| {
            let status = match result {
                Ok(answer) => answer.status().to_string(),
                Err(error) => error.to_string(),
            };
            stream.request_headers().set("x-status", status);
            Action::Continue
        })
    }
}

proxylet::main!(levels::on_request_headers, caller::on_request_headers);

const LEVELS: [Level; 5] = [
    Level::Trace,
    Level::Debug,
    Level::Info,
    Level::Warn,
    Level::Error,
];

/// What the filter logs on a host at `level`: the records at `level` and above.
fn expected(level: Level) -> Vec<(Level, String)> {
    LEVELS
        .iter()
        .zip(["trace", "debug", "info", "warn", "error"])
        .filter(|(l, _)| **l >= level)
        .map(|(l, name)| (*l, format!("levels: {name}")))
        .collect()
}

/// One round on a host at `level`: configure a plugin, wait until every thread has
/// configured its own, then run a stream and compare its log lines with what this level
/// lets through. Never panics before a barrier (a panicking thread would leave the others
/// waiting forever): problems are returned.
fn round(host: &Host, level: Level, configured: &Barrier) -> Result<(), String> {
    host.set_log_level(level);
    let plugin = host.plugin("levels").start();
    configured.wait();
    let plugin = plugin.map_err(|e| e.to_string())?;
    let before = host.logs().len();
    let mut stream = plugin.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    let logged: Vec<(Level, String)> = host
        .logs()
        .into_iter()
        .skip(before)
        .filter(|(_, m)| m.starts_with("levels: "))
        .collect();
    if logged == expected(level) {
        Ok(())
    } else {
        Err(format!("host at {level:?} got {logged:?}"))
    }
}

#[test]
fn hosts_on_parallel_threads_each_filter_logs_at_their_own_level() {
    const THREADS: usize = 10;
    const ROUNDS: usize = 20;
    let configured = Barrier::new(THREADS);
    let failures: Vec<String> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|i| {
                let configured = &configured;
                scope.spawn(move || {
                    let host = Host::native(module!());
                    let mut failures = Vec::new();
                    for r in 0..ROUNDS {
                        // Every thread changes its level each round, so that at any time
                        // the hosts disagree.
                        let level = LEVELS[(i + r) % LEVELS.len()];
                        if let Err(failure) = round(&host, level, configured) {
                            failures.push(format!("thread {i}, round {r}: {failure}"));
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|_| vec!["a thread panicked".into()])
            })
            .collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn hosts_on_parallel_threads_number_their_contexts_alike() {
    const THREADS: usize = 8;
    let ids: Vec<Vec<u32>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let host = Host::native(module!());
                    let plugin = host.plugin("levels").start().unwrap();
                    (0..50).map(|_| plugin.http_stream().id()).collect()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    // The plugin's root context is 1, like the first context of an Envoy VM; its
    // streams follow.
    let first: Vec<u32> = (2..52).collect();
    for seen in &ids {
        assert_eq!(seen, &first);
    }
}

#[test]
fn two_native_hosts_on_one_thread_keep_their_own_state() {
    let lines = |host: &Host| -> Vec<(Level, String)> {
        host.logs()
            .into_iter()
            .filter(|(_, m)| m.starts_with("levels: "))
            .collect()
    };
    let a = Host::native(module!());
    let b = Host::native(module!());
    a.set_log_level(Level::Error);
    b.set_log_level(Level::Debug);
    let on_a = a.plugin("levels").start().unwrap();
    let on_b = b.plugin("levels").start().unwrap();
    // `a` runs after `b` configured its plugin (at another level), and its records go
    // to `a` only, filtered at `a`'s level.
    on_a.http_stream().request_headers(&[(":path", "/a")], true);
    assert_eq!(lines(&a), expected(Level::Error));
    assert_eq!(lines(&b), []);
    on_b.http_stream().request_headers(&[(":path", "/b")], true);
    assert_eq!(lines(&b), expected(Level::Debug));
    assert_eq!(lines(&a), expected(Level::Error));
}

#[test]
fn two_native_hosts_on_one_thread_keep_their_callouts_apart() {
    let (a, b) = (Host::native(module!()), Host::native(module!()));
    let (on_a, on_b) = (
        a.plugin("caller").start().unwrap(),
        b.plugin("caller").start().unwrap(),
    );
    // Both callouts pending at once: each host hands out its own token, and the
    // module's dispatcher (one per thread) holds both.
    let mut from_a = on_a.http_stream();
    from_a.request_headers(&[(":path", "/")], true);
    let mut from_b = on_b.http_stream();
    from_b.request_headers(&[(":path", "/")], true);
    let (token_a, token_b) = (a.callouts()[0].token, b.callouts()[0].token);
    assert_ne!(token_a, token_b);
    assert!(a.respond_to_call(token_a, 201, &[], b""));
    assert!(b.respond_to_call(token_b, 202, &[], b""));
    assert_eq!(
        from_a.request_header("x-status").as_deref(),
        Some(&b"201"[..])
    );
    assert_eq!(
        from_b.request_header("x-status").as_deref(),
        Some(&b"202"[..])
    );
    // A callout left pending by a finished stream does not block a later one.
    let mut left = on_a.http_stream();
    left.request_headers(&[(":path", "/")], true);
    left.complete().unwrap();
    let mut next = on_b.http_stream();
    next.request_headers(&[(":path", "/")], true);
    let token = b.callouts()[0].token;
    assert!(b.respond_to_call(token, 203, &[], b""));
    assert_eq!(
        next.request_header("x-status").as_deref(),
        Some(&b"203"[..])
    );
}
