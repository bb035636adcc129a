//! Wasm test hosts on parallel threads (as `cargo test` runs tests) are separate VMs:
//! each numbers its contexts from 1, as an Envoy VM does, and burns exactly the same
//! fuel for the same work, whatever runs beside it.

use std::sync::Barrier;
use std::thread;

use proxylet_testkit::wasm::{build, load_metered};
use proxylet_testkit::Verdict;

/// What one VM saw: its plugin's context id, then per request the stream's context id
/// and the fuel it cost.
type Run = (u32, Vec<(u32, u64)>);

fn run(wasm: &[u8], started: &Barrier) -> Run {
    let loaded = load_metered(wasm).map(|(host, fuel)| {
        let plugin = host
            .plugin("add_header")
            .config(r#"{"name":"x-fruit","value":"kiwi"}"#)
            .start();
        (host, fuel, plugin)
    });
    // Every VM has started before any runs a request, so that their work interleaves.
    // (Nothing above panics: a thread that did would leave the others waiting here.)
    started.wait();
    let (_host, fuel, plugin) = loaded.unwrap_or_else(|e| panic!("{e}"));
    let plugin = plugin.unwrap();
    let mut first_stream = None;
    let requests = (0..200)
        .map(|_| {
            let ((id, verdict), cost) = fuel.measure(|| {
                let mut stream = plugin.http_stream();
                let id = stream.id();
                let verdict = stream.response_headers(&[(":status", "200")], true);
                stream.complete().unwrap();
                (id, verdict)
            });
            assert_eq!(verdict, Verdict::Continue);
            first_stream.get_or_insert(id);
            (id, cost)
        })
        .collect();
    (first_stream.map_or(0, |id| id - 1), requests)
}

#[test]
fn vms_on_parallel_threads_number_contexts_and_burn_fuel_alike() {
    const THREADS: usize = 6;
    let wasm = build("add-header").unwrap_or_else(|e| panic!("{e}"));
    let started = Barrier::new(THREADS);
    let runs: Vec<Run> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| scope.spawn(|| run(&wasm, &started)))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let (root, requests) = &runs[0];
    assert_eq!(*root, 1, "the plugin's root context is the VM's first");
    let ids: Vec<u32> = requests.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, (2..202).collect::<Vec<u32>>());
    for (i, other) in runs.iter().enumerate().skip(1) {
        assert_eq!(other, &runs[0], "VM {i} differs from VM 0");
    }
}
