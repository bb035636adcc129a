//! The verbs, one module each as in cargo: the verb's clap arguments (`<Verb>Args`) and
//! its `exec`, which does the work through the library's modules ([`crate::build`],
//! [`crate::registry`], [`crate::deploy`], ...). Argument groups several verbs take are in
//! [`args`].

use std::process::ExitCode;

use clap::Subcommand;

use crate::Result;

pub mod args;
pub mod build;
pub mod check;
pub mod deploy;
pub mod list;
pub mod new;
pub mod pull;
pub mod push;
pub mod run;

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Create a filter crate from a tested example (the flagship add-header by default).
    New(new::NewArgs),
    /// Build the filter for wasm32-wasip1 (or, with --native, as an Envoy dynamic module for
    /// this machine) and store it as an OCI image.
    Build(build::BuildArgs),
    /// List the images in the local store, or the tags of a remote repository.
    List(list::ListArgs),
    /// Push an image from the local store to a registry.
    Push(push::PushArgs),
    /// Pull an image (wasm of either variant, or native) from a registry into the local store.
    Pull(pull::PullArgs),
    /// Run the filter in a real Envoy in front of an upstream.
    Run(run::RunArgs),
    /// Write an Istio WasmPlugin, an Envoy Gateway EnvoyExtensionPolicy or an Envoy bootstrap.
    Deploy(deploy::DeployArgs),
    /// Report what a module exports and imports, against proxy-wasm 0.2.1 and WASI preview 1;
    /// for a native `lib<crate>.so`, its hooks against Envoy's and its ABI version.
    Check(check::CheckArgs),
}

/// Runs one verb.
pub fn exec(verb: Verb) -> Result<ExitCode> {
    let done = match verb {
        Verb::New(args) => new::exec(args),
        Verb::Build(args) => build::exec(args),
        Verb::List(args) => list::exec(args),
        Verb::Push(args) => push::exec(args),
        Verb::Pull(args) => pull::exec(args),
        Verb::Run(args) => run::exec(args),
        Verb::Deploy(args) => deploy::exec(args),
        // The report says what is wrong; the exit status says whether anything is.
        Verb::Check(args) => return check::exec(args),
    };
    done.map(|()| ExitCode::SUCCESS)
}
