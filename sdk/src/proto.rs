//! A small protobuf decoder for what Envoy's proxy-wasm host serializes metadata as:
//! `envoy.config.core.v3.Metadata` (its `filter_metadata`, a map of `google.protobuf.Struct`
//! by namespace), `Struct`, `Value` and `ListValue`.
//!
//! The bytes come from the host: every length is checked, nesting is bounded by
//! [`MAX_DEPTH`], and anything malformed is `None`, never a panic or a trap. Unknown
//! fields are skipped, as protobuf readers do (`typed_filter_metadata` among them).

use serde_json::{Map, Number, Value};

/// The deepest nesting of structs and lists decoded (protobuf's own default recursion
/// limit): deeper input is refused, so hostile bytes cannot exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 100;

/// One field's payload, by wire type.
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32,
    Len(&'a [u8]),
}

/// Reads the fields of one message, in order.
struct Fields<'a> {
    bytes: &'a [u8],
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Fields { bytes }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None // more than ten bytes
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        if len > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Some(head)
    }

    /// The next field: `Some(None)` at the end, `None` on malformed input.
    fn next_field(&mut self) -> Option<Option<(u64, Wire<'a>)>> {
        if self.bytes.is_empty() {
            return Some(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 {
            return None;
        }
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().ok()?)),
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                Wire::Len(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Wire::Fixed32
            }
            _ => return None, // groups (3, 4) are not used by these messages; 6, 7 do not exist
        };
        Some(Some((number, wire)))
    }
}

/// Calls `each(number, wire)` for every field of a message; `None` when malformed.
fn for_each_field<'a>(
    bytes: &'a [u8],
    mut each: impl FnMut(u64, Wire<'a>) -> Option<()>,
) -> Option<()> {
    let mut fields = Fields::new(bytes);
    while let Some((number, wire)) = fields.next_field()? {
        each(number, wire)?;
    }
    Some(())
}

/// A map entry (`key` = 1, `value` = 2): the key as text and the value's bytes, each
/// empty when absent (protobuf defaults).
fn map_entry(bytes: &[u8]) -> Option<(String, &[u8])> {
    let mut key: &[u8] = &[];
    let mut value: &[u8] = &[];
    for_each_field(bytes, |number, wire| {
        match (number, wire) {
            (1, Wire::Len(k)) => key = k,
            (2, Wire::Len(v)) => value = v,
            (1 | 2, _) => return None,
            _ => {}
        }
        Some(())
    })?;
    Some((String::from_utf8(key.to_vec()).ok()?, value))
}

/// `envoy.config.core.v3.Metadata`: its `filter_metadata` (field 1), the namespaces in
/// the order they came (a repeated one: the last wins, as in protobuf), each still
/// serialized as a `Struct`.
pub(crate) fn metadata_namespaces(bytes: &[u8]) -> Option<Vec<(String, &[u8])>> {
    let mut namespaces: Vec<(String, &[u8])> = Vec::new();
    for_each_field(bytes, |number, wire| {
        match (number, wire) {
            (1, Wire::Len(entry)) => {
                let (name, value) = map_entry(entry)?;
                namespaces.retain(|(n, _)| *n != name);
                namespaces.push((name, value));
            }
            (1, _) => return None,
            _ => {} // typed_filter_metadata and later fields
        }
        Some(())
    })?;
    Some(namespaces)
}

/// Namespace `namespace` of a serialized `Metadata`, decoded: `Some(None)` when it has no
/// such namespace, `None` when the bytes are malformed.
pub(crate) fn metadata_namespace(
    bytes: &[u8],
    namespace: &str,
) -> Option<Option<Map<String, Value>>> {
    let found = metadata_namespaces(bytes)?
        .into_iter()
        .find(|(name, _)| name == namespace);
    match found {
        Some((_, serialized)) => decode_struct(serialized, 0).map(Some),
        None => Some(None),
    }
}

/// A serialized `google.protobuf.Struct` (field 1: `map<string, Value>`).
pub(crate) fn decode_struct(bytes: &[u8], depth: usize) -> Option<Map<String, Value>> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let mut map = Map::new();
    for_each_field(bytes, |number, wire| {
        match (number, wire) {
            (1, Wire::Len(entry)) => {
                let (key, value) = map_entry(entry)?;
                map.insert(key, decode_value(value, depth + 1)?);
            }
            (1, _) => return None,
            _ => {}
        }
        Some(())
    })?;
    Some(map)
}

/// A serialized `google.protobuf.Value`. Numbers are doubles; an integral one within
/// ±2^53 becomes a JSON integer (so it deserializes into integer types), a non-finite
/// one `null` (JSON has none). A value with no kind set is `null`.
fn decode_value(bytes: &[u8], depth: usize) -> Option<Value> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let mut value = Value::Null;
    for_each_field(bytes, |number, wire| {
        // A oneof: the last kind on the wire wins.
        value = match (number, wire) {
            (1, Wire::Varint(_)) => Value::Null,
            (2, Wire::Fixed64(bits)) => number_value(f64::from_bits(bits)),
            (3, Wire::Len(text)) => Value::String(String::from_utf8(text.to_vec()).ok()?),
            (4, Wire::Varint(flag)) => Value::Bool(flag != 0),
            (5, Wire::Len(fields)) => Value::Object(decode_struct(fields, depth + 1)?),
            (6, Wire::Len(values)) => Value::Array(decode_list(values, depth + 1)?),
            (1..=6, _) => return None,
            _ => return Some(()),
        };
        Some(())
    })?;
    Some(value)
}

/// A serialized `google.protobuf.ListValue` (field 1: `repeated Value`).
fn decode_list(bytes: &[u8], depth: usize) -> Option<Vec<Value>> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let mut values = Vec::new();
    for_each_field(bytes, |number, wire| {
        match (number, wire) {
            (1, Wire::Len(value)) => values.push(decode_value(value, depth + 1)?),
            (1, _) => return None,
            _ => {}
        }
        Some(())
    })?;
    Some(values)
}

/// A metadata number as JSON: integral values within ±2^53 (exact in a double) as
/// integers, other finite ones as floats, NaN and infinities as `null`.
pub(crate) fn number_value(number: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if number.fract() == 0.0 && number.abs() <= EXACT {
        // In range and integral: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        return Value::Number(Number::from(number as i64));
    }
    Number::from_f64(number).map_or(Value::Null, Value::Number)
}

/// Serializes metadata the way Envoy does (for the test host and the tests): a
/// `Metadata` with one `filter_metadata` entry per namespace.
#[cfg(any(test, feature = "testing"))]
pub fn encode_metadata<'a>(
    namespaces: impl IntoIterator<Item = (&'a str, &'a Map<String, Value>)>,
) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, fields) in namespaces {
        let mut entry = Vec::new();
        encode_len(&mut entry, 1, name.as_bytes());
        encode_len(&mut entry, 2, &encode_struct(fields));
        encode_len(&mut out, 1, &entry);
    }
    out
}

/// Serializes a `google.protobuf.Struct`.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn encode_struct(fields: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in fields {
        let mut entry = Vec::new();
        encode_len(&mut entry, 1, key.as_bytes());
        encode_len(&mut entry, 2, &encode_value(value));
        encode_len(&mut out, 1, &entry);
    }
    out
}

#[cfg(any(test, feature = "testing"))]
fn encode_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        Value::Null => {
            encode_varint(&mut out, 1 << 3);
            encode_varint(&mut out, 0);
        }
        Value::Number(number) => {
            encode_varint(&mut out, (2 << 3) | 1);
            out.extend_from_slice(&number.as_f64().unwrap_or(f64::NAN).to_le_bytes());
        }
        Value::String(text) => encode_len(&mut out, 3, text.as_bytes()),
        Value::Bool(flag) => {
            encode_varint(&mut out, 4 << 3);
            encode_varint(&mut out, u64::from(*flag));
        }
        Value::Object(fields) => encode_len(&mut out, 5, &encode_struct(fields)),
        Value::Array(values) => {
            let mut list = Vec::new();
            for value in values {
                encode_len(&mut list, 1, &encode_value(value));
            }
            encode_len(&mut out, 6, &list);
        }
    }
    out
}

#[cfg(any(test, feature = "testing"))]
fn encode_len(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    encode_varint(out, (number << 3) | 2);
    encode_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(any(test, feature = "testing"))]
fn encode_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn metadata_round_trips_every_kind_of_value() {
        let acme = object(json!({
            "tier": "gold",
            "limit": 100,
            "ratio": 0.25,
            "negative": -3,
            "enabled": true,
            "nothing": null,
            "tags": ["a", 1, false, null, {"deep": [[]]}],
            "nested": {"inner": {"x": "y"}, "empty": {}},
            "": "empty key",
        }));
        let other = object(json!({"k": "v"}));
        let bytes = encode_metadata([("acme", &acme), ("other", &other)]);
        assert_eq!(metadata_namespace(&bytes, "acme"), Some(Some(acme)));
        assert_eq!(metadata_namespace(&bytes, "other"), Some(Some(other)));
        assert_eq!(metadata_namespace(&bytes, "absent"), Some(None));
        let names: Vec<String> = metadata_namespaces(&bytes)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["acme", "other"]);
    }

    #[test]
    fn empty_bytes_are_empty_metadata() {
        assert_eq!(metadata_namespaces(b""), Some(Vec::new()));
        assert_eq!(decode_struct(b"", 0), Some(Map::new()));
    }

    #[test]
    fn numbers_become_integers_when_integral_and_exact() {
        assert_eq!(number_value(8080.0), json!(8080));
        assert_eq!(number_value(-0.0), json!(0));
        assert_eq!(number_value(2.5), json!(2.5));
        assert_eq!(number_value(1e300), json!(1e300));
        assert_eq!(
            number_value(9_007_199_254_740_992.0),
            json!(9_007_199_254_740_992i64)
        );
        assert_eq!(number_value(f64::NAN), Value::Null);
        assert_eq!(number_value(f64::INFINITY), Value::Null);
    }

    #[test]
    fn unknown_fields_are_skipped() {
        // typed_filter_metadata (2), a varint field 9, a fixed32 field 10 around a namespace.
        let fields = object(json!({"a": 1}));
        let mut bytes = Vec::new();
        encode_len(&mut bytes, 2, b"\x0a\x01x\x12\x00");
        encode_varint(&mut bytes, 9 << 3);
        encode_varint(&mut bytes, 300);
        encode_varint(&mut bytes, (10 << 3) | 5);
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        bytes.extend(encode_metadata([("ns", &fields)]));
        assert_eq!(metadata_namespace(&bytes, "ns"), Some(Some(fields)));
    }

    #[test]
    fn a_repeated_key_keeps_the_last_value() {
        let first = object(json!({"k": 1}));
        let second = object(json!({"k": 2}));
        let mut bytes = encode_metadata([("ns", &first)]);
        bytes.extend(encode_metadata([("ns", &second)]));
        assert_eq!(metadata_namespace(&bytes, "ns"), Some(Some(second)));
        let mut fields = encode_struct(&object(json!({"k": "a"})));
        fields.extend(encode_struct(&object(json!({"k": "b"}))));
        assert_eq!(decode_struct(&fields, 0), Some(object(json!({"k": "b"}))));
    }

    #[test]
    fn every_truncation_is_refused_or_a_prefix() {
        let fields = object(json!({"list": [1, "two", {"three": 3.5}], "s": "text"}));
        let bytes = encode_metadata([("ns", &fields)]);
        for cut in 0..bytes.len() {
            // A cut inside a field is malformed; a cut between fields is a shorter message.
            if let Some(Some(map)) = metadata_namespace(&bytes[..cut], "ns") {
                assert!(map.len() <= fields.len(), "cut at {cut}: {map:?}");
            }
        }
    }

    #[test]
    fn hostile_lengths_and_varints_are_refused() {
        // A length far beyond the buffer.
        assert_eq!(
            metadata_namespaces(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            None
        );
        // A length of u64::MAX.
        let mut huge = vec![0x0a];
        huge.extend_from_slice(&[0xff; 9]);
        huge.push(0x01);
        assert_eq!(metadata_namespaces(&huge), None);
        // A varint of eleven bytes.
        let mut long = vec![0x08];
        long.extend_from_slice(&[0x80; 10]);
        long.push(0);
        assert_eq!(metadata_namespaces(&long), None);
        // A truncated varint, field number 0, a group, wire types 6 and 7.
        for bytes in [&[0x08, 0x80][..], &[0x00, 0x00], &[0x0b], &[0x0e], &[0x0f]] {
            assert_eq!(metadata_namespaces(bytes), None, "{bytes:?}");
        }
        // The right field number with the wrong wire type.
        assert_eq!(metadata_namespaces(&[0x08, 0x01]), None);
        assert_eq!(decode_struct(&[0x08, 0x01], 0), None);
        // Keys and strings that are not UTF-8.
        let mut entry = Vec::new();
        encode_len(&mut entry, 1, b"\xff");
        let mut bytes = Vec::new();
        encode_len(&mut bytes, 1, &entry);
        assert_eq!(metadata_namespaces(&bytes), None);
        assert_eq!(decode_struct(&bytes, 0), None);
        assert_eq!(decode_value(&[0x1a, 0x01, 0xff], 0), None);
    }

    /// Lists nested `levels` deep: `[[[...]]]`.
    fn nested_lists(levels: usize) -> Vec<u8> {
        let mut value = Vec::new();
        for _ in 0..levels {
            let mut list = Vec::new();
            if !value.is_empty() {
                encode_len(&mut list, 1, &value);
            }
            let mut outer = Vec::new();
            encode_len(&mut outer, 6, &list);
            value = outer;
        }
        let mut entry = Vec::new();
        encode_len(&mut entry, 1, b"k");
        encode_len(&mut entry, 2, &value);
        let mut fields = Vec::new();
        encode_len(&mut fields, 1, &entry);
        fields
    }

    #[test]
    fn nesting_is_bounded() {
        assert!(decode_struct(&nested_lists(10), 0).is_some());
        assert_eq!(decode_struct(&nested_lists(MAX_DEPTH), 0), None);
        assert_eq!(decode_struct(&nested_lists(100_000), 0), None);
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let fields = object(json!({"a": [1, {"b": "c"}], "d": true, "e": null, "f": 1.5}));
        let valid = encode_metadata([("ns", &fields)]);
        for round in 0..20_000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                // Random bytes, of random length.
                let len = (rng.next() % 64) as usize;
                (0..len).map(|_| rng.next() as u8).collect()
            } else {
                // A valid encoding with a few bytes flipped.
                let mut bytes = valid.clone();
                for _ in 0..1 + rng.next() % 4 {
                    let at = (rng.next() as usize) % bytes.len();
                    bytes[at] = rng.next() as u8;
                }
                bytes
            };
            let _ = metadata_namespace(&bytes, "ns");
            let _ = decode_struct(&bytes, 0);
            let _ = decode_value(&bytes, 0);
        }
    }
}
