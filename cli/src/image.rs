//! Wasm OCI images, in the two formats Istio and Envoy Gateway read (both fetchers share
//! Istio's `pkg/wasm/imagefetcher.go`):
//!
//! - **oci** (the Wasm Artifact Image spec, as `wasme` pushed it): exactly two layers, the
//!   runtime config (`application/vnd.module.wasm.config.v1+json`, also the manifest's
//!   config) and the module (`application/vnd.module.wasm.content.layer.v1+wasm`, the raw
//!   `.wasm`), with the manifest annotations `module.wasm.runtime/type` and
//!   `module.wasm.runtime/abi_version`;
//! - **compat**: one `application/vnd.oci.image.layer.v1.tar+gzip` layer, a tar holding
//!   `plugin.wasm` (and `runtime-config.json`), with the annotation
//!   `module.wasm.image/variant: compat`; any container tool can copy it.
//!
//! - **native** (`cargo proxylet build --native`): an Envoy dynamic module, as an OCI 1.1
//!   artifact: `artifactType` [`NATIVE_ARTIFACT`], a config of type [`NATIVE_CONFIG`]
//!   holding the platform (`os`, `architecture`: a shared library runs on one platform
//!   only, unlike wasm), the ABI version and the root ids ([`NativeConfig`]), and one layer
//!   of type [`NATIVE_LAYER`], the raw `lib<crate>.so`, titled with its file name. The raw
//!   layer is what Envoy (`dynamic_module_config.module.remote`) and Envoy Gateway (a
//!   `Remote` module source) can fetch by URL and sha256, as the "oci" variant's `.wasm`.
//!
//! Images are built reproducibly: the same module gives the same manifest digest.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use proxylet_artifact::RuntimeConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{err, Result};

/// Media type of an OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Media type of a Docker image manifest (schema 2).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Media type of a Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Media type of the runtime config of an "oci" variant image (config and first layer).
pub const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
/// Media type of the module layer of an "oci" variant image.
pub const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
/// Media type of an OCI image config (the "compat" variant's config).
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Media type of a gzip tar layer in an OCI image (the "compat" variant's layer).
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Media type of a gzip tar layer in a Docker image (also read as "compat").
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The `artifactType` of a native module image.
pub const NATIVE_ARTIFACT: &str = "application/vnd.proxylet.dynamic-module.v1";
/// Media type of a native module image's config ([`NativeConfig`]).
pub const NATIVE_CONFIG: &str = "application/vnd.proxylet.dynamic-module.config.v1+json";
/// Media type of a native module image's layer: the shared library, byte for byte.
pub const NATIVE_LAYER: &str = "application/vnd.proxylet.dynamic-module.content.layer.v1+so";

/// Manifest annotation: the runtime type (`envoy_proxy`).
pub const ANNOTATION_RUNTIME_TYPE: &str = "module.wasm.runtime/type";
/// Manifest annotation: the ABI versions, comma-separated (`v0.2.1`).
pub const ANNOTATION_ABI_VERSION: &str = "module.wasm.runtime/abi_version";
/// Manifest annotation of the "compat" variant.
pub const ANNOTATION_VARIANT: &str = "module.wasm.image/variant";
/// Descriptor annotation: a file name for the blob.
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";

/// The module's file name in a "compat" layer (what Istio looks for).
pub const COMPAT_MODULE_FILE: &str = "plugin.wasm";
/// The runtime config's file name in a "compat" layer.
pub const COMPAT_RUNTIME_CONFIG_FILE: &str = "runtime-config.json";

/// The largest module this tool unpacks from a "compat" layer (a guard against gzip bombs).
const MAX_MODULE: u64 = 1 << 30;

/// The image formats; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Variant {
    /// Two layers with the Wasm media types (runtime config + raw module).
    #[default]
    Oci,
    /// One gzip tar layer holding `plugin.wasm`.
    Compat,
    /// A native module (`build --native` chooses it; not a `--variant`).
    #[value(skip)]
    Native,
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::Oci => "oci",
            Variant::Compat => "compat",
            Variant::Native => "native",
        })
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The hex part of a `sha256:<hex>` digest, checked to be 64 lowercase hex digits.
pub fn digest_hex(digest: &str) -> Result<&str> {
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| err!("unsupported digest `{digest}` (expected sha256:<64 hex digits>)"))?;
    if hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(hex)
    } else {
        Err(err!(
            "malformed digest `{digest}` (expected sha256:<64 lowercase hex digits>)"
        ))
    }
}

// Hand-written, not oci-spec 0.10: its annotations are HashMaps, so manifest bytes (the digest) change run to run (4 digests in 6 runs), and it adds 24 crates, +11 s cold dev / +23 s release here.
/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The blob's media type.
    pub media_type: String,
    /// `sha256:<hex>` of the blob.
    pub digest: String,
    /// The blob's size in bytes.
    pub size: u64,
    /// Annotations (e.g. `org.opencontainers.image.title`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The descriptor of `bytes` with `media_type`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Self {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: digest(bytes),
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
        }
    }

    fn titled(mut self, title: &str) -> Self {
        self.annotations
            .insert(ANNOTATION_TITLE.into(), title.into());
        self
    }
}

/// An image manifest (OCI or Docker schema 2; the fields they share).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's media type, when written in the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The OCI 1.1 artifact type ([`NATIVE_ARTIFACT`] for a native module image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, in order.
    pub layers: Vec<Descriptor>,
    /// Manifest annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// Parses a manifest; `media_type` is the one the registry or store gave.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        serde_json::from_slice(bytes).map_err(|e| err!("the image manifest is not valid: {e}"))
    }

    /// Which variant this manifest is and the descriptor of the layer holding the module,
    /// decided the way Istio's fetcher decides: a Docker manifest or a last layer of type
    /// `tar+gzip` is "compat"; two layers, one of them the Wasm content type, is "oci".
    pub fn classify(&self, media_type: &str) -> Result<(Variant, &Descriptor)> {
        if self.artifact_type.as_deref() == Some(NATIVE_ARTIFACT)
            || self.config.media_type == NATIVE_CONFIG
        {
            return match self.layers.as_slice() {
                [layer] if layer.media_type == NATIVE_LAYER => Ok((Variant::Native, layer)),
                layers => {
                    Err(err!(
                    "a native module image has one layer of type {NATIVE_LAYER}; found layers {:?}",
                    layers.iter().map(|l| l.media_type.as_str()).collect::<Vec<_>>()
                ))
                }
            };
        }
        let Some(last) = self.layers.last() else {
            return Err(err!("the image has no layers, so it holds no Wasm module"));
        };
        let compat_type = if media_type == DOCKER_MANIFEST {
            DOCKER_LAYER_GZIP
        } else {
            OCI_LAYER_GZIP
        };
        if last.media_type == compat_type {
            return Ok((Variant::Compat, last));
        }
        if self.layers.len() == 2 {
            if let Some(layer) = self.layers.iter().find(|l| l.media_type == WASM_LAYER) {
                return Ok((Variant::Oci, layer));
            }
        }
        let types: Vec<&str> = self.layers.iter().map(|l| l.media_type.as_str()).collect();
        Err(err!(
            "not a Wasm image: expected two layers with one of type {WASM_LAYER} (\"oci\") or a \
             last layer of type {compat_type} (\"compat\"), or a native module image (artifact \
             type {NATIVE_ARTIFACT}); found layers {types:?}"
        ))
    }
}

/// A blob with its descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// What the manifest says about it.
    pub descriptor: Descriptor,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A whole image: the manifest bytes exactly as stored or pushed, and every blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The manifest's media type (`Content-Type` when pushed).
    pub media_type: String,
    /// The manifest, byte for byte (its digest is the image digest).
    pub manifest: Vec<u8>,
    /// The config blob and the layers, each once.
    pub blobs: Vec<Blob>,
}

impl Image {
    /// Builds the image of the wasm `module` in `variant` ("oci" or "compat"). The runtime
    /// config is read from the module's `proxylet.runtime_config` section. A native module
    /// is packaged by [`Image::native`].
    pub fn build(module: &[u8], variant: Variant) -> Result<Image> {
        if variant == Variant::Native || crate::native::is_elf(module) {
            return Err(err!(
                "cannot package a native module as a wasm image; build it with `cargo proxylet                  build --native`"
            ));
        }
        let runtime = proxylet_artifact::runtime_config(module)
            .map_err(|e| err!("cannot package the module: {e}"))?;
        Ok(match variant {
            Variant::Compat => Image::compat(module, &runtime),
            Variant::Oci | Variant::Native => Image::oci(module, &runtime),
        })
    }

    fn runtime_annotations(runtime: &RuntimeConfig) -> BTreeMap<String, String> {
        BTreeMap::from([
            (ANNOTATION_RUNTIME_TYPE.to_owned(), runtime.kind.clone()),
            (
                ANNOTATION_ABI_VERSION.to_owned(),
                runtime.abi_versions.join(","),
            ),
        ])
    }

    /// The "oci" variant: runtime config as config and first layer, module as second.
    pub fn oci(module: &[u8], runtime: &RuntimeConfig) -> Image {
        let config = runtime.to_json().into_bytes();
        let config_descriptor =
            Descriptor::of(WASM_CONFIG, &config).titled(COMPAT_RUNTIME_CONFIG_FILE);
        let module_descriptor = Descriptor::of(WASM_LAYER, module).titled(COMPAT_MODULE_FILE);
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: None,
            config: config_descriptor.clone(),
            layers: vec![config_descriptor.clone(), module_descriptor.clone()],
            annotations: Image::runtime_annotations(runtime),
        };
        Image::assemble(
            manifest,
            vec![
                Blob {
                    descriptor: config_descriptor,
                    bytes: config,
                },
                Blob {
                    descriptor: module_descriptor,
                    bytes: module.to_vec(),
                },
            ],
        )
    }

    /// The "compat" variant: one gzip tar layer with `plugin.wasm` and
    /// `runtime-config.json`.
    pub fn compat(module: &[u8], runtime: &RuntimeConfig) -> Image {
        let runtime_json = runtime.to_json().into_bytes();
        let tar = tar_of(&[
            (COMPAT_MODULE_FILE, module),
            (COMPAT_RUNTIME_CONFIG_FILE, &runtime_json),
        ]);
        let layer = gzip(&tar);
        // The config `docker build` or `buildah bud` writes for `FROM scratch` + `COPY
        // plugin.wasm ./` on the usual amd64 build machine, which is how compat images are
        // made elsewhere: generic container tools (umoci, containers/image) unpack only
        // `linux` images. Istio and Envoy Gateway ignore the platform.
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": { "type": "layers", "diff_ids": [digest(&tar)] },
            "history": [{ "created_by": "cargo proxylet build --variant compat" }],
        }))
        .unwrap_or_default();
        let config_descriptor = Descriptor::of(OCI_CONFIG, &config);
        let layer_descriptor = Descriptor::of(OCI_LAYER_GZIP, &layer);
        let mut annotations = Image::runtime_annotations(runtime);
        annotations.insert(ANNOTATION_VARIANT.into(), "compat".into());
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: None,
            config: config_descriptor.clone(),
            layers: vec![layer_descriptor.clone()],
            annotations,
        };
        Image::assemble(
            manifest,
            vec![
                Blob {
                    descriptor: config_descriptor,
                    bytes: config,
                },
                Blob {
                    descriptor: layer_descriptor,
                    bytes: layer,
                },
            ],
        )
    }

    /// The native image of a shared library (`library` is its file name, e.g.
    /// `libadd_header.so`): see the [module docs](self). Its config is read from the file.
    pub fn native(module: &[u8], library: &str) -> Result<Image> {
        let read = crate::native::NativeModule::read(module)
            .map_err(|e| e.context("cannot package the native module"))?;
        if !read.shared_library {
            return Err(err!(
                "cannot package the native module: it is an ELF file but not a shared library"
            ));
        }
        let native = NativeConfig {
            architecture: read.platform.architecture,
            os: read.platform.os,
            abi_version: read.abi_version,
            root_ids: read
                .runtime_config
                .map(|c| c.config.root_ids)
                .unwrap_or_default(),
            library: library.to_owned(),
        };
        let config = serde_json::to_vec(&native).unwrap_or_default();
        let config_descriptor = Descriptor::of(NATIVE_CONFIG, &config);
        let layer_descriptor = Descriptor::of(NATIVE_LAYER, module).titled(library);
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: Some(NATIVE_ARTIFACT.into()),
            config: config_descriptor.clone(),
            layers: vec![layer_descriptor.clone()],
            annotations: BTreeMap::new(),
        };
        Ok(Image::assemble(
            manifest,
            vec![
                Blob {
                    descriptor: config_descriptor,
                    bytes: config,
                },
                Blob {
                    descriptor: layer_descriptor,
                    bytes: module.to_vec(),
                },
            ],
        ))
    }

    /// The config of a native module image; `None` for a wasm image.
    pub fn native_config(&self) -> Result<Option<NativeConfig>> {
        let manifest = self.parsed()?;
        if manifest.classify(&self.media_type)?.0 != Variant::Native {
            return Ok(None);
        }
        let bytes = self
            .blob(&manifest.config.digest)
            .ok_or_else(|| err!("the image lacks its config {}", manifest.config.digest))?;
        NativeConfig::parse(bytes).map(Some)
    }

    fn assemble(manifest: Manifest, blobs: Vec<Blob>) -> Image {
        Image {
            media_type: OCI_MANIFEST.into(),
            manifest: serde_json::to_vec(&manifest).unwrap_or_default(),
            blobs,
        }
    }

    /// `sha256:<hex>` of the manifest: the image digest registries, Istio and Envoy Gateway
    /// check.
    pub fn digest(&self) -> String {
        digest(&self.manifest)
    }

    /// The parsed manifest.
    pub fn parsed(&self) -> Result<Manifest> {
        Manifest::parse(&self.manifest)
    }

    /// The bytes of the blob with `digest`.
    pub fn blob(&self, digest: &str) -> Option<&[u8]> {
        self.blobs
            .iter()
            .find(|b| b.descriptor.digest == digest)
            .map(|b| b.bytes.as_slice())
    }

    /// The variant and the Wasm module it holds.
    pub fn module(&self) -> Result<(Variant, Vec<u8>)> {
        let manifest = self.parsed()?;
        let (variant, layer) = manifest.classify(&self.media_type)?;
        let bytes = self
            .blob(&layer.digest)
            .ok_or_else(|| err!("the image lacks its layer {}", layer.digest))?;
        Ok((variant, extract_module(variant, bytes)?))
    }
}

/// The config of a native module image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NativeConfig {
    /// The CPU architecture, as OCI names it (`amd64`, `arm64`...).
    pub architecture: String,
    /// The operating system (`linux`).
    pub os: String,
    /// The Envoy dynamic modules ABI version the module announces (`v0.2.0`), if found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi_version: Option<String>,
    /// The root ids (Envoy's `filter_name`s) it declares.
    #[serde(default)]
    pub root_ids: Vec<String>,
    /// The library's file name (`lib<crate>.so`).
    pub library: String,
}

impl NativeConfig {
    /// Parses the config blob.
    pub fn parse(bytes: &[u8]) -> Result<NativeConfig> {
        serde_json::from_slice(bytes)
            .map_err(|e| err!("the native module image's config is not valid: {e}"))
    }

    /// `linux/amd64`.
    pub fn platform(&self) -> crate::native::Platform {
        crate::native::Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
        }
    }
}

/// The module inside a module-holding layer of `variant`.
pub fn extract_module(variant: Variant, layer: &[u8]) -> Result<Vec<u8>> {
    match variant {
        Variant::Oci | Variant::Native => Ok(layer.to_vec()),
        Variant::Compat => {
            let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer));
            let entries = archive
                .entries()
                .map_err(|e| err!("the compat layer is not a gzip tar: {e}"))?;
            for entry in entries {
                let entry = entry.map_err(|e| err!("the compat layer is not a gzip tar: {e}"))?;
                let is_module = entry
                    .path()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n == COMPAT_MODULE_FILE))
                    .unwrap_or(false);
                if is_module {
                    let mut module = Vec::new();
                    entry
                        .take(MAX_MODULE)
                        .read_to_end(&mut module)
                        .map_err(|e| {
                            err!("cannot read {COMPAT_MODULE_FILE} from the layer: {e}")
                        })?;
                    return Ok(module);
                }
            }
            Err(err!("the compat layer has no {COMPAT_MODULE_FILE}"))
        }
    }
}

/// A ustar archive of `files`, reproducible: mode 0644, owner 0, mtime 0.
fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_ustar();
        // Short ASCII names: cannot fail.
        let _ = header.set_path(name);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let _ = builder.append(&header, *bytes);
    }
    builder.into_inner().unwrap_or_default()
}

/// Gzip of `bytes` with no name and mtime 0, so equal input gives equal output.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module() -> Vec<u8> {
        proxylet_artifact::tests_support::module_with_section(
            proxylet_artifact::RUNTIME_CONFIG_SECTION,
            br#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["add_header"]}}"#,
        )
    }

    #[test]
    fn oci_variant_has_exactly_the_two_wasm_layers_and_annotations() {
        let image = Image::build(&module(), Variant::Oci).unwrap();
        let manifest = image.parsed().unwrap();
        assert_eq!(manifest.layers.len(), 2);
        assert_eq!(manifest.layers[0].media_type, WASM_CONFIG);
        assert_eq!(manifest.layers[1].media_type, WASM_LAYER);
        assert_eq!(manifest.config, manifest.layers[0]);
        assert_eq!(manifest.annotations[ANNOTATION_RUNTIME_TYPE], "envoy_proxy");
        assert_eq!(manifest.annotations[ANNOTATION_ABI_VERSION], "v0.2.1");
        assert_eq!(manifest.layers[1].digest, digest(&module()));
        assert_eq!(image.module().unwrap(), (Variant::Oci, module()));
    }

    #[test]
    fn compat_variant_is_one_gzip_tar_layer_with_plugin_wasm() {
        let image = Image::build(&module(), Variant::Compat).unwrap();
        let manifest = image.parsed().unwrap();
        assert_eq!(manifest.layers.len(), 1);
        assert_eq!(manifest.layers[0].media_type, OCI_LAYER_GZIP);
        assert_eq!(manifest.config.media_type, OCI_CONFIG);
        assert_eq!(manifest.annotations[ANNOTATION_VARIANT], "compat");
        assert_eq!(image.module().unwrap(), (Variant::Compat, module()));
    }

    #[test]
    fn images_are_reproducible() {
        for variant in [Variant::Oci, Variant::Compat] {
            let a = Image::build(&module(), variant).unwrap();
            let b = Image::build(&module(), variant).unwrap();
            assert_eq!(a.digest(), b.digest(), "{variant}");
        }
    }

    #[test]
    fn a_docker_manifest_with_a_docker_layer_is_compat() {
        let image = Image::build(&module(), Variant::Compat).unwrap();
        let mut manifest = image.parsed().unwrap();
        manifest.media_type = Some(DOCKER_MANIFEST.into());
        manifest.layers[0].media_type = DOCKER_LAYER_GZIP.into();
        assert_eq!(
            manifest.classify(DOCKER_MANIFEST).unwrap().0,
            Variant::Compat
        );
        assert!(manifest.classify(OCI_MANIFEST).is_err());
    }

    #[test]
    fn digests_are_checked() {
        assert!(digest_hex(&digest(b"x")).is_ok());
        assert!(digest_hex("sha256:ABC").is_err());
        assert!(digest_hex("md5:00").is_err());
    }
}
