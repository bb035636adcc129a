//! A real Rust panic in a built module (fixture tests/fixtures/panic-probe, which panics
//! on an `x-panic` request header): the VM traps, the panic message is in the plugin's
//! log, and the VM stays dead (`FAIL_CLOSED`). Natively the same panic would abort the
//! test binary (it cannot unwind through `extern "C"` hooks): only the wasm host can show it.

use proxylet_testkit::wasm::{build, load};
use proxylet_testkit::{Level, Verdict};

#[test]
fn an_authors_panic_traps_the_vm_and_is_logged() {
    let wasm = build("panic-probe").unwrap_or_else(|e| panic!("{e}"));
    let host = load(&wasm).unwrap_or_else(|e| panic!("{e}"));
    let plugin = host.plugin("panic_probe").start().unwrap();

    let mut healthy = plugin.http_stream();
    assert_eq!(
        healthy.request_headers(&[(":path", "/")], true),
        Verdict::Continue
    );
    healthy.response_headers(&[(":status", "200")], true);
    assert_eq!(
        healthy.response_header("x-probe").as_deref(),
        Some(&b"alive"[..])
    );

    let verdict = plugin
        .http_stream()
        .request_headers(&[(":path", "/"), ("x-panic", "1")], true);

    let Verdict::Trapped(message) = verdict else {
        panic!("expected a trap, got {verdict:?}");
    };
    assert!(message.contains("unreachable"), "{message}");
    // proxylet's panic hook reports the panic through `proxy_log`, at critical level.
    let critical = host.logs_at(Level::Critical).join("\n");
    assert!(
        critical.contains("panicked at") && critical.contains("the author's bug: x-panic seen"),
        "{:?}",
        host.logs()
    );
    assert_eq!(
        plugin
            .http_stream()
            .request_headers(&[(":path", "/")], true),
        Verdict::Trapped("the VM trapped earlier".to_owned())
    );
}
