//! Any bytes as HTTP traffic (headers, body, trailers) through the built `.wasm` modules of
//! the flagship and the body rewriter: every hook returns, nothing traps.
//! Run: `cargo +nightly fuzz run traffic -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxylet_testkit::Verdict;

/// Splits fuzz input into header pairs: `name \0 value \n` records.
fn headers(data: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    data.split(|b| *b == b'\n')
        .map(|record| {
            let mut parts = record.splitn(2, |b| *b == 0);
            let name = parts.next().unwrap_or_default().to_vec();
            let value = parts.next().unwrap_or_default().to_vec();
            (name, value)
        })
        .collect()
}

/// (package, root id, configuration)
const MODULES: [(&str, &str, &str); 2] = [
    ("add-header", "add_header", ""),
    (
        "body-transform",
        "body_transform",
        r#"{"max_body_bytes": 4096, "remove": ["password"]}"#,
    ),
];

fuzz_target!(
    init: proxylet_fuzz::prepare(&MODULES.map(|(package, ..)| package)),
    |data: &[u8]| {
        let third = data.len() / 3;
        let (request, rest) = data.split_at(third);
        let (response, body) = rest.split_at(third);
        for (package, root_id, config) in MODULES {
            let host = proxylet_fuzz::host(package);
            let plugin = host
                .plugin(root_id)
                .config(config)
                .start()
                .expect("valid config");
            let mut stream = plugin.http_stream();
            let mut verdicts =
                vec![stream.request_headers_bytes(headers(request), body.is_empty())];
            if !body.is_empty() {
                verdicts.push(stream.request_body(body, true));
            }
            verdicts.push(stream.response_headers_bytes(headers(response), true));
            for verdict in verdicts {
                assert!(
                    !matches!(verdict, Verdict::Trapped(_)),
                    "{root_id}: {verdict:?}"
                );
            }
            stream.complete().expect("the module does not trap");
        }
    }
);
