//! `cargo proxylet list`: the images in the local store ([`crate::store`]), or the tags of
//! a registry repository ([`crate::registry`]).

use clap::Args;

use crate::commands::args::RegistryArgs;
use crate::image::{Manifest, NativeConfig, Variant};
use crate::reference::Reference;
use crate::registry::Client;
use crate::shell::size;
use crate::store::{short_time, Store};
use crate::Result;

/// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// List the tags of this registry repository instead of the local store, e.g.
    /// localhost:5000/my-filter.
    #[arg(long, value_name = "REPOSITORY")]
    pub remote: Option<String>,
    /// How to reach the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Prints a table, `wasme list` style: `NAME TAG SIZE SHA UPDATED` (local) or
/// `NAME TAG SIZE SHA VARIANT` (remote). A native module image shows its platform: in a
/// last `TARGET` column (local), or after its variant (remote).
pub fn exec(args: ListArgs) -> Result<()> {
    match args.remote {
        Some(repository) => remote(&repository, args.registry.plain_http),
        None => local(),
    }
}

fn remote(repository: &str, plain_http: bool) -> Result<()> {
    let reference: Reference = repository.parse()?;
    let client = Client::new(&reference, plain_http)?;
    let api_repository = reference.api_repository();
    let tags = client.tags(&api_repository)?;
    println!(
        "{:<40} {:<16} {:<10} {:<9} VARIANT",
        "NAME", "TAG", "SIZE", "SHA"
    );
    for tag in tags {
        let (media_type, manifest_bytes) = client.manifest(&api_repository, &tag)?;
        let manifest = Manifest::parse(&manifest_bytes)?;
        let (variant, size_text) = match manifest.classify(&media_type) {
            Ok((Variant::Native, layer)) => {
                // The platform is in the (small) config blob.
                let platform = client
                    .blob(&api_repository, &manifest.config.digest)
                    .and_then(|config| NativeConfig::parse(&config))
                    .map(|config| config.platform().to_string())
                    .unwrap_or_else(|_| "?".into());
                (format!("native {platform}"), size(layer.size))
            }
            Ok((variant, layer)) => (variant.to_string(), size(layer.size)),
            Err(_) => ("not a module".into(), "-".into()),
        };
        let digest = crate::image::sha256_hex(&manifest_bytes);
        println!(
            "{:<40} {tag:<16} {size_text:<10} {:<9} {variant}",
            reference.name(),
            &digest[..8]
        );
    }
    Ok(())
}

fn local() -> Result<()> {
    let store = Store::open_default()?;
    println!(
        "{:<40} {:<16} {:<10} {:<9} {:<20} TARGET",
        "NAME", "TAG", "SIZE", "SHA", "UPDATED"
    );
    for entry in store.entries()? {
        let reference: Reference = entry.reference.parse()?;
        let image = store.get(&reference).map(|(_, image)| image);
        let size_text = match image.as_ref().map(|image| image.module()) {
            Ok(Ok((_, module))) => size(module.len() as u64),
            _ => "?".into(),
        };
        let target = match image.as_ref().map(|image| image.native_config()) {
            Ok(Ok(Some(native))) => format!("native {}", native.platform()),
            Ok(Ok(None)) => "wasm".into(),
            _ => "?".into(),
        };
        let digest = crate::image::digest_hex(&entry.manifest.digest)?;
        println!(
            "{:<40} {:<16} {size_text:<10} {:<9} {:<20} {target}",
            reference.name(),
            reference.tag(),
            &digest[..8],
            short_time(&entry.updated)
        );
    }
    Ok(())
}
