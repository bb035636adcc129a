//! The local image store: an [OCI image layout] directory (`oci-layout`, `index.json`,
//! `blobs/sha256/…`), so other OCI tools can read it too. Images are listed in
//! `index.json` with their reference in `org.opencontainers.image.ref.name`.
//!
//! It lives in `$PROXYLET_STORE`, or `store/` in the cache directory
//! ([`cache_dir`](crate::paths::cache_dir)).
//!
//! [OCI image layout]: https://github.com/opencontainers/image-spec/blob/main/image-layout.md

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{read, write};
use crate::image::{digest, digest_hex, Blob, Descriptor, Image, Manifest, OCI_INDEX};
use crate::reference::Reference;
use crate::{err, Result};

/// The environment variable naming the store directory.
pub const STORE_ENV: &str = "PROXYLET_STORE";
/// Index annotation holding an image's reference.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Index annotation holding when the reference was last stored (RFC 3339, UTC).
pub const CREATED: &str = "org.opencontainers.image.created";

/// A local image store; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// One stored reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The reference, normalized (`name:tag`).
    pub reference: String,
    /// The manifest's descriptor (its digest is the image digest).
    pub manifest: Descriptor,
    /// When it was stored, RFC 3339 UTC.
    pub updated: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

impl Store {
    /// The store in `$PROXYLET_STORE` or the cache directory, created if missing.
    pub fn open_default() -> Result<Store> {
        let root = match std::env::var_os(STORE_ENV).filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => crate::paths::cache_dir().join("store"),
        };
        Store::open(&root)
    }

    /// The store at `root`, created if missing.
    pub fn open(root: &Path) -> Result<Store> {
        let layout = root.join("oci-layout");
        if !layout.is_file() {
            write(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(|e| {
                e.context(format!(
                    "cannot create the image store (set {STORE_ENV} to a writable directory)"
                ))
            })?;
        }
        Ok(Store {
            root: root.to_path_buf(),
        })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        Ok(self
            .root
            .join("blobs")
            .join("sha256")
            .join(digest_hex(digest)?))
    }

    fn index(&self) -> Result<Index> {
        let path = self.root.join("index.json");
        if !path.is_file() {
            return Ok(Index {
                schema_version: 2,
                media_type: Some(OCI_INDEX.into()),
                manifests: Vec::new(),
            });
        }
        serde_json::from_slice(&read(&path)?).map_err(|e| {
            err!(
                "{} is not a valid OCI index ({e}); remove it to start afresh",
                path.display()
            )
        })
    }

    fn write_index(&self, index: &Index) -> Result<()> {
        let path = self.root.join("index.json");
        let temp = self
            .root
            .join(format!("index.json.tmp-{}", std::process::id()));
        let bytes =
            serde_json::to_vec_pretty(index).map_err(|e| err!("cannot encode the index: {e}"))?;
        write(&temp, bytes)?;
        std::fs::rename(&temp, &path).map_err(|e| err!("cannot replace {}: {e}", path.display()))
    }

    /// Writes a blob (if missing), checking it against its digest.
    pub fn put_blob(&self, expected_digest: &str, bytes: &[u8]) -> Result<()> {
        let actual = digest(bytes);
        if actual != expected_digest {
            return Err(err!(
                "blob content has digest {actual}, expected {expected_digest}"
            ));
        }
        let path = self.blob_path(expected_digest)?;
        if path.is_file() {
            return Ok(());
        }
        let temp = path.with_extension(format!("tmp-{}", std::process::id()));
        write(&temp, bytes)?;
        std::fs::rename(&temp, &path).map_err(|e| err!("cannot write {}: {e}", path.display()))
    }

    /// Reads a blob, checking it against its digest.
    pub fn blob(&self, digest_text: &str) -> Result<Vec<u8>> {
        let path = self.blob_path(digest_text)?;
        let bytes = read(&path)?;
        if digest(&bytes) != digest_text {
            return Err(err!(
                "the stored blob {} is corrupt (its content does not match its digest); delete \
                 it and build or pull the image again",
                path.display()
            ));
        }
        Ok(bytes)
    }

    /// Stores `image` under `reference` (normalized), replacing what the reference pointed
    /// to. Returns the stored entry.
    pub fn put(&self, reference: &Reference, image: &Image) -> Result<Entry> {
        for blob in &image.blobs {
            self.put_blob(&blob.descriptor.digest, &blob.bytes)?;
        }
        let manifest_digest = image.digest();
        self.put_blob(&manifest_digest, &image.manifest)?;
        let reference = reference.normalized().to_string();
        let mut descriptor = Descriptor {
            media_type: image.media_type.clone(),
            digest: manifest_digest,
            size: image.manifest.len() as u64,
            annotations: Default::default(),
        };
        let updated = rfc3339(now());
        descriptor
            .annotations
            .insert(REF_NAME.into(), reference.clone());
        descriptor
            .annotations
            .insert(CREATED.into(), updated.clone());
        let mut index = self.index()?;
        index
            .manifests
            .retain(|m| m.annotations.get(REF_NAME) != Some(&reference));
        index.manifests.push(descriptor.clone());
        self.write_index(&index)?;
        Ok(Entry {
            reference,
            manifest: descriptor,
            updated,
        })
    }

    /// Every stored reference, in the order stored.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        Ok(self
            .index()?
            .manifests
            .into_iter()
            .filter_map(|manifest| {
                let reference = manifest.annotations.get(REF_NAME)?.clone();
                let updated = manifest
                    .annotations
                    .get(CREATED)
                    .cloned()
                    .unwrap_or_default();
                Some(Entry {
                    reference,
                    manifest,
                    updated,
                })
            })
            .collect())
    }

    /// The entry for `reference` (normalized), if stored.
    pub fn entry(&self, reference: &Reference) -> Result<Option<Entry>> {
        let wanted = reference.normalized().to_string();
        Ok(self.entries()?.into_iter().find(|e| e.reference == wanted))
    }

    /// The image stored under `reference`; the error says how to get it there.
    pub fn get(&self, reference: &Reference) -> Result<(Entry, Image)> {
        let entry = self.entry(reference)?.ok_or_else(|| {
            err!(
                "no image `{}` in the local store {}; build it with `cargo proxylet build -t {}` \
                 or pull it with `cargo proxylet pull {}` (`cargo proxylet list` shows what is there)",
                reference.normalized(),
                self.root.display(),
                reference.normalized(),
                reference.normalized()
            )
        })?;
        let manifest_bytes = self.blob(&entry.manifest.digest)?;
        let manifest = Manifest::parse(&manifest_bytes)?;
        let mut blobs = Vec::new();
        for descriptor in std::iter::once(&manifest.config).chain(&manifest.layers) {
            if blobs
                .iter()
                .any(|b: &Blob| b.descriptor.digest == descriptor.digest)
            {
                continue;
            }
            blobs.push(Blob {
                descriptor: descriptor.clone(),
                bytes: self.blob(&descriptor.digest)?,
            });
        }
        let image = Image {
            media_type: entry.manifest.media_type.clone(),
            manifest: manifest_bytes,
            blobs,
        };
        Ok((entry, image))
    }

    /// Writes the module of `image` to `modules/<sha256>.wasm` (`.so` for a native module)
    /// in the store (once) and returns its path: a stable file Envoy can load.
    pub fn module_file(&self, module: &[u8]) -> Result<PathBuf> {
        let extension = if crate::native::is_elf(module) {
            "so"
        } else {
            "wasm"
        };
        let path = self
            .root
            .join("modules")
            .join(format!("{}.{extension}", crate::image::sha256_hex(module)));
        if !path.is_file() {
            let temp = path.with_extension(format!("tmp-{}", std::process::id()));
            write(&temp, module)?;
            std::fs::rename(&temp, &path)
                .map_err(|e| err!("cannot write {}: {e}", path.display()))?;
        }
        Ok(path)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix time `secs`.
pub fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// `24 Nov 26 22:30 UTC` (the `wasme list` style) for an RFC 3339 UTC time.
pub fn short_time(rfc3339: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let field = |range: std::ops::Range<usize>| rfc3339.get(range).unwrap_or("");
    let month = field(5..7)
        .parse::<usize>()
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)));
    match month {
        Some(month) => format!(
            "{} {month} {} {} UTC",
            field(8..10).trim_start_matches('0'),
            field(2..4),
            field(11..16)
        ),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_like_wasme() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_638_600), "2026-11-25T20:30:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(short_time("2026-11-04T08:05:09Z"), "4 Nov 26 08:05 UTC");
        assert_eq!(short_time("garbage"), "-");
    }
}
