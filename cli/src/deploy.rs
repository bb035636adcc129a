//! `cargo proxylet deploy istio|gateway|envoy`: deployment manifests for a filter image.
//!
//! - `istio`: an Istio `WasmPlugin` (`extensions.istio.io/v1alpha1`);
//! - `gateway`: an Envoy Gateway `EnvoyExtensionPolicy` (`gateway.envoyproxy.io/v1alpha1`);
//! - `envoy`: a complete Envoy v3 bootstrap, checked with `envoy --mode validate`.
//!
//! The image's manifest digest (what Istio and Envoy Gateway verify for `oci://` URLs) and
//! its module come from the local store. The plugin configuration is checked against the
//! JSON Schema the module carries (`proxylet.config_schema`) before anything is written.
//! A filter whose configuration is text or bytes (its config type is `String` or
//! `Vec<u8>`, says the module's runtime config) gets it unchanged in an Envoy bootstrap
//! (a `StringValue`, or a `BytesValue` for bytes that are not UTF-8); Istio and Envoy
//! Gateway re-encode every configuration as JSON, so such a configuration is refused for
//! them with what to do instead.
//!
//! With `native`, the module is a native one (`build --native`) and goes in Envoy's
//! `envoy.filters.http.dynamic_modules` filter (`filter_name` = the root id, the config as a
//! `StringValue`): `envoy` writes a bootstrap with it (the library from a local file, or
//! fetched by Envoy from the registry blob of a native image, checked by sha256);
//! `gateway` writes an `EnvoyExtensionPolicy` with `spec.dynamicModule`, which names a
//! module the Envoy Gateway operator registers in the `EnvoyProxy` resource (what to
//! register is printed as a note). Istio has no API for native modules.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use proxylet_artifact::build::Target;
use proxylet_artifact::ConfigFormat;
use proxylet_harness::bootstrap::HttpFilter;
use proxylet_harness::{Bootstrap, DynamicModuleFilter, WasmCode, WasmFilter};
use serde_json::{json, Map, Value};

use crate::plugin_config::{GivenConfig, PluginConfig};
use crate::reference::Reference;
use crate::store::Store;
use crate::{err, Result};

/// The API version of Istio's `WasmPlugin`.
pub const ISTIO_API_VERSION: &str = "extensions.istio.io/v1alpha1";
/// The API version of Envoy Gateway's `EnvoyExtensionPolicy`.
pub const GATEWAY_API_VERSION: &str = "gateway.envoyproxy.io/v1alpha1";
/// The API group of Gateway API resources (targets of policies).
pub const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";

/// Where the filter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// Istio: a `WasmPlugin`.
    Istio,
    /// Envoy Gateway: an `EnvoyExtensionPolicy`.
    Gateway,
    /// Plain Envoy: a bootstrap configuration.
    Envoy,
}

/// Istio's `phase`: where in the filter chain the plugin goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// Before Istio's authentication filters.
    Authn,
    /// Before Istio's authorization filters.
    Authz,
    /// Before Istio's stats filters.
    Stats,
}

/// Istio's `failStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailStrategy {
    /// Requests fail when the plugin cannot run (Istio's default).
    FailClose,
    /// Requests pass without the plugin when it cannot run.
    FailOpen,
    /// The VM is reloaded after a failure.
    FailReload,
}

/// The image pull policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PullPolicy {
    /// Pull only when the image is not cached.
    IfNotPresent,
    /// Pull every time the resource changes.
    Always,
}

/// How Envoy gets the module (`deploy envoy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Code {
    /// A file on Envoy's machine (`vm_config.code.local`).
    #[default]
    Local,
    /// Fetched by Envoy from the registry's blob URL, checked by sha256
    /// (`vm_config.code.remote`).
    Remote,
}

/// A Kubernetes object reference: `Kind/name` or `group/Kind/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRef {
    /// The API group (`gateway.networking.k8s.io` for Gateway API kinds, `""` for core).
    pub group: String,
    /// The kind, e.g. `Gateway`.
    pub kind: String,
    /// The object's name.
    pub name: String,
}

impl std::str::FromStr for TargetRef {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let (group, kind, name) = match parts.as_slice() {
            [kind, name] => {
                let group = match *kind {
                    "Service" | "ServiceEntry" => "",
                    _ => GATEWAY_API_GROUP,
                };
                (group.to_owned(), *kind, *name)
            }
            [group, kind, name] => ((*group).to_owned(), *kind, *name),
            _ => {
                return Err(format!(
                    "`{text}` is not Kind/name or group/Kind/name (e.g. Gateway/eg)"
                ))
            }
        };
        if kind.is_empty() || name.is_empty() {
            return Err(format!(
                "`{text}` has an empty kind or name (e.g. Gateway/eg)"
            ));
        }
        Ok(TargetRef {
            group,
            kind: kind.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// Everything `deploy` needs.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// The platform.
    pub platform: Platform,
    /// The image (from the local store).
    pub image: Option<Reference>,
    /// A module file instead of an image (`envoy` only).
    pub wasm: Option<PathBuf>,
    /// The plugin configuration as given; read the way the filter reads it.
    pub config: Option<GivenConfig>,
    /// The root id; default: the module's only one.
    pub root_id: Option<String>,
    /// `metadata.name` (Kubernetes) or the filter's name (Envoy); default: from the root id.
    pub name: Option<String>,
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    /// Istio phase.
    pub phase: Option<Phase>,
    /// Istio priority.
    pub priority: Option<i32>,
    /// Istio fail strategy.
    pub fail_strategy: Option<FailStrategy>,
    /// Envoy Gateway: let traffic pass when the filter fails.
    pub fail_open: bool,
    /// Istio workload selector labels.
    pub selector: Vec<(String, String)>,
    /// Targets (Istio `targetRefs`, Envoy Gateway `targetRefs`).
    pub target_refs: Vec<TargetRef>,
    /// Pull policy.
    pub pull_policy: Option<PullPolicy>,
    /// Image pull secret name.
    pub pull_secret: Option<String>,
    /// Envoy: how the module is loaded.
    pub code: Code,
    /// Envoy: the module's path on Envoy's machine (local code).
    pub module_path: Option<PathBuf>,
    /// Envoy: the registry speaks plain HTTP (remote code).
    pub plain_http: bool,
    /// Envoy: the upstream URL.
    pub upstream: String,
    /// Envoy: listener address.
    pub address: String,
    /// Envoy: listener port.
    pub port: u16,
    /// Envoy: admin port.
    pub admin_port: u16,
    /// Envoy: skip `envoy --mode validate`.
    pub no_validate: bool,
    /// Envoy: the Envoy binary for validation.
    pub envoy: Option<PathBuf>,
    /// The module is a native one (an Envoy dynamic module), not wasm.
    pub native: bool,
    /// Envoy Gateway, native: the name of the module in the `EnvoyProxy` resource's
    /// `dynamicModules` (default: from the library's name, `libadd_header.so` ->
    /// `add-header`).
    pub module_name: Option<String>,
}

/// The generated manifest, and what it was made from.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The manifest or bootstrap.
    pub document: Value,
    /// Whether the config was checked against a schema from the module.
    pub schema_checked: bool,
    /// How the filter reads its configuration: a text or bytes one is passed through
    /// unchanged (and has no schema).
    pub config_format: ConfigFormat,
    /// What else to do for it to work, for people (the `EnvoyProxy` registration of a
    /// native module for Envoy Gateway).
    pub notes: Vec<String>,
}

/// A module and what is known about it.
struct Source {
    bytes: Vec<u8>,
    file: PathBuf,
    image: Option<(Reference, String)>,
    variant: Option<crate::image::Variant>,
    /// The library's file name (`lib<crate>.so`), for a native module.
    library: Option<String>,
}

fn source(options: &DeployOptions, store: &Store) -> Result<Source> {
    let target = if options.native {
        Target::Native
    } else {
        Target::Wasm
    };
    let source = source_of(options, store)?;
    let what = match &source.image {
        Some((reference, _)) => format!("the image `{reference}`"),
        None => source.file.display().to_string(),
    };
    crate::module::expect_target(&source.bytes, target, &what)?;
    Ok(source)
}

fn source_of(options: &DeployOptions, store: &Store) -> Result<Source> {
    match (&options.image, &options.wasm) {
        (Some(_), Some(_)) => Err(err!("give --image or --wasm, not both")),
        (Some(reference), None) => {
            let (entry, image) = store.get(reference)?;
            let (variant, bytes) = image.module()?;
            let file = store.module_file(&bytes)?;
            let library = image.native_config()?.map(|c| c.library);
            Ok(Source {
                bytes,
                file,
                image: Some((reference.clone(), entry.manifest.digest)),
                variant: Some(variant),
                library,
            })
        }
        (None, Some(path)) => {
            if options.platform == Platform::Istio
                || (options.platform == Platform::Gateway && !options.native)
            {
                return Err(err!(
                    "{:?} deploys an OCI image: pass --image REGISTRY/NAME:TAG (pushed with `cargo \
                     proxylet push`); --wasm is for `deploy envoy`",
                    options.platform
                ));
            }
            let bytes = crate::error::read(path)?;
            let file = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            let library = file.file_name().map(|n| n.to_string_lossy().into_owned());
            Ok(Source {
                bytes,
                file,
                image: None,
                variant: None,
                library,
            })
        }
        (None, None) => {
            Err(err!(
            "which filter? pass --image REF (an image in the local store: `cargo proxylet list`){}",
            if options.platform == Platform::Envoy { " or --wasm FILE" } else { "" }
        ))
        }
    }
}

/// A Kubernetes name from a root id: lowercase letters, digits and `-`.
pub fn k8s_name(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_owned();
    name.truncate(63);
    if name.is_empty() {
        "proxylet-filter".into()
    } else {
        name
    }
}

/// The root id to use: `requested` if the module has it (or says nothing), else the
/// module's only one. A module that does not name its root ids gets `""` (Envoy's
/// default root context) when `default_allowed`, an error otherwise.
pub fn choose_root_id(
    requested: Option<&str>,
    wasm: &[u8],
    default_allowed: bool,
) -> Result<String> {
    let known = crate::module::root_ids(wasm).unwrap_or_default();
    match (requested, known.as_slice()) {
        (Some(id), ids) if ids.is_empty() || ids.iter().any(|known| known == id) => Ok(id.to_owned()),
        (Some(id), ids) => Err(err!("the module has no root id `{id}`; its root ids: {}", ids.join(", "))),
        (None, [only]) => Ok(only.clone()),
        (None, []) if default_allowed => Ok(String::new()),
        (None, []) => Err(err!(
            "the module does not say its root ids (no proxylet.runtime_config section); pass --root-id"
        )),
        (None, ids) => Err(err!("the module has several root ids ({}); choose one with --root-id", ids.join(", "))),
    }
}

/// Builds the manifest or bootstrap; nothing is written. The config is checked against the
/// module's schema first.
pub fn generate(options: &DeployOptions, store: &Store) -> Result<Deployment> {
    if options.native && options.platform == Platform::Istio {
        return Err(err!(
            "Istio loads wasm plugins only (it has no API for Envoy dynamic modules); deploy a \
             native module with `deploy envoy --native` or `deploy gateway --native`"
        ));
    }
    let source = source(options, store)?;
    let root_id = choose_root_id(options.root_id.as_deref(), &source.bytes, false)?;
    let config_format = crate::module::config_format(&source.bytes, &root_id);
    let config = options
        .config
        .clone()
        .map(|given| given.read_for(&source.bytes, &root_id))
        .transpose()?;
    let schema_checked = match (&config, config_format) {
        (_, ConfigFormat::Text | ConfigFormat::Bytes) => false,
        (Some(config), ConfigFormat::Json) => match config.json() {
            Some(value) => crate::schema::check_config(&source.bytes, &root_id, value)?,
            None => false,
        },
        (None, ConfigFormat::Json) => {
            crate::schema::check_config(&source.bytes, &root_id, &json!({})).map_err(|e| {
                e.context("with no --config the filter gets an empty config ({}), but")
            })?
        }
    };
    if config.is_some() && config_format != ConfigFormat::Json {
        refuse_unparsed_config(options, &root_id, config_format)?;
    }
    let name = options.name.clone().unwrap_or_else(|| k8s_name(&root_id));
    let mut notes = Vec::new();
    let document = match (options.platform, options.native) {
        (Platform::Istio, _) => istio(options, &source, &root_id, &name, json_of(&config))?,
        (Platform::Gateway, false) => gateway(options, &source, &root_id, &name, json_of(&config))?,
        (Platform::Gateway, true) => gateway_native(
            options,
            &source,
            &root_id,
            &name,
            json_of(&config),
            &mut notes,
        )?,
        (Platform::Envoy, _) => envoy(options, &source, &root_id, &name, envoy_bytes(&config))?,
    };
    Ok(Deployment {
        document,
        schema_checked,
        config_format,
        notes,
    })
}

/// The JSON value of a JSON configuration (Kubernetes manifests carry only those).
fn json_of(config: &Option<PluginConfig>) -> Option<Value> {
    config.as_ref().and_then(PluginConfig::json).cloned()
}

/// The bytes a bootstrap hands the filter: JSON as compact text, text and bytes as given.
fn envoy_bytes(config: &Option<PluginConfig>) -> Option<Vec<u8>> {
    config.as_ref().map(|config| match config.json() {
        Some(value) => value.to_string().into_bytes(),
        None => config.bytes().to_vec(),
    })
}

/// Istio and Envoy Gateway hand a filter its configuration as JSON text they write
/// themselves, so a text or bytes configuration cannot reach it unchanged through them.
fn refuse_unparsed_config(
    options: &DeployOptions,
    root_id: &str,
    format: ConfigFormat,
) -> Result<()> {
    let how = match options.platform {
        Platform::Envoy => return Ok(()),
        // istio/pilot: the WasmPlugin's pluginConfig (a protobuf Struct) is sent as
        // `StringValue{protomarshal.ToJSON(pluginConfig)}`.
        Platform::Istio => {
            "Istio's WasmPlugin takes pluginConfig as a JSON object and hands the filter that \
             object re-encoded as JSON text"
        }
        // envoyproxy/gateway internal/xds/translator (wasm.go, dynamicmodule.go):
        // `StringValue{string(config.Raw)}`, the JSON of `config`.
        Platform::Gateway => {
            "Envoy Gateway hands the filter its `config` re-encoded as JSON text (a string \
             arrives quoted)"
        }
    };
    let ty = match format {
        ConfigFormat::Bytes => "`Vec<u8>`",
        _ => "`String`",
    };
    Err(err!(
        "filter `{root_id}` takes its configuration as {format} (its config type is {ty}), and \
         {how}, so the filter would not get the configuration as given; deploy it with `cargo \
         proxylet deploy envoy` (which passes it on unchanged), deploy it without --config (the \
         filter gets an empty configuration), or give the filter a JSON config type"
    ))
}

fn image_of<'a>(source: &'a Source, platform: &str) -> Result<(&'a Reference, &'a str)> {
    let (reference, digest) = source
        .image
        .as_ref()
        .ok_or_else(|| err!("{platform} needs an image: pass --image"))?;
    if reference.registry.is_none() {
        return Err(err!(
            "`{reference}` names no registry, so {platform} could not pull it; build or pull it \
             under a registry name (e.g. `cargo proxylet build -t ghcr.io/me/{}:v1`) and push it",
            reference.repository
        ));
    }
    Ok((reference, crate::image::digest_hex(digest)?))
}

fn metadata(name: &str, namespace: &Option<String>) -> Value {
    let mut metadata = json!({ "name": name });
    if let Some(namespace) = namespace {
        metadata["namespace"] = json!(namespace);
    }
    metadata
}

fn istio(
    options: &DeployOptions,
    source: &Source,
    root_id: &str,
    name: &str,
    config: Option<Value>,
) -> Result<Value> {
    let (reference, sha256) = image_of(source, "Istio")?;
    if !options.selector.is_empty() && !options.target_refs.is_empty() {
        return Err(err!(
            "Istio accepts a selector or targetRefs, not both: drop --selector or --target-ref"
        ));
    }
    let mut spec = Map::new();
    spec.insert(
        "url".into(),
        json!(format!("oci://{}", reference.normalized())),
    );
    spec.insert("sha256".into(), json!(sha256));
    if let Some(policy) = options.pull_policy {
        spec.insert(
            "imagePullPolicy".into(),
            json!(match policy {
                PullPolicy::IfNotPresent => "IfNotPresent",
                PullPolicy::Always => "Always",
            }),
        );
    }
    if let Some(secret) = &options.pull_secret {
        spec.insert("imagePullSecret".into(), json!(secret));
    }
    spec.insert("pluginName".into(), json!(root_id));
    if let Some(config) = config {
        if !config.is_object() {
            return Err(err!(
                "Istio's pluginConfig is an object; the config given is {config}"
            ));
        }
        spec.insert("pluginConfig".into(), config);
    }
    if let Some(phase) = options.phase {
        spec.insert(
            "phase".into(),
            json!(match phase {
                Phase::Authn => "AUTHN",
                Phase::Authz => "AUTHZ",
                Phase::Stats => "STATS",
            }),
        );
    }
    if let Some(priority) = options.priority {
        spec.insert("priority".into(), json!(priority));
    }
    if let Some(strategy) = options.fail_strategy {
        spec.insert(
            "failStrategy".into(),
            json!(match strategy {
                FailStrategy::FailClose => "FAIL_CLOSE",
                FailStrategy::FailOpen => "FAIL_OPEN",
                FailStrategy::FailReload => "FAIL_RELOAD",
            }),
        );
    }
    spec.insert("type".into(), json!("HTTP"));
    if !options.selector.is_empty() {
        let labels: Map<String, Value> = options
            .selector
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        spec.insert("selector".into(), json!({ "matchLabels": labels }));
    }
    if !options.target_refs.is_empty() {
        let refs: Vec<Value> = options
            .target_refs
            .iter()
            .map(|r| json!({ "group": r.group, "kind": r.kind, "name": r.name }))
            .collect();
        spec.insert("targetRefs".into(), json!(refs));
    }
    Ok(json!({
        "apiVersion": ISTIO_API_VERSION,
        "kind": "WasmPlugin",
        "metadata": metadata(name, &options.namespace),
        "spec": spec,
    }))
}

fn gateway(
    options: &DeployOptions,
    source: &Source,
    root_id: &str,
    name: &str,
    config: Option<Value>,
) -> Result<Value> {
    let (reference, sha256) = image_of(source, "Envoy Gateway")?;
    if options.target_refs.is_empty() {
        return Err(err!(
            "an EnvoyExtensionPolicy needs a target: pass --target-ref Gateway/NAME (or HTTPRoute/NAME, ...)"
        ));
    }
    if !options.selector.is_empty() {
        return Err(err!(
            "Envoy Gateway selects by --target-ref, not --selector"
        ));
    }
    if let Some(bad) = options
        .target_refs
        .iter()
        .find(|r| r.group != GATEWAY_API_GROUP)
    {
        return Err(err!(
            "Envoy Gateway targets Gateway API objects (group {GATEWAY_API_GROUP}); `{}/{}` is in group {:?}",
            bad.kind, bad.name, bad.group
        ));
    }
    let mut image = json!({ "url": reference.normalized().to_string(), "sha256": sha256 });
    if let Some(secret) = &options.pull_secret {
        image["pullSecretRef"] = json!({ "name": secret });
    }
    let mut code = json!({ "type": "Image", "image": image });
    if let Some(policy) = options.pull_policy {
        code["pullPolicy"] = json!(match policy {
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Always => "Always",
        });
    }
    let mut wasm = json!({ "name": name, "rootID": root_id, "code": code });
    if let Some(config) = config {
        wasm["config"] = config;
    }
    if options.fail_open {
        wasm["failOpen"] = json!(true);
    }
    let refs: Vec<Value> = options
        .target_refs
        .iter()
        .map(|r| json!({ "group": r.group, "kind": r.kind, "name": r.name }))
        .collect();
    Ok(json!({
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "EnvoyExtensionPolicy",
        "metadata": metadata(name, &options.namespace),
        "spec": { "targetRefs": refs, "wasm": [wasm] },
    }))
}

/// The name of a native module in Envoy Gateway's registry: `--module-name`, else from the
/// library's file name (`libadd_header.so` -> `add-header`), else from the root id.
fn module_name(options: &DeployOptions, source: &Source, root_id: &str) -> String {
    if let Some(name) = &options.module_name {
        return name.clone();
    }
    let stem = source
        .library
        .as_deref()
        .and_then(|l| l.strip_suffix(".so"))
        .map(|l| l.strip_prefix("lib").unwrap_or(l))
        // A store file is named by its digest, which says nothing.
        .filter(|stem| !(stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit())));
    k8s_name(stem.unwrap_or(root_id))
}

fn gateway_native(
    options: &DeployOptions,
    source: &Source,
    root_id: &str,
    name: &str,
    config: Option<Value>,
    notes: &mut Vec<String>,
) -> Result<Value> {
    if options.target_refs.is_empty() {
        return Err(err!(
            "an EnvoyExtensionPolicy needs a target: pass --target-ref Gateway/NAME (or HTTPRoute/NAME, ...)"
        ));
    }
    if !options.selector.is_empty() {
        return Err(err!(
            "Envoy Gateway selects by --target-ref, not --selector"
        ));
    }
    if options.fail_open || options.pull_policy.is_some() || options.pull_secret.is_some() {
        return Err(err!(
            "--fail-open, --pull-policy and --pull-secret are for wasm extensions; a dynamic \
             module's source is registered in the EnvoyProxy resource"
        ));
    }
    if let Some(bad) = options
        .target_refs
        .iter()
        .find(|r| r.group != GATEWAY_API_GROUP)
    {
        return Err(err!(
            "Envoy Gateway targets Gateway API objects (group {GATEWAY_API_GROUP}); `{}/{}` is in group {:?}",
            bad.kind, bad.name, bad.group
        ));
    }
    let module_name = module_name(options, source, root_id);
    let mut module = json!({ "name": module_name, "filterName": root_id });
    if let Some(config) = config {
        module["config"] = config;
    }
    let refs: Vec<Value> = options
        .target_refs
        .iter()
        .map(|r| json!({ "group": r.group, "kind": r.kind, "name": r.name }))
        .collect();
    // Where Envoy gets the library is the operator's: the EnvoyProxy resource's registry.
    let source_yaml = match &source.image {
        Some((reference, _)) if reference.registry.is_some() => {
            let client = crate::registry::Client::with_auth(
                reference,
                options.plain_http,
                Default::default(),
            );
            let url = client.blob_url(
                &reference.api_repository(),
                &crate::image::digest(&source.bytes),
            );
            format!(
                "        type: Remote\n        remote:\n          url: {url}\n          sha256: {}",
                crate::image::sha256_hex(&source.bytes)
            )
        }
        _ => {
            let path = options.module_path.clone().unwrap_or_else(|| {
                PathBuf::from("/path/on/the/proxy")
                    .join(source.library.as_deref().unwrap_or("libfilter.so"))
            });
            format!(
                "        type: Local\n        local:\n          path: {}",
                path.display()
            )
        }
    };
    notes.push(format!(
        "Envoy Gateway loads only the dynamic modules its operator registers in the EnvoyProxy \
         resource; this policy names `{module_name}`. Register it there (a sketch; no EnvoyProxy \
         schema is checked here):\n  spec:\n    dynamicModules:\n    - name: {module_name}\n      \
         source:\n{source_yaml}"
    ));
    Ok(json!({
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "EnvoyExtensionPolicy",
        "metadata": metadata(name, &options.namespace),
        "spec": { "targetRefs": refs, "dynamicModule": [module] },
    }))
}

/// An `http(s)://host[:port]` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https`?
    pub tls: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Endpoint {
    /// Parses `http://host[:port][/path]` or `https://…`.
    pub fn parse(url: &str) -> Result<Endpoint> {
        let bad = || {
            err!("`{url}` is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:8080)")
        };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(bad());
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match port {
            Some(port) => port.parse().map_err(|_| bad())?,
            None if tls => 443,
            None => 80,
        };
        Ok(Endpoint {
            tls,
            host: host.to_owned(),
            port,
        })
    }

    /// `host:port` as a `Host` header (brackets for IPv6, default ports omitted).
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if (self.tls && self.port == 443) || (!self.tls && self.port == 80) {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// An Envoy cluster named `name` for this endpoint: `STATIC` for an IP address,
    /// `LOGICAL_DNS` for a name, with TLS (and SNI) for `https`.
    pub fn cluster(&self, name: &str) -> Value {
        let is_ip = self.host.parse::<std::net::IpAddr>().is_ok();
        let mut cluster = json!({
            "name": name,
            "type": if is_ip { "STATIC" } else { "LOGICAL_DNS" },
            "connect_timeout": "5s",
            "load_assignment": {
                "cluster_name": name,
                "endpoints": [{ "lb_endpoints": [{ "endpoint": {
                    "address": proxylet_harness::bootstrap::socket_address(&self.host, u32::from(self.port)),
                } }] }],
            },
        });
        if !is_ip {
            cluster["dns_lookup_family"] = json!("V4_PREFERRED");
        }
        if self.tls {
            cluster["transport_socket"] = json!({
                "name": "envoy.transport_sockets.tls",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                    "sni": self.host,
                },
            });
        }
        cluster
    }
}

/// The route configuration sending everything to `cluster`, with the `Host` header set to
/// the upstream's (so virtual hosts upstream see their own name).
pub fn route_to(cluster: &str, host_rewrite: Option<&str>) -> Value {
    let mut route = json!({ "cluster": cluster });
    if let Some(host) = host_rewrite {
        route["host_rewrite_literal"] = json!(host);
    }
    json!({
        "name": "local_route",
        "virtual_hosts": [{
            "name": "all",
            "domains": ["*"],
            "routes": [{ "match": { "prefix": "/" }, "route": route }],
        }],
    })
}

/// The name of the cluster Envoy fetches a remote module through.
pub const REGISTRY_CLUSTER: &str = "proxylet_registry";

fn envoy(
    options: &DeployOptions,
    source: &Source,
    root_id: &str,
    name: &str,
    config: Option<Vec<u8>>,
) -> Result<Value> {
    let (code, registry) = match options.code {
        Code::Local => (
            WasmCode::Local(
                options
                    .module_path
                    .clone()
                    .unwrap_or_else(|| source.file.clone()),
            ),
            None,
        ),
        Code::Remote => {
            let (reference, _) = source.image.as_ref().ok_or_else(|| {
                err!("--code remote fetches the module from a registry: pass --image")
            })?;
            if reference.registry.is_none() {
                return Err(err!(
                    "--code remote needs an image with a registry (`{reference}` names none)"
                ));
            }
            if !matches!(
                source.variant,
                Some(crate::image::Variant::Oci | crate::image::Variant::Native)
            ) {
                return Err(err!(
                    "--code remote needs the \"oci\" image variant (its module layer is the raw .wasm \
                     Envoy can fetch); `{reference}` is \"compat\""
                ));
            }
            let client = crate::registry::Client::with_auth(
                reference,
                options.plain_http,
                Default::default(),
            );
            let module_digest = crate::image::digest(&source.bytes);
            let registry = Endpoint::parse(&client.base_url())?;
            let code = WasmCode::Remote {
                uri: client.blob_url(&reference.api_repository(), &module_digest),
                sha256: crate::image::sha256_hex(&source.bytes),
                cluster: REGISTRY_CLUSTER.into(),
                timeout: Duration::from_secs(30),
            };
            (code, Some(registry))
        }
    };
    let filter: HttpFilter = if options.native {
        native_filter(name, root_id, code, config)
    } else {
        let mut filter = WasmFilter::new(name, code).root_id(root_id).vm_id(name);
        if let Some(config) = config {
            filter = filter.config_bytes(config);
        }
        filter.into()
    };
    let upstream = Endpoint::parse(&options.upstream)?;
    let mut bootstrap = Bootstrap::http()
        .filter(filter)
        .raw_cluster(upstream.cluster("upstream"))
        .route_config(route_to("upstream", Some(&upstream.authority())))
        .listener_address(options.address.clone(), u32::from(options.port));
    if let Some(registry) = registry {
        bootstrap = bootstrap.raw_cluster(registry.cluster(REGISTRY_CLUSTER));
    }
    let mut document = bootstrap.to_json();
    document["admin"] = json!({
        "address": proxylet_harness::bootstrap::socket_address("127.0.0.1", u32::from(options.admin_port)),
    });
    if !options.no_validate {
        validate_bootstrap(options, &document, source)?;
    }
    Ok(document)
}

/// The `envoy.filters.http.dynamic_modules` filter for a native module: `filter_name` is the
/// root id, the config a `StringValue` (a `BytesValue` when not UTF-8), the library a local
/// file or a remote one.
fn native_filter(name: &str, root_id: &str, code: WasmCode, config: Option<Vec<u8>>) -> HttpFilter {
    let local = match &code {
        WasmCode::Local(path) => path.clone(),
        WasmCode::Remote { .. } => PathBuf::new(),
    };
    let mut filter = DynamicModuleFilter::local(name, local, root_id);
    if let Some(config) = config {
        filter = filter.config_bytes(config);
    }
    let mut json = HttpFilter::from(filter).to_json();
    if let WasmCode::Remote { .. } = code {
        // `module` is an `AsyncDataSource`, as a wasm VM's `code`: the same remote source.
        let remote = WasmFilter::new(name, code).plugin_config()["vm_config"]["code"].take();
        json["typed_config"]["dynamic_module_config"]["module"] = remote;
    }
    HttpFilter::from(json)
}

/// Runs `envoy --mode validate` on the bootstrap; a local module path that does not exist
/// on this machine is replaced by the module's local copy for the check.
fn validate_bootstrap(options: &DeployOptions, document: &Value, source: &Source) -> Result<()> {
    let envoy = crate::run::find_envoy(options.envoy.as_deref())?;
    if options.native {
        let module = crate::native::NativeModule::read(&source.bytes)?;
        let host = crate::native::Platform::host();
        if module.platform != host {
            eprintln!(
                "note: not validated with Envoy: the module is built for {}, and the Envoy here \
                 runs on {host} (it would load the module to validate)",
                module.platform
            );
            return Ok(());
        }
    }
    let mut checked = document.clone();
    let filter =
        "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters/0";
    let local = checked.pointer_mut(&if options.native {
        format!("{filter}/typed_config/dynamic_module_config/module/local/filename")
    } else {
        format!("{filter}/typed_config/config/vm_config/code/local/filename")
    });
    if let Some(filename) = local {
        if filename
            .as_str()
            .is_some_and(|path| !Path::new(path).is_file())
        {
            *filename = json!(source.file.display().to_string());
        }
    }
    crate::shell::status(
        "Validating",
        format!("the bootstrap with {} --mode validate", envoy.display()),
    );
    proxylet_harness::validate(&envoy, &Bootstrap::from_json(checked))
        .map_err(|log| err!("Envoy refuses the generated bootstrap (nothing was written):\n{log}"))
}

/// The document as YAML or JSON text.
pub fn render(document: &Value, json: bool) -> Result<String> {
    if json {
        serde_json::to_string_pretty(document)
            .map(|t| t + "\n")
            .map_err(|e| err!("cannot encode JSON: {e}"))
    } else {
        serde_norway::to_string(document).map_err(|e| err!("cannot encode YAML: {e}"))
    }
}

/// `kubectl apply -f -` with the manifest on stdin (`$KUBECTL` names another binary).
pub fn apply(manifest: &str, written_to: Option<&Path>) -> Result<()> {
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let saved = match written_to {
        Some(path) => format!("the manifest is in {}", path.display()),
        None => "rerun with -o FILE to keep the manifest".into(),
    };
    crate::shell::status("Applying", format!("with {kubectl} apply -f -"));
    let mut child = Command::new(&kubectl)
        .args(["apply", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                err!("--apply needs kubectl, which is not on PATH; install it or apply the manifest yourself ({saved})")
            } else {
                err!("cannot run {kubectl}: {e} ({saved})")
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(manifest.as_bytes())
            .map_err(|e| err!("cannot send the manifest to kubectl: {e}"))?;
    }
    let status = child
        .wait()
        .map_err(|e| err!("cannot wait for kubectl: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(err!(
            "`{kubectl} apply` failed ({status}); its messages are above (is the cluster reachable, \
             and does it have the CRD installed?); {saved}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_refs_default_to_the_gateway_api_group() {
        let r: TargetRef = "Gateway/eg".parse().unwrap();
        assert_eq!(
            (r.group.as_str(), r.kind.as_str(), r.name.as_str()),
            (GATEWAY_API_GROUP, "Gateway", "eg")
        );
        let r: TargetRef = "Service/reviews".parse().unwrap();
        assert_eq!(r.group, "");
        let r: TargetRef = "example.com/Thing/x".parse().unwrap();
        assert_eq!(r.group, "example.com");
        assert!("eg".parse::<TargetRef>().is_err());
        assert!("Gateway/".parse::<TargetRef>().is_err());
    }

    #[test]
    fn endpoints_and_names() {
        let e = Endpoint::parse("https://httpbin.org/get").unwrap();
        assert_eq!((e.tls, e.host.as_str(), e.port), (true, "httpbin.org", 443));
        assert_eq!(e.authority(), "httpbin.org");
        assert_eq!(e.cluster("u")["type"], "LOGICAL_DNS");
        assert!(e.cluster("u")["transport_socket"].is_object());
        let e = Endpoint::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!(e.cluster("u")["type"], "STATIC");
        assert_eq!(e.authority(), "127.0.0.1:5000");
        let e = Endpoint::parse("http://[::1]:8080/").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 8080));
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("http://:80").is_err());
        assert_eq!(k8s_name("add_header"), "add-header");
        assert_eq!(k8s_name("__"), "proxylet-filter");
    }
}
