//! Image references: `[registry/]repository[:tag][@sha256:digest]`, as Docker writes them.

use std::fmt;
use std::str::FromStr;

use crate::{err, Error, Result};

/// The registry used when a reference names none.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// The tag used when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

/// A parsed image reference.
///
/// ```
/// use cargo_proxylet::reference::Reference;
/// let r: Reference = "localhost:5000/filters/add-header:v1".parse().unwrap();
/// assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
/// assert_eq!(r.repository, "filters/add-header");
/// assert_eq!(r.tag(), "v1");
/// assert_eq!(r.to_string(), "localhost:5000/filters/add-header:v1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The registry host (with port), if the reference names one.
    pub registry: Option<String>,
    /// The repository path, e.g. `filters/add-header`.
    pub repository: String,
    /// The tag, if given.
    pub tag: Option<String>,
    /// The digest (`sha256:<hex>`), if given.
    pub digest: Option<String>,
}

impl Reference {
    /// The tag, or `latest`.
    pub fn tag(&self) -> &str {
        self.tag.as_deref().unwrap_or(DEFAULT_TAG)
    }

    /// `[registry/]repository`, without tag or digest.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}", self.repository),
            None => self.repository.clone(),
        }
    }

    /// The registry host to talk to (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> String {
        match self.registry.as_deref() {
            None | Some(DEFAULT_REGISTRY) | Some("index.docker.io") => {
                "registry-1.docker.io".into()
            }
            Some(registry) => registry.to_owned(),
        }
    }

    /// Whether the registry is on this machine's loopback interface: `localhost`, an
    /// address in 127.0.0.0/8 or `[::1]`, with or without a port. Such a registry is spoken
    /// to over plain HTTP, as Docker and go-containerregistry do.
    pub fn is_loopback(&self) -> bool {
        let Some(registry) = self.registry.as_deref() else {
            return false;
        };
        let host = match registry.strip_prefix('[') {
            // `[::1]:5000`
            Some(rest) => rest.split(']').next().unwrap_or_default(),
            // `127.0.0.1:5000`, `localhost:5000`, `localhost`
            None => registry.split(':').next().unwrap_or_default(),
        };
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The registry as written in credentials files (`docker.io` when none is named).
    pub fn registry_or_default(&self) -> &str {
        self.registry.as_deref().unwrap_or(DEFAULT_REGISTRY)
    }

    /// The repository as the registry API names it (`library/` added for Docker Hub's
    /// official images).
    pub fn api_repository(&self) -> String {
        let hub = matches!(self.registry.as_deref(), None | Some(DEFAULT_REGISTRY));
        if hub && !self.repository.contains('/') {
            format!("library/{}", self.repository)
        } else {
            self.repository.clone()
        }
    }

    /// What to ask the registry for: the digest if given, else the tag.
    pub fn api_reference(&self) -> &str {
        self.digest.as_deref().unwrap_or_else(|| self.tag())
    }

    /// The same reference with tag `latest` written out when it had neither tag nor
    /// digest: the key images are stored under.
    pub fn normalized(&self) -> Reference {
        let mut normalized = self.clone();
        if normalized.tag.is_none() && normalized.digest.is_none() {
            normalized.tag = Some(DEFAULT_TAG.into());
        }
        normalized
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(text: &str) -> Result<Reference> {
        let bad = |why: &str| {
            err!(
                "`{text}` is not an image reference ({why}); write \
                 [registry/]repository[:tag][@sha256:digest], e.g. localhost:5000/filters/add-header:v1"
            )
        };
        let text = text.strip_prefix("oci://").unwrap_or(text);
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                crate::image::digest_hex(digest).map_err(|e| bad(e.message()))?;
                (rest, Some(digest.to_owned()))
            }
            None => (text, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(colon) if !rest[colon..].contains('/') => {
                (&rest[..colon], Some(rest[colon + 1..].to_owned()))
            }
            _ => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_owned()), path.to_owned())
            }
            _ => (None, name.to_owned()),
        };
        if repository.is_empty() {
            return Err(bad("no repository"));
        }
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        };
        if !repository.split('/').all(component_ok) {
            return Err(bad(
                "repository components are lowercase letters, digits, `.`, `_` and `-`",
            ));
        }
        if let Some(tag) = &tag {
            let ok = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return Err(bad("a tag is 1 to 128 letters, digits, `.`, `_` and `-`"));
            }
        }
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Reference {
        text.parse().unwrap()
    }

    #[test]
    fn parses_the_usual_forms() {
        let r = parse("add-header");
        assert_eq!(
            (r.registry.as_deref(), r.repository.as_str(), r.tag()),
            (None, "add-header", "latest")
        );
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.api_repository(), "library/add-header");
        assert_eq!(r.normalized().to_string(), "add-header:latest");

        let r = parse("127.0.0.1:5000/a/b:v1.0");
        assert_eq!(r.registry.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(r.repository, "a/b");
        assert_eq!(r.tag(), "v1.0");
        assert!(r.is_loopback());

        let digest = format!("sha256:{}", "a".repeat(64));
        let r = parse(&format!("oci://ghcr.io/me/f@{digest}"));
        assert_eq!(r.api_reference(), digest);
        assert_eq!(r.tag, None);
        assert!(!r.is_loopback());
        assert_eq!(parse("localhost/x").registry.as_deref(), Some("localhost"));
    }

    #[test]
    fn bad_references_say_the_expected_form() {
        for bad in ["", "UPPER/case", "x/Y:1", "x:", "x@sha256:zz", "x:bad tag"] {
            let error = bad.parse::<Reference>().unwrap_err();
            assert!(
                error.message().contains("[registry/]repository"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn loopback_registries_are_recognized_in_every_spelling() {
        for loopback in [
            "localhost:5000/f:v1",
            "LOCALHOST:5000/f",
            "localhost/f",
            "127.0.0.1:5000/f",
            "127.1.2.3:80/f",
            "[::1]:5000/f",
        ] {
            assert!(parse(loopback).is_loopback(), "{loopback}");
        }
        for remote in [
            "ghcr.io/me/f:v1",
            "f:v1",
            "docker.io/library/f",
            "128.0.0.1:5000/f",
            "10.0.0.1:5000/f",
            "localhost.example.com:5000/f",
            "[::2]:5000/f",
            "127.0.0.1.nip.io:5000/f",
        ] {
            assert!(!parse(remote).is_loopback(), "{remote}");
        }
    }
}
