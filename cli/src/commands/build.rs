//! `cargo proxylet build`: the filter compiled for wasm32-wasip1 ([`crate::build`]) and
//! stored as an OCI image ([`crate::image`], [`crate::store`]).

use clap::Args;

use crate::commands::args::ProjectArgs;
use crate::image::{Image, Variant};
use crate::reference::Reference;
use crate::shell::{field, size};
use crate::store::Store;
use crate::Result;

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

/// Builds the module, prints what it is, and stores its image under each tag.
pub fn exec(args: BuildArgs) -> Result<()> {
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
