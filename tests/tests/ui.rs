//! Compile-time behaviour of the macros: what compiles, and the exact errors for mistakes.
//! Regenerate expectations with `TRYBUILD=overwrite cargo test -p proxylet-tests --test ui`,
//! then read the diff. rustc output drifts between versions: these are pinned to the
//! toolchain below, and skipped (with a message) on any other.

const PINNED_RUSTC: &str = "rustc 1.95.";

#[test]
fn filter_macro() {
    let version = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if !version.starts_with(PINNED_RUSTC) {
        eprintln!(
            "skipping UI tests: expectations are pinned to {PINNED_RUSTC}x, this is {version}"
        );
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.pass("ui/filter/pass/*.rs");
    cases.compile_fail("ui/filter/fail/*.rs");
    cases.pass("ui/config_schema/pass/*.rs");
    cases.compile_fail("ui/config_schema/fail/*.rs");
}
