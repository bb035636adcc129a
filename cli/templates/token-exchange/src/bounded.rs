//! A configured number with bounds, checked when the configuration is parsed.

use std::fmt;

use proxylet::schema::{ConfigSchema, Schema};
use serde::de::{self, Deserialize, Deserializer, Unexpected, Visitor};

// ANCHOR: bounded
/// A whole number from `MIN` to `MAX`, refused at configure time otherwise.
///
/// Every number this filter waits or counts with has one: `retries: 4294967295` would
/// make one request hammer a failing token service for hours. A value out of range,
/// negative, fractional or not a number is refused while the JSON is parsed, so the error
/// names the field: `config.token.retries: invalid value: integer `6`, expected an
/// integer from 0 to 5`. The JSON Schema says the same
/// (`{"type":"integer","minimum":0,"maximum":5}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bounded<const MIN: u64, const MAX: u64>(u64);

impl<const MIN: u64, const MAX: u64> Bounded<MIN, MAX> {
    /// `value`, when it is within the bounds.
    pub const fn new(value: u64) -> Option<Self> {
        if MIN <= value && value <= MAX {
            Some(Bounded(value))
        } else {
            None
        }
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// The smallest value accepted.
impl<const MIN: u64, const MAX: u64> Default for Bounded<MIN, MAX> {
    fn default() -> Self {
        Bounded(MIN)
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_u64(BoundedVisitor::<MIN, MAX>)
    }
}

struct BoundedVisitor<const MIN: u64, const MAX: u64>;

impl<const MIN: u64, const MAX: u64> Visitor<'_> for BoundedVisitor<MIN, MAX> {
    type Value = Bounded<MIN, MAX>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer from {MIN} to {MAX}")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Bounded::new(value).ok_or_else(|| E::invalid_value(Unexpected::Unsigned(value), &self))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        u64::try_from(value)
            .ok()
            .and_then(Bounded::new)
            .ok_or_else(|| E::invalid_value(Unexpected::Signed(value), &self))
    }
}

impl<const MIN: u64, const MAX: u64> ConfigSchema for Bounded<MIN, MAX> {
    const SCHEMA: &'static Schema = &Schema::Integer {
        min: MIN as i128,
        max: MAX as i128,
    };
}
// ANCHOR_END: bounded
