//! The size-optimize step, as `cargo proxylet build --optimize` runs it (cli/src/optimize.rs):
//! Binaryen's `wasm-opt -Oz` through the `wasm-opt` crate, with the features rustc enables
//! for wasm32-wasip1. Keep the two in step.

use std::path::Path;

use wasm_opt::{Feature, OptimizationOptions};

use crate::Result;

/// What the step is, for BENCHMARKS.md.
pub(crate) const DESCRIPTION: &str = "Binaryen `wasm-opt -Oz` (crate `wasm-opt` 0.116) with bulk-memory, mutable-globals, nontrapping-float-to-int, sign-ext, multivalue and reference-types enabled, custom sections kept: what `cargo proxylet build --optimize` does";

/// Optimizes `input` into `output` and returns the optimized size in bytes.
pub(crate) fn optimize(input: &Path, output: &Path) -> Result<u64> {
    OptimizationOptions::new_optimize_for_size_aggressively()
        .enable_feature(Feature::BulkMemory)
        .enable_feature(Feature::MutableGlobals)
        .enable_feature(Feature::TruncSat)
        .enable_feature(Feature::SignExt)
        .enable_feature(Feature::Multivalue)
        .enable_feature(Feature::ReferenceTypes)
        .run(input, output)
        .map_err(|e| format!("wasm-opt failed on {}: {e}", input.display()))?;
    std::fs::metadata(output)
        .map(|m| m.len())
        .map_err(|e| format!("reading {}: {e}", output.display()))
}
