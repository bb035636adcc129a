//! Module size optimization with Binaryen's wasm-opt, linked in through the `wasm-opt`
//! crate (no system binary needed). Behind the `wasm-opt` cargo feature (on by default),
//! because the crate compiles Binaryen from C++, which takes minutes the first time.

use std::path::Path;

use crate::Result;

/// Whether this build of cargo-proxylet can optimize (`wasm-opt` feature).
pub const AVAILABLE: bool = cfg!(feature = "wasm-opt");

/// Runs `wasm-opt -Oz` on the module at `path`, in place. Custom sections (the runtime
/// config, the config schema) are kept.
#[cfg(feature = "wasm-opt")]
pub fn optimize(path: &Path) -> Result<()> {
    use wasm_opt::{Feature, OptimizationOptions};
    // The features rustc enables for wasm32-wasip1 by default; Binaryen must accept them
    // in the input and may use them in the output (V8 in Envoy supports them all).
    OptimizationOptions::new_optimize_for_size_aggressively()
        .enable_feature(Feature::BulkMemory)
        .enable_feature(Feature::MutableGlobals)
        .enable_feature(Feature::TruncSat)
        .enable_feature(Feature::SignExt)
        .enable_feature(Feature::Multivalue)
        .enable_feature(Feature::ReferenceTypes)
        .run(path, path)
        .map_err(|e| {
            crate::err!(
                "wasm-opt failed on {}: {e}{}; build without --optimize",
                path.display(),
                std::error::Error::source(&e)
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            )
        })
}

/// Without the `wasm-opt` feature: an error saying how to get it.
#[cfg(not(feature = "wasm-opt"))]
pub fn optimize(path: &Path) -> Result<()> {
    Err(crate::err!(
        "cannot optimize {}: this cargo-proxylet was built without the `wasm-opt` feature; \
         reinstall it with default features (`cargo install cargo-proxylet`), or build without \
         --optimize",
        path.display()
    ))
}
