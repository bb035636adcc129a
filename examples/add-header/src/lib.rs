//! The flagship proxylet filter: adds a response header, `hello: melon` by default.
//!
//! Envoy configuration (the plugin configuration, JSON): `{"name": "hello", "value": "melon"}`.
//! Both are checked at configure time: a name that is not a header name (empty, with a
//! space or a colon, a pseudo-header, a framing header such as `content-length`) or a
//! value with a control byte (`"v\r\nset-cookie: evil=1"`) makes Envoy refuse the
//! configuration, naming the field.

// ANCHOR: filter
use proxylet::prelude::*;

/// The header to add to every response.
#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AddHeader {
    /// Header name: a token, lowercased; not a pseudo-header or a framing header.
    pub name: HeaderName,
    /// Header value: no control byte but tab.
    pub value: HeaderValue,
}

impl Default for AddHeader {
    fn default() -> Self {
        AddHeader {
            name: HeaderName::from("hello"),
            value: HeaderValue::from("melon"),
        }
    }
}

#[proxylet::filter]
fn on_response_headers(headers: &mut Headers, config: &AddHeader) {
    headers.set(&config.name, &config.value);
}
// ANCHOR_END: filter

// The tests that link this filter natively (the test host) are unit tests: a `cdylib`-only
// crate cannot be linked by the integration tests in tests/, and a `cdylib` alone keeps the
// module small whatever command builds it.
#[cfg(test)]
mod tests {
    mod host;
}
