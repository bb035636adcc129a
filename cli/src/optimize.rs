//! Module size optimization with Binaryen's `wasm-opt -Oz` (`build --optimize`).
//!
//! By default a `wasm-opt` program runs: `$PROXYLET_WASM_OPT`, else `wasm-opt` on `PATH`,
//! else Binaryen from the npm registry installed once into the project's tool cache
//! (`target/tools`), so installing cargo-proxylet compiles no C++
//! ([`proxylet_artifact::optimize`]). With the `wasm-opt` cargo feature, Binaryen is linked
//! in instead (the `wasm-opt` crate, which compiles Binaryen from C++: many minutes the
//! first time). Either way the module's custom sections (the runtime config, the config
//! schemas) are kept.

use std::path::Path;

use crate::Result;

/// Runs `wasm-opt -Oz` on the module at `path`, in place; returns which wasm-opt ran.
/// `cache_dir` is where Binaryen is installed from npm when no `wasm-opt` is at hand.
pub fn optimize(path: &Path, cache_dir: &Path) -> Result<String> {
    #[cfg(feature = "wasm-opt")]
    {
        let _ = cache_dir;
        linked(path)?;
        Ok("Binaryen linked in, the `wasm-opt` crate".to_owned())
    }
    #[cfg(not(feature = "wasm-opt"))]
    {
        let wasm_opt = proxylet_artifact::optimize::find_wasm_opt(cache_dir)?;
        wasm_opt.optimize(path, path)?;
        Ok(wasm_opt.to_string())
    }
}

/// The in-process Binaryen of the `wasm-opt` crate, with the features rustc enables for
/// wasm32-wasip1 ([`proxylet_artifact::optimize::FEATURE_FLAGS`] as flags).
#[cfg(feature = "wasm-opt")]
fn linked(path: &Path) -> Result<()> {
    use wasm_opt::{Feature, OptimizationOptions};
    let before = crate::error::read(path)?;
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
        })?;
    let after = crate::error::read(path)?;
    for section in proxylet_artifact::sections(&before)? {
        if section.id == 0
            && proxylet_artifact::custom_section(&after, section.name)? != Some(section.data)
        {
            return Err(crate::err!(
                "wasm-opt dropped or changed the custom section `{}`; build without --optimize",
                section.name
            ));
        }
    }
    Ok(())
}
