//! The path a rule matches: `:path` normalized so that spellings an upstream may read as
//! the same resource are one string here.
//!
//! Envoy's connection manager forwards `:path` as the client sent it unless
//! `normalize_path`, `merge_slashes` and `path_with_escaped_slashes_action` are set, and
//! upstreams differ in what they decode. So the limiter does not trust either: it matches
//! its prefixes against [`normalize_path`], which over-approximates what common upstreams
//! resolve (a limiter that counts a request too eagerly is safe; one that misses it is a
//! bypass).

// ANCHOR: normalize
/// Normalizes a request's `:path` for matching (never for forwarding):
///
/// 1. the query (`?…`) and fragment (`#…`) are cut off;
/// 2. percent-escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`, RFC 3986 §2.3) are
///    decoded, once: `%6c` is `l`, `%2e` is `.` (so `%2e%2e` is a dot segment);
/// 3. `/`, `\`, `%2f` and `%5c` all separate segments (upstreams that decode `%2f` or
///    treat `\` as `/` would otherwise see another path than the limiter);
/// 4. a segment's parameters (`;…`, which Tomcat and Spring drop: `/x/..;/login`) are cut;
/// 5. empty segments are merged (`//` is `/`), then `.` and `..` segments are removed
///    (RFC 3986 §5.2.4), never above the root;
/// 6. ASCII letters are lowercased: matching is case-insensitive;
/// 7. every other byte that is not allowed as is in a path (controls, space, non-ASCII,
///    `%` that starts no escape, …) is written `%XX`, and escapes kept are uppercase.
///
/// The result starts with `/`, ends with `/` when the path named a directory (`/a/`,
/// `/a/.`, `/a/b/..`), and normalizing it again changes nothing.
pub fn normalize_path(raw: &[u8]) -> Vec<u8> {
    let end = raw
        .iter()
        .position(|b| *b == b'?' || *b == b'#')
        .unwrap_or(raw.len());
    let mut segments: Vec<Vec<u8>> = Vec::new();
    let mut segment: Vec<u8> = Vec::new();
    // Inside a segment's `;` parameters: bytes are dropped until the next separator.
    let mut in_params = false;
    // Whether the path names a directory: it ends with a separator or a dot segment.
    let mut directory = false;
    let mut i = 0;
    while i < end {
        let (unit, next) = decode_unit(&raw[..end], i);
        i = next;
        match unit {
            Unit::Separator => {
                close_segment(&mut segments, std::mem::take(&mut segment));
                in_params = false;
                directory = true;
            }
            _ if in_params => {}
            Unit::Literal(b';') => in_params = true,
            Unit::Literal(byte) => push_byte(&mut segment, byte.to_ascii_lowercase()),
            Unit::Escaped(byte) => push_escape(&mut segment, byte),
        }
    }
    if !segment.is_empty() {
        directory = close_segment(&mut segments, segment);
    }
    let mut out = Vec::with_capacity(end + 1);
    for segment in &segments {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if directory || segments.is_empty() {
        out.push(b'/');
    }
    out
}

/// One character of the path after decoding.
enum Unit {
    /// Separates segments: `/`, `\`, `%2f`, `%5c`.
    Separator,
    /// A byte as it is (decoded when it was an escaped unreserved character).
    Literal(u8),
    /// A byte that stays percent-encoded: a reserved character, or an escape's byte that
    /// must not be decoded.
    Escaped(u8),
}

/// Reads the unit at `at`; returns it and where the next one starts.
fn decode_unit(path: &[u8], at: usize) -> (Unit, usize) {
    let byte = path[at];
    if byte == b'%' {
        let hex = |i: usize| path.get(i).and_then(|b| (*b as char).to_digit(16));
        if let (Some(high), Some(low)) = (hex(at + 1), hex(at + 2)) {
            let decoded = (high * 16 + low) as u8;
            let unit = match decoded {
                b'/' | b'\\' => Unit::Separator,
                b if is_unreserved(b) => Unit::Literal(b),
                b => Unit::Escaped(b),
            };
            return (unit, at + 3);
        }
        // A `%` that starts no escape is the byte `%` itself.
        return (Unit::Escaped(b'%'), at + 1);
    }
    let unit = match byte {
        b'/' | b'\\' => Unit::Separator,
        _ => Unit::Literal(byte),
    };
    (unit, at + 1)
}

/// Ends a segment: merges it away when empty, applies `.` and `..`. Returns whether it
/// was one of those (a path ending with it names a directory).
fn close_segment(segments: &mut Vec<Vec<u8>>, segment: Vec<u8>) -> bool {
    match &segment[..] {
        b"" | b"." => {}
        b".." => {
            segments.pop();
        }
        _ => {
            segments.push(segment);
            return false;
        }
    }
    true
}

fn push_byte(segment: &mut Vec<u8>, byte: u8) {
    if is_unreserved(byte) || is_path_literal(byte) {
        segment.push(byte);
    } else {
        push_escape(segment, byte);
    }
}

fn push_escape(segment: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    segment.extend_from_slice(&[
        b'%',
        HEX[usize::from(byte >> 4)],
        HEX[usize::from(byte & 15)],
    ]);
}

/// RFC 3986 §2.3: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// The other bytes a path segment may hold as they are (RFC 3986 `pchar`: sub-delims,
/// `:` and `@`), except `;`, which starts the parameters cut in step 4.
fn is_path_literal(byte: u8) -> bool {
    matches!(
        byte,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'=' | b':' | b'@'
    )
}
// ANCHOR_END: normalize
