//! `cargo proxylet check`: a module's ABI report ([`crate::check`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::{err, Result};

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The module.
    pub file: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints the report; fails when it has errors.
pub fn exec(args: CheckArgs) -> Result<ExitCode> {
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
