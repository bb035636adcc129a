//! The crate's single error type.

use std::fmt;

/// Why the harness could not do what it was asked.
///
/// The message says what went wrong and, where the harness can tell, what to do about it.
/// Errors about a running (or dying) Envoy carry Envoy's log, which [`Display`](fmt::Display)
/// prints after the message so a failing test shows it without further work.
#[derive(Debug)]
pub struct Error {
    message: String,
    log: Option<String>,
    source: Option<std::io::Error>,
}

impl Error {
    /// An error with only a message.
    pub(crate) fn msg(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            log: None,
            source: None,
        }
    }

    /// An error caused by an I/O error.
    pub(crate) fn io(message: impl Into<String>, source: std::io::Error) -> Self {
        Error {
            message: message.into(),
            log: None,
            source: Some(source),
        }
    }

    /// Attaches Envoy's log (or another program's output) to the error.
    pub(crate) fn with_log(mut self, log: impl Into<String>) -> Self {
        self.log = Some(log.into());
        self
    }

    /// The message, without the cause or the attached log.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Envoy's log (or the failing program's output) at the time of the error, if any.
    pub fn log(&self) -> Option<&str> {
        self.log.as_deref()
    }

    /// Whether the underlying cause is an I/O error of kind `TimedOut` or `WouldBlock`
    /// (a socket read or write timed out).
    pub fn is_timeout(&self) -> bool {
        self.source.as_ref().is_some_and(|e| {
            matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            )
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        if let Some(log) = &self.log {
            let log = log.trim_end();
            if log.is_empty() {
                f.write_str("\n(the log is empty)")?;
            } else {
                write!(f, "\n--- log ---\n{log}\n--- end of log ---")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<proxylet_artifact::tools::ToolError> for Error {
    /// Installing or running a tool failed: its message, with the command's output as the
    /// log.
    fn from(error: proxylet_artifact::tools::ToolError) -> Self {
        let log = error.output().map(str::to_owned);
        let error = Error::msg(error.message());
        match log {
            Some(log) => error.with_log(log),
            None => error,
        }
    }
}
