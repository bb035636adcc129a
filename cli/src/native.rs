//! Native modules: a `#[filter]` crate built for the host (`cargo proxylet build
//! --native`) is an Envoy dynamic module, an ELF shared library `lib<crate>.so` that
//! `envoy.filters.http.dynamic_modules` loads, with `filter_name` = the root id and
//! `filter_config` = the same JSON as for wasm.
//!
//! What this module reads from such a file ([`NativeModule::read`]), with [`crate::elf`]:
//!
//! - the hooks it exports (`envoy_dynamic_module_on_*`, from `.dynsym`), against the ones
//!   Envoy 1.40 requires ([`PROGRAM_INIT`], [`REQUIRED_HTTP_FILTER_HOOKS`]);
//! - the ABI version it announces: the NUL-terminated string its
//!   `envoy_dynamic_module_on_program_init` returns. The file is never loaded or run: the
//!   hook's machine code is scanned for the address of a version string it loads (x86-64
//!   `lea reg, [rip + disp]`, AArch64 `adrp` + `add`), and the string read there. Other
//!   machines, or code that builds the pointer another way, fall back to the only version
//!   string in the read-only data, and the report says which of the two it was;
//! - its platform (OCI `os`/`architecture`, from the ELF header);
//! - its root ids and config schemas: the SDK writes the same `proxylet.runtime_config`
//!   and `proxylet.config_schema` sections as in a wasm module, as ELF sections.

use proxylet_artifact::RuntimeConfig;
use serde::Deserialize;
use serde_json::Value;

use crate::elf::{Elf, ET_DYN};
use crate::{err, Result};

/// The ABI version Envoy 1.40 speaks (`envoy_dynamic_module_on_program_init` returns it).
pub const ENVOY_1_40_ABI_VERSION: &str = "v0.2.0";

/// The hook every dynamic module exports; Envoy calls it once when it loads the file.
pub const PROGRAM_INIT: &str = "envoy_dynamic_module_on_program_init";

/// The hooks Envoy 1.40 resolves in a module used as an HTTP filter: a missing one makes
/// it refuse the configuration ("Failed to resolve symbol …").
pub const REQUIRED_HTTP_FILTER_HOOKS: [&str; 20] = [
    "envoy_dynamic_module_on_http_filter_config_new",
    "envoy_dynamic_module_on_http_filter_config_destroy",
    "envoy_dynamic_module_on_http_filter_new",
    "envoy_dynamic_module_on_http_filter_destroy",
    "envoy_dynamic_module_on_http_filter_request_headers",
    "envoy_dynamic_module_on_http_filter_request_body",
    "envoy_dynamic_module_on_http_filter_request_trailers",
    "envoy_dynamic_module_on_http_filter_response_headers",
    "envoy_dynamic_module_on_http_filter_response_body",
    "envoy_dynamic_module_on_http_filter_response_trailers",
    "envoy_dynamic_module_on_http_filter_stream_complete",
    "envoy_dynamic_module_on_http_filter_http_callout_done",
    "envoy_dynamic_module_on_http_filter_http_stream_headers",
    "envoy_dynamic_module_on_http_filter_http_stream_data",
    "envoy_dynamic_module_on_http_filter_http_stream_trailers",
    "envoy_dynamic_module_on_http_filter_http_stream_complete",
    "envoy_dynamic_module_on_http_filter_http_stream_reset",
    "envoy_dynamic_module_on_http_filter_scheduled",
    "envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark",
    "envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark",
];

/// The hooks Envoy 1.40 requires of a module used as a network (TCP) filter.
pub const REQUIRED_NETWORK_FILTER_HOOKS: [&str; 8] = [
    "envoy_dynamic_module_on_network_filter_config_new",
    "envoy_dynamic_module_on_network_filter_config_destroy",
    "envoy_dynamic_module_on_network_filter_new",
    "envoy_dynamic_module_on_network_filter_new_connection",
    "envoy_dynamic_module_on_network_filter_read",
    "envoy_dynamic_module_on_network_filter_write",
    "envoy_dynamic_module_on_network_filter_event",
    "envoy_dynamic_module_on_network_filter_destroy",
];

/// The prefix of every hook a module exports.
pub const HOOK_PREFIX: &str = "envoy_dynamic_module_on_";

/// The prefix of the functions Envoy provides to modules (resolved when it loads one).
pub const CALLBACK_PREFIX: &str = "envoy_dynamic_module_callback_";

/// Where the platform of a native module is written: OCI's `os` and `architecture`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux` (the only OS whose modules this tool reads: ELF).
    pub os: String,
    /// `amd64`, `arm64`... (GOARCH names, as OCI uses them).
    pub architecture: String,
}

impl Platform {
    /// The machine this tool runs on.
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            other => other,
        };
        Platform {
            os: std::env::consts::OS.to_owned(),
            architecture: architecture.to_owned(),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)
    }
}

/// What a native module holds, read from the file alone.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeModule {
    /// The platform it was built for.
    pub platform: Platform,
    /// Whether it is a shared library (`ET_DYN`), which Envoy can `dlopen`.
    pub shared_library: bool,
    /// Every function it exports, in symbol table order.
    pub exports: Vec<String>,
    /// How many `envoy_dynamic_module_callback_*` functions it leaves for Envoy.
    pub callbacks: usize,
    /// The dynamic modules ABI version it announces, as the SDK records it in the
    /// `proxylet.runtime_config` section (`abiVersions`); `None` for a module proxylet did
    /// not build.
    pub abi_version: Option<String>,
    /// `runtime-config.json` from the `proxylet.runtime_config` section, if any.
    pub runtime_config: Option<RuntimeConfig>,
    /// The config schemas from the `proxylet.config_schema` section.
    pub config_schemas: Vec<(String, Value)>,
}

impl NativeModule {
    /// Reads a native module; an error when it is not a readable ELF file, or when a
    /// proxylet section in it is malformed.
    pub fn read(bytes: &[u8]) -> Result<NativeModule> {
        let elf = Elf::parse(bytes)?;
        let symbols = elf.dynamic_symbols()?;
        let exports: Vec<String> = symbols
            .iter()
            .filter(|s| s.exported && s.function)
            .map(|s| s.name.clone())
            .collect();
        let callbacks = symbols
            .iter()
            .filter(|s| !s.defined && s.name.starts_with(CALLBACK_PREFIX))
            .count();
        let runtime_config = runtime_config(&elf)?;
        let abi_version = runtime_config
            .as_ref()
            .and_then(|c| c.abi_versions.first().cloned());
        Ok(NativeModule {
            platform: Platform {
                os: "linux".into(),
                architecture: elf.architecture(),
            },
            shared_library: elf.file_type == ET_DYN,
            exports,
            callbacks,
            abi_version,
            runtime_config,
            config_schemas: config_schemas(&elf)?,
        })
    }

    /// The root ids it declares, if it carries a runtime config.
    pub fn root_ids(&self) -> Option<&[String]> {
        self.runtime_config
            .as_ref()
            .map(|c| c.config.root_ids.as_slice())
    }

    /// The exported hooks (`envoy_dynamic_module_on_*`): the required ones in the order
    /// of Envoy's lists, then the others by name.
    pub fn hooks(&self) -> Vec<&str> {
        let order: Vec<&str> = std::iter::once(PROGRAM_INIT)
            .chain(REQUIRED_HTTP_FILTER_HOOKS)
            .chain(REQUIRED_NETWORK_FILTER_HOOKS)
            .collect();
        let mut hooks: Vec<&str> = self
            .exports
            .iter()
            .map(String::as_str)
            .filter(|e| e.starts_with(HOOK_PREFIX))
            .collect();
        hooks.sort_by_key(|hook| {
            let rank = order.iter().position(|o| o == hook).unwrap_or(order.len());
            (rank, *hook)
        });
        hooks
    }

    /// The hooks Envoy requires of this module: [`PROGRAM_INIT`] and those of an HTTP
    /// filter module, or of a network filter module when it exports network filter hooks
    /// and no HTTP ones.
    pub fn required_hooks(&self) -> Vec<&'static str> {
        let exports_any = |prefix: &str| self.exports.iter().any(|e| e.starts_with(prefix));
        let network_only = exports_any("envoy_dynamic_module_on_network_filter_")
            && !exports_any("envoy_dynamic_module_on_http_filter_");
        let filter_hooks: &[&'static str] = if network_only {
            &REQUIRED_NETWORK_FILTER_HOOKS
        } else {
            &REQUIRED_HTTP_FILTER_HOOKS
        };
        std::iter::once(PROGRAM_INIT)
            .chain(filter_hooks.iter().copied())
            .collect()
    }

    /// Whether the required hooks are those of a network filter module.
    pub fn is_network_filter(&self) -> bool {
        self.required_hooks()
            .contains(&"envoy_dynamic_module_on_network_filter_new")
    }

    /// The [required hooks](Self::required_hooks) it lacks.
    pub fn missing_hooks(&self) -> Vec<&'static str> {
        self.required_hooks()
            .into_iter()
            .filter(|hook| !self.exports.iter().any(|e| e == hook))
            .collect()
    }

    /// The config schema of filter `root_id` (an empty one picks the only schema).
    pub fn config_schema_for(&self, root_id: &str) -> Option<&Value> {
        if root_id.is_empty() && self.config_schemas.len() == 1 {
            return self.config_schemas.first().map(|(_, schema)| schema);
        }
        self.config_schemas
            .iter()
            .find(|(id, _)| id == root_id)
            .map(|(_, schema)| schema)
    }
}

fn section_data<'a>(elf: &Elf<'a>, name: &str) -> Result<Option<&'a [u8]>> {
    elf.section(name)
        .map(|section| elf.section_data(section))
        .transpose()
}

fn runtime_config(elf: &Elf<'_>) -> Result<Option<RuntimeConfig>> {
    let Some(raw) = section_data(elf, proxylet_artifact::RUNTIME_CONFIG_SECTION)? else {
        return Ok(None);
    };
    serde_json::from_slice(raw).map(Some).map_err(|e| {
        err!(
            "the `{}` section is not valid runtime config: {e}",
            proxylet_artifact::RUNTIME_CONFIG_SECTION
        )
    })
}

fn config_schemas(elf: &Elf<'_>) -> Result<Vec<(String, Value)>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Line {
        root_id: String,
        schema: Value,
    }

    let Some(raw) = section_data(elf, proxylet_artifact::CONFIG_SCHEMA_SECTION)? else {
        return Ok(Vec::new());
    };
    // The format of the wasm custom section: a `{"rootId":…,"schema":…}` line per filter.
    let mut out = Vec::new();
    for line in raw.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line: Line = serde_json::from_slice(line).map_err(|e| {
            err!(
                "the `{}` section is malformed ({e}); rebuild the module with proxylet",
                proxylet_artifact::CONFIG_SCHEMA_SECTION
            )
        })?;
        out.push((line.root_id, line.schema));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::tests_support::shared_object;

    fn exports_all() -> Vec<&'static str> {
        std::iter::once(PROGRAM_INIT)
            .chain(REQUIRED_HTTP_FILTER_HOOKS)
            .collect()
    }

    #[test]
    fn a_module_with_every_hook_and_proxylet_sections_reads_whole() {
        let runtime = br#"{"type":"envoy_proxy","abiVersions":["v0.2.0"],"config":{"rootIds":["add_header"]}}"#;
        let schema = b"{\"rootId\":\"add_header\",\"schema\":{\"type\":\"object\"}}\n";
        let mut exports = exports_all();
        exports.push("!envoy_dynamic_module_callback_http_get_header");
        let so = shared_object(
            &[
                (".rodata", 2, 0x1000, b"abc\0v0.2.0\0xyz"),
                (
                    proxylet_artifact::RUNTIME_CONFIG_SECTION,
                    2,
                    0x2000,
                    runtime,
                ),
                (proxylet_artifact::CONFIG_SCHEMA_SECTION, 2, 0x3000, schema),
            ],
            &exports,
        );
        let module = NativeModule::read(&so).unwrap();
        assert_eq!(module.platform.to_string(), "linux/amd64");
        assert!(module.shared_library);
        assert_eq!(module.missing_hooks(), Vec::<&str>::new());
        assert_eq!(module.hooks().len(), 21);
        assert_eq!(module.callbacks, 1);
        assert_eq!(module.abi_version.as_deref(), Some("v0.2.0"));
        assert_eq!(module.root_ids(), Some(&["add_header".to_owned()][..]));
        assert_eq!(
            module.config_schema_for(""),
            Some(&serde_json::json!({"type": "object"}))
        );
        assert!(!module.is_network_filter());
    }

    #[test]
    fn missing_hooks_are_reported_and_a_foreign_module_has_no_abi_version() {
        let so = shared_object(
            &[(".rodata", 2, 0x1000, b"\0v0.2.0\0v0.3.0\0v1\0")],
            &[PROGRAM_INIT, "envoy_dynamic_module_on_http_filter_new"],
        );
        let module = NativeModule::read(&so).unwrap();
        let missing = module.missing_hooks();
        assert_eq!(missing.len(), 19);
        assert!(missing.contains(&"envoy_dynamic_module_on_http_filter_scheduled"));
        assert_eq!(module.abi_version, None);
        assert_eq!(module.runtime_config, None);
    }

    #[test]
    fn a_module_with_network_filter_hooks_only_is_checked_as_a_network_filter() {
        let exports: Vec<&str> = std::iter::once(PROGRAM_INIT)
            .chain(REQUIRED_NETWORK_FILTER_HOOKS)
            .collect();
        let module = NativeModule::read(&shared_object(&[], &exports)).unwrap();
        assert!(module.is_network_filter());
        assert_eq!(module.required_hooks().len(), 9);
        assert_eq!(module.missing_hooks(), Vec::<&str>::new());
        // One HTTP hook makes it an HTTP filter module, which then lacks the others.
        let mut both = exports.clone();
        both.push("envoy_dynamic_module_on_http_filter_new");
        let module = NativeModule::read(&shared_object(&[], &both)).unwrap();
        assert!(!module.is_network_filter());
        assert_eq!(module.missing_hooks().len(), 19);
    }
}
