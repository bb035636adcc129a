//! The flagship proxylet filter: adds a response header, `hello: melon` by default.
//!
//! Envoy configuration (the plugin configuration, JSON): `{"name": "hello", "value": "melon"}`.

// ANCHOR: filter
use proxylet::prelude::*;

/// The header to add to every response.
#[derive(Deserialize, ConfigSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AddHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

impl Default for AddHeader {
    fn default() -> Self {
        AddHeader {
            name: "hello".into(),
            value: "melon".into(),
        }
    }
}

#[proxylet::filter]
fn on_response_headers(headers: &mut Headers, config: &AddHeader) {
    headers.set(&config.name, &config.value);
}
// ANCHOR_END: filter
