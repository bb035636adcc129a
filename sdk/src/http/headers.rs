//! Header maps of an HTTP stream, with values as bytes, and the rules every header a
//! filter writes must follow ([`HeaderError`]).

use std::fmt;
use std::str::Utf8Error;

use crate::host::{self, HostError, MapType};

/// Why a header was not read as asked or not written.
///
/// Every write path of proxylet ([`Headers`], [`Response::header`](crate::http::Response::header),
/// [`HttpCall::header`](crate::call::HttpCall::header), gRPC metadata) checks names and values
/// before anything reaches the host: a header that would be invalid on the wire is an
/// error, never bytes sent. The rules:
///
/// - a name is an RFC 9110 token: one or more of ``A-Z a-z 0-9 ! # $ % & ' * + - . ^ _ ` | ~``;
/// - a value has no control byte but tab: no CR, LF, NUL, `0x01`..=`0x1f` but `0x09`, no
///   DEL (`0x7f`); bytes `0x80`..=`0xff` (`obs-text`) are allowed;
/// - pseudo-headers are written only where HTTP allows it: request headers may *set*
///   `:method`, `:path`, `:authority` and `:scheme`, response headers may *set*
///   `:status` (three digits, `200..=599`); nothing else may write, append or remove one.
///   `host` follows the rule of `:authority`: Envoy stores them as one header, and an
///   appended `host` would become `host: a,b`;
/// - framing headers (`content-length`, `transfer-encoding`, `connection`, `keep-alive`,
///   `proxy-connection`, `upgrade`, `te`) are the host's: it frames the message it sends,
///   so a filter may remove them (after changing a body, say) but not set or append them.
///
/// Names are compared without regard to ASCII case, as the host does (Envoy stores them
/// lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The name is empty or not an RFC 9110 token (a space, a colon, a control byte...).
    InvalidName {
        /// The name, with bytes that are not printable ASCII escaped.
        name: String,
        /// What a name must be.
        reason: &'static str,
    },
    /// The value has a control byte other than tab (CR, LF, NUL, DEL...), or is not a
    /// valid value for its pseudo-header (e.g. `:status: 700`).
    InvalidValue {
        /// The header's name (empty when the value was checked on its own).
        name: String,
        /// What a value must be (the value itself is not repeated: it may be a secret).
        reason: &'static str,
    },
    /// A pseudo-header written where HTTP does not allow it. `host` counts as
    /// `:authority`, which Envoy stores under both names.
    PseudoHeader {
        /// The pseudo-header, e.g. `:status`.
        name: String,
        /// Where pseudo-headers may be written instead.
        rule: &'static str,
    },
    /// A framing header (`content-length`, `transfer-encoding`, `connection`, ...) set or
    /// appended: the host frames the message it sends.
    Framing {
        /// The header's name.
        name: String,
    },
    /// A header that must appear at most once appears several times
    /// ([`Headers::get_unique`]).
    Repeated {
        /// The name asked for.
        name: String,
        /// How many headers have that name, counting case and `_`/`-` variants.
        count: usize,
    },
    /// The host refused the call.
    Host(HostError),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::InvalidName { name, reason } => {
                write!(f, "invalid header name `{name}`: {reason}")
            }
            HeaderError::InvalidValue { name, reason } if name.is_empty() => {
                write!(f, "invalid header value: {reason}")
            }
            HeaderError::InvalidValue { name, reason } => {
                write!(f, "invalid value for header `{name}`: {reason}")
            }
            HeaderError::PseudoHeader { name, rule } if name.starts_with(':') => {
                write!(f, "pseudo-header `{name}` cannot be written here: {rule}")
            }
            HeaderError::PseudoHeader { name, rule } => write!(
                f,
                "header `{name}` is the host's `:authority` and cannot be written here: {rule}"
            ),
            HeaderError::Framing { name } => write!(
                f,
                "header `{name}` frames the message and only the host writes it; a filter may remove it, not set or append it"
            ),
            HeaderError::Repeated { name, count } => write!(
                f,
                "header `{name}` appears {count} times (counting case and `_`/`-` variants); expected at most once"
            ),
            HeaderError::Host(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for HeaderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HeaderError::Host(error) => Some(error),
            _ => None,
        }
    }
}

impl From<HostError> for HeaderError {
    fn from(error: HostError) -> Self {
        HeaderError::Host(error)
    }
}

/// The framing headers: the host writes them for the message it sends.
pub(crate) const FRAMING: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "upgrade",
    "te",
];

/// Where a header is written: which pseudo-headers are legal there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// Request headers of the stream: `:method`, `:path`, `:authority`, `:scheme` (set).
    Request,
    /// Response headers of the stream: `:status` (set).
    Response,
    /// Trailers, local replies, callout headers, gRPC metadata: no pseudo-header.
    Other(&'static str),
}

impl Place {
    fn of(map: MapType) -> Place {
        match map {
            MapType::RequestHeaders => Place::Request,
            MapType::ResponseHeaders => Place::Response,
            _ => Place::Other("trailers have no pseudo-headers"),
        }
    }

    fn rule(self) -> &'static str {
        match self {
            Place::Request => "request headers may set only `:method`, `:path`, `:authority` (also named `host`) and `:scheme` (never append or remove one)",
            Place::Response => "response headers may set only `:status` (never append or remove it)",
            Place::Other(rule) => rule,
        }
    }
}

/// What a write does with a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Write {
    Set,
    Append,
    Remove,
}

/// `bytes` as text for a message: printable ASCII as is, anything else as `\xNN` (a CR
/// or LF from a hostile name never reaches a log line raw).
fn escaped(bytes: &[u8]) -> String {
    let hex = |n: u8| if n < 10 { b'0' + n } else { b'a' + n - 10 };
    let mut text = Vec::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_graphic() || byte == b' ' {
            text.push(byte);
        } else {
            text.extend_from_slice(&[b'\\', b'x', hex(byte >> 4), hex(byte & 15)]);
        }
    }
    // Only ASCII was pushed.
    String::from_utf8(text).unwrap_or_default()
}

/// Logs a write that was refused, at warn level (one copy of the formatting code).
#[cold]
fn refused(what: &str, name: &[u8], error: &HeaderError) {
    log::warn!("{what} header `{}`: {error}", escaped(name));
}

/// The pseudo-headers a filter may write, with the map that has them.
const PSEUDO: [(&str, Place); 5] = [
    (":method", Place::Request),
    (":path", Place::Request),
    (":authority", Place::Request),
    (":scheme", Place::Request),
    (":status", Place::Response),
];

fn is_tchar(byte: u8) -> bool {
    // A `match`, not `contains`: that would pull `memchr` into every module.
    matches!(
        byte,
        b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'!'
            | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~'
    )
}

/// Checks that `name` is an RFC 9110 token (not a pseudo-header: `:` is not a token byte).
pub(crate) fn check_name(name: &[u8]) -> Result<(), HeaderError> {
    if !name.is_empty() && name.iter().all(|b| is_tchar(*b)) {
        return Ok(());
    }
    Err(HeaderError::InvalidName {
        name: escaped(name),
        reason: "a name is a non-empty RFC 9110 token: letters, digits and ``!#$%&'*+-.^_`|~``, no space, colon or control byte",
    })
}

/// Checks a value: no control byte but HTAB, no DEL.
pub(crate) fn check_value(name: &[u8], value: &[u8]) -> Result<(), HeaderError> {
    if value
        .iter()
        .all(|b| (*b >= 0x20 || *b == b'\t') && *b != 0x7f)
    {
        return Ok(());
    }
    Err(HeaderError::InvalidValue {
        name: escaped(name),
        reason: "a value cannot hold CR, LF, NUL, DEL or another control byte but tab (a CR or LF would start a new header line)",
    })
}

fn is_framing(name: &[u8]) -> bool {
    // Lengths first: this runs on every header write, and most names match none of them.
    FRAMING
        .iter()
        .any(|f| f.len() == name.len() && f.as_bytes().eq_ignore_ascii_case(name))
}

/// Checks a value of pseudo-header `PSEUDO[which]`.
fn check_pseudo_value(which: usize, name: &[u8], value: &[u8]) -> Result<(), HeaderError> {
    let invalid = |reason: &'static str| {
        Err(HeaderError::InvalidValue {
            name: escaped(name),
            reason,
        })
    };
    match which {
        0 => match check_name(value) {
            Ok(()) => Ok(()),
            Err(_) => invalid("a method is a non-empty token, e.g. `GET`"),
        },
        1 => {
            let visible = value.iter().all(|b| (0x21..0x7f).contains(b) && *b != b'#');
            if visible && (value.first() == Some(&b'/') || value == b"*") {
                Ok(())
            } else {
                invalid("a path starts with `/` (or is `*`) and holds only visible ASCII, no `#` (percent-encode the rest)")
            }
        }
        2 => {
            let ok = !value.is_empty()
                && value.iter().all(|b| {
                    (0x21..0x7f).contains(b) && !matches!(b, b'/' | b'?' | b'#' | b'@' | b'\\')
                });
            if ok {
                Ok(())
            } else {
                invalid("an authority is `host[:port]`: visible ASCII, none of ``/ ? # @ \\``")
            }
        }
        3 => {
            let ok = value.first().is_some_and(u8::is_ascii_alphabetic)
                && value
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
            if ok {
                Ok(())
            } else {
                invalid("a scheme is a letter then letters, digits, `+`, `-` or `.`, e.g. `https`")
            }
        }
        _ => {
            let status = match value {
                [a, b, c] if value.iter().all(u8::is_ascii_digit) => {
                    u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
                }
                _ => 0,
            };
            if (200..=599).contains(&status) {
                Ok(())
            } else {
                invalid("a status is three digits in 200..=599")
            }
        }
    }
}

/// Checks one write of header `name` (with `value` unless it is a removal) at `place`.
pub(crate) fn check_write(
    place: Place,
    write: Write,
    name: &[u8],
    value: &[u8],
) -> Result<(), HeaderError> {
    // Envoy keeps `host` as `:authority` (one header under two names): appending to it
    // would make `host: a,b`. It follows the rule of `:authority`.
    let host = name.len() == 4 && name.eq_ignore_ascii_case(b"host");
    if name.first() == Some(&b':') || host {
        let legal = PSEUDO.iter().position(|(pseudo, at)| {
            *at == place
                && (pseudo.as_bytes().eq_ignore_ascii_case(name)
                    || (host && *pseudo == ":authority"))
        });
        return match legal {
            Some(which) if write == Write::Set => check_pseudo_value(which, name, value),
            _ => Err(HeaderError::PseudoHeader {
                name: escaped(name),
                rule: place.rule(),
            }),
        };
    }
    check_name(name)?;
    if write == Write::Remove {
        return Ok(());
    }
    if is_framing(name) {
        return Err(HeaderError::Framing {
            name: escaped(name),
        });
    }
    check_value(name, value)
}

/// Checks the pairs of a local reply, a callout or gRPC metadata (no pseudo-header, no
/// framing header, valid names and values).
pub(crate) fn check_pairs<'a>(
    rule: &'static str,
    pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<(), HeaderError> {
    pairs
        .into_iter()
        .try_for_each(|(name, value)| check_write(Place::Other(rule), Write::Append, name, value))
}

/// Checks a request pseudo-header value of a callout (`:method`, `:path`, `:authority`).
pub(crate) fn check_request_pseudo(name: &str, value: &[u8]) -> Result<(), HeaderError> {
    check_write(Place::Request, Write::Set, name.as_bytes(), value)
}

fn same_for_cgi(a: &[u8], b: &[u8]) -> bool {
    let fold = |b: u8| match b {
        b'_' => b'-',
        b => b.to_ascii_lowercase(),
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| fold(*x) == fold(*y))
}

/// The headers (or trailers) of one phase of an HTTP stream, read and written in place
/// on the host.
///
/// Values are bytes: a peer may send anything, and [`Headers::get`] never fails on
/// non-UTF-8 data. Text access goes through [`HeaderValue::to_str`], which is fallible.
/// Names are matched case-insensitively by the host (Envoy stores them lowercased).
///
/// Every write is checked first ([`HeaderError`] has the rules): a name that is not a
/// token, a value with CR, LF, NUL or another control byte, a pseudo-header where HTTP
/// has none, or a framing header (`content-length`, `transfer-encoding`, ...) is refused
/// and nothing reaches the host. The `try_` methods return that error; `set`, `append`
/// and `remove` log it at warn level and leave the map as it was.
///
/// A header may appear several times. [`Headers::get`] returns the first value only:
/// for a security decision (a key, a token, a tenant) use [`Headers::get_unique`], which
/// refuses a repeated header, or [`Headers::get_all`].
///
/// ```no_run
/// # use proxylet::http::Headers;
/// fn tag(headers: &mut Headers) {
///     if let Some(agent) = headers.get("user-agent") {
///         let agent = agent.to_str().unwrap_or("<binary>");
///         headers.set("x-agent-seen", agent);
///     }
///     headers.remove("x-internal");
/// }
/// ```
pub struct Headers {
    pub(crate) map: MapType,
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

    /// The value of header `name`; the **first** one when it appears several times.
    ///
    /// `None` when it is absent or when the host refused the read (logged at debug level).
    ///
    /// A client can send a header twice (`x-api-key: good` then `x-api-key: other`), and
    /// the upstream may read the other value. For a security decision use
    /// [`Headers::get_unique`], which refuses that ambiguity.
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<HeaderValue> {
        let name = name.as_ref();
        match self.try_get(name) {
            Ok(value) => value,
            Err(error) => {
                log::debug!("reading header `{}`: {error}", escaped(name));
                None
            }
        }
    }

    /// Like [`Headers::get`], with the host's error.
    pub fn try_get(&self, name: impl AsRef<[u8]>) -> Result<Option<HeaderValue>, HostError> {
        Ok(host::get_map_value(self.map, name.as_ref())?.map(HeaderValue))
    }

    /// Every value of header `name`, in order (empty when it is absent or the host refused
    /// the read, logged at debug level). Names match without regard to ASCII case; `_`
    /// and `-` differ here (see [`Headers::get_unique`]).
    pub fn get_all(&self, name: impl AsRef<[u8]>) -> Vec<HeaderValue> {
        let name = name.as_ref();
        match self.try_get_all(name) {
            Ok(values) => values,
            Err(error) => {
                log::debug!("reading header `{}`: {error}", escaped(name));
                Vec::new()
            }
        }
    }

    /// Like [`Headers::get_all`], with the host's error.
    pub fn try_get_all(&self, name: impl AsRef<[u8]>) -> Result<Vec<HeaderValue>, HostError> {
        let name = name.as_ref();
        Ok(host::get_map_pairs(self.map)?
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| HeaderValue(v))
            .collect())
    }

    /// The value of header `name` when it appears at most once: `Ok(None)` when absent,
    /// `Ok(Some(value))` when there is exactly one, and [`HeaderError::Repeated`] when
    /// there are several.
    ///
    /// Headers whose names differ from `name` only in ASCII case or in `_` against `-`
    /// count as the same header: CGI, WSGI, Rack and PHP upstreams read `x_api_key` and
    /// `x-api-key` both as `HTTP_X_API_KEY`, so `x-api-key: good` next to
    /// `x_api_key: other` is as ambiguous as two `x-api-key` lines. A single header
    /// spelled as such a variant is the value returned.
    ///
    /// Use it for every security decision (keys, tokens, tenants, routing to a privileged
    /// backend) and answer an `Err` with `400`:
    ///
    /// ```no_run
    /// use proxylet::prelude::*;
    ///
    /// #[proxylet::filter]
    /// fn on_request_headers(headers: &Headers) -> Action {
    ///     match headers.get_unique("x-api-key") {
    ///         Ok(Some(key)) if key == "let-me-in" => Action::Continue,
    ///         Ok(_) => Action::reply(401, "unknown key\n"),
    ///         Err(error) => Action::reply(400, format!("{error}\n")),
    ///     }
    /// }
    /// ```
    ///
    /// The host may have joined repeated values into one before the filter sees them
    /// (Envoy does so for a few headers, e.g. `authorization`, with `,`): a value holding
    /// a `,` where none is expected is that case.
    pub fn get_unique(&self, name: impl AsRef<[u8]>) -> Result<Option<HeaderValue>, HeaderError> {
        let name = name.as_ref();
        let mut found = None;
        let mut count = 0;
        for (n, v) in host::get_map_pairs(self.map)? {
            if same_for_cgi(&n, name) {
                count += 1;
                found = Some(v);
            }
        }
        match count {
            0 | 1 => Ok(found.map(HeaderValue)),
            count => Err(HeaderError::Repeated {
                name: escaped(name),
                count,
            }),
        }
    }

    /// Whether header `name` is present.
    pub fn contains(&self, name: impl AsRef<[u8]>) -> bool {
        self.get(name).is_some()
    }

    /// Sets header `name` to `value`, replacing all its existing values.
    ///
    /// A refusal ([`HeaderError`]: an invalid name or value, a framing header, a
    /// pseudo-header where there is none, or the host's) is logged at warn level and the
    /// map is left as it was; use [`Headers::try_set`] to handle it.
    pub fn set(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let name = name.as_ref();
        if let Err(error) = self.try_set(name, value) {
            refused("setting", name, &error);
        }
    }

    /// Like [`Headers::set`], with the error. Pseudo-headers are set here only: request
    /// headers take `:method`, `:path`, `:authority` and `:scheme`, response headers
    /// `:status` (`200..=599`).
    pub fn try_set(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), HeaderError> {
        let (name, value) = (name.as_ref(), value.as_ref());
        check_write(Place::of(self.map), Write::Set, name, value)?;
        Ok(host::replace_map_value(self.map, name, value)?)
    }

    /// Adds a value for header `name`, keeping the existing ones.
    ///
    /// A refusal is logged at warn level and the map is left as it was; use
    /// [`Headers::try_append`] to handle it.
    pub fn append(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let name = name.as_ref();
        if let Err(error) = self.try_append(name, value) {
            refused("appending", name, &error);
        }
    }

    /// Like [`Headers::append`], with the error. A pseudo-header is never appended (it
    /// has one value: [`Headers::try_set`] it).
    pub fn try_append(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), HeaderError> {
        let (name, value) = (name.as_ref(), value.as_ref());
        check_write(Place::of(self.map), Write::Append, name, value)?;
        Ok(host::add_map_value(self.map, name, value)?)
    }

    /// Removes every value of header `name` (nothing happens when it is absent).
    ///
    /// Framing headers may be removed (e.g. `content-length` after rewriting a body);
    /// pseudo-headers may not. A refusal is logged at warn level.
    pub fn remove(&mut self, name: impl AsRef<[u8]>) {
        let name = name.as_ref();
        if let Err(error) = self.try_remove(name) {
            refused("removing", name, &error);
        }
    }

    /// Like [`Headers::remove`], with the error.
    pub fn try_remove(&mut self, name: impl AsRef<[u8]>) -> Result<(), HeaderError> {
        let name = name.as_ref();
        check_write(Place::of(self.map), Write::Remove, name, b"")?;
        Ok(host::remove_map_value(self.map, name)?)
    }

    /// Replaces the whole map with `pairs` (in order; duplicates allowed).
    ///
    /// Every pair is checked as [`Headers::try_append`] would, but for two things the
    /// whole map has: pseudo-headers legal in this map (request: `:method`, `:path`,
    /// `:authority`, `:scheme`; response: `:status`) are allowed, once each; and a framing
    /// header is allowed only as the map has it now, with the same value and no more
    /// often (a filter may keep the host's framing headers or drop them, not make new
    /// ones). Nothing is written when a pair is refused. Keep the pseudo-headers the map
    /// needs (`:method`, `:path`... or `:status`): the host does not add them back.
    pub fn replace_all(&mut self, pairs: &[(&str, &[u8])]) -> Result<(), HeaderError> {
        let place = Place::of(self.map);
        let mut current: Option<host::Pairs> = None;
        for (i, (name, value)) in pairs.iter().enumerate() {
            let name = name.as_bytes();
            if name.starts_with(b":") || name.eq_ignore_ascii_case(b"host") {
                check_write(place, Write::Set, name, value)?;
                let canonical = |n: &[u8]| match n.eq_ignore_ascii_case(b"host") {
                    true => b":authority".to_vec(),
                    false => n.to_ascii_lowercase(),
                };
                let again = pairs
                    .get(..i)
                    .unwrap_or_default()
                    .iter()
                    .any(|(n, _)| canonical(n.as_bytes()) == canonical(name));
                if again {
                    return Err(HeaderError::PseudoHeader {
                        name: escaped(name),
                        rule: "a pseudo-header appears at most once",
                    });
                }
            } else if is_framing(name) {
                check_name(name)?;
                let current = match &mut current {
                    Some(current) => current,
                    None => current.insert(host::get_map_pairs(self.map)?),
                };
                let same = |n: &[u8], v: &[u8]| n.eq_ignore_ascii_case(name) && v == *value;
                let now = current.iter().filter(|(n, v)| same(n, v)).count();
                let asked = pairs.iter().filter(|(n, v)| same(n.as_bytes(), v)).count();
                if asked > now {
                    return Err(HeaderError::Framing {
                        name: escaped(name),
                    });
                }
            } else {
                check_write(place, Write::Append, name, value)?;
            }
        }
        let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (n.as_bytes(), *v)).collect();
        Ok(host::set_map_pairs(self.map, &pairs)?)
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
    /// Any bytes convert into one (`From<&str>`, `From<Vec<u8>>`): values read from the
    /// host are what the peer sent. Writing one checks it ([`HeaderError`]);
    /// [`HeaderValue::new`] and the `Deserialize` impl (for configurations) check it
    /// up front.
    ///
    /// ```
    /// # use proxylet::http::HeaderValue;
    /// let value = HeaderValue::from(vec![0xff, 0xfe]);
    /// assert!(value.to_str().is_err());
    /// assert_eq!(value.to_string(), "\\xff\\xfe");
    /// ```
    HeaderValue
}

bytes_newtype! {
    /// A header name, as the host stores it (Envoy: lowercase), in bytes.
    ///
    /// Any bytes convert into one (`From<&str>`, `From<Vec<u8>>`): names read from the
    /// host are what the peer sent. Writing one checks it ([`HeaderError`]);
    /// [`HeaderName::new`] and the `Deserialize` impl (for configurations) check it up
    /// front, and lowercase it.
    HeaderName
}

impl HeaderName {
    /// Whether names `a` and `b` are one header to an upstream that reads headers the
    /// CGI way: equal but for ASCII case and `_` against `-` (CGI, WSGI, Rack and PHP read
    /// `x_api_key` and `X-Api-Key` both as `HTTP_X_API_KEY`). The rule
    /// [`Headers::get_unique`] counts spellings by; use it to remove every spelling a
    /// client sent of a header the filter sets.
    ///
    /// ```
    /// # use proxylet::http::HeaderName;
    /// assert!(HeaderName::same_for_cgi("x_api_key", "X-Api-Key"));
    /// assert!(!HeaderName::same_for_cgi("x-api-key", "x.api.key"));
    /// ```
    pub fn same_for_cgi(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> bool {
        same_for_cgi(a.as_ref(), b.as_ref())
    }

    /// A header name to read or write: an RFC 9110 token, lowercased as the host stores
    /// it; [`HeaderError::InvalidName`] otherwise (an empty name, a space, a colon, a
    /// control byte...).
    ///
    /// ```
    /// # use proxylet::http::HeaderName;
    /// assert_eq!(HeaderName::new("X-Fruit").unwrap(), "x-fruit");
    /// assert!(HeaderName::new("x fruit").is_err());
    /// assert!(HeaderName::new("").is_err());
    /// ```
    pub fn new(name: &str) -> Result<HeaderName, HeaderError> {
        if name.starts_with(':') {
            return Err(HeaderError::PseudoHeader {
                name: escaped(name.as_bytes()),
                rule: "a header name here cannot be a pseudo-header",
            });
        }
        check_name(name.as_bytes())?;
        Ok(HeaderName(name.to_ascii_lowercase().into_bytes()))
    }

    /// Whether this is a framing header (`content-length`, `transfer-encoding`,
    /// `connection`, `keep-alive`, `proxy-connection`, `upgrade`, `te`): one the host
    /// writes, that a filter may remove but not set.
    pub fn is_framing(&self) -> bool {
        is_framing(&self.0)
    }
}

impl HeaderValue {
    /// A header value that can be written: no control byte but tab (no CR, LF, NUL, DEL);
    /// [`HeaderError::InvalidValue`] otherwise.
    ///
    /// ```
    /// # use proxylet::http::HeaderValue;
    /// assert!(HeaderValue::new("melon").is_ok());
    /// assert!(HeaderValue::new("v\r\nset-cookie: evil=1").is_err());
    /// ```
    pub fn new(value: impl Into<Vec<u8>>) -> Result<HeaderValue, HeaderError> {
        let value = value.into();
        check_value(b"", &value)?;
        Ok(HeaderValue(value))
    }
}

/// From a JSON string, checked at configure time: a configuration field `name:
/// HeaderName` refuses an invalid name, a pseudo-header and a framing header (a filter
/// could not write them), naming the field (`config.name: invalid header name ...`).
/// The name is lowercased. A field that must name a framing header to read it can be a
/// `String` given to [`Headers::get`].
impl<'de> serde::Deserialize<'de> for HeaderName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        let name = HeaderName::new(&text).map_err(serde::de::Error::custom)?;
        if name.is_framing() {
            return Err(serde::de::Error::custom(HeaderError::Framing {
                name: escaped(name.as_bytes()),
            }));
        }
        Ok(name)
    }
}

/// From a JSON string, checked at configure time: a value with a control byte other than
/// tab (`"v\r\nset-cookie: evil=1"`) is refused naming the field.
impl<'de> serde::Deserialize<'de> for HeaderValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        HeaderValue::new(text).map_err(serde::de::Error::custom)
    }
}

impl crate::schema::ConfigSchema for HeaderName {
    const SCHEMA: &'static crate::schema::Schema = &crate::schema::Schema::String;
}

impl crate::schema::ConfigSchema for HeaderValue {
    const SCHEMA: &'static crate::schema::Schema = &crate::schema::Schema::String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_tokens() {
        for good in ["x", "X-Fruit", "x_api_key", "!#$%&'*+-.^_`|~09az"] {
            assert!(check_name(good.as_bytes()).is_ok(), "{good}");
        }
        for bad in [
            "", " ", "x y", "x:y", ":path", "x\r\n", "x\0", "é", "x\"", "(x)", "x\x7f",
        ] {
            assert!(check_name(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_refuse_every_control_but_tab() {
        assert!(check_value(b"x", b"a\tb \x80\xff").is_ok());
        for byte in (0u8..0x20).chain([0x7f]).filter(|b| *b != b'\t') {
            let error = check_value(b"x", &[b'a', byte]).unwrap_err();
            assert!(matches!(error, HeaderError::InvalidValue { .. }), "{byte}");
        }
    }

    #[test]
    fn pseudo_headers_only_where_legal() {
        let set = |place, name: &str, value: &str| {
            check_write(place, Write::Set, name.as_bytes(), value.as_bytes())
        };
        assert!(set(Place::Request, ":path", "/a?b=c").is_ok());
        assert!(set(Place::Request, ":path", "*").is_ok());
        assert!(set(Place::Request, ":method", "PATCH").is_ok());
        assert!(set(Place::Request, ":scheme", "https").is_ok());
        assert!(set(Place::Request, ":authority", "example.com:8080").is_ok());
        assert!(set(Place::Response, ":status", "204").is_ok());
        for (place, name, value) in [
            (Place::Request, ":path", "a"),
            (Place::Request, ":path", "/a b"),
            (Place::Request, ":path", "/a#b"),
            (Place::Request, ":path", ""),
            (Place::Request, ":method", "GE T"),
            (Place::Request, ":authority", "a/b"),
            (Place::Request, ":authority", ""),
            (Place::Request, ":scheme", "1http"),
            (Place::Response, ":status", "199"),
            (Place::Response, ":status", "600"),
            (Place::Response, ":status", "2000"),
            (Place::Response, ":status", "+20"),
        ] {
            assert!(
                matches!(
                    set(place, name, value),
                    Err(HeaderError::InvalidValue { .. })
                ),
                "{name}: {value}"
            );
        }
        for (place, name) in [
            (Place::Request, ":status"),
            (Place::Request, ":protocol"),
            (Place::Response, ":path"),
            (Place::Other("x"), ":path"),
            (Place::Request, ":"),
        ] {
            assert!(
                matches!(set(place, name, "/"), Err(HeaderError::PseudoHeader { .. })),
                "{name}"
            );
        }
        assert!(set(Place::Request, "Host", "api.internal:8443").is_ok());
        assert!(matches!(
            set(Place::Request, "host", "a b"),
            Err(HeaderError::InvalidValue { .. })
        ));
        for place in [Place::Response, Place::Other("x")] {
            assert!(matches!(
                set(place, "host", "a"),
                Err(HeaderError::PseudoHeader { .. })
            ));
        }
        let append = check_write(Place::Request, Write::Append, b"HOST", b"b");
        assert!(matches!(append, Err(HeaderError::PseudoHeader { .. })));
        let append = check_write(Place::Request, Write::Append, b":path", b"/");
        assert!(matches!(append, Err(HeaderError::PseudoHeader { .. })));
        let remove = check_write(Place::Response, Write::Remove, b":status", b"");
        assert!(matches!(remove, Err(HeaderError::PseudoHeader { .. })));
    }

    #[test]
    fn framing_headers_are_removed_never_written() {
        for name in [
            "content-length",
            "Transfer-Encoding",
            "CONNECTION",
            "te",
            "Upgrade",
        ] {
            for write in [Write::Set, Write::Append] {
                let error = check_write(Place::Request, write, name.as_bytes(), b"0");
                assert!(matches!(error, Err(HeaderError::Framing { .. })), "{name}");
            }
            assert!(check_write(Place::Response, Write::Remove, name.as_bytes(), b"").is_ok());
        }
    }

    #[test]
    fn cgi_variants_are_the_same_name() {
        assert!(same_for_cgi(b"x-api-key", b"X_API_KEY"));
        assert!(same_for_cgi(b"x_api-key", b"x-api_key"));
        assert!(!same_for_cgi(b"x-api-key", b"x-api-keys"));
        assert!(!same_for_cgi(b"x-api-key", b"x.api.key"));
    }

    #[test]
    fn config_types_check_their_json() {
        let name: HeaderName = serde_json::from_str(r#""X-Fruit""#).unwrap();
        assert_eq!(name, "x-fruit");
        for bad in [
            r#""""#,
            r#""x y""#,
            r#"":status""#,
            r#""content-length""#,
            "5",
        ] {
            assert!(serde_json::from_str::<HeaderName>(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<HeaderValue>(r#""a\tb""#).is_ok());
        for bad in [r#""v\r\nset-cookie: evil=1""#, r#""\u0000""#, r#""\u007f""#] {
            assert!(serde_json::from_str::<HeaderValue>(bad).is_err(), "{bad}");
        }
    }
}
