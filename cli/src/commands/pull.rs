//! `cargo proxylet pull`: an image (a wasm one of either variant, or a native module) from a
//! registry into the local store ([`crate::registry::pull`]).

use std::path::PathBuf;

use clap::Args;

use crate::commands::args::RegistryArgs;
use crate::reference::Reference;
use crate::registry::Client;
use crate::shell::{field, size, status};
use crate::store::Store;
use crate::Result;

/// `pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The image to pull, e.g. ghcr.io/me/my-filter:v1 (oci:// is accepted).
    pub reference: String,
    /// How to reach the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Also write the module (.wasm, or the .so of a native image) to this file.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Pulls the image, stores it, and prints what it holds.
pub fn exec(args: PullArgs) -> Result<()> {
    let reference: Reference = args.reference.parse()?;
    let client = Client::new(&reference, args.registry.plain_http)?;
    status(
        "Pulling",
        format!("{} from {}", reference.normalized(), client.base_url()),
    );
    let image = crate::registry::pull(&client, &reference)?;
    let (variant, module) = image.module()?;
    let store = Store::open_default()?;
    // A reference by digest is stored under its name and digest.
    let entry = store.put(&reference, &image)?;
    let root_ids = crate::module::root_ids(&module)
        .map(|ids| ids.join(", "))
        .unwrap_or_else(|| "unknown (the module carries no proxylet.runtime_config)".into());
    let native = image.native_config()?;
    status(
        "Pulled",
        format!(
            "{} ({variant} variant) into {}",
            entry.reference,
            store.root().display()
        ),
    );
    field("digest", image.digest());
    field(
        "module",
        format!(
            "{} (sha256 {})",
            size(module.len() as u64),
            crate::image::sha256_hex(&module)
        ),
    );
    field("root ids", root_ids);
    if let Some(native) = &native {
        let host = crate::native::Platform::host();
        let platform = native.platform();
        field(
            "platform",
            if platform == host {
                platform.to_string()
            } else {
                format!("{platform} (this machine is {host}: its Envoy cannot load it)")
            },
        );
        field(
            "abi",
            native
                .abi_version
                .as_deref()
                .map(|v| format!("Envoy dynamic modules {v}"))
                .unwrap_or_else(|| "unknown".into()),
        );
        field("library", &native.library);
    }
    if let Some(output) = &args.output {
        crate::error::write(output, &module)?;
        field("written", output.display());
    }
    Ok(())
}
