//! `cargo xtask templates`: writes `cli/templates/`, the crates `cargo proxylet new`
//! creates, from the tested examples (`examples/*`). The CLI embeds that directory, so the
//! templates travel inside the published `cargo-proxylet` crate. The test at the bottom
//! fails when the directory is not what this generator makes from the examples, so the two
//! cannot drift.
//!
//! The examples are laid out as a generated crate is (a `cdylib` only, so that a plain
//! `cargo build --release --target wasm32-wasip1` gives the small module; the tests that
//! link the filter natively are unit tests in `src/tests/`), so their files are copied as
//! they are. Only the manifest changes: `Cargo.toml` (stored as `Cargo.toml.template`:
//! `cargo package` leaves out directories holding a `Cargo.toml`) has the workspace
//! inheritance written out: proxylet's crates as `"0.1"` from crates.io (never a path), the
//! other dependencies with the workspace's version requirements, the lints, the release
//! profile that keeps modules small, and an empty `[workspace]`, so that it builds anywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table, Value};

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
        for (relative, bytes) in template(&dir, &workspace)? {
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

/// One example's template files, by path relative to the template: its files as they are,
/// the manifest standalone.
fn template(dir: &Path, workspace: &DocumentMut) -> Result<Files> {
    let mut files = Files::new();
    for (relative, path) in walk(dir)? {
        let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        if relative == "Cargo.toml" {
            let text =
                String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8", path.display()))?;
            let manifest =
                manifest(&text, workspace).map_err(|e| format!("{}: {e}", path.display()))?;
            files.insert(MANIFEST.to_owned(), manifest.into_bytes());
        } else {
            files.insert(relative, bytes);
        }
    }
    Ok(files)
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
            // Tests take the testkit, which turns on proxylet's `testing` feature itself.
            let testkit = &doc["dev-dependencies"]["proxylet-testkit"];
            assert_eq!(
                testkit
                    .get("version")
                    .and_then(Item::as_str)
                    .or(testkit.as_str()),
                Some("0.1"),
                "{path}"
            );
            assert!(
                doc["dev-dependencies"].get("proxylet").is_none(),
                "{path}:\n{manifest}"
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
        assert!(host.contains("module!()"), "{host}");
        assert!(!host.contains("__PROXYLET_FILTERS"), "{host}");
        assert!(!generated.contains_key("add-header/tests/host.rs"));
    }

    #[test]
    fn dependency_specs_are_written_out() {
        let spec: Item =
            toml_edit::value(r#"{ path = "sdk", version = "=0.1.0" }"#.parse::<Value>().unwrap());
        let member: DocumentMut =
            r#"x = { workspace = true, features = ["wasm"] }"#.parse().unwrap();
        assert_eq!(
            standalone_dependency(&spec, &member["x"], "0.1")
                .unwrap()
                .to_string()
                .trim(),
            r#"{ version = "0.1", features = ["wasm"] }"#
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
