//! `cargo-proxylet`: see the library's documentation, or `cargo proxylet --help`.

fn main() -> std::process::ExitCode {
    cargo_proxylet::cli::main()
}
