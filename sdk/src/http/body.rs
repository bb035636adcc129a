//! HTTP bodies (and TCP connection data): bytes held by the host, read and rewritten in
//! place.

use serde::de::DeserializeOwned;

use crate::host::{self, BufferType, HostError};

/// A body: the current chunk in streaming mode, the whole body in buffered mode.
///
/// ```no_run
/// # use proxylet::http::Body;
/// fn redact(body: &mut Body) {
///     let text = String::from_utf8_lossy(&body.bytes()).replace("secret", "******");
///     body.replace(text.as_bytes());
/// }
/// ```
pub struct Body {
    buffer: BufferType,
    size: usize,
    end_of_stream: bool,
}

impl Body {
    pub(crate) fn new(buffer: BufferType, size: usize, end_of_stream: bool) -> Self {
        Body {
            buffer,
            size,
            end_of_stream,
        }
    }

    /// The number of bytes available.
    pub fn len(&self) -> usize {
        self.size
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Whether this is the last of the body.
    pub fn end_of_stream(&self) -> bool {
        self.end_of_stream
    }

    /// All the bytes; empty when the host refused the read (logged at debug level).
    pub fn bytes(&self) -> Vec<u8> {
        self.try_bytes().unwrap_or_else(|error| {
            log::debug!("reading the body: {error}");
            Vec::new()
        })
    }

    /// Like [`Body::bytes`], with the host's error.
    pub fn try_bytes(&self) -> Result<Vec<u8>, HostError> {
        self.read(0, self.size)
    }

    /// Up to `len` bytes from `start`.
    pub fn read(&self, start: usize, len: usize) -> Result<Vec<u8>, HostError> {
        Ok(host::get_buffer(self.buffer, start, len)?.unwrap_or_default())
    }

    /// Parses the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        let bytes = self.try_bytes().map_err(BodyError::Host)?;
        serde_json::from_slice(&bytes).map_err(|e| BodyError::Json(e.to_string()))
    }

    /// Replaces the whole body with `data`.
    pub fn replace(&mut self, data: &[u8]) {
        if let Err(error) = self.try_replace(data) {
            log::warn!("replacing the body: {error}");
        }
    }

    /// Like [`Body::replace`], with the host's error.
    pub fn try_replace(&mut self, data: &[u8]) -> Result<(), HostError> {
        host::set_buffer(self.buffer, 0, self.size, data)?;
        self.size = data.len();
        Ok(())
    }

    /// Serializes `value` as JSON into the body.
    pub fn set_json<T: serde::Serialize>(&mut self, value: &T) -> Result<(), BodyError> {
        let bytes = serde_json::to_vec(value).map_err(|e| BodyError::Json(e.to_string()))?;
        self.try_replace(&bytes).map_err(BodyError::Host)
    }

    /// Appends `data` to the end of the body.
    pub fn append(&mut self, data: &[u8]) -> Result<(), HostError> {
        host::set_buffer(self.buffer, self.size, 0, data)?;
        self.size += data.len();
        Ok(())
    }

    /// Inserts `data` at the start of the body.
    pub fn prepend(&mut self, data: &[u8]) -> Result<(), HostError> {
        host::set_buffer(self.buffer, 0, 0, data)?;
        self.size += data.len();
        Ok(())
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body")
            .field("len", &self.size)
            .field("end_of_stream", &self.end_of_stream)
            .finish()
    }
}

/// Why a body could not be read or written as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The host refused.
    Host(HostError),
    /// The bytes are not the JSON expected.
    Json(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Host(e) => write!(f, "{e}"),
            BodyError::Json(e) => write!(f, "body is not the JSON expected: {e}"),
        }
    }
}

impl std::error::Error for BodyError {}
