//! The hostile-input corpus through real Envoy with the flagship, on both targets (the
//! wasm module in V8 and the same source as a native dynamic module): every malformed
//! request gets its expected answer, and a burst of normal requests right after it all
//! succeed with the filter still applied (0 lost requests, 0 VM crashes).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use proxylet_artifact::build::{build_module, workspace_root, Target};
use proxylet_harness::client::send_raw;
use proxylet_harness::http::Response as UpstreamResponse;
use proxylet_harness::{Bootstrap, Client, Envoy, EnvoyOptions, ModuleFilter, Request, Upstream};

const BURST: usize = 50;

/// The flagship built for `target`, once per test binary.
fn flagship(target: Target) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[target as usize]
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            build_module(&root, "add-header", target).unwrap_or_else(|e| panic!("{e}"))
        })
        .clone()
}

/// An upstream that echoes `x-echo` and answers with a body the size of `x-size`.
fn upstream() -> Upstream {
    Upstream::start(|request| {
        let size = request
            .header_str("x-size")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        let mut response = UpstreamResponse::text(200, vec![b'x'; size]);
        if let Some(value) = request.header_value("x-echo") {
            response = response.with_header("x-echo", value);
        }
        response
    })
    .unwrap()
}

fn start(target: Target, upstream: &Upstream) -> Envoy {
    let bootstrap = Bootstrap::http()
        .filter(ModuleFilter::local("add_header", flagship(target)).root_id("add_header"))
        .cluster("upstream", upstream.addr());
    Envoy::start(&bootstrap, EnvoyOptions::default()).unwrap()
}

/// After each hostile case: every normal request succeeds and is filtered.
fn burst_succeeds(target: Target, envoy: &Envoy, case: &str) {
    let mut client = Client::new(envoy.listener_addr());
    for i in 0..BURST {
        let response = client
            .send(&Request::get("/").timeout(Duration::from_secs(10)))
            .unwrap_or_else(|e| panic!("{target}: {case}: normal request {i} failed: {e}"));
        assert_eq!(
            response.status,
            200,
            "{target}: {case}: normal request {i}\n{}",
            envoy.log()
        );
        assert_eq!(
            response.header_str("hello"),
            Some("melon"),
            "{target}: {case}: request {i}"
        );
    }
}

fn hostile(target: Target, envoy: &Envoy, case: &str, request: Request, expected_status: u16) {
    let response = request
        .timeout(Duration::from_secs(10))
        .send(envoy.listener_addr())
        .unwrap_or_else(|e| panic!("{target}: {case}: {e}"));
    assert_eq!(
        response.status,
        expected_status,
        "{target}: {case}\n{}",
        envoy.log()
    );
    if expected_status == 200 {
        assert_eq!(
            response.header_str("hello"),
            Some("melon"),
            "{target}: {case}"
        );
    }
    burst_succeeds(target, envoy, case);
}

#[test]
fn hostile_requests_get_their_answer_and_never_take_the_filter_down() {
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = start(target, &upstream);

        hostile(
            target,
            &envoy,
            "non-UTF-8 value",
            Request::get("/").header("x-echo", [0xff, 0xfe, 0x80]),
            200,
        );
        hostile(
            target,
            &envoy,
            "every byte 0x80..=0xff",
            Request::get("/").header("x-echo", (0x80..=0xffu8).collect::<Vec<_>>()),
            200,
        );
        hostile(
            target,
            &envoy,
            "empty value",
            Request::get("/").header("x-echo", b""),
            200,
        );
        let mut duplicated = Request::get("/");
        for i in 0..50 {
            duplicated = duplicated.header("x-dup", format!("{i}"));
        }
        hostile(target, &envoy, "50 duplicated headers", duplicated, 200);
        // Envoy answers more than 100 request headers with 431 before any filter runs.
        let mut many = Request::get("/");
        for i in 0..1000 {
            many = many.header(format!("x-h{i}"), "v");
        }
        hostile(target, &envoy, "1000 headers", many, 431);
        // Envoy's default limit on request headers is 60 KiB in all.
        hostile(
            target,
            &envoy,
            "60 KB header value",
            Request::get("/").header("x-big", vec![b'a'; 60 * 1024]),
            431,
        );
        hostile(
            target,
            &envoy,
            "30 KB header value",
            Request::get("/").header("x-echo", vec![b'a'; 30 * 1024]),
            200,
        );
        hostile(
            target,
            &envoy,
            "1 MB request body",
            Request::post("/", vec![b'z'; 1 << 20]),
            200,
        );
        hostile(
            target,
            &envoy,
            "4 MB response body",
            Request::get("/").header("x-size", "4194304"),
            200,
        );

        // A chunked request body with many small chunks.
        let mut raw =
            b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                .to_vec();
        for _ in 0..200 {
            raw.extend_from_slice(b"5\r\nhello\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\n");
        let response = send_raw(envoy.listener_addr(), &raw, Duration::from_secs(10)).unwrap();
        assert_eq!(
            response.status,
            200,
            "{target}: chunked body\n{}",
            envoy.log()
        );
        assert_eq!(response.header_str("hello"), Some("melon"));
        burst_succeeds(target, &envoy, "chunked body");

        // A non-UTF-8 header *name* is not valid HTTP: Envoy's codec answers 400 itself.
        let raw = b"GET / HTTP/1.1\r\nhost: x\r\nx-\xff\xfe: v\r\nconnection: close\r\n\r\n";
        let response = send_raw(envoy.listener_addr(), raw, Duration::from_secs(10)).unwrap();
        assert_eq!(
            response.status,
            400,
            "{target}: non-UTF-8 header name\n{}",
            envoy.log()
        );
        burst_succeeds(target, &envoy, "non-UTF-8 header name");

        assert!(!envoy.log().contains("panic"), "{target}: {}", envoy.log());
        assert!(
            !envoy.log().contains("Function: proxy_on"),
            "{target}: a VM call failed:\n{}",
            envoy.log()
        );
    }
}

#[test]
fn malformed_oversized_and_mistyped_configs_are_refused_with_the_field_named() {
    for target in Target::BOTH {
        let upstream = upstream();
        let cases: &[(&str, &str)] = &[
            (
                r#"{"name": "hello", "value": 5}"#,
                "config.value: invalid type: integer `5`, expected a string",
            ),
            (
                r#"{"name": ["a"]}"#,
                "config.name: invalid type: sequence, expected a string",
            ),
            (r#"{"name": "hello""#, "config: EOF while parsing an object"),
            (
                r#"[1, 2, 3]"#,
                "config[0]: invalid type: integer `1`, expected a string",
            ),
            (r#"{"name": "a"} trailing"#, "config: trailing characters"),
            (r#"{"extra": true}"#, "config.extra: unknown field `extra`"),
        ];
        for (config, expected) in cases {
            let bootstrap = Bootstrap::http()
                .filter(
                    ModuleFilter::local("add_header", flagship(target))
                        .root_id("add_header")
                        .config(*config),
                )
                .cluster("upstream", upstream.addr());
            let (status, log) = Envoy::run_expecting_failure(
                &bootstrap,
                EnvoyOptions::default(),
                Duration::from_secs(30),
            )
            .unwrap();
            assert!(!status.success(), "{target}: {config}: accepted\n{log}");
            assert!(
                log.contains(&format!("add_header: {expected}")),
                "{target}: {config}: the log lacks `{expected}`:\n{log}"
            );
        }
        // 1 MB of configuration: parsed (it is valid), not a crash.
        let big = format!(r#"{{"name": "x-big", "value": "{}"}}"#, "v".repeat(1 << 20));
        let bootstrap = Bootstrap::http()
            .filter(
                ModuleFilter::local("add_header", flagship(target))
                    .root_id("add_header")
                    .config(big),
            )
            .cluster("upstream", upstream.addr());
        let (status, log) = Envoy::run_expecting_failure(
            &bootstrap,
            EnvoyOptions::default(),
            Duration::from_secs(5),
        )
        .map(|(s, l)| (Some(s), l))
        .unwrap_or_else(|e| (None, e.log().unwrap_or_default().to_owned()));
        // Envoy accepted it (still running after the timeout): the big config is valid.
        assert!(
            status.is_none(),
            "{target}: a valid 1 MB config was refused:\n{log}"
        );
        assert!(upstream.requests().is_empty());
    }
}
