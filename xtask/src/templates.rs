//! `cargo xtask templates`: writes `cli/templates/`, the crates `cargo proxylet new`
//! creates, from the tested examples (`examples/*`). The CLI embeds that directory, so the
//! templates travel inside the published `cargo-proxylet` crate. The test at the bottom
//! fails when the directory is not what this generator makes from the examples, so the two
//! cannot drift.
//!
//! Each example becomes a standalone crate that builds anywhere:
//!
//! - `Cargo.toml` (stored as `Cargo.toml.template`: `cargo package` leaves out directories
//!   holding a `Cargo.toml`) has the workspace inheritance written out: proxylet's crates
//!   as `"0.1"` from crates.io (never a path), the other dependencies with the workspace's
//!   version requirements, the lints, the release profile that keeps modules small, and an
//!   empty `[workspace]`;
//! - the library is a `cdylib` only. The examples are also `rlib`s because other crates of
//!   this workspace link them natively, but with an `rlib` in the crate types rustc's LTO
//!   keeps every public symbol and a plain `cargo build --release --target wasm32-wasip1`
//!   gives a module 40% larger (188 KB instead of 134 KB for the flagship). A `cdylib`
//!   alone is small whatever command builds it;
//! - a `cdylib` cannot be linked by integration tests, so the example's tests that use the
//!   crate (`add_header::__PROXYLET_FILTERS`) become unit tests, `src/tests/<name>.rs`
//!   using `crate::`, declared at the end of `src/lib.rs`. Tests that only run the built
//!   module (in Envoy) stay in `tests/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml_edit::{value, Array, DocumentMut, Item, Table, Value};

use crate::Result;

/// The templates directory, relative to the workspace root.
pub(crate) const TEMPLATES_DIR: &str = "cli/templates";

/// The name the manifest is stored under in a template.
pub(crate) const MANIFEST: &str = "Cargo.toml.template";

/// Every template file, by path relative to [`TEMPLATES_DIR`] (`add-header/src/lib.rs`).
pub(crate) type Files = BTreeMap<String, Vec<u8>>;

/// What `cli/templates/` must hold, made from `examples/*` and the workspace manifest.
pub(crate) fn generate(root: &Path) -> Result<Files> {
    let workspace = read_text(&root.join("Cargo.toml"))?
        .parse::<DocumentMut>()
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    let mut files = Files::new();
    let examples = root.join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&examples)
        .map_err(|e| format!("reading {}: {e}", examples.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{} is not a UTF-8 name", dir.display()))?
            .to_owned();
        for (relative, bytes) in template(&dir, &name, &workspace)? {
            files.insert(format!("{name}/{relative}"), bytes);
        }
    }
    Ok(files)
}

/// What is in `cli/templates/` now.
pub(crate) fn current(root: &Path) -> Result<Files> {
    let dir = root.join(TEMPLATES_DIR);
    let mut files = Files::new();
    if dir.is_dir() {
        for (relative, path) in walk(&dir)? {
            let bytes =
                std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            files.insert(relative, bytes);
        }
    }
    Ok(files)
}

/// The paths where `current` and `generated` differ.
pub(crate) fn differences(current: &Files, generated: &Files) -> Vec<String> {
    let mut paths: Vec<&String> = current.keys().chain(generated.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| match (current.get(path), generated.get(path)) {
            (Some(a), Some(b)) if a == b => None,
            (Some(_), Some(_)) => Some(format!("{path} differs")),
            (Some(_), None) => Some(format!("{path} should not be there")),
            (None, _) => Some(format!("{path} is missing")),
        })
        .collect()
}

/// `cargo xtask templates`: replaces `cli/templates/` with what [`generate`] makes.
pub(crate) fn write(root: &Path) -> Result<()> {
    let generated = generate(root)?;
    let dir = root.join(TEMPLATES_DIR);
    let changed = differences(&current(root)?, &generated);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
    }
    for (relative, bytes) in &generated {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    if changed.is_empty() {
        eprintln!("{TEMPLATES_DIR} was up to date");
    } else {
        eprintln!("{TEMPLATES_DIR} updated:\n  {}", changed.join("\n  "));
    }
    Ok(())
}

/// One example's template files, by path relative to the template.
fn template(dir: &Path, name: &str, workspace: &DocumentMut) -> Result<Files> {
    let ident = name.replace('-', "_");
    let mut files = Files::new();
    let mut unit_tests = Vec::new();
    for (relative, path) in walk(dir)? {
        let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        if relative == "Cargo.toml" {
            let text =
                String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8", path.display()))?;
            let manifest =
                manifest(&text, workspace).map_err(|e| format!("{}: {e}", path.display()))?;
            files.insert(MANIFEST.to_owned(), manifest.into_bytes());
            continue;
        }
        let test_name = relative
            .strip_prefix("tests/")
            .and_then(|rest| rest.strip_suffix(".rs"))
            .filter(|rest| !rest.contains('/'));
        match (test_name, std::str::from_utf8(&bytes)) {
            (Some(test), Ok(text)) if names_crate(text, &ident) => {
                unit_tests.push(test.to_owned());
                files.insert(
                    format!("src/tests/{test}.rs"),
                    crate_paths(text, &ident).into_bytes(),
                );
            }
            _ => {
                files.insert(relative, bytes);
            }
        }
    }
    if !unit_tests.is_empty() {
        let lib = files
            .get_mut("src/lib.rs")
            .ok_or_else(|| format!("{} has tests but no src/lib.rs", dir.display()))?;
        let text = String::from_utf8_lossy(lib).into_owned();
        if text.contains("mod tests") {
            return Err(format!(
                "{}/src/lib.rs already has a `mod tests`; the template generator puts the \
                 example's tests there (rename it)",
                dir.display()
            ));
        }
        let mut text = text.trim_end().to_owned();
        text.push_str(
            "\n\n// The tests that link this filter natively (the test host) are unit tests: a \
             `cdylib`-only\n// crate cannot be linked by the integration tests in tests/, and a \
             `cdylib` alone keeps the\n// module small whatever command builds it.\n\
             #[cfg(test)]\nmod tests {\n",
        );
        for test in &unit_tests {
            text.push_str(&format!("    mod {test};\n"));
        }
        text.push_str("}\n");
        *lib = text.into_bytes();
    }
    Ok(files)
}

/// Whether Rust source `text` names the crate `ident` as a path (`ident::…`).
fn names_crate(text: &str, ident: &str) -> bool {
    crate_paths(text, ident) != text
}

/// `text` with every path starting at the crate (`ident::x`, not `other::ident::x`)
/// starting at `crate::` instead.
fn crate_paths(text: &str, ident: &str) -> String {
    let needle = format!("{ident}::");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let before = &rest[..at];
        let boundary = !before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        out.push_str(before);
        out.push_str(if boundary { "crate::" } else { &needle });
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// The example's manifest, standalone.
fn manifest(text: &str, workspace: &DocumentMut) -> Result<String> {
    let mut doc = text.parse::<DocumentMut>().map_err(|e| e.to_string())?;
    let ws_package = workspace["workspace"]["package"]
        .as_table()
        .ok_or("the workspace has no [workspace.package]")?;
    let ws_dependencies = workspace["workspace"]["dependencies"]
        .as_table()
        .ok_or("the workspace has no [workspace.dependencies]")?;
    let version = ws_package
        .get("version")
        .and_then(Item::as_str)
        .ok_or("the workspace has no package version")?;
    // proxylet's crates, as a user's crate asks for them: the release line.
    let release_line = version.split('.').take(2).collect::<Vec<_>>().join(".");

    let package = doc["package"].as_table_mut().ok_or("no [package] table")?;
    let keys: Vec<String> = package.iter().map(|(k, _)| k.to_owned()).collect();
    for key in keys {
        if inherits(&package[&key]) {
            let item = ws_package.get(&key).ok_or(format!(
                "`{key}` inherits from the workspace, which does not set it"
            ))?;
            package[&key] = item.clone();
        }
    }

    if let Some(lib) = doc.get_mut("lib").and_then(Item::as_table_mut) {
        let types: Vec<String> = lib
            .get("crate-type")
            .and_then(Item::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if types.iter().any(|t| t == "cdylib") && types.len() > 1 {
            let mut cdylib = Array::new();
            cdylib.push("cdylib");
            lib["crate-type"] = value(cdylib);
            lib.key_mut("crate-type")
                .expect("just set")
                .leaf_decor_mut()
                .set_prefix(
                    "# A cdylib only: with an rlib too, rustc's LTO keeps more code and the module of a\n\
                     # plain `cargo build --release --target wasm32-wasip1` is 40% larger.\n",
                );
        }
    }

    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(table) = doc.get_mut(section).and_then(Item::as_table_like_mut) else {
            continue;
        };
        let names: Vec<String> = table.iter().map(|(k, _)| k.to_owned()).collect();
        for name in names {
            let item = table.get_mut(&name).expect("listed");
            if !inherits(item) {
                if item.get("path").is_some() {
                    return Err(format!(
                        "[{section}] `{name}` is a path dependency; a template must depend \
                         on published crates (through the workspace)"
                    ));
                }
                continue;
            }
            let spec = ws_dependencies.get(&name).ok_or(format!(
                "[{section}] `{name}` inherits from the workspace, which does not define it"
            ))?;
            *item = standalone_dependency(spec, item, &release_line)
                .map_err(|e| format!("[{section}] `{name}`: {e}"))?;
        }
    }

    if doc.get("lints").is_some_and(inherits) {
        let lints = workspace["workspace"]["lints"]
            .as_table()
            .ok_or("[lints] inherits from the workspace, which has no [workspace.lints]")?
            .clone();
        let mut lints = lints;
        lints.set_implicit(true);
        lints.decor_mut().clear();
        doc["lints"] = Item::Table(lints);
    }

    let mut profile = workspace
        .get("profile")
        .and_then(Item::as_table)
        .ok_or("the workspace has no [profile] tables")?
        .clone();
    profile.set_implicit(true);
    if let Some((_, release)) = profile.iter_mut().next() {
        if let Some(release) = release.as_table_mut() {
            release.decor_mut().set_prefix(
                "\n# Release builds are what ships to Envoy: small wasm first (proxylet's release profile).\n",
            );
        }
    }
    doc["profile"] = Item::Table(profile);

    let mut alone = Table::new();
    alone
        .decor_mut()
        .set_prefix("\n# A crate of its own, also when created inside another workspace.\n");
    doc["workspace"] = Item::Table(alone);
    Ok(doc.to_string())
}

/// Whether a manifest item is `{ workspace = true, … }` (or `x.workspace = true`).
fn inherits(item: &Item) -> bool {
    item.get("workspace")
        .and_then(Item::as_bool)
        .unwrap_or(false)
}

/// A workspace dependency spec merged with the member's own keys (its `features` added to
/// the workspace's, as cargo does), without `path`: proxylet's own crates (those with a
/// path) as the release line `release_line`, the others with the workspace's version.
fn standalone_dependency(spec: &Item, member: &Item, release_line: &str) -> Result<Item> {
    let mut table = toml_edit::InlineTable::new();
    match spec {
        Item::Value(Value::String(version)) => {
            table.insert("version", Value::from(version.value().as_str()));
        }
        Item::Value(Value::InlineTable(inline)) => {
            for (key, value) in inline.iter() {
                table.insert(key, value.clone());
            }
        }
        other => return Err(format!("unsupported workspace spec `{other}`")),
    }
    if table.remove("path").is_some() {
        table.insert("version", Value::from(release_line));
    }
    if let Some(local) = member.as_table_like() {
        for (key, item) in local.iter() {
            if key == "workspace" {
                continue;
            }
            let Some(local_value) = item.as_value() else {
                return Err(format!("unsupported key `{key}`"));
            };
            match (key, table.get_mut(key)) {
                ("features", Some(Value::Array(features))) => {
                    for feature in local_value.as_array().into_iter().flatten() {
                        if !features.iter().any(|f| f.as_str() == feature.as_str()) {
                            features.push(feature.clone());
                        }
                    }
                }
                (_, _) => {
                    table.insert(key, local_value.clone());
                }
            }
        }
    }
    for (_, value) in table.iter_mut() {
        value.decor_mut().clear();
    }
    table.fmt();
    if table.len() == 1 {
        if let Some(version) = table.get("version") {
            return Ok(Item::Value(version.clone()));
        }
    }
    Ok(Item::Value(Value::InlineTable(table)))
}

/// Every file under `dir` except build output and hidden files, as (path relative to `dir`
/// with `/` separators, path), sorted.
fn walk(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    fn visit(base: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> Result<()> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" || name == "Cargo.lock" {
                continue;
            }
            if path.is_dir() {
                visit(base, &path, files)?;
            } else if path.is_file() {
                let relative = path
                    .strip_prefix(base)
                    .expect("inside base")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push((relative, path));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    visit(dir, dir, &mut files)?;
    files.sort();
    Ok(files)
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_templates_are_generated_from_the_examples() {
        let root = crate::root();
        let generated = generate(&root).unwrap();
        let differences = differences(&current(&root).unwrap(), &generated);
        assert!(
            differences.is_empty(),
            "{TEMPLATES_DIR} is not what the examples make; run `cargo xtask templates`:\n  {}",
            differences.join("\n  ")
        );
    }

    #[test]
    fn every_example_is_a_template_that_depends_on_published_crates_only() {
        let generated = generate(&crate::root()).unwrap();
        let manifests: Vec<(&String, String)> = generated
            .iter()
            .filter(|(path, _)| path.ends_with(&format!("/{MANIFEST}")))
            .map(|(path, bytes)| (path, String::from_utf8(bytes.clone()).unwrap()))
            .collect();
        assert!(manifests.len() >= 8, "{:?}", generated.keys());
        for (path, manifest) in manifests {
            let doc: DocumentMut = manifest.parse().unwrap();
            assert!(
                !manifest.contains("workspace = true"),
                "{path}:\n{manifest}"
            );
            assert!(!manifest.contains(".workspace"), "{path}:\n{manifest}");
            assert!(!manifest.contains("path ="), "{path}:\n{manifest}");
            assert_eq!(doc["lib"]["crate-type"].to_string().trim(), r#"["cdylib"]"#);
            assert_eq!(
                doc["dependencies"]["proxylet"].as_str(),
                Some("0.1"),
                "{path}"
            );
            assert_eq!(
                doc["dev-dependencies"]["proxylet"]["version"].as_str(),
                Some("0.1"),
                "{path}"
            );
            assert_eq!(doc["profile"]["release"]["opt-level"].as_str(), Some("z"));
            assert!(doc["workspace"].is_table(), "{path}");
            assert!(doc["lints"]["rust"].is_table(), "{path}");
        }
        let flagship = String::from_utf8(generated["add-header/src/lib.rs"].clone()).unwrap();
        assert!(
            flagship
                .trim_end()
                .ends_with("mod tests {\n    mod host;\n}"),
            "{flagship}"
        );
        let host = String::from_utf8(generated["add-header/src/tests/host.rs"].clone()).unwrap();
        assert!(host.contains("use crate::__PROXYLET_FILTERS;"), "{host}");
        assert!(!generated.contains_key("add-header/tests/host.rs"));
    }

    #[test]
    fn crate_paths_rewrite_only_paths_that_start_at_the_crate() {
        assert_eq!(
            crate_paths(
                "use metrics::X;\nuse proxylet::metrics::Counter;\nlet y = my_metrics::Z; metrics::f()",
                "metrics"
            ),
            "use crate::X;\nuse proxylet::metrics::Counter;\nlet y = my_metrics::Z; crate::f()"
        );
        assert!(!names_crate("use proxylet::metrics::Counter;", "metrics"));
    }

    #[test]
    fn dependency_specs_are_written_out() {
        let spec: Item =
            toml_edit::value(r#"{ path = "sdk", version = "=0.1.0" }"#.parse::<Value>().unwrap());
        let member: DocumentMut = r#"x = { workspace = true, features = ["testing"] }"#
            .parse()
            .unwrap();
        assert_eq!(
            standalone_dependency(&spec, &member["x"], "0.1")
                .unwrap()
                .to_string()
                .trim(),
            r#"{ version = "0.1", features = ["testing"] }"#
        );
        let serde: Item = toml_edit::value(
            r#"{ version = "1", features = ["derive"] }"#.parse::<Value>().unwrap(),
        );
        let plain: DocumentMut = "x.workspace = true".parse().unwrap();
        assert_eq!(
            standalone_dependency(&serde, &plain["x"], "0.1")
                .unwrap()
                .to_string()
                .trim(),
            r#"{ version = "1", features = ["derive"] }"#
        );
        let bare: Item = toml_edit::value("0.2.5");
        assert_eq!(
            standalone_dependency(&bare, &plain["x"], "0.1")
                .unwrap()
                .to_string()
                .trim(),
            r#""0.2.5""#
        );
    }
}
