//! The flagship's built module (examples/add-header for wasm32-wasip1) in the wasm host:
//! the assertions of examples/add-header/tests/host.rs against the artifact, plus what only
//! the artifact has: fuel, and a VM that dies.

use proxylet::testing::state::status;
use proxylet::testing::{Host, Level, Trap, Verdict};
use proxylet_wasm_host::{build, load, load_metered, Fuel};

fn flagship() -> Host {
    let wasm = build("add-header").unwrap_or_else(|e| panic!("{e}"));
    load(&wasm).unwrap_or_else(|e| panic!("{e}"))
}

fn metered_flagship() -> (Host, Fuel) {
    let wasm = build("add-header").unwrap_or_else(|e| panic!("{e}"));
    load_metered(&wasm).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn default_config_adds_hello_melon() {
    let host = flagship();
    let plugin = host.plugin("add_header").start().unwrap();
    let mut stream = plugin.http_stream();

    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Verdict::Continue
    );
    assert_eq!(
        stream.response_headers(&[(":status", "200")], false),
        Verdict::Continue
    );

    assert_eq!(
        stream.response_header("hello").as_deref(),
        Some(&b"melon"[..])
    );
    stream.complete().unwrap();
}

#[test]
fn configured_header_is_set_and_replaces_an_existing_one() {
    let host = flagship();
    let plugin = host
        .plugin("add_header")
        .config(r#"{"name":"x-fruit","value":"kiwi"}"#)
        .start()
        .unwrap();
    let mut stream = plugin.http_stream();

    stream.response_headers(
        &[
            (":status", "200"),
            ("x-fruit", "apple"),
            ("x-fruit", "pear"),
        ],
        true,
    );

    let fruits: Vec<_> = stream
        .response_headers_now()
        .into_iter()
        .filter(|(n, _)| n == b"x-fruit")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(fruits, [b"kiwi".to_vec()]);
}

#[test]
fn mistyped_config_is_rejected_naming_the_field() {
    let host = flagship();
    let rejected = host
        .plugin("add_header")
        .config(r#"{"name":"hello","value":5}"#)
        .start()
        .err()
        .expect("the config must be rejected");
    assert_eq!(rejected.errors.len(), 1, "{rejected}");
    assert!(
        rejected.errors[0]
            .starts_with("add_header: config.value: invalid type: integer `5`, expected a string"),
        "{rejected}"
    );
}

#[test]
fn non_utf8_response_header_values_pass_untouched() {
    let host = flagship();
    let plugin = host.plugin("add_header").start().unwrap();
    let mut stream = plugin.http_stream();

    let verdict = stream.response_headers_bytes(vec![(b"x-raw".to_vec(), vec![0xff, 0xfe])], true);

    assert_eq!(verdict, Verdict::Continue);
    assert_eq!(stream.response_header("x-raw"), Some(vec![0xff, 0xfe]));
    assert_eq!(
        stream.response_header("hello").as_deref(),
        Some(&b"melon"[..])
    );
    assert!(host.logs_at(Level::Critical).is_empty());
    assert!(host.logs_at(Level::Error).is_empty(), "{:?}", host.logs());
}

#[test]
fn a_host_refusing_every_call_does_not_crash_the_filter() {
    let host = flagship();
    let plugin = host.plugin("add_header").start().unwrap();
    for status in status::ERRORS {
        let mut stream = plugin.http_stream();
        host.fail_every_hostcall(Some(*status));
        assert_eq!(
            stream.response_headers(&[(":status", "200")], true),
            Verdict::Continue,
            "status {status}"
        );
        host.fail_every_hostcall(None);
        stream.complete().unwrap();
    }
    // Still alive and still adding the header.
    let mut stream = plugin.http_stream();
    stream.response_headers(&[(":status", "200")], true);
    assert_eq!(
        stream.response_header("hello").as_deref(),
        Some(&b"melon"[..])
    );
    assert!(
        host.logs_at(Level::Critical).is_empty(),
        "{:?}",
        host.logs()
    );
}

#[test]
fn wrong_root_id_is_refused() {
    let host = flagship();
    let rejected = host
        .plugin("other")
        .start()
        .err()
        .expect("must be rejected");
    assert!(
        rejected
            .errors
            .iter()
            .any(|e| e.contains("no filter with root id `other`")),
        "{rejected}"
    );
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
