//! The command line: `cargo proxylet <verb>`, parsed with clap. Each verb is a module of
//! [`crate::commands`].

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Verb;

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
        ~/.cache/proxylet/store). With --native the same filter is built, run, shipped and \
        deployed as an Envoy dynamic module (lib<crate>.so, no wasm VM).",
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

/// Parses the arguments (dropping the `proxylet` cargo passes first) and runs the verb.
pub fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "proxylet") {
        args.remove(1);
    }
    let cli = Cli::parse_from(args);
    match crate::commands::exec(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
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
