//! The hardened examples attacked over h2c (HTTP/2 with prior knowledge, cleartext) through
//! a real Envoy 1.40 with 2 workers, as the adversarial pass of issue 9 did, on both
//! targets (wasm in V8, and natively as a dynamic module). The other Envoy
//! tests speak HTTP/1.1 (the harness client); HTTP/2 differs where it matters here: header
//! names arrive lowercased, repeated headers arrive as separate fields, a different codec
//! judges the bytes, and `:path` is a pseudo-header.
//!
//! Requests are sent by `curl --http2-prior-knowledge` (curl with nghttp2), one connection
//! per request, each bounded by `--max-time`, with `--path-as-is` so curl sends dot
//! segments untouched. Without such a curl the tests print a note and pass, except under
//! CI (`CI` set), where they fail saying what to install. Every test asserts that Envoy
//! spoke HTTP/2 only (its `downstream_cx_http2_total` / `downstream_cx_http1_total`
//! counters).
//!
//! Each module is built once per test binary; every test starts its own upstreams and Envoy
//! on free loopback ports, all stopped on drop (Envoy's log is printed when a test fails).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proxylet_artifact::build::{build_module, workspace_root, Target};
use proxylet_harness::http::Response as UpstreamResponse;
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, ModuleFilter, Response, Upstream};
use serde_json::json;
use sha2::Sha256;

/// `--max-time` of one curl run, in seconds.
const MAX_TIME_SECS: &str = "10";
const UPSTREAM_BODY: &str = "upstream says hi\n";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// Package `package` built for `target`, once per test binary.
fn module(package: &str, target: Target) -> PathBuf {
    static BUILT: OnceLock<Mutex<Vec<(String, Target, PathBuf)>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, module)) = built.iter().find(|(p, t, _)| p == package && *t == target) {
        return module.clone();
    }
    let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
    let module = build_module(&root, package, target).unwrap_or_else(|e| panic!("{e}"));
    built.push((package.to_owned(), target, module.clone()));
    module
}

/// A curl that speaks HTTP/2, or `None` (with a note) when there is none outside CI.
fn curl() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let h2_capable = |candidate: &Path| {
            Command::new(candidate)
                .arg("--version")
                .output()
                .ok()
                .filter(|out| out.status.success())
                .is_some_and(|out| {
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .any(|line| line.starts_with("Features:") && line.contains("HTTP2"))
                })
        };
        let on_path = std::env::var_os("PATH")
            .map(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("curl"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        std::iter::once(PathBuf::from("/usr/bin/curl"))
            .chain(on_path)
            .find(|candidate| candidate.is_file() && h2_capable(candidate))
    });
    if found.is_none() {
        let why = "no curl with HTTP/2 support (`Features: ... HTTP2` in `curl --version`) in \
                   /usr/bin or on PATH; install curl built with nghttp2 (Debian: `apt-get \
                   install curl`)";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("note: skipping an h2c test: {why}");
    }
    found.as_deref()
}

/// One `GET path` over h2c on a new connection, with these header fields (`-H`, in order,
/// repeats kept). `Err` holds curl's exit status and message when no response came.
fn h2(
    curl: &Path,
    envoy: &Envoy,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Response, String> {
    let mut command = Command::new(curl);
    // `-q` first: no ~/.curlrc. No proxy, whatever the environment says.
    command.args([
        "-q",
        "--http2-prior-knowledge",
        "-sS",
        "--max-time",
        MAX_TIME_SECS,
        "--connect-timeout",
        "5",
        "--noproxy",
        "*",
        "--path-as-is",
        "--globoff",
        "-D",
        "-",
    ]);
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    command.arg(format!("http://{}{path}", envoy.listener_addr()));
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", curl.display()));
    if !out.status.success() {
        return Err(format!(
            "curl {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(parse(&out.stdout))
}

/// curl's `-D -` output (the head) followed by the body.
fn parse(out: &[u8]) -> Response {
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in curl's output: {}", out.escape_ascii()));
    let head = String::from_utf8_lossy(out.get(..end).unwrap()).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut words = status_line.split_whitespace();
    assert_eq!(
        words.next(),
        Some("HTTP/2"),
        "not answered over HTTP/2: {status_line:?}"
    );
    let status = words
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().as_bytes().to_vec()))
        .collect();
    Response {
        status,
        headers,
        body: out.get(end + 4..).unwrap().to_vec(),
    }
}

/// [`h2`] that must get a response.
fn get(curl: &Path, envoy: &Envoy, path: &str, headers: &[(&str, &str)]) -> Response {
    h2(curl, envoy, path, headers)
        .unwrap_or_else(|e| panic!("{path} {headers:?}: {e}\n{}", envoy.log()))
}

/// Envoy with 2 workers; the listener's codec is `AUTO`, which takes h2c prior knowledge.
fn start(bootstrap: &Bootstrap) -> Envoy {
    let options = EnvoyOptions {
        concurrency: 2,
        ..EnvoyOptions::default()
    };
    let envoy = Envoy::start(bootstrap, options).unwrap();
    assert_eq!(envoy.stat("server.concurrency").unwrap(), Some(2));
    envoy
}

/// Every downstream connection so far was HTTP/2 (none fell back to HTTP/1.1).
fn assert_h2_only(envoy: &Envoy) {
    let h2 = envoy
        .stat("http.ingress_http.downstream_cx_http2_total")
        .unwrap()
        .unwrap_or(0);
    let h1 = envoy
        .stat("http.ingress_http.downstream_cx_http1_total")
        .unwrap()
        .unwrap_or(0);
    assert!(h2 > 0 && h1 == 0, "h2 connections {h2}, HTTP/1 {h1}");
}

/// Values of every header that is `name` up to ASCII case and `_`/`-`.
fn spellings(request: &proxylet_harness::Request, name: &str) -> Vec<(String, String)> {
    request
        .headers
        .iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .filter(|(n, _)| n.to_ascii_lowercase().replace('_', "-") == name)
        .collect()
}

fn upstream() -> Upstream {
    Upstream::start(|_| UpstreamResponse::text(200, UPSTREAM_BODY)).unwrap()
}

fn auth_envoy(
    target: Target,
    config: &str,
    upstream: &Upstream,
    service: Option<&Upstream>,
) -> Envoy {
    let mut bootstrap = Bootstrap::http()
        .filter(
            ModuleFilter::local("auth", module("auth", target))
                .root_id("auth")
                .config(config),
        )
        .cluster("upstream", upstream.addr());
    if let Some(service) = service {
        bootstrap = bootstrap.cluster("auth", service.addr());
    }
    start(&bootstrap)
}

#[test]
fn auth_api_key_over_h2_refuses_repeats_and_underscore_spellings() {
    let Some(curl) = curl() else { return };
    for target in Target::BOTH {
        let upstream = upstream();
        let envoy = auth_envoy(
            target,
            r#"{"mode": "api_key", "keys": ["k-alpha"]}"#,
            &upstream,
            None,
        );

        // HTTP/2 carries repeated fields one by one, and Envoy keeps `x-api-key` as separate
        // entries (it joins only a few headers, `authorization` among them): the filter must
        // see all of them.
        for headers in [
            &[("x-api-key", "k-alpha"), ("x-api-key", "junk")][..],
            &[("x-api-key", "junk"), ("x-api-key", "k-alpha")],
            &[("x-api-key", "k-alpha"), ("x-api-key", "k-alpha")],
            &[("x-api-key", "k-alpha"), ("x_api_key", "junk")],
            &[("x_api_key", "junk"), ("x-api-key", "k-alpha")],
            &[("x_api_key", "k-alpha"), ("x_api_key", "k-alpha")],
        ] {
            let response = get(curl, &envoy, "/orders/7", headers);
            assert_eq!(
                response.status,
                400,
                "{target}: {headers:?}\n{}",
                envoy.log()
            );
            assert_eq!(
                response.text_body(),
                "bad request: repeated x-api-key header\n",
                "{headers:?}"
            );
        }
        assert!(
            upstream.requests().is_empty(),
            "a refused request reached the upstream"
        );

        let refused = get(curl, &envoy, "/orders/7", &[("x-api-key", "junk")]);
        assert_eq!(refused.status, 401);
        let allowed = get(curl, &envoy, "/orders/7", &[("x-api-key", "k-alpha")]);
        assert_eq!(allowed.status, 200, "{target}: {}", envoy.log());
        assert_eq!(allowed.text_body(), UPSTREAM_BODY);
        let forwarded = upstream.requests();
        assert_eq!(forwarded.len(), 1);
        assert_eq!(forwarded[0].path, "/orders/7");
        assert_eq!(
            spellings(&forwarded[0], "x-api-key"),
            [("x-api-key".to_owned(), "k-alpha".to_owned())]
        );
        assert_h2_only(&envoy);
    }
}

/// An auth service: `authorization: Bearer good` is allowed as user `alice`, anything else
/// is refused with 403.
fn auth_service() -> Upstream {
    Upstream::start(|request| {
        if request.header_str("authorization") == Some("Bearer good") {
            UpstreamResponse::text(200, "ok\n").with_header("x-user", "alice")
        } else {
            UpstreamResponse::text(403, "denied by the auth service\n")
        }
    })
    .unwrap()
}

#[test]
fn auth_external_over_h2_never_passes_a_control_byte_under_on_error_allow() {
    let Some(curl) = curl() else { return };
    for target in Target::BOTH {
        let (upstream, service) = (upstream(), auth_service());
        let envoy = auth_envoy(
            target,
            r#"{"mode": "external", "cluster": "auth", "timeout_ms": 5000, "on_error": "allow",
                "forward_headers": ["authorization"], "copy_headers": ["x-user"]}"#,
            &upstream,
            Some(&service),
        );

        // The filter answers 400 to a forwarded header it cannot put into the callout, rather
        // than calling the service "failed" (which `on_error: allow` would let through); the
        // test host covers that (examples/auth/src/tests/host.rs). Through Envoy 1.40 such a value
        // never gets that far, over HTTP/2 either: its HTTP/2 codec (nghttp2 by default, and
        // oghttp2 too, both tried) refuses a field value holding a control byte other than
        // HTAB as a protocol error and closes the connection, before any filter runs; no
        // status goes back (`http2.rx_messaging_error` counts it). Its HTTP/1 codec answers
        // 400 to the same bytes. Asserted here: no response, and neither the auth service nor
        // the upstream receives anything.
        let before = envoy.stat("http2.rx_messaging_error").unwrap().unwrap_or(0);
        let hostile = ["Bearer good\u{1}", "Bearer good\u{7f}", "Bearer \u{1b}good"];
        for value in hostile {
            let outcome = h2(curl, &envoy, "/orders/7", &[("authorization", value)]);
            assert!(
                outcome.is_err(),
                "{target}: {value:?} got a response: {outcome:?}\n{}",
                envoy.log()
            );
        }
        // The same byte in a header the filter does not forward: refused alike, by the codec.
        let outcome = h2(
            curl,
            &envoy,
            "/orders/7",
            &[("authorization", "Bearer good"), ("x-note", "a\u{1}b")],
        );
        assert!(outcome.is_err(), "{outcome:?}");
        let refused = envoy.stat("http2.rx_messaging_error").unwrap().unwrap_or(0) - before;
        assert_eq!(
            refused,
            hostile.len() as u64 + 1,
            "{target}: {}",
            envoy.log()
        );
        assert!(
            service.requests().is_empty(),
            "the auth service was asked about a control byte"
        );
        assert!(
            upstream.requests().is_empty(),
            "a control byte reached the upstream"
        );

        // Two `authorization` fields: Envoy joins them into one value with `,` over HTTP/2
        // too, and the filter forwards that one value: the service sees both tokens and
        // refuses, and its 403 reaches the client whatever `on_error` says.
        let response = get(
            curl,
            &envoy,
            "/orders/7",
            &[
                ("authorization", "Bearer good"),
                ("authorization", "Bearer x"),
            ],
        );
        assert_eq!(response.status, 403, "{target}: {}", envoy.log());
        let asked = service.take_requests();
        assert_eq!(asked.len(), 1);
        assert_eq!(
            spellings(&asked[0], "authorization"),
            [(
                "authorization".to_owned(),
                "Bearer good,Bearer x".to_owned()
            )]
        );
        assert!(upstream.requests().is_empty());

        // Obs-text (0x80 and up) and HTAB are legal in a value: Envoy passes them, and the
        // filter lets the request through when the service says yes. A forged `x_user` is
        // replaced by the service's `x-user`.
        let allowed = get(
            curl,
            &envoy,
            "/orders/7",
            &[
                ("authorization", "Bearer good"),
                ("x-note", "caf\u{e9}\tok"),
                ("x_user", "admin"),
            ],
        );
        assert_eq!(allowed.status, 200, "{target}: {}", envoy.log());
        assert_eq!(allowed.text_body(), UPSTREAM_BODY);
        let forwarded = upstream.requests();
        assert_eq!(forwarded.len(), 1);
        assert_eq!(
            forwarded[0].header_value("x-note"),
            Some("caf\u{e9}\tok".as_bytes())
        );
        assert_eq!(
            spellings(&forwarded[0], "x-user"),
            [("x-user".to_owned(), "alice".to_owned())]
        );
        assert_eq!(forwarded[0].header_str("x-auth-error"), None);
        assert_h2_only(&envoy);
    }
}

fn jwt(exp: u64, sub: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{sub}","exp":{exp}}}"#));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("Bearer {header}.{payload}.{signature}")
}

#[test]
fn auth_jwt_over_h2_refuses_a_repeated_authorization() {
    let Some(curl) = curl() else { return };
    for target in Target::BOTH {
        let upstream = upstream();
        let config = format!(
            r#"{{"mode": "jwt", "secret": "{SECRET}", "claim_headers": {{"sub": "x-user"}}}}"#
        );
        let envoy = auth_envoy(target, &config, &upstream, None);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let good = jwt(now + 300, "alice");
        let other = jwt(now + 300, "mallory");

        // Over HTTP/2 as over HTTP/1.1, Envoy joins repeated `authorization` fields into one
        // value with `,` (the external-mode test above sees the joined value arrive at the
        // auth service); no bearer token holds a comma, so the filter reads it as a repeat.
        for headers in [
            [
                ("authorization", good.as_str()),
                ("authorization", good.as_str()),
            ],
            [
                ("authorization", good.as_str()),
                ("authorization", "Bearer junk"),
            ],
            [
                ("authorization", "Bearer junk"),
                ("authorization", good.as_str()),
            ],
            [
                ("authorization", good.as_str()),
                ("authorization", other.as_str()),
            ],
        ] {
            let response = get(curl, &envoy, "/orders/7", &headers);
            assert_eq!(response.status, 400, "{target}: {}", envoy.log());
            assert_eq!(
                response.text_body(),
                "bad request: repeated authorization header\n"
            );
        }
        assert!(upstream.requests().is_empty());

        // One good token passes; the claim replaces a forged `x-user` and `x_user`.
        let allowed = get(
            curl,
            &envoy,
            "/orders/7",
            &[
                ("authorization", good.as_str()),
                ("x-user", "mallory"),
                ("x_user", "root"),
            ],
        );
        assert_eq!(allowed.status, 200, "{target}: {}", envoy.log());
        let forwarded = upstream.requests();
        assert_eq!(forwarded.len(), 1);
        assert_eq!(
            spellings(&forwarded[0], "x-user"),
            [("x-user".to_owned(), "alice".to_owned())]
        );
        assert_h2_only(&envoy);
    }
}

/// Tricky spellings of `/login`, each sent as is (curl's `--path-as-is`).
const LOGIN_SPELLINGS: &[&str] = &[
    "//login",
    "/./login",
    "/x/../login",
    "/%6cogin",
    "/LOGIN",
    "/login;x=1",
    "/%2e/login",
    "/x/%2e%2e/login",
    "/Login/",
];

#[test]
fn rate_limit_over_h2_counts_every_spelling_of_login_and_refuses_a_repeated_key() {
    let Some(curl) = curl() else { return };
    for target in Target::BOTH {
        let upstream = upstream();
        // One bucket of 2 per `x-client`, refilled once an hour: no refill during the test.
        let config = json!({"rules": [
            {"name": "login", "path_prefix": "/login", "key_header": "x-client",
             "limit": {"max_tokens": 2, "fill_interval_ms": 3_600_000}}
        ]});
        let bootstrap = Bootstrap::http()
            .filter(
                ModuleFilter::local("rate_limit", module("rate-limit", target))
                    .root_id("rate_limit")
                    .vm_id("rate-limit")
                    .config(config.to_string()),
            )
            .cluster("upstream", upstream.addr());
        let envoy = start(&bootstrap);

        // Per spelling, a client of its own: `/login` takes one token, the spelling the second
        // (and reaches the upstream as sent: Envoy's defaults do not normalize), and the
        // spelling again, one more than the bucket holds, is refused.
        for (i, spelling) in LOGIN_SPELLINGS.iter().enumerate() {
            let client = format!("client-{i}");
            let key = [("x-client", client.as_str())];
            let first = get(curl, &envoy, "/login", &key);
            assert_eq!(first.status, 200, "{target}: {spelling}\n{}", envoy.log());
            let second = get(curl, &envoy, spelling, &key);
            assert_eq!(second.status, 200, "{target}: {spelling}\n{}", envoy.log());
            let arrived = upstream.take_requests();
            let paths: Vec<&str> = arrived.iter().map(|r| r.path.as_str()).collect();
            assert_eq!(paths, ["/login", *spelling]);
            let third = get(curl, &envoy, spelling, &key);
            assert_eq!(
                third.status,
                429,
                "{target}: {spelling} escaped the /login bucket\n{}",
                envoy.log()
            );
            assert_eq!(third.text_body(), "rate limit exceeded\n");
            let retry: u64 = third
                .header_str("retry-after")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no retry-after: {third:?}"));
            assert!((1..=3600).contains(&retry), "retry-after: {retry}");
        }
        assert!(upstream.take_requests().is_empty());

        // Another path is not counted: the limit is /login's, not everything's.
        for _ in 0..3 {
            let response = get(curl, &envoy, "/logout", &[("x-client", "client-0")]);
            assert_eq!(response.status, 200, "{target}: {}", envoy.log());
        }
        assert_eq!(upstream.take_requests().len(), 3);

        // The key header more than once, as separate HTTP/2 fields or with `_`: 400, no token
        // taken from either bucket, nothing upstream.
        for headers in [
            [("x-client", "gold"), ("x-client", "junk")],
            [("x-client", "junk"), ("x-client", "gold")],
            [("x-client", "gold"), ("x_client", "junk")],
            [("x_client", "gold"), ("x_client", "gold")],
        ] {
            let response = get(curl, &envoy, "/login", &headers);
            assert_eq!(
                response.status,
                400,
                "{target}: {headers:?}\n{}",
                envoy.log()
            );
            assert!(
                response
                    .text_body()
                    .starts_with("ambiguous request: header `x-client` appears 2 times"),
                "{}",
                response.text_body()
            );
        }
        assert!(upstream.requests().is_empty());
        for client in ["gold", "junk"] {
            let key = [("x-client", client)];
            for _ in 0..2 {
                assert_eq!(get(curl, &envoy, "/login", &key).status, 200, "{client}");
            }
            assert_eq!(get(curl, &envoy, "/login", &key).status, 429, "{client}");
        }
        assert_h2_only(&envoy);
    }
}

#[test]
fn canary_routing_over_h2_refuses_a_repeated_forcing_header_and_owns_the_route_header() {
    let Some(curl) = curl() else { return };
    for target in Target::BOTH {
        let stable = Upstream::start(|_| UpstreamResponse::text(200, "stable\n")).unwrap();
        let canary = Upstream::start(|_| UpstreamResponse::text(200, "canary\n")).unwrap();
        // The routes of examples/canary-routing: `x-route-to: canary` → canary, else stable.
        let routes = json!({
            "name": "canary_routes",
            "virtual_hosts": [{
                "name": "all",
                "domains": ["*"],
                "routes": [
                    {
                        "match": {
                            "prefix": "/",
                            "headers": [{ "name": "x-route-to", "string_match": { "exact": "canary" } }],
                        },
                        "route": { "cluster": "canary" },
                    },
                    { "match": { "prefix": "/" }, "route": { "cluster": "stable" } },
                ],
            }],
        });
        let bootstrap = Bootstrap::http()
            .filter(
                ModuleFilter::local("canary_routing", module("canary-routing", target))
                    .root_id("canary_routing")
                    .config(r#"{"weight": 0, "sticky_header": "x-user-id"}"#),
            )
            .route_config(routes)
            .cluster("stable", stable.addr())
            .cluster("canary", canary.addr());
        let envoy = start(&bootstrap);

        for headers in [
            [("x-canary", "1"), ("x-canary", "0")],
            [("x-canary", "0"), ("x-canary", "1")],
            [("x-canary", "1"), ("x-canary", "1")],
            [("x-canary", "0"), ("x_canary", "1")],
            [("x_canary", "1"), ("x_canary", "1")],
            [("x-user-id", "alice"), ("x_user_id", "bob")],
        ] {
            let response = get(curl, &envoy, "/", &headers);
            assert_eq!(
                response.status,
                400,
                "{target}: {headers:?}\n{}",
                envoy.log()
            );
            assert!(
                response
                    .text_body()
                    .starts_with("ambiguous request: header `x-"),
                "{}",
                response.text_body()
            );
        }
        assert!(stable.requests().is_empty() && canary.requests().is_empty());

        // Forcing once works over h2, so the 400s above are the repeats' doing.
        let forced = get(curl, &envoy, "/", &[("x_canary", "1")]);
        assert_eq!(forced.text_body(), "canary\n", "{target}: {}", envoy.log());
        assert_eq!(canary.take_requests().len(), 1);

        // The client's route header, repeated and with `_` (HTTP/2 names are lowercase, so
        // `X-Route-To` cannot be sent), neither routes nor reaches the upstream.
        let response = get(
            curl,
            &envoy,
            "/",
            &[
                ("x-route-to", "canary"),
                ("x-route-to", "canary"),
                ("x_route_to", "canary"),
            ],
        );
        assert_eq!(
            response.text_body(),
            "stable\n",
            "{target}: {}",
            envoy.log()
        );
        assert!(canary.requests().is_empty());
        let arrived = stable.requests();
        assert_eq!(arrived.len(), 1);
        assert_eq!(
            spellings(&arrived[0], "x-route-to"),
            [("x-route-to".to_owned(), "stable".to_owned())]
        );
        assert_h2_only(&envoy);
    }
}

#[test]
fn flagship_over_h2_adds_hello_melon() {
    let Some(curl) = curl() else { return };
    for target in Target::BOTH {
        let upstream = upstream();
        let bootstrap = Bootstrap::http()
            .filter(
                ModuleFilter::local("add_header", module("add-header", target))
                    .root_id("add_header"),
            )
            .cluster("upstream", upstream.addr());
        let envoy = start(&bootstrap);

        // Several connections, so both workers' VMs are likely to answer; every one adds it.
        for _ in 0..6 {
            let response = get(curl, &envoy, "/", &[("hello", "client")]);
            assert_eq!(response.status, 200, "{target}: {}", envoy.log());
            assert_eq!(response.header_all("hello"), [b"melon"], "{response:?}");
            assert_eq!(response.text_body(), UPSTREAM_BODY);
        }
        assert_eq!(upstream.requests().len(), 6);
        assert_h2_only(&envoy);
    }
}
