//! Collecting errors (all at once, each on its own span) and turning them into tokens.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use std::fmt::Display;

/// Accumulates errors so one expansion reports every mistake, not only the first.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Option<syn::Error>,
}

impl Errors {
    /// Records an error at `span`'s tokens.
    pub(crate) fn push(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.add(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error.
    pub(crate) fn add(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(error),
            None => self.errors = Some(error),
        }
    }

    /// `Err` with every recorded error, if any.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.errors {
            Some(errors) => Err(errors),
            None => Ok(()),
        }
    }
}

/// The macro's output: the expansion, or the errors next to the user's unchanged item,
/// so one mistake does not cascade into "cannot find function" errors elsewhere.
pub(crate) fn finish(result: syn::Result<TokenStream>, item: TokenStream) -> TokenStream {
    let output = match result {
        Ok(expanded) => expanded,
        Err(errors) => {
            let errors = errors.to_compile_error();
            quote!(#errors #item)
        }
    };
    if std::env::var_os("PROXYLET_MACROS_DEBUG").is_some_and(|v| v == "1") {
        eprintln!("proxylet-macros expansion:\n{output}");
    }
    output
}
