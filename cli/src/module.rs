//! What a module says about itself, for either target: a `.wasm` carries its runtime config
//! and config schemas in custom sections ([`proxylet_artifact`]), a native `lib<crate>.so`
//! in ELF sections of the same names ([`crate::native`]).

use proxylet_artifact::build::Target;
use proxylet_artifact::ConfigFormat;
use serde_json::Value;

use crate::native::NativeModule;
use crate::{err, Result};

/// Which target a module was built for, from its first bytes (ELF: native).
pub fn target_of(bytes: &[u8]) -> Target {
    if crate::native::is_elf(bytes) {
        Target::Native
    } else {
        Target::Wasm
    }
}

/// The root ids the module declares; `None` when it carries no runtime config (or cannot
/// be read).
pub fn root_ids(bytes: &[u8]) -> Option<Vec<String>> {
    match target_of(bytes) {
        Target::Wasm => proxylet_artifact::runtime_config(bytes)
            .ok()
            .map(|c| c.config.root_ids),
        Target::Native => NativeModule::read(bytes)
            .ok()
            .and_then(|m| m.root_ids().map(<[String]>::to_vec)),
    }
}

/// The config schema of filter `root_id`, if the module carries one.
pub fn config_schema_for(bytes: &[u8], root_id: &str) -> Result<Option<Value>> {
    match target_of(bytes) {
        Target::Wasm => {
            proxylet_artifact::config_schema_for(bytes, root_id).map_err(|e| err!("{e}"))
        }
        Target::Native => Ok(NativeModule::read(bytes)?
            .config_schema_for(root_id)
            .cloned()),
    }
}

/// How filter `root_id` reads its configuration (JSON when the module does not say).
pub fn config_format(bytes: &[u8], root_id: &str) -> ConfigFormat {
    let runtime_config = match target_of(bytes) {
        Target::Wasm => proxylet_artifact::runtime_config(bytes).ok(),
        Target::Native => NativeModule::read(bytes)
            .ok()
            .and_then(|m| m.runtime_config),
    };
    runtime_config.map_or(ConfigFormat::Json, |c| c.config_format(root_id))
}

/// Checks that a module was built for `expected`; the error says which flag to use.
pub fn expect_target(bytes: &[u8], expected: Target, what: &str) -> Result<()> {
    match (target_of(bytes), expected) {
        (Target::Native, Target::Wasm) => Err(err!(
            "{what} is a native module (an ELF shared library, for envoy.filters.http.dynamic_modules); \
             pass --native"
        )),
        (Target::Wasm, Target::Native) => Err(err!(
            "{what} is not a native module (an ELF shared library built with `cargo proxylet build \
             --native`); drop --native to use it as a wasm module"
        )),
        _ => Ok(()),
    }
}
