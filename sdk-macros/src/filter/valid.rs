//! Checks a parsed `#[filter]` item and builds the model, reporting every mistake at once.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, Item, ReturnType, Type};

use super::ast::{Filter, Param, ParamKind};
use super::attr::Args;
use super::hooks::{self, Hook, Provides, SDK_PARAM_TYPES};
use crate::error::Errors;

/// Validates `item` under `args`.
pub(crate) fn check(args: Args, item: Item) -> syn::Result<Filter> {
    let mut errors = Errors::default();
    let item = match item {
        Item::Fn(item) => item,
        other => {
            return Err(syn::Error::new_spanned(
                item_keyword(&other),
                "`#[filter]` goes on a function named after the hook it handles, e.g. `fn on_request_headers`",
            ))
        }
    };
    let sig = &item.sig;
    if let Some(asyncness) = &sig.asyncness {
        errors.push(
            asyncness,
            "a filter hook cannot be `async`: proxy-wasm calls hooks synchronously; return `Action::Pause` and resume from a callback instead",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(
            &sig.generics,
            "a filter hook cannot be generic: the host calls it with concrete types; name the config type directly",
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(unsafety, "a filter hook cannot be `unsafe fn`");
    }
    if let Some(abi) = &sig.abi {
        errors.push(abi, "a filter hook cannot declare an ABI; remove `extern`");
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(variadic, "a filter hook cannot be variadic");
    }

    let name = sig.ident.to_string();
    let hook = hooks::find(&name);
    if hook.is_none() {
        let message = match hooks::did_you_mean(&name) {
            Some(hook) => format!("unknown hook `{name}`; did you mean `{hook}`?"),
            None => format!(
                "unknown hook `{name}`; a `#[filter]` function is named after its hook: {}",
                hooks::HOOKS
                    .iter()
                    .map(|hook| format!("`{}`", hook.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        errors.push(&sig.ident, message);
    }

    let mut params = Vec::new();
    let mut config = None;
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(
                receiver,
                "a `#[filter]` function takes no `self`; it is a free function",
            ),
            FnArg::Typed(typed) => {
                if let Some(hook) = hook {
                    match classify(hook, &typed.ty) {
                        Ok(kind) => {
                            if let ParamKind::Config = kind {
                                let inner = referent(&typed.ty).clone();
                                if config.is_some() {
                                    errors.push(
                                        &typed.ty,
                                        "a hook takes at most one config parameter; put everything in one config type",
                                    );
                                }
                                config = Some(inner);
                            } else if params.iter().any(|p: &Param| same_kind(&p.kind, &kind)) {
                                errors.push(
                                    &typed.ty,
                                    "this parameter is already taken once; remove the duplicate",
                                );
                            }
                            params.push(Param { kind });
                        }
                        Err(message) => errors.push(&typed.ty, message),
                    }
                }
            }
        }
    }

    let (root_id, root_id_span) = match &args.root_id {
        Some(lit) => {
            let value = lit.value();
            if !valid_root_id(&value) {
                errors.push(
                    lit,
                    "a root id may only contain ASCII letters, digits, `_`, `-` and `.`, and cannot be empty",
                );
            }
            (value, lit.span())
        }
        None => (default_root_id(), Span::call_site()),
    };

    let krate = match &args.krate {
        Some(lit) => match lit.parse::<syn::Path>() {
            Ok(path) => path,
            Err(_) => {
                errors.push(
                    lit,
                    "`crate` must be a path, e.g. `crate = \"my_proxylet\"`",
                );
                syn::parse_quote!(::proxylet)
            }
        },
        None => syn::parse_quote!(::proxylet),
    };

    errors.finish()?;
    let hook = hook.ok_or_else(|| syn::Error::new(Span::call_site(), "unreachable: hook"))?;
    Ok(Filter {
        item,
        hook,
        params,
        config,
        root_id,
        root_id_span,
        export: args.export.is_none_or(|lit| lit.value),
        krate,
    })
}

/// What a parameter of type `ty` receives in `hook`, or why it cannot.
fn classify(hook: &Hook, ty: &Type) -> Result<ParamKind, String> {
    let offered = || offered_list(hook);
    match ty {
        Type::Reference(reference) => {
            let mutable = reference.mutability.is_some();
            match sdk_type_name(&reference.elem) {
                Some("Headers") if hook.provides.contains(&Provides::Headers) => {
                    Ok(ParamKind::Headers { mutable })
                }
                Some(sdk) => Err(format!(
                    "`{}` has no `{sdk}` to give; it can take {}",
                    hook.name,
                    offered()
                )),
                None if mutable => Err(format!(
                    "the config is shared by every request of the plugin, so it cannot be `&mut`; take `&{}`",
                    reference.elem.to_token_stream()
                )),
                None => Ok(ParamKind::Config),
            }
        }
        _ => match sdk_type_name(ty) {
            Some("EndOfStream") if hook.provides.contains(&Provides::EndOfStream) => {
                Ok(ParamKind::EndOfStream)
            }
            Some("Headers") if hook.provides.contains(&Provides::Headers) => Err(
                "take the headers by reference: `&mut Headers` (or `&Headers` to only read)"
                    .to_owned(),
            ),
            _ => Err(format!(
                "`{}` cannot provide a `{}`; it can take {}",
                hook.name,
                ty.to_token_stream(),
                offered()
            )),
        },
    }
}

fn offered_list(hook: &Hook) -> String {
    let mut offered: Vec<&str> = Vec::new();
    for provides in hook.provides {
        match provides {
            Provides::Headers => offered.push("`&mut Headers`"),
            Provides::EndOfStream => offered.push("`EndOfStream`"),
        }
    }
    offered.push("`&C` for your config type `C`");
    offered.join(", ")
}

/// The SDK type a path names (`Headers`, `proxylet::Headers`...), if any.
fn sdk_type_name(ty: &Type) -> Option<&'static str> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    SDK_PARAM_TYPES
        .iter()
        .copied()
        .find(|name| last.ident == name && last.arguments.is_empty())
}

fn referent(ty: &Type) -> &Type {
    match ty {
        Type::Reference(reference) => &reference.elem,
        other => other,
    }
}

fn same_kind(a: &ParamKind, b: &ParamKind) -> bool {
    matches!(
        (a, b),
        (ParamKind::Headers { .. }, ParamKind::Headers { .. })
            | (ParamKind::EndOfStream, ParamKind::EndOfStream)
    )
}

fn valid_root_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The crate's name (`add-header` → `add_header`), as wasme derives root ids.
fn default_root_id() -> String {
    std::env::var("CARGO_CRATE_NAME")
        .or_else(|_| std::env::var("CARGO_PKG_NAME").map(|name| name.replace('-', "_")))
        .unwrap_or_else(|_| "filter".to_owned())
}

/// The tokens that best name a non-function item in an error.
fn item_keyword(item: &Item) -> proc_macro2::TokenStream {
    match item {
        Item::Struct(item) => item.struct_token.to_token_stream(),
        Item::Enum(item) => item.enum_token.to_token_stream(),
        Item::Impl(item) => item.impl_token.to_token_stream(),
        Item::Mod(item) => item.mod_token.to_token_stream(),
        other => {
            let span = other.span();
            quote::quote_spanned!(span=> item)
        }
    }
}

/// The return type, for the generated bound check.
pub(crate) fn return_type(sig: &syn::Signature) -> Option<&Type> {
    match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(ty),
    }
}
