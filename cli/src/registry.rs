//! A client for the OCI distribution API (what Docker registries, GHCR, Harbor, ... speak),
//! enough to push, pull and list Wasm images:
//!
//! - push: `HEAD` each blob to skip what the registry has, else `POST /v2/<name>/blobs/uploads/`
//!   then `PUT <location>?digest=…` with the bytes; then `PUT /v2/<name>/manifests/<tag>`;
//! - pull: `GET` the manifest with `Accept` for OCI and Docker manifests (and indexes),
//!   then `GET` each blob, checking every digest;
//! - tags: `GET /v2/<name>/tags/list`.
//!
//! Authentication: credentials come from the Docker config file
//! (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, `auths.<registry>.auth`, the
//! base64 of `user:password`). A `401` with `WWW-Authenticate: Basic` is answered with
//! them; with `WWW-Authenticate: Bearer realm=…,service=…,scope=…` a token is fetched from
//! the realm (with the credentials if any, anonymously otherwise) and the request retried.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use crate::image::{
    digest, Blob, Image, Manifest, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
use crate::reference::Reference;
use crate::shell::{size, status};
use crate::{err, Error, Result};

/// The `Accept` header for manifests: every manifest type this tool reads.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";

/// The largest blob or manifest this tool downloads.
const MAX_BODY: u64 = 1 << 30;

/// A user name and password for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What the Docker config file says about one registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerAuth {
    /// Credentials from `auths`, if any.
    pub credentials: Option<Credentials>,
    /// The credential helper holding this registry's credentials (`credHelpers` or
    /// `credsStore`), which this tool cannot read; named in errors.
    pub helper: Option<String>,
    /// The file read.
    pub file: Option<PathBuf>,
}

/// The Docker config file: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// Reads the credentials for `registry` (as written in references, e.g. `ghcr.io`,
/// `localhost:5000`, `docker.io`) from the Docker config file.
pub fn docker_auth(registry: &str) -> Result<DockerAuth> {
    let Some(path) = docker_config_path().filter(|p| p.is_file()) else {
        return Ok(DockerAuth::default());
    };
    let text = crate::error::read(&path)?;
    docker_auth_from(&text, registry).map(|mut auth| {
        auth.file = Some(path);
        auth
    })
}

/// [`docker_auth`] on the text of a config file.
pub fn docker_auth_from(config: &[u8], registry: &str) -> Result<DockerAuth> {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Config {
        #[serde(default)]
        auths: std::collections::BTreeMap<String, Entry>,
        #[serde(default)]
        creds_store: Option<String>,
        #[serde(default)]
        cred_helpers: std::collections::BTreeMap<String, String>,
    }
    #[derive(Deserialize, Default)]
    struct Entry {
        #[serde(default)]
        auth: Option<String>,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
    }
    let config: Config = serde_json::from_slice(config)
        .map_err(|e| err!("the Docker config file is not valid JSON ({e})"))?;
    let wanted = normalize_registry(registry);
    let mut auth = DockerAuth::default();
    for (key, entry) in &config.auths {
        if normalize_registry(key) != wanted {
            continue;
        }
        if let Some(encoded) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|e| {
                    err!("the `auth` of `{key}` in the Docker config is not base64 ({e})")
                })?;
            let decoded = String::from_utf8_lossy(&decoded).into_owned();
            let (username, password) = decoded.split_once(':').ok_or_else(|| {
                err!("the `auth` of `{key}` in the Docker config is not `user:password`")
            })?;
            auth.credentials = Some(Credentials {
                username: username.to_owned(),
                password: password.to_owned(),
            });
        } else if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
            auth.credentials = Some(Credentials {
                username: username.clone(),
                password: password.clone(),
            });
        }
    }
    if auth.credentials.is_none() {
        auth.helper = config
            .cred_helpers
            .iter()
            .find(|(key, _)| normalize_registry(key) == wanted)
            .map(|(_, helper)| helper.clone())
            .or(config.creds_store);
    }
    Ok(auth)
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://localhost:5000/x` → `localhost:5000`.
fn normalize_registry(key: &str) -> String {
    let key = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = key.split('/').next().unwrap_or(key);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        other => other.to_owned(),
    }
}

/// One HTTP exchange's outcome.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A connection to one registry, for one repository's operations. See the
/// [module docs](self).
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    scheme: &'static str,
    host: String,
    registry: String,
    auth: DockerAuth,
    /// The `Authorization` header value that worked last (`Bearer …` or `Basic …`).
    authorization: RefCell<Option<String>>,
}

impl Client {
    /// A client for the registry of `reference`, with credentials from the Docker config
    /// file. It speaks HTTP instead of HTTPS when `plain_http` is set or the registry is on
    /// the loopback interface ([`Reference::is_loopback`]), HTTPS otherwise.
    pub fn new(reference: &Reference, plain_http: bool) -> Result<Client> {
        let auth = docker_auth(reference.registry_or_default())?;
        Ok(Client::with_auth(reference, plain_http, auth))
    }

    /// A client with the given credentials instead of the Docker config file's.
    pub fn with_auth(reference: &Reference, plain_http: bool, auth: DockerAuth) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_per_call(Some(Duration::from_secs(300)))
            .user_agent(concat!("cargo-proxylet/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            scheme: if plain_http || reference.is_loopback() {
                "http"
            } else {
                "https"
            },
            host: reference.api_host(),
            registry: reference.registry_or_default().to_owned(),
            auth,
            authorization: RefCell::new(None),
        }
    }

    /// `scheme://host`.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    /// The URL of a blob: what Envoy fetches with `vm_config.code.remote`.
    pub fn blob_url(&self, repository: &str, digest: &str) -> String {
        format!("{}/v2/{repository}/blobs/{digest}", self.base_url())
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response> {
        let first = self.send_once(
            method,
            url,
            headers,
            body,
            self.authorization.borrow().clone(),
        )?;
        if first.status != 401 {
            return Ok(first);
        }
        let challenge = first
            .header("www-authenticate")
            .unwrap_or_default()
            .to_owned();
        let authorization = self.answer(&challenge, url)?;
        let second = self.send_once(method, url, headers, body, Some(authorization.clone()))?;
        if second.status == 401 {
            return Err(self.refused(&second));
        }
        *self.authorization.borrow_mut() = Some(authorization);
        Ok(second)
    }

    fn send_once(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        authorization: Option<String>,
    ) -> Result<Response> {
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let request = request
            .body(body)
            .map_err(|e| err!("cannot build the request {method} {url}: {e}"))?;
        let response = self
            .agent
            .run(request)
            .map_err(|e| self.unreachable(url, e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = if method == "HEAD" {
            Vec::new()
        } else {
            response
                .into_body()
                .with_config()
                .limit(MAX_BODY)
                .read_to_vec()
                .map_err(|e| self.unreachable(url, e))?
        };
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// The `Authorization` value answering a `401` challenge.
    fn answer(&self, challenge: &str, url: &str) -> Result<String> {
        let (scheme, params) = parse_challenge(challenge);
        let basic = self.auth.credentials.as_ref().map(|c| {
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", c.username, c.password));
            format!("Basic {encoded}")
        });
        if scheme.eq_ignore_ascii_case("basic") {
            return basic.ok_or_else(|| self.needs_login());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(err!(
                "the registry {} asks for `{challenge}` authentication, which cargo-proxylet does \
                 not speak (it speaks Basic and Bearer tokens)",
                self.host
            ));
        }
        let realm = param(&params, "realm").ok_or_else(|| {
            err!(
                "the registry {} sent a Bearer challenge without a realm: {challenge}",
                self.host
            )
        })?;
        let mut token_url = realm.to_owned();
        let mut separator = if token_url.contains('?') { '&' } else { '?' };
        for key in ["service", "scope"] {
            if let Some(value) = param(&params, key) {
                let encoded = percent_encoding::utf8_percent_encode(
                    value,
                    percent_encoding::NON_ALPHANUMERIC,
                );
                token_url.push_str(&format!("{separator}{key}={encoded}"));
                separator = '&';
            }
        }
        let mut request = ureq::http::Request::builder().method("GET").uri(&token_url);
        if let Some(basic) = &basic {
            request = request.header("authorization", basic);
        }
        let request = request
            .body(())
            .map_err(|e| err!("cannot build the token request {token_url}: {e}"))?;
        let mut response = self
            .agent
            .run(request)
            .map_err(|e| self.unreachable(&token_url, e))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| self.unreachable(&token_url, e))?;
        if status == 401 || status == 403 {
            return Err(if basic.is_some() {
                err!(
                    "the registry {}'s token service refused the credentials for {} ({status}); \
                     check them with `docker login {}`{}",
                    self.host,
                    self.auth_user(),
                    self.registry,
                    self.config_hint()
                )
            } else {
                self.needs_login()
            });
        }
        if status != 200 {
            return Err(err!(
                "the registry {}'s token service ({token_url}) answered {status}: {}",
                self.host,
                String::from_utf8_lossy(&body).trim()
            ));
        }
        #[derive(Deserialize)]
        struct Token {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&body).map_err(|e| {
            err!(
                "the token service of {} answered JSON without a token ({e})",
                self.host
            )
        })?;
        let token = token.token.or(token.access_token).ok_or_else(|| {
            err!(
                "the token service of {} answered without `token` or `access_token` (for {url})",
                self.host
            )
        })?;
        Ok(format!("Bearer {token}"))
    }

    fn auth_user(&self) -> String {
        match &self.auth.credentials {
            Some(c) => format!("user `{}`", c.username),
            None => "anonymous access".into(),
        }
    }

    fn config_hint(&self) -> String {
        match &self.auth.file {
            Some(file) => format!(" (credentials read from {})", file.display()),
            None => String::new(),
        }
    }

    fn needs_login(&self) -> Error {
        let helper = match &self.auth.helper {
            Some(helper) => format!(
                "; the Docker config keeps them in the credential helper `docker-credential-{helper}`, \
                 which cargo-proxylet cannot read: add an `auths` entry with `auth` (base64 of \
                 user:password) for {}",
                self.registry
            ),
            None => String::new(),
        };
        err!(
            "the registry {} requires credentials and none were found for `{}`; log in with \
             `docker login {}` (cargo-proxylet reads `auths` in {}){helper}",
            self.host,
            self.registry,
            self.registry,
            docker_config_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "~/.docker/config.json".into()),
        )
    }

    fn refused(&self, response: &Response) -> Error {
        err!(
            "the registry {} refused {} (401 {}); check the credentials with `docker login {}`{}",
            self.host,
            self.auth_user(),
            registry_errors(&response.body),
            self.registry,
            self.config_hint()
        )
    }

    fn unreachable(&self, url: &str, error: ureq::Error) -> Error {
        let hint = if self.scheme == "https" {
            " If it serves plain HTTP (a registry without TLS), add --plain-http."
        } else {
            " Is it running? (Registries on the loopback interface, and any with \
             --plain-http, are spoken to over HTTP.)"
        };
        match error {
            ureq::Error::Timeout(_) => err!(
                "the registry {} did not answer in time ({url}).{hint}",
                self.host
            ),
            other => err!(
                "cannot reach the registry {} ({url}: {other}).{hint}",
                self.host
            ),
        }
    }

    fn unexpected(&self, what: &str, response: &Response) -> Error {
        let detail = registry_errors(&response.body);
        match response.status {
            403 => err!(
                "the registry {} denied {what} to {} (403 {detail}); does this account have the \
                 right to it?",
                self.host,
                self.auth_user()
            ),
            status => err!(
                "the registry {} answered {status} to {what}: {detail}",
                self.host
            ),
        }
    }

    /// Checks that the registry speaks the distribution API (`GET /v2/`), logging in if it
    /// asks for credentials.
    pub fn ping(&self) -> Result<()> {
        let url = format!("{}/v2/", self.base_url());
        let response = self.send("GET", &url, &[], &[])?;
        if response.status == 200 {
            Ok(())
        } else {
            Err(self.unexpected("GET /v2/", &response))
        }
    }

    /// Whether the repository has the blob (`HEAD`).
    pub fn has_blob(&self, repository: &str, digest: &str) -> Result<bool> {
        let response = self.send("HEAD", &self.blob_url(repository, digest), &[], &[])?;
        match response.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.unexpected(&format!("HEAD blob {digest}"), &response)),
        }
    }

    /// Uploads a blob in one request (`POST` then `PUT ?digest=`).
    pub fn push_blob(&self, repository: &str, blob_digest: &str, bytes: &[u8]) -> Result<()> {
        let url = format!("{}/v2/{repository}/blobs/uploads/", self.base_url());
        let started = self.send("POST", &url, &[], &[])?;
        if started.status != 202 {
            return Err(self.unexpected(&format!("starting an upload to {repository}"), &started));
        }
        let location = started.header("location").ok_or_else(|| {
            err!(
                "the registry {} started an upload without a Location",
                self.host
            )
        })?;
        let mut location = if location.starts_with('/') {
            format!("{}{location}", self.base_url())
        } else {
            location.to_owned()
        };
        location.push(if location.contains('?') { '&' } else { '?' });
        location.push_str("digest=");
        location.push_str(
            &percent_encoding::utf8_percent_encode(blob_digest, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        let done = self.send(
            "PUT",
            &location,
            &[("content-type", "application/octet-stream")],
            bytes,
        )?;
        if done.status != 201 {
            return Err(self.unexpected(&format!("uploading blob {blob_digest}"), &done));
        }
        Ok(())
    }

    /// Uploads a manifest under `reference` (a tag or digest); returns the digest the
    /// registry computed.
    pub fn push_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        manifest: &[u8],
    ) -> Result<String> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base_url());
        let response = self.send("PUT", &url, &[("content-type", media_type)], manifest)?;
        if response.status != 201 {
            return Err(self.unexpected(
                &format!("uploading the manifest {repository}:{reference}"),
                &response,
            ));
        }
        let expected = digest(manifest);
        match response.header("docker-content-digest") {
            Some(actual) if actual != expected => Err(err!(
                "the registry {} stored the manifest with digest {actual}, but its content has \
                 digest {expected}",
                self.host
            )),
            _ => Ok(expected),
        }
    }

    /// Downloads a manifest; returns its media type and bytes, checked against the digest
    /// the registry reports (and against `reference` when it is a digest).
    pub fn manifest(&self, repository: &str, reference: &str) -> Result<(String, Vec<u8>)> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base_url());
        let response = self.send("GET", &url, &[("accept", MANIFEST_ACCEPT)], &[])?;
        if response.status == 404 {
            return Err(err!(
                "the registry {} has no image {repository}:{reference} ({}); `cargo proxylet list \
                 --remote {}/{repository}` shows its tags",
                self.host,
                registry_errors(&response.body),
                self.registry
            ));
        }
        if response.status != 200 {
            return Err(
                self.unexpected(&format!("GET manifest {repository}:{reference}"), &response)
            );
        }
        let actual = digest(&response.body);
        let claimed = response.header("docker-content-digest").map(str::to_owned);
        let expected = if reference.starts_with("sha256:") {
            Some(reference.to_owned())
        } else {
            claimed
        };
        if let Some(expected) = expected.filter(|e| *e != actual) {
            return Err(err!(
                "the manifest of {repository}:{reference} has digest {actual}, expected {expected}; \
                 the registry or something between is corrupting data"
            ));
        }
        let media_type = response
            .header("content-type")
            .map(|t| t.split(';').next().unwrap_or(t).trim().to_owned())
            .filter(|t| !t.is_empty() && t != "application/json")
            .or_else(|| {
                serde_json::from_slice::<serde_json::Value>(&response.body)
                    .ok()
                    .and_then(|v| v["mediaType"].as_str().map(str::to_owned))
            })
            .unwrap_or_else(|| OCI_MANIFEST.into());
        Ok((media_type, response.body))
    }

    /// Downloads a blob, checked against its digest.
    pub fn blob(&self, repository: &str, blob_digest: &str) -> Result<Vec<u8>> {
        let response = self.send("GET", &self.blob_url(repository, blob_digest), &[], &[])?;
        if response.status != 200 {
            return Err(self.unexpected(&format!("GET blob {blob_digest}"), &response));
        }
        let actual = digest(&response.body);
        if actual != blob_digest {
            return Err(err!(
                "the blob {blob_digest} from {} has digest {actual}; the registry or something \
                 between is corrupting data",
                self.host
            ));
        }
        Ok(response.body)
    }

    /// The repository's tags.
    pub fn tags(&self, repository: &str) -> Result<Vec<String>> {
        let url = format!("{}/v2/{repository}/tags/list", self.base_url());
        let response = self.send("GET", &url, &[], &[])?;
        if response.status == 404 {
            return Ok(Vec::new());
        }
        if response.status != 200 {
            return Err(self.unexpected(&format!("listing the tags of {repository}"), &response));
        }
        #[derive(Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let tags: Tags = serde_json::from_slice(&response.body).map_err(|e| {
            err!(
                "the registry {} answered a tag list that is not JSON ({e})",
                self.host
            )
        })?;
        Ok(tags.tags.unwrap_or_default())
    }
}

/// Pushes `image` as `reference` (its tag, or its digest when it has no tag); returns the
/// manifest digest. Blobs the registry already has are not sent again. Progress goes to
/// stderr.
pub fn push(client: &Client, reference: &Reference, image: &Image) -> Result<String> {
    let repository = reference.api_repository();
    client.ping()?;
    for blob in &image.blobs {
        let d = &blob.descriptor;
        if client.has_blob(&repository, &d.digest)? {
            status(
                "Skipping",
                format!("{} ({}), already there", short(&d.digest), size(d.size)),
            );
        } else {
            status(
                "Uploading",
                format!("{} ({}, {})", short(&d.digest), size(d.size), d.media_type),
            );
            client.push_blob(&repository, &d.digest, &blob.bytes)?;
        }
    }
    let tag = match (&reference.tag, &reference.digest) {
        (None, Some(digest)) => digest.clone(),
        _ => reference.tag().to_owned(),
    };
    client.push_manifest(&repository, &tag, &image.media_type, &image.manifest)
}

/// Pulls the image `reference` names, every blob checked against its digest. An index
/// (multi-platform image) resolves to the manifest for this machine's platform when its
/// entries name platforms (native modules are platform-specific), else to its first.
pub fn pull(client: &Client, reference: &Reference) -> Result<Image> {
    let repository = reference.api_repository();
    let (mut media_type, mut manifest_bytes) =
        client.manifest(&repository, reference.api_reference())?;
    if media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST {
        #[derive(Deserialize)]
        struct Platform {
            os: String,
            architecture: String,
        }
        #[derive(Deserialize)]
        struct Entry {
            digest: String,
            #[serde(default)]
            platform: Option<Platform>,
        }
        #[derive(Deserialize)]
        struct Index {
            manifests: Vec<Entry>,
        }
        let index: Index = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| err!("the image index of {reference} is not valid ({e})"))?;
        let host = crate::native::Platform::host();
        let chosen = index
            .manifests
            .iter()
            .find(|m| {
                m.platform
                    .as_ref()
                    .is_some_and(|p| p.os == host.os && p.architecture == host.architecture)
            })
            .or_else(|| index.manifests.first())
            .ok_or_else(|| err!("the image index of {reference} lists no manifests"))?;
        (media_type, manifest_bytes) = client.manifest(&repository, &chosen.digest)?;
    }
    if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
        return Err(err!(
            "{reference} has a manifest of type {media_type}, not an image manifest ({OCI_MANIFEST} \
             or {DOCKER_MANIFEST})"
        ));
    }
    let manifest = Manifest::parse(&manifest_bytes)?;
    // Fail before downloading anything big when the image holds no module.
    manifest.classify(&media_type)?;
    let mut blobs: Vec<Blob> = Vec::new();
    for descriptor in std::iter::once(&manifest.config).chain(&manifest.layers) {
        if blobs
            .iter()
            .any(|b| b.descriptor.digest == descriptor.digest)
        {
            continue;
        }
        status(
            "Downloading",
            format!(
                "{} ({}, {})",
                short(&descriptor.digest),
                size(descriptor.size),
                descriptor.media_type
            ),
        );
        let bytes = client.blob(&repository, &descriptor.digest)?;
        blobs.push(Blob {
            descriptor: descriptor.clone(),
            bytes,
        });
    }
    Ok(Image {
        media_type,
        manifest: manifest_bytes,
        blobs,
    })
}

/// `sha256:0123456789ab` (the first 12 hex digits).
pub fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// The `code: message` pairs of a distribution error body, or the body itself.
fn registry_errors(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(errors) if !errors.errors.is_empty() => errors
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        _ => {
            let text = String::from_utf8_lossy(body).trim().to_owned();
            if text.is_empty() {
                "no details".into()
            } else {
                text.chars().take(300).collect()
            }
        }
    }
}

/// Splits `Bearer realm="x",service="y"` into the scheme and its parameters.
fn parse_challenge(challenge: &str) -> (String, Vec<(String, String)>) {
    let challenge = challenge.trim();
    let (scheme, rest) = challenge.split_once(' ').unwrap_or((challenge, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied().filter(|c| *c != ',') {
                value.push(c);
                chars.next();
            }
        }
        params.push((key.trim().to_ascii_lowercase(), value));
    }
    (scheme.to_owned(), params)
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_parsed() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            param(&params, "realm"),
            Some("https://auth.docker.io/token")
        );
        assert_eq!(param(&params, "scope"), Some("repository:a/b:pull,push"));
        let (scheme, params) = parse_challenge("Basic realm=Registry");
        assert_eq!(scheme, "Basic");
        assert_eq!(param(&params, "realm"), Some("Registry"));
    }

    #[test]
    fn docker_config_auths_are_matched_by_registry() {
        let config = br#"{
            "auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
                "localhost:5000": {"auth": "bWU6cGFzczp3b3Jk"}
            },
            "credHelpers": {"ghcr.io": "gh"}
        }"#;
        let hub = docker_auth_from(config, "docker.io")
            .unwrap()
            .credentials
            .unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("hub", "secret")
        );
        let local = docker_auth_from(config, "localhost:5000")
            .unwrap()
            .credentials
            .unwrap();
        assert_eq!(
            (local.username.as_str(), local.password.as_str()),
            ("me", "pass:word")
        );
        let ghcr = docker_auth_from(config, "ghcr.io").unwrap();
        assert_eq!(
            (ghcr.credentials, ghcr.helper.as_deref()),
            (None, Some("gh"))
        );
        assert!(docker_auth_from(b"{", "x").is_err());
    }

    #[test]
    fn registry_errors_are_summarized() {
        assert_eq!(
            registry_errors(
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
            ),
            "UNAUTHORIZED: authentication required"
        );
        assert_eq!(registry_errors(b""), "no details");
    }
}
