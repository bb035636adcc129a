//! Bounded, deterministic fuzzing of every example's built `.wasm` module, the artifact
//! that ships, in the wasm test host (`proxylet_testkit::wasm`; runs in CI; stable Rust).
//! Random and mutated configurations must be accepted or refused with an error naming
//! `config` — never trap — and random header maps, bodies and trailers, including
//! non-UTF-8 bytes, empty and duplicated headers, must never trap a hook. A trap (a panic:
//! modules are built with `panic = "abort"`) kills the module's VM, so every later call
//! fails too and the test names the iteration where it happened.
//!
//! `FUZZ_ITERATIONS` raises the iteration count for longer runs; the libFuzzer targets in
//! `fuzz/` cover the same ground, unbounded, on nightly.

use proxylet_testkit::{Host, Level, Verdict};

/// A tiny deterministic PRNG (xorshift64*): the same inputs on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Iterations per example: 100 by default (in the interpreter, unoptimized in test builds,
/// an iteration costs about five times what it did natively; 100 keep the two tests near
/// five seconds on two cores), `FUZZ_ITERATIONS` for more.
fn iterations() -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// One example: its package, root id, configurations known to be valid, and its kind.
struct Example {
    package: &'static str,
    root_id: &'static str,
    valid_configs: &'static [&'static str],
    tcp: bool,
}

const EXAMPLES: &[Example] = &[
    Example {
        package: "add-header",
        root_id: "add_header",
        valid_configs: &["", r#"{"name":"x-a","value":"b"}"#],
        tcp: false,
    },
    Example {
        package: "auth",
        root_id: "auth",
        valid_configs: &[
            r#"{"mode": "api_key", "keys": ["k-alpha", "k-beta"], "header": "x-api-key"}"#,
        ],
        tcp: false,
    },
    Example {
        package: "body-transform",
        root_id: "body_transform",
        valid_configs: &[
            r#"{"max_body_bytes": 65536, "remove": ["password"], "rename": {"user_name": "username"}, "set": {"source": "edge", "version": 2}}"#,
        ],
        tcp: false,
    },
    Example {
        package: "canary-routing",
        root_id: "canary_routing",
        valid_configs: &[r#"{"weight": 0}"#, r#"{"weight": 100}"#],
        tcp: false,
    },
    Example {
        package: "circuit-breaker",
        root_id: "circuit_breaker",
        valid_configs: &[
            r#"{"name": "orders", "failure_threshold": 3, "open_ms": 5000, "fallback": {"status": 503, "body": "x", "content_type": "text/plain"}}"#,
        ],
        tcp: false,
    },
    Example {
        package: "metrics",
        root_id: "metrics",
        valid_configs: &["", r#"{"prefix": "edge"}"#],
        tcp: false,
    },
    Example {
        package: "rate-limit",
        root_id: "rate_limit",
        valid_configs: &[
            r#"{"rules": [{"name": "api", "path_prefix": "/", "key_header": "x-api-key", "limit": {"max_tokens": 3, "tokens_per_fill": 1, "fill_interval_ms": 10000}}]}"#,
        ],
        tcp: false,
    },
    Example {
        package: "token-exchange",
        root_id: "token_exchange",
        valid_configs: &[
            r#"{"token": {"cluster": "tokens", "retries": 2, "backoff_ms": 100}, "profile": {"cluster": "profiles"}, "copy_headers": ["x-user", "x-tenant"]}"#,
        ],
        tcp: false,
    },
    Example {
        package: "tcp-guard",
        root_id: "tcp_guard",
        valid_configs: &[r#"{"deny_prefixes": ["EVIL"], "max_bytes": 16}"#],
        tcp: true,
    },
];

/// Mutations of a valid JSON config: byte flips, truncations, insertions, type swaps.
fn mutate(rng: &mut Rng, seed: &str) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            1 => bytes.truncate(rng.below(bytes.len() + 1)),
            2 => {
                let at = rng.below(bytes.len() + 1);
                let token = rng.pick(&[
                    "null",
                    "1e999",
                    "-1",
                    "\"\"",
                    "[]",
                    "{}",
                    "true",
                    "\"\\ud800\"",
                    "18446744073709551616",
                    "\u{0}",
                    "\"\u{ff}\"",
                ]);
                bytes.splice(at..at, token.bytes());
            }
            3 => bytes = rng.bytes(64),
            4 => {
                // Replace every string value with a number and every number with a string.
                let text = String::from_utf8_lossy(&bytes)
                    .replace(":\"", ":1,\"x\":\"")
                    .replace(": \"", ": 2, \"y\": \"");
                bytes = text.into_bytes();
            }
            _ => bytes.extend(rng.bytes(8)),
        }
    }
    bytes
}

fn random_headers(rng: &mut Rng) -> Vec<(Vec<u8>, Vec<u8>)> {
    let names: &[&[u8]] = &[
        b":path",
        b":method",
        b":authority",
        b":status",
        b"content-type",
        b"content-length",
        b"authorization",
        b"x-api-key",
        b"x-user-id",
        b"x-canary",
        b"x-route-to",
        b"host",
        b"",
    ];
    let mut headers = Vec::new();
    for _ in 0..rng.below(40) {
        let name = if rng.below(4) == 0 {
            rng.bytes(12)
        } else {
            rng.pick(names).to_vec()
        };
        let value = match rng.below(5) {
            0 => Vec::new(),
            1 => vec![0xff, 0xfe],
            2 => rng.bytes(16 * 1024),
            3 => b"Bearer eyJhbGciOiJIUzI1NiJ9.e30.x".to_vec(),
            _ => rng.bytes(40),
        };
        headers.push((name, value));
    }
    headers
}

/// A host running `example`'s module, built for wasm32-wasip1 once per test process.
fn module_host(example: &Example) -> Host {
    let wasm = proxylet_testkit::wasm::build(example.package).unwrap_or_else(|e| panic!("{e}"));
    proxylet_testkit::wasm::load(&wasm)
        .unwrap_or_else(|e| panic!("loading `{}`: {e}", example.package))
}

#[test]
fn configs_are_accepted_or_refused_with_the_field_named_never_crash() {
    let mut rng = Rng(0x5eed_0001);
    for example in EXAMPLES {
        let host = module_host(example);
        let (mut accepted, mut refused) = (0, 0);
        for i in 0..iterations() {
            let seed = rng.pick(example.valid_configs);
            let config = mutate(&mut rng, seed);
            match host.plugin(example.root_id).config(config.clone()).start() {
                Ok(_) => accepted += 1,
                Err(rejected) => {
                    refused += 1;
                    assert!(
                        !rejected.errors.iter().any(|e| e.starts_with("trap:")),
                        "{} iteration {i}: config {:?} trapped the module: {rejected}",
                        example.root_id,
                        String::from_utf8_lossy(&config)
                    );
                    let named = rejected
                        .errors
                        .iter()
                        .any(|e| e.starts_with(&format!("{}: config", example.root_id)));
                    assert!(
                        named,
                        "{} iteration {i}: config {:?} refused without naming the field: {rejected}",
                        example.root_id,
                        String::from_utf8_lossy(&config)
                    );
                }
            }
        }
        // The mutations reach both outcomes, or this test would prove little.
        assert!(
            accepted > 0 && refused > 0,
            "{}: {accepted} accepted, {refused} refused",
            example.root_id
        );
        assert!(
            host.logs_at(Level::Critical).is_empty(),
            "{}: {:?}",
            example.root_id,
            host.logs_at(Level::Critical)
        );
    }
}

#[test]
fn random_traffic_never_crashes_a_hook() {
    let mut rng = Rng(0x5eed_0002);
    for example in EXAMPLES {
        let host = module_host(example);
        let config = rng.pick(example.valid_configs);
        let plugin = host
            .plugin(example.root_id)
            .config(*config)
            .start()
            .unwrap_or_else(|e| panic!("{}: {e}", example.root_id));
        for i in 0..iterations() {
            // Sometimes the host refuses everything, with any error status.
            let failing = rng.below(5) == 0;
            if failing {
                host.fail_every_hostcall(Some(*rng.pick(proxylet_testkit::state::status::ERRORS)));
            }
            if example.tcp {
                let mut connection = plugin.tcp_connection();
                for verdict in [
                    connection.connect(),
                    connection.downstream_data(&rng.bytes(64), rng.below(2) == 0),
                    connection.upstream_data(&rng.bytes(64), rng.below(2) == 0),
                ] {
                    assert!(
                        !matches!(verdict, Verdict::Trapped(_)),
                        "{} iteration {i}",
                        example.root_id
                    );
                }
                host.fail_every_hostcall(None);
                connection.close().unwrap();
                continue;
            }
            let mut stream = plugin.http_stream();
            let end_request = rng.below(3) == 0;
            let mut verdicts =
                vec![stream.request_headers_bytes(random_headers(&mut rng), end_request)];
            if !end_request {
                verdicts.push(stream.request_body(&rng.bytes(2048), rng.below(2) == 0));
                if rng.below(3) == 0 {
                    verdicts.push(stream.request_trailers(&[("grpc-status", "0")]));
                }
            }
            // Answer some callouts with garbage, fail or time out others.
            for call in stream.callouts() {
                match rng.below(3) {
                    0 => assert!(host.respond_to_call(
                        call.token,
                        rng.below(600) as u16,
                        &[("x", "y")],
                        &rng.bytes(256)
                    )),
                    1 => assert!(host.fail_call(call.token)),
                    _ => assert!(host.time_out_call(call.token)),
                }
            }
            let mut response = random_headers(&mut rng);
            response.push((
                b":status".to_vec(),
                (rng.below(600)).to_string().into_bytes(),
            ));
            verdicts.push(stream.response_headers_bytes(response, false));
            verdicts.push(stream.response_body(&rng.bytes(2048), true));
            host.fail_every_hostcall(None);
            stream.complete().unwrap();
            for verdict in verdicts {
                assert!(
                    !matches!(verdict, Verdict::Trapped(_)),
                    "{} iteration {i}",
                    example.root_id
                );
            }
        }
        assert!(
            host.logs_at(Level::Critical).is_empty(),
            "{}: {:?}",
            example.root_id,
            host.logs_at(Level::Critical)
        );
    }
}
