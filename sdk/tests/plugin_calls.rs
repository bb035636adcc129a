//! Callouts from plugin context (`PluginCx::http_call`): from `on_tick`, answered to the
//! plugin, chained from a callback; failures and timeouts reach the callback; nothing
//! of a stream is involved.
#![cfg(not(target_family = "wasm"))]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use proxylet::prelude::*;
use proxylet_testkit::{module, Host};

/// Asks `/first` on every tick, then `/second` with the first answer's status; keeps
/// what it saw.
struct Poller {
    seen: Rc<RefCell<Vec<String>>>,
}

impl Plugin for Poller {
    type Config = ();

    fn new(_: &(), cx: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        cx.set_tick_period(Duration::from_secs(1)).ok();
        Ok(Poller {
            seen: Rc::default(),
        })
    }

    fn on_tick(&self, cx: &mut PluginCx<'_>) {
        let seen = Rc::clone(&self.seen);
        cx.http_call(
            "svc",
            HttpCall::get("/first"),
            Duration::from_millis(500),
            move |result, cx| {
                let status = label(result);
                seen.borrow_mut().push(format!("first {status}"));
                let seen = Rc::clone(&seen);
                cx.http_call(
                    "svc",
                    HttpCall::get(format!("/second?after={status}")),
                    Duration::from_millis(500),
                    move |result, _| seen.borrow_mut().push(format!("second {}", label(result))),
                );
            },
        );
    }
}

/// A call's outcome in a word (or its status).
fn label(result: Result<CallResponse, CallError>) -> String {
    match result {
        Ok(answer) => answer.status().to_string(),
        Err(CallError::Timeout) => "timeout".into(),
        Err(CallError::Failed) => "failed".into(),
        Err(CallError::Rejected(_)) => "rejected".into(),
        Err(error) => format!("invalid: {error}"),
    }
}

#[proxylet::filter(root_id = "poller", plugin = Poller)]
fn on_request_headers(poller: &Poller, headers: &mut Headers) {
    headers.set("x-seen", poller.seen.borrow().join(";"));
}

/// The plugin's record, read through a stream.
fn seen(plugin: &proxylet_testkit::TestPlugin) -> String {
    let mut stream = plugin.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    String::from_utf8(stream.request_header("x-seen").unwrap()).unwrap()
}

#[test]
fn a_tick_calls_out_and_the_answer_reaches_the_plugin_which_calls_again() {
    let host = Host::native(module!());
    let plugin = host.plugin("poller").start().unwrap();
    plugin.tick().unwrap();
    let first = host.callouts();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].cluster, "svc");
    assert!(first[0]
        .headers
        .iter()
        .any(|(n, v)| n == b":path" && v == b"/first"));
    assert!(host.respond_to_call(first[0].token, 200, &[], b"ok"));
    let second = host.callouts();
    assert_eq!(second.len(), 1, "the first answered, the second sent");
    assert!(second[0]
        .headers
        .iter()
        .any(|(n, v)| n == b":path" && v == b"/second?after=200"));
    assert!(host.respond_to_call(second[0].token, 204, &[], b""));
    assert_eq!(seen(&plugin), "first 200;second 204");
}

#[test]
fn failures_and_timeouts_reach_the_plugin_callback() {
    let host = Host::native(module!());
    let plugin = host.plugin("poller").start().unwrap();
    plugin.tick().unwrap();
    let token = host.callouts()[0].token;
    assert!(host.fail_call(token));
    let token = host.callouts()[0].token;
    assert!(host.time_out_call(token));
    assert_eq!(seen(&plugin), "first failed;second timeout");
}

#[test]
fn a_refused_call_runs_the_callback_at_once() {
    let host = Host::native(module!());
    host.set_clusters(&["other"]);
    let plugin = host.plugin("poller").start().unwrap();
    plugin.tick().unwrap();
    assert!(host.callouts().is_empty());
    assert_eq!(seen(&plugin), "first rejected;second rejected");
}
