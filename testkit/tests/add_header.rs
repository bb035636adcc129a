//! The flagship's built module (examples/add-header for wasm32-wasip1) in the wasm host:
//! what only the artifact has, fuel and a VM that dies. (The flagship's behavior is
//! asserted on both backends by examples/add-header/src/tests/host.rs.)

use proxylet_testkit::wasm::{build, load_metered, Fuel};
use proxylet_testkit::{Host, Trap, Verdict};

fn metered_flagship() -> (Host, Fuel) {
    let wasm = build("add-header").unwrap_or_else(|e| panic!("{e}"));
    load_metered(&wasm).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn running_out_of_fuel_traps_and_the_vm_stays_dead() {
    let (host, fuel) = metered_flagship();
    let plugin = host.plugin("add_header").start().unwrap();
    let mut stream = plugin.http_stream();
    fuel.set_limit(Some(fuel.consumed() + 100));

    let verdict = stream.response_headers(&[(":status", "200")], true);

    let Verdict::Trapped(message) = verdict else {
        panic!("expected a trap, got {verdict:?}");
    };
    assert!(message.contains("fuel"), "{message}");
    // FAIL_CLOSED: nothing runs any more, even with fuel again.
    fuel.set_limit(None);
    let mut next = plugin.http_stream();
    assert_eq!(
        next.response_headers(&[(":status", "200")], true),
        Verdict::Trapped("the VM trapped earlier".to_owned())
    );
    assert_eq!(next.response_header("hello"), None);
    assert_eq!(
        next.complete(),
        Err(Trap("the VM trapped earlier".to_owned()))
    );
}

/// What one request costs: start + configure, then requests (headers both ways, then
/// log/done/delete).
fn fuel_figures(requests: u32) -> (u64, u64, Vec<u64>) {
    let (host, fuel) = metered_flagship();
    let initialize = fuel.consumed();
    let (plugin, configure) = fuel.measure(|| {
        host.plugin("add_header")
            .config(r#"{"name":"x-fruit","value":"kiwi"}"#)
            .start()
            .unwrap()
    });
    let per_request = (0..requests)
        .map(|_| {
            let (verdicts, cost) = fuel.measure(|| {
                let mut stream = plugin.http_stream();
                let request = stream.request_headers(&[(":path", "/"), ("host", "a")], true);
                let response = stream.response_headers(&[(":status", "200")], false);
                stream.complete().unwrap();
                (request, response)
            });
            assert_eq!(verdicts, (Verdict::Continue, Verdict::Continue));
            cost
        })
        .collect();
    (initialize, configure, per_request)
}

#[test]
fn fuel_counts_repeat_exactly() {
    let first = fuel_figures(1000);
    let second = fuel_figures(1000);
    assert_eq!(first, second);

    let (initialize, configure, per_request) = first;
    assert!(initialize > 0 && configure > 0);
    let total: u64 = per_request.iter().sum();
    eprintln!(
        "add-header fuel: _initialize {initialize}, start+configure {configure}, \
         per request {} (first {}, mean of {} {})",
        per_request[per_request.len() - 1],
        per_request[0],
        per_request.len(),
        total / per_request.len() as u64
    );
}
