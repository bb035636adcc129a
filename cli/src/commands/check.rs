//! `cargo proxylet check`: a module's ABI report ([`crate::check`]), for a `.wasm` or a
//! native module (`lib<crate>.so`, recognized by its ELF header).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::{err, Result};

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The module: a .wasm, or a native `lib<crate>.so` (its exported hooks against the ones
    /// Envoy requires, its ABI version, platform and root ids).
    pub file: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints the report; fails when it has errors.
pub fn exec(args: CheckArgs) -> Result<ExitCode> {
    let bytes = crate::error::read(&args.file)?;
    if crate::native::is_elf(&bytes) {
        let report =
            crate::check::check_native(&bytes).map_err(|e| err!("{}: {e}", args.file.display()))?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report.to_json())
                    .map_err(|e| err!("cannot encode JSON: {e}"))?
            );
        } else {
            let name = args.file.display().to_string();
            print!("{}", crate::check::render_native(&name, &report));
        }
        return Ok(if report.has_errors() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    let report = crate::check::check(&bytes).map_err(|e| err!("{}: {e}", args.file.display()))?;
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
