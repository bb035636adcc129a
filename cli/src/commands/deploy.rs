//! `cargo proxylet deploy istio|gateway|envoy`: a manifest or bootstrap for the filter
//! ([`crate::deploy`]), written to stdout or a file, optionally applied with kubectl.

use std::path::{Path, PathBuf};

use clap::Args;
use proxylet_artifact::ConfigFormat;

use crate::commands::args::ConfigArgs;
use crate::deploy::{Code, DeployOptions, FailStrategy, Phase, Platform, PullPolicy, TargetRef};
use crate::reference::Reference;
use crate::shell::status;
use crate::store::Store;
use crate::{err, Result};

/// `deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Where the filter goes: istio (WasmPlugin), gateway (EnvoyExtensionPolicy) or envoy
    /// (a bootstrap).
    #[arg(value_enum)]
    pub platform: Platform,
    /// The image (in the local store; push it first so the cluster can pull it).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// A module file instead of an image (envoy; with --native also gateway): a .wasm, or a
    /// `lib<crate>.so` with --native.
    #[arg(long, value_name = "FILE", visible_alias = "file")]
    pub wasm: Option<PathBuf>,
    /// The plugin configuration, checked against the module's config schema first.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The root id (pluginName / rootID); default: the module's only one.
    #[arg(long, value_name = "ID")]
    pub root_id: Option<String>,
    /// metadata.name (or the Envoy filter's name); default: from the root id.
    #[arg(long)]
    pub name: Option<String>,
    /// metadata.namespace.
    #[arg(long, short)]
    pub namespace: Option<String>,
    /// Istio: where in the filter chain (default: Istio's, after its own filters).
    #[arg(long, value_enum)]
    pub phase: Option<Phase>,
    /// Istio: order among plugins of the same phase (higher runs first).
    #[arg(long, allow_negative_numbers = true)]
    pub priority: Option<i32>,
    /// Istio: what happens when the plugin fails.
    #[arg(long, value_enum)]
    pub fail_strategy: Option<FailStrategy>,
    /// Envoy Gateway: let traffic through when the filter fails (failOpen).
    #[arg(long)]
    pub fail_open: bool,
    /// Istio: select workloads by label KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_label)]
    pub selector: Vec<(String, String)>,
    /// A target, Kind/name or group/Kind/name, e.g. Gateway/eg (repeatable; required for
    /// gateway).
    #[arg(long, value_name = "REF")]
    pub target_ref: Vec<TargetRef>,
    /// The image pull policy.
    #[arg(long, value_enum)]
    pub pull_policy: Option<PullPolicy>,
    /// The name of the Secret holding the registry credentials.
    #[arg(long, value_name = "NAME")]
    pub pull_secret: Option<String>,
    /// Envoy: load the module from a local file, or fetch it from the registry (remote, by
    /// the blob URL, checked by sha256).
    #[arg(long, value_enum, default_value_t = Code::Local)]
    pub code: Code,
    /// Envoy: the module's path on Envoy's machine (local code; default: the module's path
    /// here).
    #[arg(long, value_name = "PATH")]
    pub module_path: Option<PathBuf>,
    /// Envoy: the registry speaks plain HTTP (remote code; loopback registries always do).
    #[arg(long)]
    pub plain_http: bool,
    /// Envoy: the upstream every request goes to.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub upstream: String,
    /// Envoy: the listener's address.
    #[arg(long, default_value = "0.0.0.0")]
    pub address: String,
    /// Envoy: the listener's port (0: any free port).
    #[arg(long, default_value_t = 10000)]
    pub port: u16,
    /// Envoy: the admin API's port, on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 9901)]
    pub admin_port: u16,
    /// Envoy: do not check the bootstrap with `envoy --mode validate`.
    #[arg(long)]
    pub no_validate: bool,
    /// Envoy: the Envoy executable for validation (see `run --help`).
    #[arg(long, value_name = "FILE")]
    pub envoy: Option<PathBuf>,
    /// Output format (default: json for an -o file ending in .json, else yaml).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Run `kubectl apply -f -` with the manifest (istio, gateway).
    #[arg(long)]
    pub apply: bool,
    /// Deploy a native module (build --native) as an Envoy dynamic module: envoy writes the
    /// envoy.filters.http.dynamic_modules filter (filter_name = the root id, the config as a
    /// StringValue; the .so from a local file, or with --code remote fetched by Envoy from
    /// the image's registry blob, checked by sha256); gateway writes an EnvoyExtensionPolicy
    /// with spec.dynamicModule, naming a module the operator registers in the EnvoyProxy
    /// resource (printed as a note). Istio has no API for native modules.
    #[arg(long, conflicts_with_all = ["phase", "priority", "fail_strategy"])]
    pub native: bool,
    /// Envoy Gateway with --native: the module's name in the EnvoyProxy resource's
    /// dynamicModules (default: from the library, libadd_header.so -> add-header).
    #[arg(long, value_name = "NAME", requires = "native")]
    pub module_name: Option<String>,
}

/// Output format of `deploy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

fn parse_label(text: &str) -> std::result::Result<(String, String), String> {
    text.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE (e.g. app=reviews)"))
}

/// Generates the document (checking the config against the module's schema), writes it,
/// and applies it when asked.
pub fn exec(args: DeployArgs) -> Result<()> {
    let config = args.config.load()?;
    let image = args
        .image
        .as_deref()
        .map(str::parse::<Reference>)
        .transpose()?;
    if args.apply && args.platform == Platform::Envoy {
        return Err(err!("--apply is for Kubernetes manifests (istio, gateway); run Envoy with the bootstrap instead"));
    }
    let json = match args.format {
        Some(format) => format == Format::Json,
        None => args
            .output
            .as_deref()
            .and_then(Path::extension)
            .is_some_and(|e| e == "json"),
    };
    let options = DeployOptions {
        platform: args.platform,
        image,
        wasm: args.wasm,
        config,
        root_id: args.root_id,
        name: args.name,
        namespace: args.namespace,
        phase: args.phase,
        priority: args.priority,
        fail_strategy: args.fail_strategy,
        fail_open: args.fail_open,
        selector: args.selector,
        target_refs: args.target_ref,
        pull_policy: args.pull_policy,
        pull_secret: args.pull_secret,
        code: args.code,
        module_path: args.module_path,
        plain_http: args.plain_http,
        upstream: args.upstream,
        address: args.address,
        port: args.port,
        admin_port: args.admin_port,
        no_validate: args.no_validate,
        envoy: args.envoy,
        native: args.native,
        module_name: args.module_name,
    };
    let store = Store::open_default()?;
    let deployment = crate::deploy::generate(&options, &store)?;
    if deployment.config_format != ConfigFormat::Json {
        eprintln!(
            "note: the filter takes its configuration as {}: it is passed on unchanged, not \
             checked as JSON",
            deployment.config_format
        );
    } else if deployment.schema_checked {
        status(
            "Checked",
            "the plugin config against the module's config schema",
        );
    } else {
        eprintln!(
            "note: the module carries no config schema ({}), so the plugin config was not checked",
            crate::schema::CONFIG_SCHEMA_SECTION
        );
    }
    for note in &deployment.notes {
        eprintln!("note: {note}");
    }
    let text = crate::deploy::render(&deployment.document, json)?;
    match &args.output {
        Some(path) => {
            crate::error::write(path, &text)?;
            status("Wrote", path.display());
        }
        None => print!("{text}"),
    }
    if args.apply {
        crate::deploy::apply(&text, args.output.as_deref())?;
    }
    Ok(())
}
