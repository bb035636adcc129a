//! `cargo proxylet new`: a filter crate from one of the templates.
//!
//! The templates are this crate's `templates/` directory, embedded when cargo-proxylet is
//! compiled. `cargo xtask templates` writes them from the repository's examples, which CI
//! builds and tests, and a test fails when the two differ. Each is a standalone crate:
//! proxylet's crates come from crates.io (`proxylet = "0.1"`), it has proxylet's release
//! profile and its own `[workspace]`, and nothing in it depends on this machine.
//!
//! For local development against a proxylet checkout, [`Source::Checkout`] adds a
//! `[patch.crates-io]` section pointing at the checkout's crates (by a relative path);
//! removing the section goes back to crates.io.

use std::path::{Component, Path, PathBuf};

use crate::{err, Result};

/// An embedded template crate.
#[derive(Debug)]
pub struct Template {
    /// The template's name (its example's directory name), e.g. `add-header`.
    pub name: &'static str,
    /// Its files, as (path relative to the crate, contents).
    pub files: &'static [(&'static str, &'static [u8])],
}

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The template `new` uses by default: the flagship filter.
pub const DEFAULT_TEMPLATE: &str = "add-header";

/// proxylet's crates a template depends on, and their directories in a checkout.
const CHECKOUT_CRATES: &[(&str, &str)] = &[
    ("proxylet", "sdk"),
    ("proxylet-macros", "sdk-macros"),
    ("proxylet-testkit", "testkit"),
    ("proxylet-artifact", "artifact"),
    ("proxylet-harness", "harness"),
];

/// Every template.
pub fn templates() -> &'static [Template] {
    TEMPLATES
}

impl Template {
    /// The `description` of the template's `Cargo.toml`.
    pub fn description(&self) -> String {
        self.manifest()
            .lines()
            .find_map(|l| l.trim().strip_prefix("description = "))
            .map(|d| d.trim_matches('"').replace("\\\"", "\""))
            .unwrap_or_default()
    }

    /// The template's `Cargo.toml`.
    pub fn manifest(&self) -> &'static str {
        self.files
            .iter()
            .find(|(path, _)| *path == "Cargo.toml")
            .and_then(|(_, bytes)| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

/// Where the new crate gets proxylet's crates from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// crates.io: `proxylet = "0.1"`. The default; the crate builds anywhere.
    CratesIo,
    /// A proxylet checkout (its root directory), for local development: the crates.io
    /// dependencies stay, and `[patch.crates-io]` points them at the checkout.
    Checkout(PathBuf),
}

impl Source {
    /// `--path DIR`: the root of a proxylet checkout (or its `sdk/` directory).
    pub fn checkout(dir: &Path) -> Result<Source> {
        let dir = std::fs::canonicalize(dir).map_err(|e| {
            err!(
                "--path {}: {e}; point it at the root of a proxylet checkout",
                dir.display()
            )
        })?;
        let is_sdk = |d: &Path| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "name = \"proxylet\""))
        };
        if is_sdk(&dir.join("sdk")) {
            return Ok(Source::Checkout(dir));
        }
        if is_sdk(&dir) {
            if let Some(root) = dir.parent().filter(|root| is_sdk(&root.join("sdk"))) {
                return Ok(Source::Checkout(root.to_path_buf()));
            }
        }
        Err(err!(
            "--path {} is not a proxylet checkout (no sdk/Cargo.toml of the `proxylet` crate); \
             point it at the repository's root directory",
            dir.display()
        ))
    }
}

/// The version requirement templates use for proxylet's crates: this release line.
pub fn release_line() -> String {
    env!("CARGO_PKG_VERSION")
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".")
}

/// What [`create`] made.
#[derive(Debug, Clone)]
pub struct Created {
    /// The package name.
    pub package: String,
    /// The files written.
    pub files: Vec<PathBuf>,
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

/// Finds a template by name.
pub fn template(name: &str) -> Result<&'static Template> {
    templates().iter().find(|t| t.name == name).ok_or_else(|| {
        err!(
            "no template `{name}`; the templates are: {} (`cargo proxylet new --list` describes them)",
            templates().iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
        )
    })
}

/// Creates the crate `dir` (whose last component is the crate name) from `template`.
///
/// The template's name is replaced by the new one in every file: its package name
/// (`add-header`) and its crate name, which is also the filter's root id (`add_header`).
/// A template whose name has no `-` uses one name for both, so its new package gets the
/// crate-name form too (`new my-auth --template auth` makes package `my_auth`).
pub fn create(dir: &Path, template_name: &str, source: &Source) -> Result<Created> {
    let name = crate_name(dir)?;
    let template = template(template_name)?;
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
    let ident = name.replace('-', "_");
    let rename = Rename::new(template.name, &name);
    let mut written = Vec::new();
    for (relative, bytes) in template.files {
        let path = dir.join(relative);
        match std::str::from_utf8(bytes) {
            Ok(text) if *relative == "Cargo.toml" => {
                let manifest = set_description(&rename.apply(text), template.name);
                let manifest = match source {
                    Source::CratesIo => manifest,
                    Source::Checkout(root) => {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| err!("cannot create {}: {e}", dir.display()))?;
                        with_patch(&manifest, root, dir)?
                    }
                };
                crate::error::write(&path, manifest)?;
            }
            Ok(text) => crate::error::write(&path, rename.apply(text))?,
            Err(_) => crate::error::write(&path, bytes)?,
        }
        written.push(path);
    }
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        crate::error::write(&gitignore, "/target\n")?;
        written.push(gitignore);
    }
    Ok(Created {
        package: rename.package.unwrap_or(ident),
        files: written,
    })
}

/// How a template's name becomes the new crate's in its files.
struct Rename {
    /// (from, to) pairs replaced as whole words, or `None` for the code-only rule.
    words: Vec<(String, String)>,
    /// Single-word template: (template name, new crate name) replaced in code only.
    code: Option<(String, String)>,
    /// The package name when it is not the given name.
    package: Option<String>,
}

impl Rename {
    fn new(template: &str, name: &str) -> Rename {
        let ident = name.replace('-', "_");
        if template.contains('-') {
            Rename {
                words: vec![
                    (template.to_owned(), name.to_owned()),
                    (template.replace('-', "_"), ident),
                ],
                code: None,
                package: Some(name.to_owned()),
            }
        } else {
            // `"auth"` is both the package and the root id in the template's code, and
            // `auth` is also an ordinary word in its prose: rename code only, to one name.
            Rename {
                words: vec![(
                    format!("name = \"{template}\""),
                    format!("name = \"{ident}\""),
                )],
                code: Some((template.to_owned(), ident.clone())),
                package: Some(ident),
            }
        }
    }

    fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (from, to) in &self.words {
            text = replace_words(&text, from, to);
        }
        if let Some((from, to)) = &self.code {
            text = text.replace(&format!("\"{from}\""), &format!("\"{to}\""));
            text = replace_path_starts(&text, from, to);
        }
        text
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// `text` with `from` replaced by `to` where it is not part of a longer word.
fn replace_words(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        let whole = !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char);
        out.push_str(&rest[..at]);
        out.push_str(if whole { to } else { from });
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// `text` with paths starting at `from` (`from::x`, not `a::from::x`) starting at `to`.
fn replace_path_starts(text: &str, from: &str, to: &str) -> String {
    let needle = format!("{from}::");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let before = rest[..at].chars().next_back();
        let start = !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        out.push_str(&rest[..at]);
        out.push_str(if start { to } else { from });
        out.push_str("::");
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// The manifest with its `description` saying where the crate came from.
fn set_description(manifest: &str, template: &str) -> String {
    let mut done = false;
    let mut out = String::with_capacity(manifest.len());
    for line in manifest.lines() {
        if !done && line.starts_with("description = ") {
            out.push_str(&format!(
                "description = \"A proxylet filter, created from the `{template}` template\""
            ));
            done = true;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The manifest with a `[patch.crates-io]` section pointing proxylet's crates it names at
/// the checkout `root`, by paths relative to the crate directory `dir`.
fn with_patch(manifest: &str, root: &Path, dir: &Path) -> Result<String> {
    let dir = std::fs::canonicalize(dir).map_err(|e| err!("{}: {e}", dir.display()))?;
    let mut patch = format!(
        "\n# Local development against the proxylet checkout at {}: these crates come from it\n\
         # instead of crates.io. Remove this section to build with the published releases.\n\
         [patch.crates-io]\n",
        relative_path(&dir, root).display()
    );
    let mut any = false;
    for (krate, crate_dir) in CHECKOUT_CRATES {
        let named = manifest
            .lines()
            .any(|line| line.starts_with(&format!("{krate} =")));
        if !named {
            continue;
        }
        let path = root.join(crate_dir);
        if !path.join("Cargo.toml").is_file() {
            return Err(err!(
                "the checkout {} has no {crate_dir}/Cargo.toml (crate `{krate}`); is it a \
                 proxylet checkout of this release line ({})?",
                root.display(),
                release_line()
            ));
        }
        let relative = relative_path(&dir, &path);
        patch.push_str(&format!(
            "{krate} = {{ path = {:?} }}\n",
            relative.to_string_lossy().replace('\\', "/")
        ));
        any = true;
    }
    Ok(if any {
        format!(
            "{}{patch}",
            manifest.trim_end_matches('\n').to_owned() + "\n"
        )
    } else {
        manifest.to_owned()
    })
}

/// The path of `to` relative to the directory `from` (both absolute and canonical).
pub fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for component in &to[common..] {
        path.push(component.as_os_str());
    }
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flagship_is_a_template() {
        let flagship = template(DEFAULT_TEMPLATE).unwrap();
        assert!(flagship.files.iter().any(|(p, _)| *p == "src/lib.rs"));
        assert!(
            flagship.description().contains("hello: melon"),
            "{}",
            flagship.description()
        );
    }

    #[test]
    fn every_template_depends_on_crates_io_releases_only() {
        for template in templates() {
            let manifest = template.manifest();
            assert!(
                !manifest.contains("path ="),
                "{}: {manifest}",
                template.name
            );
            assert!(
                manifest.contains(&format!("proxylet = \"{}\"", release_line())),
                "{}: {manifest}",
                template.name
            );
            assert!(
                manifest.contains("crate-type = [\"cdylib\"]"),
                "{}",
                template.name
            );
            assert!(manifest.trim_end().ends_with("[workspace]"));
        }
    }

    #[test]
    fn hyphenated_names_are_replaced_as_words_in_both_forms() {
        let rename = Rename::new("add-header", "my-filter");
        assert_eq!(
            rename.apply("name = \"add-header\"\nuse add_header::X; root \"add_header\"; add-headers add_headerx"),
            "name = \"my-filter\"\nuse my_filter::X; root \"my_filter\"; add-headers add_headerx"
        );
        assert_eq!(rename.package.as_deref(), Some("my-filter"));
    }

    #[test]
    fn single_word_templates_are_renamed_in_code_only() {
        let rename = Rename::new("metrics", "my-stats");
        assert_eq!(
            rename.apply(
                "name = \"metrics\"\n// per-route metrics\nuse proxylet::metrics::Counter;\nbuild(\"metrics\"); metrics::X; \"metrics.x\""
            ),
            "name = \"my_stats\"\n// per-route metrics\nuse proxylet::metrics::Counter;\nbuild(\"my_stats\"); my_stats::X; \"metrics.x\""
        );
        assert_eq!(rename.package.as_deref(), Some("my_stats"));
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path(Path::new("/w/a/b"), Path::new("/w/c/sdk")),
            PathBuf::from("../../c/sdk")
        );
        assert_eq!(
            relative_path(Path::new("/w/proxylet/x"), Path::new("/w/proxylet/sdk")),
            PathBuf::from("../sdk")
        );
        assert_eq!(
            relative_path(Path::new("/w"), Path::new("/w")),
            PathBuf::from(".")
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
