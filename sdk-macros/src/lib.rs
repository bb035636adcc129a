//! Procedural macros of [proxylet](https://docs.rs/proxylet). Use them through the
//! `proxylet` crate (`#[proxylet::filter]`); this crate's API is not stable on its own.
#![warn(missing_docs)]

use proc_macro::TokenStream;

mod config_schema;
mod error;
mod filter;
mod hook_set;

/// Turns a function named after a proxy-wasm hook into an Envoy filter.
///
/// See the documentation of `proxylet::filter` for the full reference.
#[proc_macro_attribute]
pub fn filter(args: TokenStream, item: TokenStream) -> TokenStream {
    error::finish(
        filter::expand(args.into(), item.clone().into()),
        item.into(),
    )
    .into()
}

/// Derives `ConfigSchema`: the JSON Schema of a config type, following its serde
/// attributes.
///
/// See the documentation of `proxylet::schema::ConfigSchema` for the full reference.
#[proc_macro_derive(ConfigSchema, attributes(config_schema))]
pub fn derive_config_schema(item: TokenStream) -> TokenStream {
    error::finish(
        config_schema::expand(item.clone().into()),
        config_schema::fallback(item.into()),
    )
    .into()
}

/// The module's `proxy_on_*` entry point groups, each once (generated code only).
#[doc(hidden)]
#[proc_macro]
pub fn __hook_set(input: TokenStream) -> TokenStream {
    hook_set::expand(input.into()).into()
}
