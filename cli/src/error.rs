//! The crate's error type: a message that says what happened and what to do.

use std::fmt;

/// Why a command failed. The message names what went wrong and, where the tool can tell,
/// what to do about it; `cargo proxylet` prints it after `error: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefixes the message with `context: `.
    pub fn context(self, context: impl fmt::Display) -> Self {
        Error::new(format!("{context}: {}", self.message))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<proxylet_artifact::build::BuildError> for Error {
    fn from(error: proxylet_artifact::build::BuildError) -> Self {
        Error::new(error.0)
    }
}

impl From<proxylet_artifact::Error> for Error {
    fn from(error: proxylet_artifact::Error) -> Self {
        Error::new(error.to_string())
    }
}

impl From<proxylet_harness::Error> for Error {
    fn from(error: proxylet_harness::Error) -> Self {
        Error::new(error.to_string())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds an [`Error`] from a format string: `err!("cannot read {}", path.display())`.
#[macro_export]
#[doc(hidden)]
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::Error::new(format!($($arg)*))
    };
}

/// Reads a file, saying which one could not be read.
pub(crate) fn read(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))
}

/// Writes a file (creating its directory), saying which one could not be written.
pub(crate) fn write(path: &std::path::Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, bytes)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
}
