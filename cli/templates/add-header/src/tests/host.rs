//! The flagship on the test host, no Envoy: every test runs twice, natively and against
//! the built `.wasm` module (in an interpreter), so the module that ships is tested too.

use proxylet_testkit::{module, Host, Level, Verdict};

// ANCHOR: both_backends
/// Runs `test` on the native host, then on the module built for wasm32-wasip1.
fn on_both_backends(test: impl Fn(Host)) {
    proxylet_testkit::wasm::for_each_backend("add-header", module!(), test);
}

#[test]
fn default_config_adds_hello_melon() {
    on_both_backends(|host| {
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
    });
}
// ANCHOR_END: both_backends

#[test]
fn configured_header_is_set_and_replaces_an_existing_one() {
    on_both_backends(|host| {
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
    });
}

#[test]
fn mistyped_config_is_rejected_naming_the_field() {
    on_both_backends(|host| {
        let rejected = host
            .plugin("add_header")
            .config(r#"{"name":"hello","value":5}"#)
            .start()
            .err()
            .expect("the config must be rejected");
        assert_eq!(rejected.errors.len(), 1, "{rejected}");
        assert!(
            rejected.errors[0].starts_with(
                "add_header: config.value: invalid type: integer `5`, expected a string"
            ),
            "{rejected}"
        );
    });
}

#[test]
fn non_utf8_response_header_values_pass_untouched() {
    on_both_backends(|host| {
        let plugin = host.plugin("add_header").start().unwrap();
        let mut stream = plugin.http_stream();

        let verdict =
            stream.response_headers_bytes(vec![(b"x-raw".to_vec(), vec![0xff, 0xfe])], true);

        assert_eq!(verdict, Verdict::Continue);
        assert_eq!(stream.response_header("x-raw"), Some(vec![0xff, 0xfe]));
        assert_eq!(
            stream.response_header("hello").as_deref(),
            Some(&b"melon"[..])
        );
        assert!(host.logs_at(Level::Critical).is_empty());
    });
}

// ANCHOR: failing_host
#[test]
fn a_host_refusing_every_call_does_not_crash_the_filter() {
    on_both_backends(|host| {
        let plugin = host.plugin("add_header").start().unwrap();
        for status in proxylet_testkit::state::status::ERRORS {
            let mut stream = plugin.http_stream();
            host.fail_every_hostcall(Some(*status));
            assert_eq!(
                stream.response_headers(&[(":status", "200")], true),
                Verdict::Continue
            );
            host.fail_every_hostcall(None);
            stream.complete().unwrap();
        }
        assert!(
            host.logs_at(Level::Critical).is_empty(),
            "{:?}",
            host.logs()
        );
    });
}
// ANCHOR_END: failing_host

#[test]
fn wrong_root_id_is_refused() {
    on_both_backends(|host| {
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
    });
}
