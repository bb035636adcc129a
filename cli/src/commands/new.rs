//! `cargo proxylet new`: a filter crate from a template ([`crate::new`]).

use std::path::PathBuf;

use clap::Args;

use crate::new::{Source, DEFAULT_TEMPLATE};
use crate::shell::status;
use crate::{err, Result};

/// `new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The crate to create: a directory path whose last component is the crate name.
    #[arg(required_unless_present = "list")]
    pub path: Option<PathBuf>,
    /// The example to start from (see --list).
    #[arg(long, short, default_value = DEFAULT_TEMPLATE)]
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

/// Lists the templates, or creates the crate and says what to do next.
pub fn exec(args: NewArgs) -> Result<()> {
    if args.list {
        for template in crate::new::templates() {
            let default = if template.name == DEFAULT_TEMPLATE {
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
        Some(dir) => Source::checkout(dir)?,
        None => Source::CratesIo,
    };
    let created = crate::new::create(&path, &args.template, &source)?;
    let from = match &source {
        Source::CratesIo => {
            format!("proxylet {} from crates.io", crate::new::release_line())
        }
        Source::Checkout(root) => format!(
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
        status("", file.display());
    }
    eprintln!(
        "\nNext:\n  cd {}\n  cargo proxylet build\n  cargo test\n  cargo proxylet run --validate",
        path.display()
    );
    Ok(())
}
