//! A Docker token service for the registry's `auth: token` mode: it checks one user's
//! Basic credentials and answers with a JWT (RS256, signed with `openssl`, the signing
//! certificate in `x5c`) granting the requested scopes. The registry verifies it against
//! the certificate, as it does with Docker Hub's or Harbor's tokens.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;

use super::TempDir;

pub const SERVICE: &str = "proxylet-test-registry";
pub const ISSUER: &str = "proxylet-test-issuer";

pub struct TokenServer {
    pub realm: String,
    pub cert: PathBuf,
    /// Every request, in the order they came; see [`TokenServer::requests`].
    requests: Arc<Mutex<Vec<TokenRequest>>>,
    stop: Arc<AtomicBool>,
    port: u16,
    thread: Option<JoinHandle<()>>,
    _dir: TempDir,
}

impl TokenServer {
    /// Starts the service for `user` with `password`; `None` without openssl.
    pub fn start(user: &str, password: &str) -> Option<TokenServer> {
        let dir = TempDir::new("token");
        let key = dir.join("key.pem");
        let cert = dir.join("cert.pem");
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=proxylet-test-token",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output();
        if !made.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("\n!!! SKIPPING the Bearer token test: openssl cannot make a certificate here: {made:?}\n");
            return None;
        }
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .unwrap()
            .stdout;
        let x5c = base64::engine::general_purpose::STANDARD.encode(der);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop, key) = (requests.clone(), stop.clone(), key.clone());
            let user = user.to_owned();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(mut stream) = stream else { continue };
                    // One connection at a time: a client that connects and goes quiet must
                    // not hold the loop (and the join in `drop`) forever.
                    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
                    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request_line = String::new();
                    let _ = reader.read_line(&mut request_line);
                    let mut authorization = None;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("authorization") {
                                authorization = Some(value.trim().to_owned());
                            }
                        }
                    }
                    let query = request_line
                        .split_whitespace()
                        .nth(1)
                        .and_then(|target| target.split_once('?'))
                        .map(|(_, q)| q.to_owned())
                        .unwrap_or_default();
                    let request = TokenRequest {
                        accepted: authorization.as_deref() == Some(expected.as_str()),
                        query,
                    };
                    // Recorded before answering: once a client has its answer (and a CLI
                    // run has exited), its request is in the list.
                    requests.lock().unwrap().push(request.clone());
                    let response = if request.accepted {
                        let token = jwt(&key, &x5c, &user, &request.scopes());
                        let body = json!({ "token": token, "access_token": token }).to_string();
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    } else {
                        "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
                    };
                    let _ = stream.write_all(response.as_bytes());
                }
            })
        };
        Some(TokenServer {
            realm: format!("http://127.0.0.1:{port}/token"),
            cert,
            requests,
            stop,
            port,
            thread: Some(thread),
            _dir: dir,
        })
    }

    /// The requests so far, in the order they came.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A JWT granting every scope asked for.
fn jwt(key: &std::path::Path, x5c: &str, user: &str, scopes: &[Scope]) -> String {
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .map(|scope| json!({ "type": scope.kind, "name": scope.name, "actions": scope.actions }))
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({ "typ": "JWT", "alg": "RS256", "x5c": [x5c] });
    let claims = json!({
        "iss": ISSUER, "sub": user, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
        "jti": format!("{now}-{}", access.len()), "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        url.encode(header.to_string()),
        url.encode(claims.to_string())
    );
    let mut openssl = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    openssl
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())
        .unwrap();
    let signature = openssl.wait_with_output().unwrap().stdout;
    format!("{signing_input}.{}", url.encode(signature))
}

/// How long the service waits on a quiet connection.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// One request to the token service.
#[derive(Clone)]
pub struct TokenRequest {
    /// The query string as sent (still percent-encoded).
    pub query: String,
    /// Whether the credentials were accepted (and a token issued).
    pub accepted: bool,
}

impl TokenRequest {
    /// The decoded values of the query parameter `key`, in order.
    pub fn param(&self, key: &str) -> Vec<String> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(name, _)| percent_decode(name) == key)
            .map(|(_, value)| percent_decode(value))
            .collect()
    }

    /// Every scope asked for: each `scope` parameter may hold several, space-separated.
    /// One that does not parse is left out, so it matches nothing.
    pub fn scopes(&self) -> Vec<Scope> {
        self.param("scope")
            .iter()
            .flat_map(|value| {
                value
                    .split(' ')
                    .filter_map(Scope::parse)
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            if self.accepted { "granted" } else { "refused" },
            percent_decode(&self.query)
        )
    }
}

/// A resource scope, `TYPE:NAME:ACTIONS` (the name may hold `:`, as in `host:5000/repo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub kind: String,
    pub name: String,
    /// The actions in the order they were asked for.
    pub actions: Vec<String>,
}

impl Scope {
    pub fn parse(text: &str) -> Option<Scope> {
        let (kind, rest) = text.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() || actions.is_empty() {
            return None;
        }
        Some(Scope {
            kind: kind.to_owned(),
            name: name.to_owned(),
            actions: actions.split(',').map(str::to_owned).collect(),
        })
    }

    /// Whether this is `kind:name` with exactly `actions` (each once), in any order. The
    /// order carries no meaning, and distribution 2.8 does not keep one: it joins a
    /// challenge's actions in Go map order, so a push is challenged with
    /// `repository:x:pull,push` one time and `repository:x:push,pull` another (about one
    /// time in eight).
    pub fn is(&self, kind: &str, name: &str, actions: &[&str]) -> bool {
        let mut asked: Vec<&str> = self.actions.iter().map(String::as_str).collect();
        let mut wanted = actions.to_vec();
        asked.sort_unstable();
        wanted.sort_unstable();
        self.kind == kind && self.name == name && asked == wanted
    }
}

/// Decodes `%XX` escapes (and `+`) of a query string.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
