//! `cargo proxylet check FILE.wasm`: what a module offers a proxy-wasm host and what it
//! needs from it.
//!
//! - the proxy-wasm ABI versions it exports (`proxy_abi_version_*`): none is an error,
//!   Envoy refuses such a module;
//! - every import outside the proxy-wasm ABI 0.2.1 host functions (module `env`) and WASI
//!   preview 1 (`wasi_snapshot_preview1`) is an error: Envoy refuses to instantiate a
//!   module with an import it does not provide;
//! - the root ids and the config schema the module carries, and its size.
//!
//! A native module (`lib<crate>.so`, `build --native`) gets its own report
//! ([`check_native`]): the `envoy_dynamic_module_on_*` hooks it exports against the ones
//! Envoy requires (a missing one is an error: Envoy refuses the module naming it), the ABI
//! version it announces and how that was read ([`crate::native`]), its platform, root ids
//! and config schemas.

use std::collections::BTreeMap;

use proxylet_artifact::ConfigFormat;
use serde_json::{json, Value};

use crate::wasm::{imports_and_exports, Import, Kind};
use crate::{err, Result};

/// The host functions of proxy-wasm ABI v0.2.1 (imported from module `env`), as listed
/// in the specification (`abi-versions/v0.2.1/README.md`).
pub const PROXY_WASM_0_2_1_HOST_FUNCTIONS: &[&str] = &[
    "proxy_done",
    "proxy_set_effective_context",
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
    "proxy_set_tick_period_milliseconds",
    "proxy_set_buffer_bytes",
    "proxy_get_buffer_bytes",
    "proxy_get_buffer_status",
    "proxy_get_header_map_size",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_value",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_continue_stream",
    "proxy_close_stream",
    "proxy_get_status",
    "proxy_send_local_response",
    "proxy_http_call",
    "proxy_grpc_call",
    "proxy_grpc_stream",
    "proxy_grpc_send",
    "proxy_grpc_cancel",
    "proxy_grpc_close",
    "proxy_set_shared_data",
    "proxy_get_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_define_metric",
    "proxy_record_metric",
    "proxy_increment_metric",
    "proxy_get_metric",
    "proxy_get_property",
    "proxy_set_property",
    "proxy_call_foreign_function",
];

/// The functions of WASI preview 1 (`wasi_snapshot_preview1`).
pub const WASI_PREVIEW1_FUNCTIONS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The module will not load (or not work) in Envoy.
    Error,
    /// Worth knowing; the module may still work.
    Warning,
}

/// One finding of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// What, and what to do.
    pub message: String,
}

/// What [`check`] found out about a module.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex (what Envoy's `vm_config.code.remote.sha256` wants).
    pub sha256: String,
    /// ABI versions exported as `proxy_abi_version_X_Y_Z`, as `X.Y.Z`.
    pub abi_versions: Vec<String>,
    /// Root ids from the runtime config section, if the module has one.
    pub root_ids: Option<Vec<String>>,
    /// The config schemas the module carries, as `(root id, schema)`.
    pub config_schemas: Vec<(String, Value)>,
    /// The filters that read their configuration as text or bytes, by root id (from the
    /// runtime config); the others take JSON.
    pub config_formats: BTreeMap<String, ConfigFormat>,
    /// Every import, with `true` when it is outside proxy-wasm 0.2.1 + WASI preview 1.
    pub imports: Vec<(Import, bool)>,
    /// Exported function names.
    pub exports: Vec<String>,
    /// Problems, errors first.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The report as JSON (for `check --json`).
    pub fn to_json(&self) -> Value {
        json!({
            "size": self.size,
            "sha256": self.sha256,
            "abiVersions": self.abi_versions,
            "rootIds": self.root_ids,
            "configSchemas": self.config_schemas.iter().cloned().collect::<serde_json::Map<_, _>>(),
            "configFormats": self.config_formats,
            "imports": self.imports.iter().map(|(i, flagged)| json!({
                "module": i.module, "name": i.name, "kind": i.kind.as_str(), "flagged": flagged,
            })).collect::<Vec<_>>(),
            "exports": self.exports,
            "findings": self.findings.iter().map(|f| json!({
                "severity": match f.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": f.message,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Checks a module; see the [module docs](self). An error only when the bytes are not a
/// readable module.
pub fn check(wasm: &[u8]) -> Result<Report> {
    let (imports, exports) = imports_and_exports(wasm)?;
    let mut findings = Vec::new();

    let abi_versions: Vec<String> = exports
        .iter()
        .filter(|e| e.kind == Kind::Func)
        .filter_map(|e| e.name.strip_prefix("proxy_abi_version_"))
        .map(|v| v.replace('_', "."))
        .collect();
    if abi_versions.is_empty() {
        findings.push(Finding {
            severity: Severity::Error,
            message: "exports no `proxy_abi_version_*` function: Envoy refuses the module \
                      (\"Wasm module has no ABI version\"); build it with proxylet or another \
                      proxy-wasm SDK"
                .into(),
        });
    } else if !abi_versions.iter().any(|v| v == "0.2.1") {
        findings.push(Finding {
            severity: Severity::Warning,
            message: format!(
                "implements proxy-wasm ABI {} but not 0.2.1; imports are checked against 0.2.1",
                abi_versions.join(", ")
            ),
        });
    }

    let mut checked = Vec::new();
    for import in imports {
        let flagged = match (import.module.as_str(), import.kind) {
            ("env", Kind::Func) => !PROXY_WASM_0_2_1_HOST_FUNCTIONS.contains(&import.name.as_str()),
            ("wasi_snapshot_preview1", Kind::Func) => {
                !WASI_PREVIEW1_FUNCTIONS.contains(&import.name.as_str())
            }
            _ => true,
        };
        if flagged {
            let what = match import.module.as_str() {
                "env" if import.kind == Kind::Func => "is not a proxy-wasm ABI 0.2.1 host function",
                "wasi_snapshot_preview1" if import.kind == Kind::Func => {
                    "is not a WASI preview 1 function"
                }
                _ => "is outside proxy-wasm 0.2.1 and WASI preview 1",
            };
            findings.push(Finding {
                severity: Severity::Error,
                message: format!(
                    "imports {} `{}.{}`, which {what}: Envoy refuses to load a module with an \
                     import it does not provide; remove the code (or dependency) that needs it",
                    import.kind.as_str(),
                    import.module,
                    import.name
                ),
            });
        }
        checked.push((import, flagged));
    }

    let exported = |name: &str| exports.iter().any(|e| e.name == name);
    if !exported("memory") {
        findings.push(Finding {
            severity: Severity::Error,
            message: "exports no `memory`: the host cannot exchange data with the module".into(),
        });
    }
    if !exported("_initialize") && !exported("_start") {
        findings.push(Finding {
            severity: Severity::Warning,
            message: "exports neither `_initialize` nor `_start`: nothing registers the filter \
                      when the VM starts (a proxylet module exports `_initialize`)"
                .into(),
        });
    }

    let mut config_formats = BTreeMap::new();
    let root_ids = match proxylet_artifact::runtime_config(wasm) {
        Ok(config) => {
            config_formats = config.config.config_formats;
            Some(config.config.root_ids)
        }
        Err(proxylet_artifact::Error::NoRuntimeConfig) => {
            findings.push(Finding {
                severity: Severity::Warning,
                message: format!(
                    "carries no `{}` section, so its root ids are unknown (it was not built with \
                     proxylet)",
                    proxylet_artifact::RUNTIME_CONFIG_SECTION
                ),
            });
            None
        }
        Err(e) => {
            findings.push(Finding {
                severity: Severity::Error,
                message: e.to_string(),
            });
            None
        }
    };
    let config_schemas = match proxylet_artifact::config_schemas(wasm) {
        Ok(schemas) => schemas,
        Err(e) => {
            findings.push(Finding {
                severity: Severity::Error,
                message: e.to_string(),
            });
            Vec::new()
        }
    };
    findings.sort_by_key(|f| f.severity != Severity::Error);

    Ok(Report {
        size: wasm.len() as u64,
        sha256: crate::image::sha256_hex(wasm),
        abi_versions,
        root_ids,
        config_schemas,
        config_formats,
        imports: checked,
        exports: exports
            .into_iter()
            .filter(|e| e.kind == Kind::Func)
            .map(|e| e.name)
            .collect(),
        findings,
    })
}

/// The report for people.
pub fn render(name: &str, report: &Report) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: String| out.push_str(&format!("{key:>14}  {value}\n"));
    line(
        "module",
        format!(
            "{name} ({}, {} bytes)",
            crate::shell::size(report.size),
            report.size
        ),
    );
    line("sha256", report.sha256.clone());
    line(
        "abi",
        if report.abi_versions.is_empty() {
            "none exported".into()
        } else {
            report
                .abi_versions
                .iter()
                .map(|v| format!("proxy-wasm {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    line(
        "root ids",
        match &report.root_ids {
            Some(ids) => ids.join(", "),
            None => "unknown".into(),
        },
    );
    let flagged = report.imports.iter().filter(|(_, f)| *f).count();
    let mut by_module: Vec<(String, usize)> = Vec::new();
    for (import, _) in &report.imports {
        match by_module.iter_mut().find(|(m, _)| *m == import.module) {
            Some((_, n)) => *n += 1,
            None => by_module.push((import.module.clone(), 1)),
        }
    }
    line(
        "imports",
        format!(
            "{} ({}), {flagged} flagged",
            report.imports.len(),
            by_module
                .iter()
                .map(|(m, n)| format!("{n} from {m}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let hooks: Vec<&str> = report
        .exports
        .iter()
        .filter(|e| e.starts_with("proxy_on_"))
        .map(String::as_str)
        .collect();
    line(
        "callbacks",
        format!("{} exported: {}", hooks.len(), hooks.join(", ")),
    );
    if report.config_schemas.is_empty() {
        line(
            "config schema",
            "none (the module carries no proxylet.config_schema section)".into(),
        );
    }
    for (root_id, schema) in &report.config_schemas {
        line(
            "config schema",
            format!("{root_id}: {}", schema_summary(schema)),
        );
    }
    for (root_id, format) in &report.config_formats {
        line("config", format_summary(root_id, *format));
    }
    if report.findings.is_empty() {
        out.push_str("\nok: loadable by Envoy (proxy-wasm 0.2.1, WASI preview 1)\n");
    } else {
        out.push('\n');
        for finding in &report.findings {
            let label = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            out.push_str(&format!("{label}: {}\n", finding.message));
        }
    }
    out
}

/// `banner: text, passed on as it is (a `String` config; no schema)`.
fn format_summary(root_id: &str, format: ConfigFormat) -> String {
    let ty = match format {
        ConfigFormat::Text => "a `String` config, UTF-8",
        ConfigFormat::Bytes => "a `Vec<u8>` config",
        ConfigFormat::Json => "parsed",
    };
    format!("{root_id}: {format}, passed on as it is ({ty}; no schema)")
}

/// `object: name (string, default "hello"), value (string, default "melon")`.
fn schema_summary(schema: &Value) -> String {
    let kind = schema["type"].as_str().unwrap_or("any");
    let Some(properties) = schema["properties"].as_object() else {
        return kind.to_owned();
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields: Vec<String> = properties
        .iter()
        .map(|(name, field)| {
            let mut parts = vec![match &field["type"] {
                Value::String(t) => t.clone(),
                Value::Array(ts) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("|"),
                _ if field.get("enum").is_some() => format!("one of {}", field["enum"]),
                _ if field.get("$ref").is_some() => field["$ref"]
                    .as_str()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_owned(),
                _ => "any".into(),
            }];
            if required.contains(&name.as_str()) {
                parts.push("required".into());
            }
            if let Some(default) = field.get("default") {
                parts.push(format!("default {default}"));
            }
            format!("{name} ({})", parts.join(", "))
        })
        .collect();
    format!("{kind}: {}", fields.join(", "))
}

/// What [`check_native`] found out about a native module.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeReport {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// What the file holds.
    pub module: crate::native::NativeModule,
    /// The hooks checked as required (those of an HTTP filter module, or of a network one).
    pub required: Vec<&'static str>,
    /// The required hooks it lacks.
    pub missing: Vec<&'static str>,
    /// Problems, errors first.
    pub findings: Vec<Finding>,
}

impl NativeReport {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The report as JSON (for `check --json`).
    pub fn to_json(&self) -> Value {
        let module = &self.module;
        json!({
            "target": "native",
            "size": self.size,
            "sha256": self.sha256,
            "platform": { "os": module.platform.os, "architecture": module.platform.architecture },
            "sharedLibrary": module.shared_library,
            "abiVersion": module.abi_version,
            "rootIds": module.root_ids(),
            "configSchemas": module.config_schemas.iter().cloned().collect::<serde_json::Map<_, _>>(),
            "configFormats": module.runtime_config.as_ref().map(|c| &c.config.config_formats),
            "hooks": module.hooks(),
            "missingHooks": self.missing,
            "exports": module.exports,
            "callbacks": module.callbacks,
            "findings": self.findings.iter().map(|f| json!({
                "severity": match f.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": f.message,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Checks a native module (an Envoy dynamic module); see the [module docs](self). An error
/// only when the bytes are not a readable ELF file.
pub fn check_native(bytes: &[u8]) -> Result<NativeReport> {
    use crate::native::{Platform, ENVOY_1_40_ABI_VERSION};
    let module = crate::native::NativeModule::read(bytes)?;
    let mut findings = Vec::new();
    if !module.shared_library {
        findings.push(Finding {
            severity: Severity::Error,
            message: "is an ELF file but not a shared library: Envoy loads modules with dlopen;                       build the crate as a `cdylib` (`cargo proxylet build --native`)"
                .into(),
        });
    }
    let required = module.required_hooks();
    let missing = module.missing_hooks();
    for hook in &missing {
        findings.push(Finding {
            severity: Severity::Error,
            message: format!(
                "does not export `{hook}`: Envoy refuses the module (\"Failed to resolve symbol \
                 {hook}\"); build it with proxylet, which exports every hook Envoy requires"
            ),
        });
    }
    match &module.abi_version {
        None => findings.push(Finding {
            severity: Severity::Warning,
            message: "records no ABI version (the `proxylet.runtime_config` section proxylet \
                      writes): not a proxylet module, so this tool cannot tell which ABI it speaks"
                .into(),
        }),
        Some(version) if version != ENVOY_1_40_ABI_VERSION => findings.push(Finding {
            severity: Severity::Warning,
            message: format!(
                "announces ABI {version}, not {ENVOY_1_40_ABI_VERSION} (Envoy 1.40's): Envoy loads it \
                 with a warning only, but hooks and callbacks may not match"
            ),
        }),
        Some(_) => {}
    }
    let host = Platform::host();
    if module.platform != host {
        findings.push(Finding {
            severity: Severity::Warning,
            message: format!(
                "is built for {}, so an Envoy on this machine ({host}) cannot load it",
                module.platform
            ),
        });
    }
    if module.runtime_config.is_none() {
        findings.push(Finding {
            severity: Severity::Warning,
            message: format!(
                "carries no `{}` section, so its root ids (Envoy's filter_name) are unknown (it \
                 was not built with proxylet, or with one older than its native target)",
                proxylet_artifact::RUNTIME_CONFIG_SECTION
            ),
        });
    }
    findings.sort_by_key(|f| f.severity != Severity::Error);
    Ok(NativeReport {
        size: bytes.len() as u64,
        sha256: crate::image::sha256_hex(bytes),
        module,
        required,
        missing,
        findings,
    })
}

/// The native report for people.
pub fn render_native(name: &str, report: &NativeReport) -> String {
    let module = &report.module;
    let mut out = String::new();
    let mut line = |key: &str, value: String| out.push_str(&format!("{key:>14}  {value}\n"));
    line(
        "module",
        format!(
            "{name} ({}, {} bytes)",
            crate::shell::size(report.size),
            report.size
        ),
    );
    line("sha256", report.sha256.clone());
    line(
        "target",
        format!(
            "native: an Envoy dynamic module ({}), {}",
            if module.shared_library {
                "ELF shared library"
            } else {
                "ELF, not a shared library"
            },
            module.platform
        ),
    );
    line(
        "abi",
        match &module.abi_version {
            Some(version) => format!("Envoy dynamic modules {version}"),
            None => "unknown (not built by proxylet)".into(),
        },
    );
    line(
        "root ids",
        match module.root_ids() {
            Some(ids) => ids.join(", "),
            None => "unknown".into(),
        },
    );
    let hooks = module.hooks();
    let kind = if module.is_network_filter() {
        "a network filter"
    } else {
        "an HTTP filter"
    };
    line(
        "hooks",
        format!(
            "{} exported; {} of the {} {kind} module needs",
            hooks.len(),
            report.required.len() - report.missing.len(),
            report.required.len()
        ),
    );
    for hook in &hooks {
        let mark = if report.required.contains(hook) {
            ""
        } else {
            " (optional)"
        };
        line("", format!("{hook}{mark}"));
    }
    line(
        "callbacks",
        format!(
            "{} envoy_dynamic_module_callback_* functions, resolved by Envoy when it loads the module",
            module.callbacks
        ),
    );
    if module.config_schemas.is_empty() {
        line(
            "config schema",
            "none (the module carries no proxylet.config_schema section)".into(),
        );
    }
    for (root_id, schema) in &module.config_schemas {
        line(
            "config schema",
            format!("{root_id}: {}", schema_summary(schema)),
        );
    }
    let formats = module
        .runtime_config
        .as_ref()
        .map(|c| &c.config.config_formats);
    for (root_id, format) in formats.into_iter().flatten() {
        line("config", format_summary(root_id, *format));
    }
    if report.findings.is_empty() {
        out.push_str(&format!(
            "\nok: loadable by Envoy 1.40 (envoy.filters.http.dynamic_modules, ABI {})\n",
            crate::native::ENVOY_1_40_ABI_VERSION
        ));
    } else {
        out.push('\n');
        for finding in &report.findings {
            let label = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            out.push_str(&format!("{label}: {}\n", finding.message));
        }
    }
    out
}

/// Reads and checks a module file.
pub fn check_file(path: &std::path::Path) -> Result<Report> {
    let wasm = crate::error::read(path)?;
    check(&wasm).map_err(|e| err!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasm::tests_support::{module, with_custom_section};

    #[test]
    fn a_clean_module_has_no_findings() {
        let wasm = module(
            &[("env", "proxy_log"), ("wasi_snapshot_preview1", "fd_write")],
            &[
                "proxy_abi_version_0_2_1",
                "_initialize",
                "proxy_on_response_headers",
            ],
        );
        let wasm = with_custom_section(
            wasm,
            proxylet_artifact::RUNTIME_CONFIG_SECTION,
            br#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["a"]}}"#,
        );
        let report = check(&wasm).unwrap();
        assert_eq!(report.findings, []);
        assert_eq!(report.abi_versions, ["0.2.1"]);
        assert_eq!(report.root_ids, Some(vec!["a".to_owned()]));
        let text = render("a.wasm", &report);
        assert!(text.contains("ok: loadable by Envoy"), "{text}");
        assert!(text.contains("proxy_on_response_headers"), "{text}");
    }

    #[test]
    fn foreign_imports_and_a_missing_abi_are_errors() {
        let wasm = module(
            &[
                ("env", "proxy_log"),
                ("env", "emscripten_notify"),
                ("wasi_snapshot_preview1", "fd_teleport"),
                ("wasi_unstable", "fd_write"),
            ],
            &["_start"],
        );
        let report = check(&wasm).unwrap();
        assert!(report.has_errors());
        let errors: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].contains("proxy_abi_version_"));
        assert!(errors[1].contains(
            "`env.emscripten_notify`, which is not a proxy-wasm ABI 0.2.1 host function"
        ));
        assert!(errors[2].contains(
            "`wasi_snapshot_preview1.fd_teleport`, which is not a WASI preview 1 function"
        ));
        assert!(errors[3].contains("`wasi_unstable.fd_write`"));
        let flagged: Vec<bool> = report.imports.iter().map(|(_, f)| *f).collect();
        assert_eq!(flagged, [false, true, true, true]);
    }
}
