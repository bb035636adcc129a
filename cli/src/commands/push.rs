//! `cargo proxylet push`: an image from the local store to a registry
//! ([`crate::registry::push`]).

use clap::Args;

use crate::commands::args::RegistryArgs;
use crate::reference::Reference;
use crate::registry::Client;
use crate::shell::status;
use crate::store::Store;
use crate::Result;

/// `push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The image to push, as stored (`cargo proxylet list`), e.g. localhost:5000/my-filter:v1.
    pub reference: String,
    /// How to reach the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Pushes the image and prints its manifest digest.
pub fn exec(args: PushArgs) -> Result<()> {
    let reference: Reference = args.reference.parse()?;
    let store = Store::open_default()?;
    let (_, image) = store.get(&reference)?;
    if reference.registry.is_none() {
        eprintln!(
            "note: `{reference}` names no registry, so it goes to Docker Hub (docker.io); \
             build with -t REGISTRY/NAME:TAG for another registry"
        );
    }
    let client = Client::new(&reference, args.registry.plain_http)?;
    status(
        "Pushing",
        format!("{} to {}", reference.normalized(), client.base_url()),
    );
    let digest = crate::registry::push(&client, &reference, &image)?;
    status("Pushed", format!("{} ({digest})", reference.normalized()));
    println!("{digest}");
    Ok(())
}
