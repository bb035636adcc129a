//! The test host keeps the panic hook that was there before it, so a failing assertion in
//! a native test still prints its message (the filter's hook alone would only log it into
//! the emulated host). One test per binary: the panic hook is process-wide.
#![cfg(not(target_family = "wasm"))]

use std::sync::atomic::{AtomicBool, Ordering};

use proxylet::http::Headers;
use proxylet_testkit::{module, Host, Level};

static PREVIOUS_HOOK_RAN: AtomicBool = AtomicBool::new(false);

#[proxylet::filter(root_id = "noop")]
fn on_request_headers(_headers: &Headers) {}

#[test]
fn a_panic_reaches_the_previous_hook_and_the_host_log() {
    std::panic::set_hook(Box::new(|_| {
        PREVIOUS_HOOK_RAN.store(true, Ordering::SeqCst)
    }));
    let host = Host::native(module!());

    let result = std::panic::catch_unwind(|| panic!("assertion in a test"));

    assert!(result.is_err());
    assert!(
        PREVIOUS_HOOK_RAN.load(Ordering::SeqCst),
        "the previous hook was dropped"
    );
    assert!(
        host.logs_at(Level::Critical)
            .iter()
            .any(|m| m.contains("panic in filter: ") && m.contains("assertion in a test")),
        "{:?}",
        host.logs()
    );
}
