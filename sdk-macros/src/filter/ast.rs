//! The validated model of a `#[filter]` item, keeping the user's syn nodes for spans.

use proc_macro2::Span;

use super::hooks::{Hook, Kind};

/// What one parameter receives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ParamKind {
    Headers { mutable: bool },
    Body { mutable: bool },
    EndOfStream,
    Stream,
    Config,
    Plugin,
}

/// One hook function or method, checked.
pub(crate) struct HookFn {
    pub(crate) hook: &'static Hook,
    /// The function's or method's name as written (span of the user's ident).
    pub(crate) ident: syn::Ident,
    pub(crate) params: Vec<ParamKind>,
    /// Methods: whether the receiver is `&mut self` (else `&self`); free fns: `None`.
    pub(crate) receiver: Option<bool>,
    /// The return type, if written.
    pub(crate) output: Option<syn::Type>,
    /// `async fn`: its future runs as the stream's task.
    pub(crate) is_async: bool,
}

/// The user's item, emitted unchanged.
pub(crate) enum Item {
    Fn(syn::ItemFn),
    Impl(syn::ItemImpl),
}

/// A `#[filter]` item, checked.
pub(crate) struct Filter {
    pub(crate) item: Item,
    /// The filter type: the generated struct for a fn, `Self` of an impl.
    pub(crate) self_ty: syn::Type,
    pub(crate) kind: Kind,
    pub(crate) hooks: Vec<HookFn>,
    /// `C` of the `&C` config parameters, if any.
    pub(crate) config: Option<syn::Type>,
    pub(crate) plugin: Option<syn::Type>,
    pub(crate) max_body: Option<syn::LitInt>,
    pub(crate) root_id: String,
    pub(crate) root_id_span: Span,
    pub(crate) export: bool,
    pub(crate) krate: syn::Path,
}
