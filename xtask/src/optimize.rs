//! The size-optimize step of the benchmarks: what `cargo proxylet build --optimize` runs
//! ([`proxylet_artifact::optimize`]), pinned to Binaryen from npm so every machine measures
//! with the same optimizer.

use std::path::Path;

use proxylet_artifact::optimize::{npm_wasm_opt, WasmOpt, BINARYEN_VERSION, FEATURE_FLAGS};

use crate::{root, Result};

fn wasm_opt() -> Result<WasmOpt> {
    npm_wasm_opt(&root().join("target").join("tools")).map_err(|e| e.to_string())
}

/// What the step is, for BENCHMARKS.md.
pub(crate) fn description() -> String {
    format!(
        "Binaryen `wasm-opt -Oz {}` (npm `binaryen@{BINARYEN_VERSION}`), custom sections kept: \
         what `cargo proxylet build --optimize` does",
        FEATURE_FLAGS.join(" ")
    )
}

/// Optimizes `input` into `output` and returns the optimized size in bytes.
pub(crate) fn optimize(input: &Path, output: &Path) -> Result<u64> {
    wasm_opt()?
        .optimize(input, output)
        .map_err(|e| e.to_string())?;
    std::fs::metadata(output)
        .map(|m| m.len())
        .map_err(|e| format!("reading {}: {e}", output.display()))
}
