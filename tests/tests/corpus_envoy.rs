//! The hostile-input corpus through real Envoy against every HTTP example, on both targets
//! (wasm in V8, and natively as a dynamic module): each hostile request gets a defined
//! answer (a pass-through or a 4xx, never a 5xx from a dead VM), then a burst of normal
//! requests all succeed with the filter still working.

use std::time::Duration;

use proxylet_artifact::build::{build_module, workspace_root, Target};
use proxylet_harness::client::send_raw;
use proxylet_harness::http::{Request as Received, Response as Answer};
use proxylet_harness::upstream::default_response;
use proxylet_harness::{Bootstrap, Client, Envoy, EnvoyOptions, ModuleFilter, Request, Upstream};

const BURST: usize = 30;

/// An example under test: its package, root id, config, what a normal request needs, and
/// the clusters its callouts go to (all served by the test upstream, see [`respond`]).
struct Case {
    package: &'static str,
    root_id: &'static str,
    config: &'static str,
    normal_headers: &'static [(&'static str, &'static str)],
    clusters: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        package: "add-header",
        root_id: "add_header",
        config: "",
        normal_headers: &[],
        clusters: &[],
    },
    Case {
        package: "auth",
        root_id: "auth",
        config: r#"{"mode": "api_key", "keys": ["k-alpha"], "header": "x-api-key"}"#,
        normal_headers: &[("x-api-key", "k-alpha")],
        clusters: &[],
    },
    Case {
        package: "body-transform",
        root_id: "body_transform",
        config: r#"{"max_body_bytes": 4096, "remove": ["password"]}"#,
        normal_headers: &[],
        clusters: &[],
    },
    Case {
        package: "canary-routing",
        root_id: "canary_routing",
        config: r#"{"weight": 50}"#,
        normal_headers: &[],
        clusters: &[],
    },
    Case {
        package: "circuit-breaker",
        root_id: "circuit_breaker",
        config: r#"{"name": "corpus", "failure_threshold": 1000, "open_ms": 60000}"#,
        normal_headers: &[],
        clusters: &[],
    },
    Case {
        package: "metrics",
        root_id: "metrics",
        config: "",
        normal_headers: &[],
        clusters: &[],
    },
    Case {
        package: "rate-limit",
        root_id: "rate_limit",
        config: r#"{"rules": [{"name": "all", "path_prefix": "/", "limit": {"max_tokens": 1000000, "fill_interval_ms": 60000}}]}"#,
        normal_headers: &[],
        clusters: &[],
    },
    Case {
        package: "token-exchange",
        root_id: "token_exchange",
        config: r#"{"token": {"cluster": "tokens"}, "profile": {"cluster": "profiles"}}"#,
        normal_headers: &[("authorization", "Bearer corpus")],
        clusters: &["tokens", "profiles"],
    },
];

/// The upstream, which also plays token-exchange's token service (`/token`) and profile
/// service (`/profile`): they accept any credential.
fn respond(request: &Received) -> Answer {
    match request.path.as_str() {
        "/token" => Answer::text(200, r#"{"access_token": "corpus"}"#),
        "/profile" => Answer::new(200).with_header("x-user", "corpus"),
        _ => default_response(request),
    }
}

/// Answers a filter may legitimately give to a hostile request.
const DEFINED: &[u16] = &[200, 400, 401, 403, 404, 413, 429, 431];

fn hostile_requests() -> Vec<(&'static str, Request)> {
    let mut many = Request::get("/");
    for i in 0..1000 {
        many = many.header(format!("x-h{i}"), "v");
    }
    let mut duplicated = Request::get("/");
    for _ in 0..40 {
        duplicated = duplicated
            .header("x-api-key", "k-alpha")
            .header("x-user-id", "u");
    }
    vec![
        (
            "non-UTF-8 values",
            Request::get("/")
                .header("x-api-key", [0xff, 0xfe])
                .header("x-user-id", [0xc3, 0x28])
                .header("authorization", [0x80]),
        ),
        (
            "empty values",
            Request::get("/")
                .header("x-api-key", b"")
                .header("x-canary", b"")
                .header("authorization", b""),
        ),
        ("40 duplicated headers", duplicated),
        ("1000 headers", many),
        (
            "60 KB header value",
            Request::get("/").header("x-big", vec![b'a'; 60 * 1024]),
        ),
        (
            "JSON body over every cap",
            Request::post("/", vec![b'{'; 512 * 1024]).header("content-type", "application/json"),
        ),
        (
            "malformed JSON body",
            Request::post("/", &b"{\"password\": \xff\xfe"[..])
                .header("content-type", "application/json"),
        ),
    ]
}

fn normal(case: &Case) -> Request {
    let mut request = Request::get("/").timeout(Duration::from_secs(10));
    for (name, value) in case.normal_headers {
        request = request.header(*name, *value);
    }
    request
}

#[test]
fn every_example_answers_hostile_requests_and_keeps_serving() {
    let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
    let upstream = Upstream::start(respond).unwrap();
    let runs = Target::BOTH
        .into_iter()
        .flat_map(|target| CASES.iter().map(move |case| (target, case)));
    for (target, case) in runs {
        let module = build_module(&root, case.package, target).unwrap_or_else(|e| panic!("{e}"));
        let mut filter = ModuleFilter::local(case.root_id, module).root_id(case.root_id);
        if !case.config.is_empty() {
            filter = filter.config(case.config);
        }
        let mut bootstrap = Bootstrap::http()
            .filter(filter)
            .cluster("upstream", upstream.addr())
            .access_log(false);
        for cluster in case.clusters {
            bootstrap = bootstrap.cluster(*cluster, upstream.addr());
        }
        let envoy = Envoy::start(&bootstrap, EnvoyOptions::default())
            .unwrap_or_else(|e| panic!("{target} {}: {e}", case.package));
        let mut hostile = hostile_requests();
        // The same with the example's normal headers, so the hostile part reaches the filter's logic.
        for (name, request) in hostile_requests() {
            let mut request = request;
            for (n, v) in case.normal_headers {
                request = request.header(*n, *v);
            }
            hostile.push((name, request));
        }
        for (name, request) in hostile {
            let response = request
                .timeout(Duration::from_secs(10))
                .send(envoy.listener_addr())
                .unwrap_or_else(|e| panic!("{target} {}: {name}: {e}", case.package));
            assert!(
                DEFINED.contains(&response.status),
                "{target} {}: {name}: answered {}\n{}",
                case.package,
                response.status,
                envoy.log()
            );
            let mut client = Client::new(envoy.listener_addr());
            for i in 0..BURST {
                let response = client
                    .send(&normal(case))
                    .unwrap_or_else(|e| panic!("{target} {}: after {name}: {e}", case.package));
                assert_eq!(
                    response.status,
                    200,
                    "{target} {}: after {name}: normal request {i}\n{}",
                    case.package,
                    envoy.log()
                );
            }
        }
        // A non-UTF-8 header name: Envoy's codec answers 400 before any filter.
        let raw = b"GET / HTTP/1.1\r\nhost: x\r\nx-\xff: v\r\nconnection: close\r\n\r\n";
        let response = send_raw(envoy.listener_addr(), raw, Duration::from_secs(10)).unwrap();
        assert_eq!(response.status, 400, "{target} {}", case.package);
        let log = envoy.log();
        assert!(
            !log.contains("panic in filter"),
            "{target} {}: a filter panicked:\n{log}",
            case.package
        );
        assert!(
            !log.contains("Function: proxy_on"),
            "{target} {}: a VM call failed:\n{log}",
            case.package
        );
    }
}
