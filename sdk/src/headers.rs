//! Header maps of an HTTP stream, with values as bytes.

use std::fmt;
use std::str::Utf8Error;

use crate::host::{self, HostError, MapType};

/// The headers (or trailers) of one phase of an HTTP stream, read and written in place
/// on the host.
///
/// Values are bytes: a peer may send anything, and [`Headers::get`] never fails on
/// non-UTF-8 data. Text access goes through [`HeaderValue::to_str`], which is fallible.
/// Names are matched case-insensitively by the host (Envoy stores them lowercased).
///
/// ```no_run
/// # use proxylet::Headers;
/// fn tag(headers: &mut Headers) {
///     if let Some(agent) = headers.get("user-agent") {
///         let agent = agent.to_str().unwrap_or("<binary>");
///         headers.set("x-agent-seen", agent);
///     }
///     headers.remove("x-internal");
/// }
/// ```
pub struct Headers {
    map: MapType,
}

impl Headers {
    pub(crate) const fn new(map: MapType) -> Self {
        Headers { map }
    }

    /// The request headers of the current stream.
    ///
    /// Hooks receive their phase's headers as a parameter; use this only from hand-written
    /// filters that need the request headers in a later phase (the host decides which maps
    /// are still readable there, and reports [`HostError`] otherwise).
    pub fn request() -> Self {
        Headers::new(MapType::RequestHeaders)
    }

    /// The response headers of the current stream (see [`Headers::request`]).
    pub fn response() -> Self {
        Headers::new(MapType::ResponseHeaders)
    }

    /// The value of header `name`; the first one when it appears several times.
    ///
    /// `None` when it is absent or when the host refused the read (logged at debug level).
    pub fn get(&self, name: &str) -> Option<HeaderValue> {
        match self.try_get(name) {
            Ok(value) => value,
            Err(error) => {
                log::debug!("reading header `{name}`: {error}");
                None
            }
        }
    }

    /// Like [`Headers::get`], with the host's error.
    pub fn try_get(&self, name: &str) -> Result<Option<HeaderValue>, HostError> {
        Ok(host::get_map_value(self.map, name)?.map(HeaderValue))
    }

    /// Whether header `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets header `name` to `value`, replacing all its existing values.
    ///
    /// A refusal by the host is logged at warn level; use [`Headers::try_set`] to handle it.
    pub fn set(&mut self, name: &str, value: impl AsRef<[u8]>) {
        if let Err(error) = self.try_set(name, value) {
            log::warn!("setting header `{name}`: {error}");
        }
    }

    /// Like [`Headers::set`], with the host's error.
    pub fn try_set(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), HostError> {
        host::replace_map_value(self.map, name, value.as_ref())
    }

    /// Adds a value for header `name`, keeping the existing ones.
    ///
    /// A refusal by the host is logged at warn level; use [`Headers::try_append`] to handle it.
    pub fn append(&mut self, name: &str, value: impl AsRef<[u8]>) {
        if let Err(error) = self.try_append(name, value) {
            log::warn!("appending header `{name}`: {error}");
        }
    }

    /// Like [`Headers::append`], with the host's error.
    pub fn try_append(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), HostError> {
        host::add_map_value(self.map, name, value.as_ref())
    }

    /// Removes every value of header `name` (nothing happens when it is absent).
    pub fn remove(&mut self, name: &str) {
        if let Err(error) = self.try_remove(name) {
            log::warn!("removing header `{name}`: {error}");
        }
    }

    /// Like [`Headers::remove`], with the host's error.
    pub fn try_remove(&mut self, name: &str) -> Result<(), HostError> {
        host::remove_map_value(self.map, name)
    }

    /// Replaces the whole map with `pairs` (in order; duplicates allowed).
    pub fn replace_all(&mut self, pairs: &[(&str, &[u8])]) -> Result<(), HostError> {
        let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (n.as_bytes(), *v)).collect();
        host::set_map_pairs(self.map, &pairs)
    }

    /// Every header in order, duplicates included, names and values as bytes.
    ///
    /// Empty when the host refused the read (logged at debug level).
    pub fn all(&self) -> Vec<(HeaderName, HeaderValue)> {
        match self.try_all() {
            Ok(pairs) => pairs,
            Err(error) => {
                log::debug!("reading all headers: {error}");
                Vec::new()
            }
        }
    }

    /// Like [`Headers::all`], with the host's error.
    pub fn try_all(&self) -> Result<Vec<(HeaderName, HeaderValue)>, HostError> {
        Ok(host::get_map_pairs(self.map)?
            .into_iter()
            .map(|(name, value)| (HeaderName(name), HeaderValue(value)))
            .collect())
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Headers").field("map", &self.map).finish()
    }
}

macro_rules! bytes_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name(Vec<u8>);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }

            /// The bytes as UTF-8 text; an error when they are not valid UTF-8.
            pub fn to_str(&self) -> Result<&str, Utf8Error> {
                std::str::from_utf8(&self.0)
            }

            /// The bytes as text, with invalid UTF-8 replaced by `U+FFFD`.
            pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
                String::from_utf8_lossy(&self.0)
            }

            /// Takes the raw bytes.
            pub fn into_bytes(self) -> Vec<u8> {
                self.0
            }

            /// The number of bytes.
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Whether there are no bytes.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl From<Vec<u8>> for $name {
            fn from(bytes: Vec<u8>) -> Self {
                $name(bytes)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name(text.as_bytes().to_vec())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other.as_bytes()
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == other.as_bytes()
            }
        }

        impl PartialEq<[u8]> for $name {
            fn eq(&self, other: &[u8]) -> bool {
                self.0 == other
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "\"{}\"", self.0.escape_ascii())
            }
        }

        impl fmt::Display for $name {
            /// Shows the bytes as text, escaping what is not printable ASCII.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0.escape_ascii())
            }
        }
    };
}

bytes_newtype! {
    /// A header value: bytes, possibly not UTF-8.
    ///
    /// ```
    /// # use proxylet::HeaderValue;
    /// let value = HeaderValue::from(vec![0xff, 0xfe]);
    /// assert!(value.to_str().is_err());
    /// assert_eq!(value.to_string(), "\\xff\\xfe");
    /// ```
    HeaderValue
}

bytes_newtype! {
    /// A header name, as the host stores it (Envoy: lowercase), in bytes.
    HeaderName
}
