//! Finding the filter crate to build, with `cargo metadata`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::{err, Result};

/// The filter package to build, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The workspace root (the package's own directory for a standalone crate).
    pub workspace_root: PathBuf,
    /// The workspace's target directory.
    pub target_directory: PathBuf,
    /// The package's name.
    pub package: String,
    /// The package's version.
    pub version: String,
    /// The package's `Cargo.toml`.
    pub manifest_path: PathBuf,
}

#[derive(Deserialize)]
struct Metadata {
    workspace_root: PathBuf,
    target_directory: PathBuf,
    packages: Vec<Package>,
    workspace_members: Vec<String>,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
}

#[derive(Deserialize)]
struct Target {
    crate_types: Vec<String>,
}

impl Package {
    fn is_cdylib(&self) -> bool {
        self.targets
            .iter()
            .any(|t| t.crate_types.iter().any(|c| c == "cdylib"))
    }
}

/// Finds the filter package: `package` if given, else the package whose manifest is
/// `manifest_path` (default: the nearest `Cargo.toml` above the current directory), else
/// the workspace's only `cdylib` member.
pub fn locate(manifest_path: Option<&Path>, package: Option<&str>) -> Result<Project> {
    let manifest = match manifest_path {
        Some(path) => path.to_path_buf(),
        None => {
            let cwd = std::env::current_dir()
                .map_err(|e| err!("cannot read the current directory: {e}"))?;
            cwd.ancestors()
                .map(|dir| dir.join("Cargo.toml"))
                .find(|m| m.is_file())
                .ok_or_else(|| {
                    err!(
                        "no Cargo.toml in {} or above; run this inside a filter crate, pass \
                         --manifest-path, or create a crate with `cargo proxylet new NAME`",
                        cwd.display()
                    )
                })?
        }
    };
    let output = Command::new(proxylet_artifact::build::cargo())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .map_err(|e| err!("cannot run `cargo metadata` ({e}); is cargo installed and on PATH?"))?;
    if !output.status.success() {
        return Err(err!(
            "`cargo metadata` failed for {}:\n{}",
            manifest.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let metadata: Metadata = serde_json::from_slice(&output.stdout)
        .map_err(|e| err!("cannot read `cargo metadata` output: {e}"))?;
    let members: Vec<&Package> = metadata
        .packages
        .iter()
        .filter(|p| metadata.workspace_members.contains(&p.id))
        .collect();
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let chosen = match package {
        Some(name) => members
            .iter()
            .find(|p| p.name == name)
            .copied()
            .ok_or_else(|| {
                err!(
                    "no package `{name}` in the workspace at {}; its packages: {}",
                    metadata.workspace_root.display(),
                    names(&members)
                )
            })?,
        None => match members
            .iter()
            .find(|p| canonical(&p.manifest_path) == canonical(&manifest))
        {
            Some(package) => *package,
            None => {
                let filters: Vec<&Package> =
                    members.iter().copied().filter(|p| p.is_cdylib()).collect();
                match filters.as_slice() {
                    [only] => *only,
                    [] => {
                        return Err(err!(
                            "the workspace at {} has no filter crate (a package with \
                             `crate-type = [\"cdylib\"]`); create one with `cargo proxylet new NAME`",
                            metadata.workspace_root.display()
                        ))
                    }
                    several => {
                        return Err(err!(
                            "the workspace at {} has several filter crates ({}); choose one with -p NAME",
                            metadata.workspace_root.display(),
                            names(several)
                        ))
                    }
                }
            }
        },
    };
    if !chosen.is_cdylib() {
        return Err(err!(
            "package `{}` is not a filter crate: add `[lib] crate-type = [\"cdylib\"]` to {} (Envoy \
             loads a cdylib's .wasm)",
            chosen.name,
            chosen.manifest_path.display()
        ));
    }
    Ok(Project {
        workspace_root: metadata.workspace_root,
        target_directory: metadata.target_directory,
        package: chosen.name.clone(),
        version: chosen.version.clone(),
        manifest_path: chosen.manifest_path.clone(),
    })
}

fn names(packages: &[&Package]) -> String {
    packages
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
