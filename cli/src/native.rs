//! Native modules: a `#[filter]` crate built for the host (`cargo proxylet build
//! --native`) is an Envoy dynamic module, an ELF shared library `lib<crate>.so` that
//! `envoy.filters.http.dynamic_modules` loads, with `filter_name` = the root id and
//! `filter_config` = the same JSON as for wasm.
//!
//! What this module reads from such a file ([`NativeModule::read`], with the `object`
//! crate's ELF reader; the file is never loaded or run):
//!
//! - the hooks it exports (`envoy_dynamic_module_on_*`, from `.dynsym`), against the ones
//!   Envoy 1.40 requires ([`PROGRAM_INIT`], [`REQUIRED_HTTP_FILTER_HOOKS`]), and the
//!   `envoy_dynamic_module_callback_*` functions it leaves for Envoy to resolve;
//! - the ABI version it announces, as the SDK records it in `proxylet.runtime_config`;
//! - its platform (OCI `os`/`architecture`, from the ELF header);
//! - its root ids and config schemas: the SDK writes the same `proxylet.runtime_config`
//!   and `proxylet.config_schema` sections as in a wasm module, as ELF sections.

use object::elf;
use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::{Endianness, FileKind};
use proxylet_artifact::RuntimeConfig;
use serde::Deserialize;
use serde_json::Value;

use crate::{err, Error, Result};

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

/// Whether `bytes` start like an ELF file (`\x7fELF`), the format of native modules.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(&elf::ELFMAG)
}

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
        if !is_elf(bytes) {
            return Err(err!("not an ELF file (no `\\x7fELF` header)"));
        }
        match FileKind::parse(bytes).map_err(malformed)? {
            FileKind::Elf32 => read_elf::<elf::FileHeader32<Endianness>>(bytes),
            FileKind::Elf64 => read_elf::<elf::FileHeader64<Endianness>>(bytes),
            _ => Err(err!("malformed ELF file: unknown class")),
        }
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

fn malformed(error: object::Error) -> Error {
    err!("malformed ELF file: {error}")
}

/// [`NativeModule::read`] for one ELF class; every bounds check is `object`'s, so a
/// malformed file is an error, never a panic.
fn read_elf<Elf: FileHeader<Endian = Endianness>>(bytes: &[u8]) -> Result<NativeModule> {
    let header = Elf::parse(bytes).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let sections = header.sections(endian, bytes).map_err(malformed)?;
    let section = |name: &str| {
        sections
            .section_by_name(endian, name.as_bytes())
            .map(|(_, section)| section.data(endian, bytes).map_err(malformed))
            .transpose()
    };
    // `.dynsym`, what the loader sees; entry 0 is the reserved null symbol.
    let symbols = sections
        .symbols(endian, bytes, elf::SHT_DYNSYM)
        .map_err(malformed)?;
    let mut exports = Vec::new();
    let mut callbacks = 0;
    for symbol in symbols.iter().skip(1) {
        let name = symbol.name(endian, symbols.strings()).map_err(malformed)?;
        let name = String::from_utf8_lossy(name);
        if symbol.is_undefined(endian) {
            callbacks += usize::from(name.starts_with(CALLBACK_PREFIX));
            continue;
        }
        let function = matches!(symbol.st_type(), elf::STT_FUNC | elf::STT_GNU_IFUNC);
        let visible = matches!(symbol.st_bind(), elf::STB_GLOBAL | elf::STB_WEAK)
            && matches!(
                symbol.st_visibility(),
                elf::STV_DEFAULT | elf::STV_PROTECTED
            );
        if function && visible {
            exports.push(name.into_owned());
        }
    }
    let runtime_config = runtime_config(section(proxylet_artifact::RUNTIME_CONFIG_SECTION)?)?;
    let abi_version = runtime_config
        .as_ref()
        .and_then(|c| c.abi_versions.first().cloned());
    Ok(NativeModule {
        platform: Platform {
            os: "linux".into(),
            architecture: architecture(
                header.e_machine(endian),
                header.is_type_64(),
                header.is_little_endian(),
            ),
        },
        shared_library: header.e_type(endian) == elf::ET_DYN,
        exports,
        callbacks,
        abi_version,
        runtime_config,
        config_schemas: config_schemas(section(proxylet_artifact::CONFIG_SCHEMA_SECTION)?)?,
    })
}

/// The GOARCH-style name OCI uses for an ELF machine (`amd64`, `arm64`...), or
/// `machine-N` for one this tool does not know.
fn architecture(machine: u16, is_64: bool, little_endian: bool) -> String {
    let name = match (machine, is_64, little_endian) {
        (elf::EM_X86_64, true, _) => "amd64",
        (elf::EM_AARCH64, true, _) => "arm64",
        (elf::EM_386, false, _) => "386",
        (elf::EM_ARM, false, _) => "arm",
        (elf::EM_RISCV, true, _) => "riscv64",
        (elf::EM_PPC64, true, true) => "ppc64le",
        (elf::EM_PPC64, true, false) => "ppc64",
        (elf::EM_S390, true, _) => "s390x",
        (other, _, _) => return format!("machine-{other}"),
    };
    name.into()
}

fn runtime_config(section: Option<&[u8]>) -> Result<Option<RuntimeConfig>> {
    let Some(raw) = section else {
        return Ok(None);
    };
    serde_json::from_slice(raw).map(Some).map_err(|e| {
        err!(
            "the `{}` section is not valid runtime config: {e}",
            proxylet_artifact::RUNTIME_CONFIG_SECTION
        )
    })
}

fn config_schemas(section: Option<&[u8]>) -> Result<Vec<(String, Value)>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Line {
        root_id: String,
        // None: a text or bytes configuration (`"format"`), which has no schema.
        schema: Option<Value>,
    }

    let Some(raw) = section else {
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
        if let Some(schema) = line.schema {
            out.push((line.root_id, schema));
        }
    }
    Ok(out)
}

/// Small hand-made native modules, for tests.
#[doc(hidden)]
pub mod tests_support {
    // Hand-written, not `object`'s `write` feature: as a dev-dependency that measured 2.2-2.7 s
    // more per cold test build, and `tests/native.rs` could not use it through the library.

    /// A little-endian ELF64 x86-64 shared object (`ET_DYN`) with the given sections and a
    /// `.dynsym` holding each of `exports` as a global function (left undefined, for the
    /// loader to resolve, when the name starts with `!`). No program headers: enough for a
    /// reader, not for a loader.
    pub fn shared_object(sections: &[(&str, &[u8])], exports: &[&str]) -> Vec<u8> {
        let mut dynstr = vec![0u8];
        let mut dynsym = vec![0u8; 24]; // Entry 0: the null symbol.
        for export in exports {
            let (shndx, name) = match export.strip_prefix('!') {
                Some(name) => (0u16, name), // SHN_UNDEF
                None => (1, *export),
            };
            dynsym.extend_from_slice(&(dynstr.len() as u32).to_le_bytes());
            dynsym.extend_from_slice(&[0x12, 0]); // STB_GLOBAL, STT_FUNC; STV_DEFAULT
            dynsym.extend_from_slice(&shndx.to_le_bytes());
            dynsym.extend_from_slice(&0u64.to_le_bytes()); // st_value
            dynsym.extend_from_slice(&1u64.to_le_bytes()); // st_size
            dynstr.extend_from_slice(name.as_bytes());
            dynstr.push(0);
        }
        // (name, sh_type, sh_link, bytes) after the null section 0.
        let mut all: Vec<(&str, u32, u32, Vec<u8>)> = sections
            .iter()
            .map(|(name, data)| (*name, 1, 0, data.to_vec())) // SHT_PROGBITS
            .collect();
        let dynstr_index = all.len() as u32 + 2;
        all.push((".dynsym", 11, dynstr_index, dynsym));
        all.push((".dynstr", 3, 0, dynstr));
        all.push((".shstrtab", 3, 0, Vec::new()));
        let mut shstrtab = vec![0u8];
        let mut names = Vec::new();
        for (name, ..) in &all {
            names.push(shstrtab.len() as u32);
            shstrtab.extend_from_slice(name.as_bytes());
            shstrtab.push(0);
        }
        if let Some(last) = all.last_mut() {
            last.3 = shstrtab;
        }

        let mut file = vec![0u8; 64];
        let mut headers = vec![0u8; 64]; // The null section.
        for ((_, kind, link, data), name) in all.iter().zip(names) {
            file.resize(file.len().next_multiple_of(8), 0);
            let mut header = [0u8; 64];
            header[..4].copy_from_slice(&name.to_le_bytes());
            header[4..8].copy_from_slice(&kind.to_le_bytes());
            header[24..32].copy_from_slice(&(file.len() as u64).to_le_bytes());
            header[32..40].copy_from_slice(&(data.len() as u64).to_le_bytes());
            header[40..44].copy_from_slice(&link.to_le_bytes());
            headers.extend_from_slice(&header);
            file.extend_from_slice(data);
        }
        file.resize(file.len().next_multiple_of(8), 0);
        let shoff = file.len() as u64;
        file.extend_from_slice(&headers);
        let count = all.len() as u16 + 1;
        file[..7].copy_from_slice(b"\x7fELF\x02\x01\x01"); // 64-bit, little-endian, version 1
        file[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
        file[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        file[20..24].copy_from_slice(&1u32.to_le_bytes());
        file[40..48].copy_from_slice(&shoff.to_le_bytes());
        file[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        file[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
        file[60..62].copy_from_slice(&count.to_le_bytes());
        file[62..64].copy_from_slice(&(count - 1).to_le_bytes()); // .shstrtab is last
        file
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::shared_object;
    use super::*;

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
                (".rodata", b"abc\0v0.2.0\0xyz"),
                (proxylet_artifact::RUNTIME_CONFIG_SECTION, runtime),
                (proxylet_artifact::CONFIG_SCHEMA_SECTION, schema),
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
            &[(".rodata", b"\0v0.2.0\0v0.3.0\0v1\0")],
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

    #[test]
    fn exports_are_defined_global_functions_and_callbacks_are_undefined_imports() {
        let so = shared_object(
            &[],
            &[
                "!envoy_dynamic_module_callback_log",
                "!envoy_dynamic_module_callback_http_get_header",
                "!malloc",
                PROGRAM_INIT,
            ],
        );
        let module = NativeModule::read(&so).unwrap();
        assert_eq!(module.exports, [PROGRAM_INIT]);
        assert_eq!(module.callbacks, 2);
        assert_eq!(module.config_schemas, Vec::new());
    }

    #[test]
    fn an_unknown_machine_is_named_by_its_number() {
        let mut so = shared_object(&[], &[PROGRAM_INIT]);
        so[18..20].copy_from_slice(&0x1234u16.to_le_bytes());
        let module = NativeModule::read(&so).unwrap();
        assert_eq!(module.platform.to_string(), "linux/machine-4660");
        so[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        assert!(!NativeModule::read(&so).unwrap().shared_library);
    }

    #[test]
    fn truncated_or_foreign_files_are_errors_not_panics() {
        let so = shared_object(
            &[(proxylet_artifact::RUNTIME_CONFIG_SECTION, b"{}")],
            &[PROGRAM_INIT, "!envoy_dynamic_module_callback_log"],
        );
        for cut in 0..so.len() {
            assert!(NativeModule::read(&so[..cut]).is_err(), "cut at {cut}");
        }
        let not_elf = NativeModule::read(b"\0asm\x01\0\0\0").unwrap_err();
        assert!(
            not_elf.message().starts_with("not an ELF file"),
            "{not_elf}"
        );
        let mut bad_class = so.clone();
        bad_class[4] = 9;
        let error = NativeModule::read(&bad_class).unwrap_err();
        assert!(error.message().starts_with("malformed ELF file"), "{error}");
        let short = NativeModule::read(b"\x7fELF\x02\x01").unwrap_err();
        assert!(short.message().starts_with("malformed ELF file"), "{short}");
    }
}
