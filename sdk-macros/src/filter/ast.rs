//! The validated model of a `#[filter]` function, keeping the user's syn nodes for spans.

use proc_macro2::Span;

use super::hooks::Hook;

/// What one parameter receives.
pub(crate) enum ParamKind {
    /// The phase's headers, `&mut Headers` or `&Headers`.
    Headers { mutable: bool },
    /// `EndOfStream`.
    EndOfStream,
    /// `&C`: the typed configuration.
    Config,
}

/// One parameter of the hook function.
pub(crate) struct Param {
    pub(crate) kind: ParamKind,
}

/// A `#[filter]` function, checked.
pub(crate) struct Filter {
    /// The user's function, emitted unchanged.
    pub(crate) item: syn::ItemFn,
    pub(crate) hook: &'static Hook,
    pub(crate) params: Vec<Param>,
    /// `C` of the `&C` config parameter, if any.
    pub(crate) config: Option<syn::Type>,
    pub(crate) root_id: String,
    pub(crate) root_id_span: Span,
    /// Whether to export the module's entry point for this filter alone.
    pub(crate) export: bool,
    /// The path of the `proxylet` crate (`::proxylet` unless renamed).
    pub(crate) krate: syn::Path,
}
