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

use base64::Engine as _;
use serde_json::json;

use super::TempDir;

pub const SERVICE: &str = "proxylet-test-registry";
pub const ISSUER: &str = "proxylet-test-issuer";

pub struct TokenServer {
    pub realm: String,
    pub cert: PathBuf,
    /// Every request: (query, whether the credentials were accepted).
    pub requests: Arc<Mutex<Vec<(String, bool)>>>,
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
                    let accepted = authorization.as_deref() == Some(expected.as_str());
                    requests.lock().unwrap().push((query.clone(), accepted));
                    let response = if accepted {
                        let token = jwt(&key, &x5c, &user, &query);
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

/// A JWT granting every `scope=repository:NAME:ACTIONS` of the query.
fn jwt(key: &std::path::Path, x5c: &str, user: &str, query: &str) -> String {
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let access: Vec<serde_json::Value> = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("scope="))
        .map(percent_decode)
        .filter_map(|scope| {
            let mut parts = scope.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(json!({ "type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>() }))
        })
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
