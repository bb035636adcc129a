//! Procedural macros of [proxylet](https://docs.rs/proxylet). Use them through the
//! `proxylet` crate (`#[proxylet::filter]`); this crate's API is not stable on its own.
#![warn(missing_docs)]

use proc_macro::TokenStream;

mod error;
mod filter;

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
