//! The TCP guard in a real Envoy 1.40, as a network filter before `tcp_proxy`, on both
//! targets (wasm in V8 and the native dynamic module), in
//! front of a TCP echo server the test runs: allowed bytes come back, denied connections
//! are closed and the upstream never sees what was denied, metrics in Envoy's `/stats`.
//!
//! The module is built for each target once per test binary; Envoy comes from
//! `PROXYLET_ENVOY` or is installed into `target/tools`. Every server listens on a free
//! loopback port and is stopped on drop; Envoy's log is printed when a test fails.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use proxylet_artifact::build::{build_module, workspace_root, Target};
use proxylet_harness::{Bootstrap, Envoy, EnvoyOptions, ModuleFilter};

/// Every wait of these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(5);

fn module(target: Target) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[target as usize]
        .get_or_init(|| {
            let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
            build_module(&root, "tcp-guard", target).unwrap_or_else(|e| panic!("{e}"))
        })
        .clone()
}

/// Envoy's name for the filter's metric `name`: a wasm filter's metrics are under
/// `wasmcustom.`, a dynamic module's under `dynamicmodulescustom.`.
fn stat(target: Target, name: &str) -> String {
    match target {
        Target::Wasm => format!("wasmcustom.{name}"),
        Target::Native => format!("dynamicmodulescustom.{name}"),
    }
}

/// A TCP echo server on a free loopback port that records, per connection, every byte it
/// received. Stopped (and its threads joined, each bounded by a read timeout) on drop.
struct Echo {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Echo {
    fn start() -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (stop, received) = (Arc::clone(&stop), Arc::clone(&received));
            thread::spawn(move || {
                let mut connections = Vec::new();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let index = {
                        let mut all = received.lock().unwrap();
                        all.push(Vec::new());
                        all.len() - 1
                    };
                    let (stop, received) = (Arc::clone(&stop), Arc::clone(&received));
                    connections.push(thread::spawn(move || {
                        echo(stream, &stop, |bytes| {
                            received.lock().unwrap()[index].extend_from_slice(bytes)
                        })
                    }));
                }
                for connection in connections {
                    let _ = connection.join();
                }
            })
        };
        Echo {
            addr,
            stop,
            received,
            acceptor: Some(acceptor),
        }
    }

    /// The bytes each connection received so far, in accept order.
    fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }
}

/// Echoes until the peer closes or the server stops; reads time out every 100 ms to see
/// the stop flag, so the thread ends soon after the test.
fn echo(mut stream: TcpStream, stop: &AtomicBool, mut record: impl FnMut(&[u8])) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buffer = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                record(&buffer[..n]);
                if stream.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn envoy(target: Target, config: &str, echo: &Echo) -> Envoy {
    Envoy::start(&bootstrap(target, config, echo), options()).unwrap()
}

fn bootstrap(target: Target, config: &str, echo: &Echo) -> Bootstrap {
    Bootstrap::tcp()
        .network_filter(
            ModuleFilter::local("tcp_guard", module(target))
                .root_id("tcp_guard")
                .config(config),
        )
        .cluster("echo", echo.addr)
}

fn options() -> EnvoyOptions {
    EnvoyOptions {
        envoy: std::env::var_os("PROXYLET_ENVOY").map(PathBuf::from),
        ..EnvoyOptions::default()
    }
}

fn connect(envoy: &Envoy) -> TcpStream {
    let stream = TcpStream::connect_timeout(&envoy.listener_addr(), WAIT).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Reads exactly `n` bytes (the echo of what was sent).
fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    stream.read_exact(&mut bytes).unwrap();
    bytes
}

/// Whether Envoy closed the connection: the next read ends (EOF or reset) before `WAIT`.
fn closed_by_envoy(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
        ),
    }
}

/// Waits (bounded) until Envoy's stat `name` (see [`stat`]) has `value`; returns the last
/// value seen (and prints the filter's stats when it is not the one expected).
fn wait_for_stat(envoy: &Envoy, name: &str, value: u64) -> Option<u64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = envoy.stat(name).unwrap();
        if seen == Some(value) {
            return seen;
        }
        if Instant::now() > deadline {
            let stats = envoy.admin_get("/stats").unwrap();
            let ours: Vec<&str> = stats.lines().filter(|l| l.contains("tcp_guard")).collect();
            eprintln!("{name} is {seen:?}, not {value}; the filter's stats: {ours:#?}");
            return seen;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

const CONFIG: &str = r#"{"deny_prefixes": ["EVIL"], "max_bytes": 16}"#;

#[test]
fn allowed_bytes_are_echoed_and_connections_counted() {
    for target in Target::BOTH {
        let echo = Echo::start();
        let envoy = envoy(target, CONFIG, &echo);

        for _ in 0..2 {
            let mut client = connect(&envoy);
            client.write_all(b"hello\n").unwrap();
            assert_eq!(read_exactly(&mut client, 6), b"hello\n", "{}", envoy.log());
            client.write_all(b"EVIL\n").unwrap();
            assert_eq!(
                read_exactly(&mut client, 5),
                b"EVIL\n",
                "a prefix only counts at the start"
            );
        }

        assert_eq!(
            wait_for_stat(&envoy, &stat(target, "tcp_guard.connections"), 2),
            Some(2)
        );
        assert_eq!(
            wait_for_stat(&envoy, &stat(target, "tcp_guard.active"), 0),
            Some(0)
        );
        assert_eq!(
            echo.received(),
            [b"hello\nEVIL\n".to_vec(), b"hello\nEVIL\n".to_vec()]
        );
    }
}

#[test]
fn a_denied_prefix_gets_the_connection_closed_and_never_reaches_the_upstream() {
    for target in Target::BOTH {
        let echo = Echo::start();
        let envoy = envoy(target, CONFIG, &echo);

        let mut client = connect(&envoy);
        client.write_all(b"EVIL payload").unwrap();

        assert!(closed_by_envoy(&mut client), "{}", envoy.log());
        assert_eq!(
            wait_for_stat(&envoy, &stat(target, "tcp_guard.denied.reason.prefix"), 1),
            Some(1)
        );
        assert!(
            echo.received().iter().all(|bytes| bytes.is_empty()),
            "the upstream got {:?}",
            echo.received()
        );
    }
}

#[test]
fn a_denied_prefix_split_over_two_writes_is_caught_when_it_completes() {
    for target in Target::BOTH {
        let echo = Echo::start();
        let envoy = envoy(target, CONFIG, &echo);

        let mut client = connect(&envoy);
        client.write_all(b"EV").unwrap();
        // Forwarded (only part of a prefix): it comes back.
        assert_eq!(read_exactly(&mut client, 2), b"EV", "{}", envoy.log());
        client.write_all(b"IL payload").unwrap();

        assert!(closed_by_envoy(&mut client), "{}", envoy.log());
        assert_eq!(
            echo.received(),
            [b"EV".to_vec()],
            "never a whole denied prefix"
        );
    }
}

#[test]
fn a_client_over_its_byte_budget_gets_the_connection_closed() {
    for target in Target::BOTH {
        let echo = Echo::start();
        let envoy = envoy(target, CONFIG, &echo);

        let mut client = connect(&envoy);
        client.write_all(b"0123456789").unwrap();
        assert_eq!(
            read_exactly(&mut client, 10),
            b"0123456789",
            "{}",
            envoy.log()
        );
        client.write_all(b"abcdefghij").unwrap();

        assert!(closed_by_envoy(&mut client), "{}", envoy.log());
        assert_eq!(
            wait_for_stat(&envoy, &stat(target, "tcp_guard.denied.reason.budget"), 1),
            Some(1)
        );
        assert_eq!(
            echo.received(),
            [b"0123456789".to_vec()],
            "the crossing chunk was dropped"
        );
        assert_eq!(
            wait_for_stat(&envoy, &stat(target, "tcp_guard.active"), 0),
            Some(0)
        );
    }
}

#[test]
fn envoy_refuses_a_non_ascii_text_prefix_and_out_of_range_numbers_naming_the_field() {
    for target in Target::BOTH {
        let echo = Echo::start();
        for (config, expected) in [
            (
                r#"{"deny_prefixes": ["\u00ff"]}"#,
                "tcp_guard: config.deny_prefixes[0]: 'ÿ' is not ASCII (it would match its 2 UTF-8 bytes); write bytes above 0x7f in `deny_prefixes_hex`",
            ),
            (
                r#"{"deny_prefixes_hex": ["f"]}"#,
                "tcp_guard: config.deny_prefixes_hex[0]: `f` has an odd number of hex digits",
            ),
            (
                r#"{"max_bytes": 18446744073709551615}"#,
                "tcp_guard: config.max_bytes: must be at most 9007199254740991",
            ),
        ] {
            let (status, log) =
                Envoy::run_expecting_failure(&bootstrap(target, config, &echo), options(), WAIT * 6).unwrap();
            assert!(!status.success(), "Envoy accepted {config}:\n{log}");
            assert!(log.contains(expected), "{expected:?} is not in the log:\n{log}");
        }
        assert!(echo.received().is_empty());
    }
}

#[test]
fn a_hex_prefix_denies_its_bytes_and_not_their_utf8_look_alike() {
    for target in Target::BOTH {
        let echo = Echo::start();
        let envoy = envoy(target, r#"{"deny_prefixes_hex": ["ff fe"]}"#, &echo);

        // The bytes ff fe: closed, never forwarded.
        let mut denied = connect(&envoy);
        denied.write_all(b"\xff\xfe hello").unwrap();
        assert!(closed_by_envoy(&mut denied), "{}", envoy.log());
        assert_eq!(
            wait_for_stat(&envoy, &stat(target, "tcp_guard.denied.reason.prefix"), 1),
            Some(1)
        );

        // "ÿþ" in UTF-8 (c3 bf c3 be) is other bytes: echoed.
        let mut allowed = connect(&envoy);
        allowed.write_all("ÿþ".as_bytes()).unwrap();
        assert_eq!(
            read_exactly(&mut allowed, 4),
            "ÿþ".as_bytes(),
            "{}",
            envoy.log()
        );
        drop(allowed);

        assert_eq!(
            wait_for_stat(&envoy, &stat(target, "tcp_guard.active"), 0),
            Some(0)
        );
        let received = echo.received();
        assert!(
            received.iter().all(|bytes| !bytes.starts_with(b"\xff")),
            "{received:?}"
        );
        assert!(received.contains(&"ÿþ".as_bytes().to_vec()), "{received:?}");
    }
}
