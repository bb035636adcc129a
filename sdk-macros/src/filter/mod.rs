//! `#[filter]`: parse → validate → expand.

mod ast;
mod attr;
mod expand;
mod hooks;
mod valid;

use proc_macro2::TokenStream;

/// Expands `#[filter(args)] item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args: attr::Args = syn::parse2(args)?;
    let item: syn::Item = syn::parse2(item)?;
    let filter = valid::check(args, item)?;
    Ok(expand::expand(&filter))
}
