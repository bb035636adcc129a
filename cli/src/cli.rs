//! The command line: `cargo proxylet <verb>`, parsed with clap, and what each verb does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use crate::build::{status, BuildOptions};
use crate::deploy::{Code, DeployOptions, FailStrategy, Phase, Platform, PullPolicy, TargetRef};
use crate::image::{Image, Variant};
use crate::reference::Reference;
use crate::registry::{size, Client};
use crate::store::{short_time, Store};
use crate::{err, Result};

/// `cargo proxylet`: build, ship and run proxylet filters, the `wasme` workflow without
/// Docker.
#[derive(Debug, Parser)]
#[command(
    name = "cargo-proxylet",
    bin_name = "cargo proxylet",
    version,
    about = "Build, ship and run Envoy proxy-wasm filters written with proxylet",
    long_about = "Build, ship and run Envoy proxy-wasm filters written with proxylet: \
        new -> build -> run --validate on this machine, then push -> deploy to Istio, \
        Envoy Gateway or plain Envoy. Images follow the Wasm OCI formats Istio and Envoy \
        Gateway read; they are kept in a local store ($PROXYLET_STORE, default \
        ~/.cache/proxylet/store).",
    after_help = "Typical session:\n  cargo proxylet new my-filter && cd my-filter\n  \
        cargo proxylet build -t localhost:5000/my-filter:v1\n  cargo proxylet run --validate\n  \
        cargo proxylet push localhost:5000/my-filter:v1\n  \
        cargo proxylet deploy istio --image localhost:5000/my-filter:v1 --config '{}'"
)]
pub struct Cli {
    /// The verb.
    #[command(subcommand)]
    pub command: Verb,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Create a filter crate from a tested example (the flagship add-header by default).
    New(NewArgs),
    /// Build the filter for wasm32-wasip1 and store it as an OCI image.
    Build(BuildArgs),
    /// List the images in the local store, or the tags of a remote repository.
    List(ListArgs),
    /// Push an image from the local store to a registry.
    Push(PushArgs),
    /// Pull an image (either variant) from a registry into the local store.
    Pull(PullArgs),
    /// Run the filter in a real Envoy in front of an upstream.
    Run(RunArgs),
    /// Write an Istio WasmPlugin, an Envoy Gateway EnvoyExtensionPolicy or an Envoy bootstrap.
    Deploy(DeployArgs),
    /// Report what a module exports and imports, against proxy-wasm 0.2.1 and WASI preview 1.
    Check(CheckArgs),
}

/// `new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The crate to create: a directory path whose last component is the crate name.
    #[arg(required_unless_present = "list")]
    pub path: Option<PathBuf>,
    /// The example to start from (see --list).
    #[arg(long, short, default_value = crate::new::DEFAULT_TEMPLATE)]
    pub template: String,
    /// List the templates and exit.
    #[arg(long)]
    pub list: bool,
    /// For local development of proxylet itself: take proxylet's crates from the checkout
    /// at DIR (its root directory) through a `[patch.crates-io]` section with relative
    /// paths. Without it the crate depends on the crates.io releases and builds anywhere.
    #[arg(long = "path", value_name = "DIR")]
    pub checkout: Option<PathBuf>,
}

/// Where to find the filter crate (shared by `build` and `run`).
#[derive(Debug, Args, Clone, Default)]
pub struct ProjectArgs {
    /// The filter crate's Cargo.toml (default: the nearest above the current directory).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// The package to build, in a workspace with several filter crates.
    #[arg(long, short, value_name = "NAME")]
    pub package: Option<String>,
    /// Cargo's target directory (default: the workspace's).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Shrink the module with Binaryen's wasm-opt -Oz: $PROXYLET_WASM_OPT, wasm-opt on PATH,
    /// or Binaryen installed from npm into the target directory's tools/ (custom sections
    /// are kept).
    #[arg(long)]
    pub optimize: bool,
}

impl ProjectArgs {
    fn options(&self) -> BuildOptions {
        BuildOptions {
            manifest_path: self.manifest_path.clone(),
            package: self.package.clone(),
            target_dir: self.target_dir.clone(),
            optimize: self.optimize,
        }
    }
}

/// `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Where the filter crate is, and how to build it.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Store the image under this reference (repeatable), e.g. ghcr.io/me/my-filter:v1.
    /// Default: PACKAGE:latest.
    #[arg(long, short, value_name = "REF")]
    pub tag: Vec<String>,
    /// The image format: "oci" (two Wasm layers, what wasme pushed) or "compat" (one gzip tar
    /// layer with plugin.wasm, copyable by any container tool). Istio and Envoy Gateway read
    /// both.
    #[arg(long, value_enum, default_value_t = Variant::Oci)]
    pub variant: Variant,
    /// Only build the module; do not store an image.
    #[arg(long, conflicts_with = "tag")]
    pub no_store: bool,
}

/// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// List the tags of this registry repository instead of the local store, e.g.
    /// localhost:5000/my-filter.
    #[arg(long, value_name = "REPOSITORY")]
    pub remote: Option<String>,
    /// Speak plain HTTP to the registry (one without TLS). Registries on the loopback
    /// interface (localhost, 127.0.0.0/8, ::1) always get plain HTTP.
    #[arg(long)]
    pub plain_http: bool,
}

/// `push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The image to push, as stored (`cargo proxylet list`), e.g. localhost:5000/my-filter:v1.
    pub reference: String,
    /// Speak plain HTTP to the registry (one without TLS). Registries on the loopback
    /// interface (localhost, 127.0.0.0/8, ::1) always get plain HTTP.
    #[arg(long)]
    pub plain_http: bool,
}

/// `pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The image to pull, e.g. ghcr.io/me/my-filter:v1 (oci:// is accepted).
    pub reference: String,
    /// Speak plain HTTP to the registry (one without TLS). Registries on the loopback
    /// interface (localhost, 127.0.0.0/8, ::1) always get plain HTTP.
    #[arg(long)]
    pub plain_http: bool,
    /// Also write the module to this file.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The plugin configuration, inline or from a file.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// The plugin configuration, JSON (e.g. '{"name":"x-fruit","value":"kiwi"}').
    #[arg(long, value_name = "JSON", conflicts_with = "config_file")]
    pub config: Option<String>,
    /// Read the plugin configuration (JSON) from this file.
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
}

impl ConfigArgs {
    /// The configuration text and its parsed JSON.
    fn load(&self) -> Result<Option<(String, Value)>> {
        let (text, origin) = match (&self.config, &self.config_file) {
            (Some(text), _) => (text.clone(), "--config".to_owned()),
            (None, Some(path)) => (
                String::from_utf8(crate::error::read(path)?)
                    .map_err(|_| err!("{} is not UTF-8 text", path.display()))?,
                path.display().to_string(),
            ),
            (None, None) => return Ok(None),
        };
        let value = serde_json::from_str(&text)
            .map_err(|e| err!("the plugin config ({origin}) is not JSON: {e}"))?;
        Ok(Some((text, value)))
    }
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// What to run: a .wasm file or an image in the local store. Default: build the
    /// filter crate here first.
    pub module: Option<String>,
    /// Where the filter crate is (when no MODULE is given).
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The plugin configuration.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The root id to run (default: the module's only one).
    #[arg(long, value_name = "ID")]
    pub root_id: Option<String>,
    /// The upstream Envoy forwards to (http:// or https://). Default: a built-in echo server
    /// that answers with the request it got.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// The port Envoy listens on, on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Send one GET through Envoy, print the response status and headers, and stop.
    #[arg(long)]
    pub validate: bool,
    /// The path --validate requests.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// The Envoy executable (default: $PROXYLET_ENVOY, `envoy` on PATH, or Envoy 1.40
    /// installed from PyPI into ~/.cache/proxylet/tools).
    #[arg(long, value_name = "FILE")]
    pub envoy: Option<PathBuf>,
    /// Envoy's log level for the filter's messages (trace, debug, info, warning, error).
    #[arg(long, default_value = "info", value_name = "LEVEL")]
    pub log_level: String,
}

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
    /// A module file instead of an image (envoy only).
    #[arg(long, value_name = "FILE")]
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
}

/// Output format of `deploy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The module.
    pub file: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_label(text: &str) -> std::result::Result<(String, String), String> {
    text.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE (e.g. app=reviews)"))
}

/// Parses the arguments (dropping the `proxylet` cargo passes first) and runs the verb.
pub fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "proxylet") {
        args.remove(1);
    }
    let cli = Cli::parse_from(args);
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one verb.
pub fn run(verb: Verb) -> Result<ExitCode> {
    let done = match verb {
        Verb::New(args) => new(args),
        Verb::Build(args) => build(args),
        Verb::List(args) => list(args),
        Verb::Push(args) => push(args),
        Verb::Pull(args) => pull(args),
        Verb::Run(args) => run_verb(args),
        Verb::Deploy(args) => deploy(args),
        // The report says what is wrong; the exit status says whether anything is.
        Verb::Check(args) => return check(args),
    };
    done.map(|()| ExitCode::SUCCESS)
}

fn new(args: NewArgs) -> Result<()> {
    if args.list {
        for template in crate::new::templates() {
            let default = if template.name == crate::new::DEFAULT_TEMPLATE {
                " (default)"
            } else {
                ""
            };
            println!("{:<20} {}{default}", template.name, template.description());
        }
        return Ok(());
    }
    let path = args
        .path
        .ok_or_else(|| err!("give the crate's name: cargo proxylet new NAME"))?;
    let source = match &args.checkout {
        Some(dir) => crate::new::Source::checkout(dir)?,
        None => crate::new::Source::CratesIo,
    };
    let created = crate::new::create(&path, &args.template, &source)?;
    let from = match &source {
        crate::new::Source::CratesIo => {
            format!("proxylet {} from crates.io", crate::new::release_line())
        }
        crate::new::Source::Checkout(root) => format!(
            "proxylet from the checkout {} through [patch.crates-io], for local development",
            root.display()
        ),
    };
    status(
        "Created",
        format!(
            "filter crate `{}` in {} from the `{}` template ({from})",
            created.package,
            path.display(),
            args.template
        ),
    );
    for file in created.files {
        eprintln!("{:>12} {}", "", file.display());
    }
    eprintln!(
        "\nNext:\n  cd {}\n  cargo proxylet build\n  cargo test\n  cargo proxylet run --validate",
        path.display()
    );
    Ok(())
}

fn build(args: BuildArgs) -> Result<()> {
    let module = crate::build::build(&args.project.options())?;
    let line = |key: &str, value: String| println!("{key:>10}  {value}");
    line("module", module.wasm.display().to_string());
    let size_text = if args.project.optimize {
        format!(
            "{} ({} bytes; {} before wasm-opt)",
            size(module.bytes.len() as u64),
            module.bytes.len(),
            size(module.unoptimized_size)
        )
    } else {
        format!(
            "{} ({} bytes)",
            size(module.bytes.len() as u64),
            module.bytes.len()
        )
    };
    line("size", size_text);
    line("root ids", module.runtime_config.config.root_ids.join(", "));
    line("sha256", crate::image::sha256_hex(&module.bytes));
    if args.no_store {
        return Ok(());
    }
    let tags = if args.tag.is_empty() {
        vec![format!("{}:latest", module.project.package)]
    } else {
        args.tag
    };
    let image = Image::build(&module.bytes, args.variant)?;
    let store = Store::open_default()?;
    for tag in &tags {
        let reference: Reference = tag.parse()?;
        let entry = store.put(&reference, &image)?;
        line(
            "image",
            format!(
                "{} ({} variant, in {})",
                entry.reference,
                args.variant,
                store.root().display()
            ),
        );
    }
    line("digest", image.digest());
    Ok(())
}

fn list(args: ListArgs) -> Result<()> {
    if let Some(repository) = args.remote {
        let reference: Reference = repository.parse()?;
        let client = Client::new(&reference, args.plain_http)?;
        let api_repository = reference.api_repository();
        let tags = client.tags(&api_repository)?;
        println!(
            "{:<40} {:<16} {:<10} {:<9} VARIANT",
            "NAME", "TAG", "SIZE", "SHA"
        );
        for tag in tags {
            let (media_type, manifest_bytes) = client.manifest(&api_repository, &tag)?;
            let manifest = crate::image::Manifest::parse(&manifest_bytes)?;
            let (variant, size_text) = match manifest.classify(&media_type) {
                Ok((variant, layer)) => (variant.to_string(), size(layer.size)),
                Err(_) => ("not wasm".into(), "-".into()),
            };
            let digest = crate::image::sha256_hex(&manifest_bytes);
            println!(
                "{:<40} {tag:<16} {size_text:<10} {:<9} {variant}",
                reference.name(),
                &digest[..8]
            );
        }
        return Ok(());
    }
    let store = Store::open_default()?;
    println!(
        "{:<40} {:<16} {:<10} {:<9} UPDATED",
        "NAME", "TAG", "SIZE", "SHA"
    );
    for entry in store.entries()? {
        let reference: Reference = entry.reference.parse()?;
        let size_text = match store.get(&reference).and_then(|(_, image)| image.module()) {
            Ok((_, module)) => size(module.len() as u64),
            Err(_) => "?".into(),
        };
        let digest = crate::image::digest_hex(&entry.manifest.digest)?;
        println!(
            "{:<40} {:<16} {size_text:<10} {:<9} {}",
            reference.name(),
            reference.tag(),
            &digest[..8],
            short_time(&entry.updated)
        );
    }
    Ok(())
}

fn push(args: PushArgs) -> Result<()> {
    let reference: Reference = args.reference.parse()?;
    let store = Store::open_default()?;
    let (_, image) = store.get(&reference)?;
    if reference.registry.is_none() {
        eprintln!(
            "note: `{reference}` names no registry, so it goes to Docker Hub (docker.io); \
             build with -t REGISTRY/NAME:TAG for another registry"
        );
    }
    let client = Client::new(&reference, args.plain_http)?;
    status(
        "Pushing",
        format!("{} to {}", reference.normalized(), client.base_url()),
    );
    let digest = crate::registry::push(&client, &reference, &image)?;
    status("Pushed", format!("{} ({digest})", reference.normalized()));
    println!("{digest}");
    Ok(())
}

fn pull(args: PullArgs) -> Result<()> {
    let reference: Reference = args.reference.parse()?;
    let client = Client::new(&reference, args.plain_http)?;
    status(
        "Pulling",
        format!("{} from {}", reference.normalized(), client.base_url()),
    );
    let image = crate::registry::pull(&client, &reference)?;
    let (variant, module) = image.module()?;
    let store = Store::open_default()?;
    // A reference by digest is stored under its name and digest.
    let entry = store.put(&reference, &image)?;
    let root_ids = proxylet_artifact::runtime_config(&module)
        .map(|c| c.config.root_ids.join(", "))
        .unwrap_or_else(|e| format!("unknown ({e})"));
    status(
        "Pulled",
        format!(
            "{} ({variant} variant) into {}",
            entry.reference,
            store.root().display()
        ),
    );
    let line = |key: &str, value: String| println!("{key:>10}  {value}");
    line("digest", image.digest());
    line(
        "module",
        format!(
            "{} (sha256 {})",
            size(module.len() as u64),
            crate::image::sha256_hex(&module)
        ),
    );
    line("root ids", root_ids);
    if let Some(output) = &args.output {
        crate::error::write(output, &module)?;
        line("written", output.display().to_string());
    }
    Ok(())
}

/// A module to run: its file and bytes.
fn module_for_run(args: &RunArgs) -> Result<(PathBuf, Vec<u8>)> {
    match &args.module {
        Some(text) if text.ends_with(".wasm") || Path::new(text).is_file() => {
            let path = PathBuf::from(text);
            let bytes = crate::error::read(&path)?;
            Ok((path, bytes))
        }
        Some(text) => {
            let reference: Reference = text.parse().map_err(|e: crate::Error| {
                e.context("MODULE is neither a .wasm file nor an image reference")
            })?;
            let store = Store::open_default()?;
            let (_, image) = store.get(&reference)?;
            let (_, bytes) = image.module()?;
            Ok((store.module_file(&bytes)?, bytes))
        }
        None => {
            let module = crate::build::build(&args.project.options())?;
            Ok((module.wasm, module.bytes))
        }
    }
}

fn run_verb(args: RunArgs) -> Result<()> {
    let config = args.config.load()?;
    let (wasm, bytes) = module_for_run(&args)?;
    let root_id = crate::deploy::choose_root_id(args.root_id.as_deref(), &bytes, true)?;
    if let Some((_, value)) = &config {
        // Without a schema in the module, the filter's configure hook in Envoy is the judge.
        crate::schema::check_config(&bytes, &root_id, value)?;
    }
    let wasm = std::fs::canonicalize(&wasm).unwrap_or(wasm);
    crate::run::run(&crate::run::RunOptions {
        wasm,
        root_id,
        config: config.map(|(text, _)| text),
        upstream: args.upstream,
        port: args.port,
        validate: args.validate,
        path: args.path,
        envoy: args.envoy,
        wasm_log_level: args.log_level,
    })
}

fn deploy(args: DeployArgs) -> Result<()> {
    let config = args.config.load()?.map(|(_, value)| value);
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
    };
    let store = Store::open_default()?;
    let deployment = crate::deploy::generate(&options, &store)?;
    if deployment.schema_checked {
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

fn check(args: CheckArgs) -> Result<ExitCode> {
    let report = crate::check::check_file(&args.file)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json())
                .map_err(|e| err!("cannot encode JSON: {e}"))?
        );
    } else {
        let name = args.file.display().to_string();
        print!("{}", crate::check::render(&name, &report));
    }
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn every_verb_and_flag_is_documented_in_help() {
        let command = Cli::command();
        command.clone().debug_assert();
        for verb in command.get_subcommands() {
            assert!(
                verb.get_about().is_some(),
                "`{}` has no help",
                verb.get_name()
            );
            for arg in verb.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                assert!(
                    arg.get_help().is_some(),
                    "`{} --{id}` has no help",
                    verb.get_name()
                );
            }
        }
    }
}
