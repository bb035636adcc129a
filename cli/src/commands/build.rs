//! `cargo proxylet build`: the filter compiled for wasm32-wasip1 ([`crate::build`]), or for
//! this machine as an Envoy dynamic module with `--native`, and stored as an OCI image
//! ([`crate::image`], [`crate::store`]).

use clap::Args;

use crate::commands::args::ProjectArgs;
use crate::image::{Image, Variant};
use crate::reference::Reference;
use crate::shell::{field, size};
use crate::store::Store;
use crate::{err, Result};

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
    /// Build a native Envoy dynamic module instead: `lib<crate>.so` for this machine (release,
    /// panic = "unwind"), loaded by envoy.filters.http.dynamic_modules with the root id as
    /// filter_name and the same JSON config. Its image (default tag PACKAGE:native) is an
    /// OCI artifact of type application/vnd.proxylet.dynamic-module.v1: a config holding the
    /// platform (os/architecture; a .so runs on one platform only), the ABI version and the
    /// root ids, and one layer, the raw .so.
    #[arg(long, conflicts_with_all = ["optimize", "variant"])]
    pub native: bool,
}

/// Builds the module, prints what it is, and stores its image under each tag.
pub fn exec(args: BuildArgs) -> Result<()> {
    if args.native {
        return native(args);
    }
    let module = crate::build::build(&args.project.options())?;
    field("module", module.wasm.display());
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
    field("size", size_text);
    field("root ids", module.runtime_config.config.root_ids.join(", "));
    field("sha256", crate::image::sha256_hex(&module.bytes));
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
        field(
            "image",
            format!(
                "{} ({} variant, in {})",
                entry.reference,
                args.variant,
                store.root().display()
            ),
        );
    }
    field("digest", image.digest());
    Ok(())
}

/// `build --native`.
fn native(args: BuildArgs) -> Result<()> {
    let built = crate::build::build_native(&args.project.options())?;
    let module = &built.module;
    field("module", built.library.display());
    field(
        "size",
        format!(
            "{} ({} bytes)",
            size(built.bytes.len() as u64),
            built.bytes.len()
        ),
    );
    field(
        "root ids",
        module
            .root_ids()
            .map(|ids| ids.join(", "))
            .unwrap_or_else(|| "unknown (no proxylet.runtime_config section)".into()),
    );
    field(
        "abi",
        match &module.abi_version {
            Some(version) => format!("Envoy dynamic modules {version}"),
            None => "unknown".into(),
        },
    );
    field("platform", &module.platform);
    field("sha256", crate::image::sha256_hex(&built.bytes));
    let missing = module.missing_hooks();
    if !missing.is_empty() {
        return Err(err!(
            "{} lacks hooks Envoy requires of it: {}",
            built.library.display(),
            missing.join(", ")
        ));
    }
    if args.no_store {
        return Ok(());
    }
    let tags = if args.tag.is_empty() {
        vec![format!("{}:native", built.project.package)]
    } else {
        args.tag
    };
    let image = Image::native(&built.bytes, &built.file_name())?;
    let store = Store::open_default()?;
    for tag in &tags {
        let reference: Reference = tag.parse()?;
        let entry = store.put(&reference, &image)?;
        field(
            "image",
            format!(
                "{} (native, {}, in {})",
                entry.reference,
                module.platform,
                store.root().display()
            ),
        );
    }
    field("digest", image.digest());
    Ok(())
}
