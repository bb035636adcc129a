//! Where cargo-proxylet keeps things: the cache directory (image store, tools).

use std::path::PathBuf;

/// The environment variable naming the cache directory.
pub const CACHE_ENV: &str = "PROXYLET_CACHE_DIR";

/// The cache directory: `$PROXYLET_CACHE_DIR`, else `$XDG_CACHE_HOME/proxylet`, else
/// `~/.cache/proxylet`, else `proxylet` in the system's temporary directory.
pub fn cache_dir() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var(CACHE_ENV) {
        return dir;
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return dir.join("proxylet");
    }
    if let Some(home) = var("HOME") {
        return home.join(".cache").join("proxylet");
    }
    std::env::temp_dir().join("proxylet")
}

/// Where tools (Envoy) are installed when missing: `tools/` in the [`cache_dir`].
pub fn tools_dir() -> PathBuf {
    cache_dir().join("tools")
}
