//! Any bytes as HTTP traffic (headers, body, trailers) through the flagship and the body
//! rewriter: every hook returns, nothing crashes.
//! Run: `cargo +nightly fuzz run traffic -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxylet::testing::Host;

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

fuzz_target!(|data: &[u8]| {
    let third = data.len() / 3;
    let (request, rest) = data.split_at(third);
    let (response, body) = rest.split_at(third);
    for (filters, root_id, config) in [
        (add_header::__PROXYLET_FILTERS, "add_header", ""),
        (body_transform::__PROXYLET_FILTERS, "body_transform", r#"{"max_body_bytes": 4096, "remove": ["password"]}"#),
    ] {
        let host = Host::native(filters);
        let plugin = host.plugin(root_id).config(config).start().expect("valid config");
        let mut stream = plugin.http_stream();
        stream.request_headers_bytes(headers(request), body.is_empty());
        if !body.is_empty() {
            stream.request_body(body, true);
        }
        stream.response_headers_bytes(headers(response), true);
        stream.complete().expect("the native host does not trap");
    }
});
