//! `cargo proxylet new`: a filter crate from one of the repository's examples.
//!
//! The templates are the example crates under `examples/`, embedded when cargo-proxylet is
//! compiled (so they are exactly what CI builds and tests). Their manifests use workspace
//! inheritance (`proxylet.workspace = true`); `new` writes those out from the workspace's
//! `Cargo.toml`: the new crate depends on proxylet by path (a checkout of this repository,
//! by default the one cargo-proxylet was built from) or, with `--crates-io`, by version.
//! It gets the workspace's wasm release profile and its own `[workspace]`, so it builds
//! anywhere.

use std::path::{Path, PathBuf};

use crate::{err, Result};

/// An embedded example crate.
#[derive(Debug)]
pub struct Template {
    /// The example's directory name, e.g. `add-header`.
    pub name: &'static str,
    /// Its files, as (path relative to the crate, contents).
    pub files: &'static [(&'static str, &'static [u8])],
}

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The template `new` uses by default: the flagship filter.
pub const DEFAULT_TEMPLATE: &str = "add-header";

/// Every template.
pub fn templates() -> &'static [Template] {
    TEMPLATES
}

impl Template {
    /// The `description` of the example's `Cargo.toml`.
    pub fn description(&self) -> String {
        self.manifest()
            .lines()
            .find_map(|l| l.trim().strip_prefix("description = "))
            .map(|d| d.trim_matches('"').replace("\\\"", "\""))
            .unwrap_or_default()
    }

    fn manifest(&self) -> &'static str {
        self.files
            .iter()
            .find(|(path, _)| *path == "Cargo.toml")
            .and_then(|(_, bytes)| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

/// Where the new crate gets proxylet from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyletSource {
    /// A checkout's `sdk/` directory (its parent is the repository root).
    Path(PathBuf),
    /// crates.io, with the version the workspace declares.
    CratesIo,
}

/// The `sdk/` directory of the checkout cargo-proxylet was built from, if it still exists.
pub fn default_proxylet_path() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.join("sdk");
    sdk.join("Cargo.toml").is_file().then_some(sdk)
}

/// The crate name for a directory: its last component.
fn crate_name(dir: &Path) -> Result<String> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| err!("`{}` does not end in a crate name", dir.display()))?;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(err!(
            "`{name}` is not a valid crate name: start with a letter, then letters, digits, `-` \
             or `_` (e.g. `my-filter`)"
        ));
    }
    Ok(name.to_owned())
}

/// Creates the crate `dir` (whose last component is the crate name) from `template`;
/// returns the files written.
pub fn create(dir: &Path, template: &str, source: &ProxyletSource) -> Result<Vec<PathBuf>> {
    let name = crate_name(dir)?;
    let template = templates().iter().find(|t| t.name == template).ok_or_else(|| {
        err!(
            "no template `{template}`; the templates are: {} (`cargo proxylet new --list` describes them)",
            templates().iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
        )
    })?;
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(err!(
            "{} already exists and is not empty; choose another name or remove it",
            dir.display()
        ));
    }
    let workspace = Workspace::parse(WORKSPACE_MANIFEST);
    let mut written = Vec::new();
    for (relative, bytes) in template.files {
        let path = dir.join(relative);
        if *relative == "Cargo.toml" {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| err!("the template's Cargo.toml is not UTF-8"))?;
            crate::error::write(
                &path,
                rewrite_manifest(text, &name, template.name, &workspace, source)?,
            )?;
        } else if let Ok(text) = std::str::from_utf8(bytes) {
            // Tests and docs name the template's crate (`add_header::__PROXYLET_FILTERS`,
            // the root id `add_header`, the package `add-header`): they name the new one.
            let renamed = text
                .replace(&template.name.replace('-', "_"), &name.replace('-', "_"))
                .replace(template.name, &name);
            crate::error::write(&path, renamed)?;
        } else {
            crate::error::write(&path, bytes)?;
        }
        written.push(path);
    }
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        crate::error::write(&gitignore, "/target\n")?;
        written.push(gitignore);
    }
    Ok(written)
}

/// The parts of the workspace manifest a template inherits.
#[derive(Debug, Default)]
struct Workspace {
    /// `[workspace.package]` keys.
    package: Vec<(String, String)>,
    /// `[workspace.dependencies]` specs.
    dependencies: Vec<(String, String)>,
    /// `[workspace.lints.*]` sections, renamed to `[lints.*]`.
    lints: String,
    /// `[profile.*]` sections, verbatim.
    profiles: String,
}

impl Workspace {
    fn parse(manifest: &str) -> Workspace {
        let mut workspace = Workspace::default();
        let mut section = String::new();
        for line in manifest.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') {
                section = trimmed.trim_matches(['[', ']']).to_owned();
                if let Some(lints) = section.strip_prefix("workspace.lints") {
                    workspace.lints.push_str(&format!("\n[lints{lints}]\n"));
                } else if section.starts_with("profile.") {
                    workspace.profiles.push_str(&format!("\n{trimmed}\n"));
                }
                continue;
            }
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if section.starts_with("workspace.lints") {
                workspace.lints.push_str(line);
                workspace.lints.push('\n');
            } else if section.starts_with("profile.") {
                workspace.profiles.push_str(line);
                workspace.profiles.push('\n');
            } else if let Some((key, value)) = trimmed.split_once('=') {
                let entry = (key.trim().to_owned(), value.trim().to_owned());
                match section.as_str() {
                    "workspace.package" => workspace.package.push(entry),
                    "workspace.dependencies" => workspace.dependencies.push(entry),
                    _ => {}
                }
            }
        }
        workspace
    }
}

/// The template's manifest with workspace inheritance written out.
fn rewrite_manifest(
    text: &str,
    name: &str,
    template: &str,
    workspace: &Workspace,
    source: &ProxyletSource,
) -> Result<String> {
    let mut out = String::new();
    let mut section = String::new();
    let mut skip_section = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.trim_matches(['[', ']']).to_owned();
            skip_section = section == "lints";
            if skip_section {
                continue;
            }
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if skip_section {
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let in_dependencies = section.ends_with("dependencies");
        let inherited = key.strip_suffix(".workspace").filter(|_| value == "true");
        // `name = { workspace = true, features = [...] }` inherits too.
        let inline = inline_table(value)
            .filter(|pairs| pairs.iter().any(|(k, v)| k == "workspace" && v == "true"));
        match (section.as_str(), inherited) {
            ("package", _) if key == "name" => out.push_str(&format!("name = {name:?}\n")),
            ("package", _) if key == "description" => out.push_str(&format!(
                "description = \"A proxylet filter (created from the `{template}` template)\"\n"
            )),
            ("package", Some(field)) => {
                let value = lookup(&workspace.package, field).ok_or_else(|| {
                    err!("the template `{template}` inherits `{field}`, which the workspace does not define")
                })?;
                out.push_str(&format!("{field} = {value}\n"));
            }
            _ if in_dependencies && (inherited.is_some() || inline.is_some()) => {
                let dependency = inherited.unwrap_or(key);
                let spec = lookup(&workspace.dependencies, dependency).ok_or_else(|| {
                    err!("the template `{template}` inherits dependency `{dependency}`, which the workspace does not define")
                })?;
                let local: Vec<(String, String)> = inline
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(k, _)| k != "workspace")
                    .collect();
                out.push_str(&format!(
                    "{dependency} = {}\n",
                    dependency_spec(spec, &local, source)
                ));
            }
            (_, Some(_)) => {
                return Err(err!("the template `{template}` inherits `{key}` in [{section}], which `new` cannot write out"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if text.contains("[lints]") && !workspace.lints.is_empty() {
        out.push_str(&workspace.lints);
    }
    out.push_str(
        "\n# Release builds are what ships to Envoy: small wasm first (from proxylet's workspace).",
    );
    out.push_str(&workspace.profiles);
    out.push_str(
        "\n# A crate of its own, also when created inside another workspace.\n[workspace]\n",
    );
    Ok(out)
}

fn lookup<'a>(entries: &'a [(String, String)], key: &str) -> Option<&'a str> {
    entries
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The `key = value` pairs of an inline table `{ a = 1, b = [2, 3] }` (top-level commas
/// only), or of a bare version string `"1"` (as `version`).
fn inline_table(text: &str) -> Option<Vec<(String, String)>> {
    let text = text.trim();
    if text.starts_with('"') {
        return Some(vec![("version".to_owned(), text.to_owned())]);
    }
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut pairs = Vec::new();
    for item in split_top_level(inner) {
        let (key, value) = item.split_once('=')?;
        pairs.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    Some(pairs)
}

/// Splits at commas outside brackets and strings; drops empty pieces.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut depth, mut in_string, mut start) = (0i32, false, 0);
    let mut pieces = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '[' | '{' if !in_string => depth += 1,
            ']' | '}' if !in_string => depth -= 1,
            ',' if !in_string && depth == 0 => {
                pieces.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&text[start..]);
    pieces
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// A workspace dependency spec merged with the member's own keys (`features` are joined,
/// like cargo does), its `path` made absolute (proxylet from a checkout) or removed
/// (crates.io).
fn dependency_spec(spec: &str, local: &[(String, String)], source: &ProxyletSource) -> String {
    let Some(mut pairs) = inline_table(spec) else {
        return spec.to_owned();
    };
    for (key, value) in local {
        match pairs.iter_mut().find(|(k, _)| k == key) {
            Some((_, existing)) if key == "features" => {
                let mut features = array_items(existing);
                for feature in array_items(value) {
                    if !features.contains(&feature) {
                        features.push(feature);
                    }
                }
                *existing = format!("[{}]", features.join(", "));
            }
            Some((_, existing)) => *existing = value.clone(),
            None => pairs.push((key.clone(), value.clone())),
        }
    }
    match source {
        ProxyletSource::Path(sdk) => {
            // Workspace paths are relative to the repository root, the sdk's parent.
            let root = sdk.parent().unwrap_or(sdk);
            for (key, value) in &mut pairs {
                if key == "path" {
                    let relative = value.trim_matches('"');
                    let absolute = if relative == "sdk" {
                        sdk.clone()
                    } else {
                        root.join(relative)
                    };
                    *value = format!("{:?}", absolute.display().to_string());
                }
            }
        }
        ProxyletSource::CratesIo => pairs.retain(|(key, _)| key != "path"),
    }
    if let [(key, version)] = pairs.as_slice() {
        if key == "version" {
            return version.clone();
        }
    }
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!("{{ {} }}", body.join(", "))
}

fn array_items(array: &str) -> Vec<String> {
    let inner = array.trim().trim_start_matches('[').trim_end_matches(']');
    split_top_level(inner)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flagship_is_a_template() {
        let flagship = templates()
            .iter()
            .find(|t| t.name == DEFAULT_TEMPLATE)
            .unwrap();
        assert!(flagship.files.iter().any(|(p, _)| *p == "src/lib.rs"));
        assert!(
            flagship.description().contains("hello: melon"),
            "{}",
            flagship.description()
        );
    }

    #[test]
    fn every_template_manifest_is_written_out_without_workspace_inheritance() {
        let workspace = Workspace::parse(WORKSPACE_MANIFEST);
        let sdk = PathBuf::from("/checkout/sdk");
        for template in templates() {
            for source in [ProxyletSource::Path(sdk.clone()), ProxyletSource::CratesIo] {
                let manifest = rewrite_manifest(
                    template.manifest(),
                    "my-filter",
                    template.name,
                    &workspace,
                    &source,
                )
                .unwrap_or_else(|e| panic!("{}: {e}", template.name));
                assert!(!manifest.contains(".workspace"), "{manifest}");
                assert!(!manifest.contains("workspace = true"), "{manifest}");
                assert!(manifest.contains("name = \"my-filter\""), "{manifest}");
                assert!(manifest.contains("[profile.release]"), "{manifest}");
                assert!(manifest.trim_end().ends_with("[workspace]"), "{manifest}");
                match &source {
                    ProxyletSource::Path(_) => {
                        assert!(manifest.contains("path = \"/checkout/sdk\""), "{manifest}")
                    }
                    ProxyletSource::CratesIo => assert!(!manifest.contains("path ="), "{manifest}"),
                }
            }
        }
    }

    #[test]
    fn dependency_specs() {
        let spec = r#"{ path = "sdk", version = "=0.1.0" }"#;
        let checkout = ProxyletSource::Path("/r/sdk".into());
        assert_eq!(
            dependency_spec(spec, &[], &ProxyletSource::CratesIo),
            r#""=0.1.0""#
        );
        assert_eq!(
            dependency_spec(spec, &[], &checkout),
            r#"{ path = "/r/sdk", version = "=0.1.0" }"#
        );
        assert_eq!(
            dependency_spec(r#"{ path = "harness", version = "0.1.0" }"#, &[], &checkout),
            r#"{ path = "/r/harness", version = "0.1.0" }"#
        );
        assert_eq!(
            dependency_spec(r#""1""#, &[], &ProxyletSource::CratesIo),
            r#""1""#
        );
        let local =
            inline_table(r#"{ workspace = true, features = ["testing", "derive"] }"#).unwrap();
        let local: Vec<_> = local
            .into_iter()
            .filter(|(k, _)| k != "workspace")
            .collect();
        assert_eq!(
            dependency_spec(
                r#"{ version = "1", features = ["derive"] }"#,
                &local,
                &ProxyletSource::CratesIo
            ),
            r#"{ version = "1", features = ["derive", "testing"] }"#
        );
        assert_eq!(
            dependency_spec(spec, &local, &checkout),
            r#"{ path = "/r/sdk", version = "=0.1.0", features = ["testing", "derive"] }"#
        );
    }

    #[test]
    fn crate_names_are_checked() {
        assert_eq!(
            crate_name(Path::new("/tmp/x/my-filter")).unwrap(),
            "my-filter"
        );
        assert!(crate_name(Path::new("1abc")).is_err());
        assert!(crate_name(Path::new("a b")).is_err());
    }
}
