//! Hand-written modules that misbehave: the wasm host reports traps as Envoy would see
//! them, answers bad pointers with a status instead of panicking, and refuses modules
//! that do not fit the ABI.

use proxylet_testkit::wasm::{load, load_metered, Error};
use proxylet_testkit::{Host, Level, Trap, Verdict};

/// A minimal proxy-wasm 0.2.1 module: a bump allocator, a plugin that starts and
/// configures, and `hooks` (WAT) for the rest.
fn module(hooks: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_property" (func $set_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value"
    (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (data (i32.const 200) "status")
  (func (export "_initialize"))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $at))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  ;; Publishes a hostcall status as property `status` (one byte), for the test to read.
  (func $report (param $status i32)
    (i32.store8 (i32.const 100) (local.get $status))
    (drop (call $set_property (i32.const 200) (i32.const 6) (i32.const 100) (i32.const 1))))
  {hooks}
)"#
    );
    wat::parse_str(wat).unwrap_or_else(|e| panic!("{e}"))
}

fn started(hooks: &str) -> (Host, proxylet_testkit::TestPlugin) {
    let host = load(&module(hooks)).unwrap_or_else(|e| panic!("{e}"));
    let plugin = host.plugin("any").start().unwrap();
    (host, plugin)
}

fn reported_status(host: &Host) -> Option<u8> {
    host.property(&["status"]).map(|value| value[0])
}

#[test]
fn unreachable_in_a_hook_is_a_trap_and_the_vm_stays_dead() {
    let (_host, plugin) = started(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             unreachable)"#,
    );
    let mut stream = plugin.http_stream();

    let verdict = stream.request_headers(&[(":path", "/")], true);

    let Verdict::Trapped(message) = verdict else {
        panic!("expected a trap, got {verdict:?}");
    };
    assert!(message.contains("unreachable"), "{message}");
    let mut next = plugin.http_stream();
    assert_eq!(
        next.request_headers(&[(":path", "/")], true),
        Verdict::Trapped("the VM trapped earlier".to_owned())
    );
    assert_eq!(
        plugin.tick(),
        Err(Trap("the VM trapped earlier".to_owned()))
    );
}

#[test]
fn a_panic_message_on_stderr_is_logged_at_error_level_like_envoy() {
    // What a Rust module does on panic with `panic = "abort"`: print, then abort.
    let (host, plugin) = started(
        r#"(data (i32.const 300) "panicked at src/lib.rs:7:5:\nboom\n")
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (i32.store (i32.const 400) (i32.const 300))
             (i32.store (i32.const 404) (i32.const 33))
             (drop (call $fd_write (i32.const 2) (i32.const 400) (i32.const 1) (i32.const 408)))
             unreachable)"#,
    );

    let verdict = plugin
        .http_stream()
        .request_headers(&[(":path", "/")], true);

    assert!(matches!(verdict, Verdict::Trapped(_)), "{verdict:?}");
    assert_eq!(
        host.logs_at(Level::Error),
        ["panicked at src/lib.rs:7:5:\nboom"]
    );
}

#[test]
fn proc_exit_is_a_trap() {
    let (_host, plugin) = started(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (call $proc_exit (i32.const 3))
             (i32.const 0))"#,
    );
    let verdict = plugin
        .http_stream()
        .request_headers(&[(":path", "/")], true);
    let Verdict::Trapped(message) = verdict else {
        panic!("expected a trap, got {verdict:?}");
    };
    assert!(message.contains("proc_exit(3)"), "{message}");
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let (host, fuel) = load_metered(&module(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (loop $forever (br $forever))
             (i32.const 0))"#,
    ))
    .unwrap();
    let plugin = host.plugin("any").start().unwrap();
    let mut stream = plugin.http_stream();
    fuel.set_limit(Some(fuel.consumed() + 1_000_000));

    let verdict = stream.request_headers(&[(":path", "/")], true);

    let Verdict::Trapped(message) = verdict else {
        panic!("expected a trap, got {verdict:?}");
    };
    assert!(message.contains("fuel"), "{message}");
    let limit = fuel.limit().unwrap();
    assert!(
        fuel.consumed() <= limit && fuel.consumed() + 100 > limit,
        "{} of {limit}",
        fuel.consumed()
    );
}

#[test]
fn out_of_bounds_memory_access_by_the_module_is_a_trap() {
    let (_host, plugin) = started(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (i32.load (i32.const 0x7fff_fff0)))"#,
    );
    let verdict = plugin
        .http_stream()
        .request_headers(&[(":path", "/")], true);
    let Verdict::Trapped(message) = verdict else {
        panic!("expected a trap, got {verdict:?}");
    };
    assert!(message.contains("out of bounds"), "{message}");
}

#[test]
fn hostcall_arguments_outside_memory_get_invalid_memory_access() {
    // Each hook passes a bad pointer to a different hostcall and reports the status.
    let (host, plugin) = started(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             ;; a message past the end of memory
             (call $report (call $log (i32.const 2) (i32.const 65530) (i32.const 100)))
             (i32.const 0))
           (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
             ;; pointer + length overflowing 32 bits
             (call $report (call $log (i32.const 2) (i32.const -1) (i32.const -1)))
             (i32.const 0))
           (func (export "proxy_on_request_trailers") (param i32 i32) (result i32)
             ;; a valid key, but out-pointers outside memory
             (call $report (call $get_header
               (i32.const 0) (i32.const 200) (i32.const 6) (i32.const -8) (i32.const -4)))
             (i32.const 0))"#,
    );
    let mut stream = plugin.http_stream();

    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Verdict::Continue
    );
    assert_eq!(reported_status(&host), Some(6));

    assert_eq!(
        stream.response_headers(&[(":status", "200")], true),
        Verdict::Continue
    );
    assert_eq!(reported_status(&host), Some(6));

    stream.request_headers(&[("status", "present")], false);
    assert_eq!(stream.request_trailers(&[("x", "y")]), Verdict::Continue);
    assert_eq!(reported_status(&host), Some(6));
    assert!(host.logs().is_empty(), "{:?}", host.logs());
}

#[test]
fn an_allocator_returning_a_bad_address_gets_invalid_memory_access() {
    let wat = module(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (global.set $next (i32.const 0x7fff_0000))
             (call $report (call $get_header
               (i32.const 0) (i32.const 200) (i32.const 6) (i32.const 500) (i32.const 504)))
             (i32.const 0))"#,
    );
    let host = load(&wat).unwrap();
    let plugin = host.plugin("any").start().unwrap();
    let mut stream = plugin.http_stream();

    stream.request_headers(&[("status", "present")], true);

    assert_eq!(reported_status(&host), Some(6));
}

#[test]
fn an_empty_value_is_returned_as_a_null_pointer_without_allocating() {
    // Envoy's `copyToPointerSize`: empty means pointer 0 and size 0.
    let (host, plugin) = started(
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (local $before i32)
             (local.set $before (global.get $next))
             (i32.store (i32.const 500) (i32.const 77))
             (drop (call $get_header
               (i32.const 0) (i32.const 200) (i32.const 6) (i32.const 500) (i32.const 504)))
             ;; reports 1 when the pointer is 0 and nothing was allocated
             (call $report (i32.and
               (i32.eqz (i32.load (i32.const 500)))
               (i32.eq (local.get $before) (global.get $next))))
             (i32.const 0))"#,
    );
    plugin
        .http_stream()
        .request_headers(&[("status", "")], true);
    assert_eq!(reported_status(&host), Some(1));
}

#[test]
fn a_module_without_the_abi_marker_is_refused() {
    let wasm = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    let error = load(&wasm).err().expect("must be refused");
    assert!(matches!(error, Error::Abi(_)), "{error}");
    assert!(
        error.to_string().contains("proxy_abi_version_0_2_1"),
        "{error}"
    );
}

#[test]
fn a_module_importing_what_envoy_does_not_provide_is_refused_naming_it() {
    let wasm = wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "proxy_abi_version_0_2_1"))
             (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    let error = load(&wasm).err().expect("must be refused");
    assert!(matches!(error, Error::Link(_)), "{error}");
    assert!(error.to_string().contains("sock_accept"), "{error}");
}

#[test]
fn a_trap_while_initializing_fails_the_load() {
    let wasm = wat::parse_str(
        r#"(module
             (memory (export "memory") 1)
             (func (export "_initialize") unreachable)
             (func (export "proxy_abi_version_0_2_1"))
             (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    let error = load(&wasm).err().expect("must fail");
    assert!(matches!(error, Error::Trap(_)), "{error}");
}

#[test]
fn garbage_is_not_a_module() {
    let error = load(b"\0asm\x01\0\0\0garbage").err().expect("must fail");
    assert!(matches!(error, Error::Invalid(_)), "{error}");
}
