//! Checks a parsed `#[filter]` item and builds the model, reporting every mistake at once.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ReturnType, Signature, Type};

use super::ast::{Filter, HookFn, Item, ParamKind};
use super::attr::Args;
use super::hooks::{self, describe, Hook, Kind, Provides};
use crate::error::Errors;

/// Validates `item` under `args`.
pub(crate) fn check(args: Args, item: syn::Item) -> syn::Result<Filter> {
    let mut errors = Errors::default();
    let mut cx = Collect {
        errors: &mut errors,
        plugin: args.plugin.as_ref(),
        config: None,
        kind: filter_kind(&item),
    };
    let (item, self_ty, hook_fns) = match item {
        syn::Item::Fn(item) => {
            let hook = cx.hook_fn(&item.sig, false);
            let ident = &item.sig.ident;
            let self_ty: Type = syn::parse_quote!(#ident);
            (Item::Fn(item), self_ty, hook.into_iter().collect::<Vec<_>>())
        }
        syn::Item::Impl(item) => {
            if let Some((_, path, _)) = &item.trait_ {
                cx.errors.push(
                    path,
                    "`#[filter]` goes on an inherent `impl` block of your per-request state type, not on a trait impl",
                );
            }
            if !item.generics.params.is_empty() {
                cx.errors.push(
                    &item.generics,
                    "a `#[filter] impl` cannot be generic: the host instantiates it with concrete types",
                );
            }
            let mut found = Vec::new();
            for impl_item in &item.items {
                let ImplItem::Fn(method) = impl_item else { continue };
                let name = method.sig.ident.to_string();
                if hooks::find(&name).is_some() {
                    found.extend(cx.hook_fn(&method.sig, true));
                } else if let Some(hook) = hooks::near_miss(&name) {
                    cx.errors.push(
                        &method.sig.ident,
                        format!("unknown hook `{name}`; did you mean `{hook}`?"),
                    );
                }
            }
            if found.is_empty() && !item.items.is_empty() {
                cx.errors.push(
                    &item.self_ty,
                    "this `#[filter] impl` has no hook method; name one after its hook, e.g. `fn on_request_headers(&mut self, headers: &mut Headers)`",
                );
            } else if item.items.is_empty() && args.plugin.is_none() {
                // With a plugin type, an empty block is a filter of plugin hooks only.
                cx.errors.push(
                    &item.self_ty,
                    "this `#[filter] impl` has no hook method; add one, e.g. `fn on_request_headers(&mut self, headers: &mut Headers)`, or give it `plugin = MyPlugin` for a filter of plugin hooks only",
                );
            }
            let self_ty = (*item.self_ty).clone();
            (Item::Impl(item), self_ty, found)
        }
        other => {
            return Err(syn::Error::new_spanned(
                item_keyword(&other),
                "`#[filter]` goes on a function named after the hook it handles (e.g. `fn on_request_headers`) or on an `impl` block of such methods",
            ))
        }
    };
    let config = cx.config.take().map(|(ty, _, _)| ty);

    let kind = hook_fns.first().map_or(Kind::Http, |h| h.hook.kind);
    for hook in &hook_fns {
        if hook.hook.kind != kind {
            errors.push(
                &hook.ident,
                format!(
                    "`{}` is {} hook but this filter's first hook is {} hook; put HTTP and TCP hooks in separate filters",
                    hook.hook.name,
                    kind_name(hook.hook.kind),
                    kind_name(kind)
                ),
            );
        }
    }

    if let Some(max) = &args.max_body {
        let has_body = hook_fns
            .iter()
            .any(|h| h.hook.kind == Kind::Http && h.hook.provides.contains(&Provides::Body));
        if !has_body {
            errors.push(max, "`max_body` buffers bodies for `on_request_body`/`on_response_body`, and this filter has neither");
        }
        if max.base10_parse::<usize>().is_err() {
            errors.push(
                max,
                "`max_body` is a size in bytes, e.g. `max_body = 65536`",
            );
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
    Ok(Filter {
        item,
        self_ty,
        kind,
        hooks: hook_fns,
        config,
        plugin: args.plugin,
        max_body: args.max_body,
        root_id,
        root_id_span,
        export: args.export.is_none_or(|lit| lit.value),
        krate,
    })
}

struct Collect<'a> {
    errors: &'a mut Errors,
    plugin: Option<&'a Type>,
    /// The config type, how it is compared between hooks (`&str` takes a `String`), and
    /// how the first hook wrote it.
    config: Option<(Type, String, String)>,
    /// The filter's kind, which picks the `on_log` and `on_done` hooks it gets.
    kind: Kind,
}

impl Collect<'_> {
    /// Checks one hook function or method.
    fn hook_fn(&mut self, sig: &Signature, method: bool) -> Option<HookFn> {
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            self.errors.push(
                &sig.generics,
                "a filter hook cannot be generic: the host calls it with concrete types; name the config type directly",
            );
        }
        if let Some(unsafety) = &sig.unsafety {
            self.errors
                .push(unsafety, "a filter hook cannot be `unsafe fn`");
        }
        if let Some(abi) = &sig.abi {
            self.errors
                .push(abi, "a filter hook cannot declare an ABI; remove `extern`");
        }
        if let Some(variadic) = &sig.variadic {
            self.errors
                .push(variadic, "a filter hook cannot be variadic");
        }

        let name = sig.ident.to_string();
        let Some(hook) = hooks::find_for(&name, self.kind) else {
            let message = match hooks::did_you_mean(&name) {
                Some(hook) => format!("unknown hook `{name}`; did you mean `{hook}`?"),
                None => format!(
                    "unknown hook `{name}`; a `#[filter]` function is named after its hook: {}",
                    hooks::HOOKS
                        .iter()
                        .filter(
                            |hook| hooks::find(hook.name).is_some_and(|h| std::ptr::eq(h, *hook))
                        )
                        .map(|hook| format!("`{}`", hook.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.errors.push(&sig.ident, message);
            return None;
        };

        let mut receiver = None;
        let mut params = Vec::new();
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(r) if method => {
                    if r.reference.is_none() {
                        self.errors.push(r, "a hook method takes `&mut self` (or `&self`), not `self` by value");
                    }
                    receiver = Some(r.mutability.is_some());
                }
                FnArg::Receiver(r) => self.errors.push(
                    r,
                    "a `#[filter]` function takes no `self`; put methods in a `#[filter] impl` block",
                ),
                FnArg::Typed(typed) => match self.classify(hook, &typed.ty) {
                    Ok(kind) => {
                        let duplicate = kind != ParamKind::Config
                            && kind != ParamKind::Plugin
                            && params.iter().any(|p| same_kind(p, &kind));
                        if duplicate {
                            self.errors.push(&typed.ty, "this parameter is already taken once; remove the duplicate");
                        }
                        params.push(kind);
                    }
                    Err(message) => self.errors.push(&typed.ty, message),
                },
            }
        }
        if method && receiver.is_none() {
            self.errors.push(
                &sig.ident,
                format!("hook method `{name}` needs a receiver: `fn {name}(&mut self, …)`"),
            );
        }
        if let Some(asyncness) = &sig.asyncness {
            self.check_async(hook, asyncness, method, &params);
        }
        let output = match &sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        if !hook.acts {
            if let Some(ty) = &output {
                let unit = matches!(ty, Type::Tuple(t) if t.elems.is_empty());
                if !unit {
                    self.errors.push(
                        ty,
                        format!("`{}` runs after the stream is decided and cannot change it; it returns `()`", hook.name),
                    );
                }
            }
        }
        Some(HookFn {
            hook,
            ident: sig.ident.clone(),
            params,
            receiver,
            output,
            is_async: sig.asyncness.is_some(),
        })
    }

    /// Where an `async` hook can be: an HTTP hook that decides, written as a function,
    /// whose parameters outlive the hook call.
    fn check_async(
        &mut self,
        hook: &Hook,
        asyncness: &syn::token::Async,
        method: bool,
        params: &[ParamKind],
    ) {
        if hook.kind == Kind::Tcp {
            self.errors.push(
                asyncness,
                format!("`{}` of a TCP filter cannot be `async`; async hooks are HTTP hooks, so write it without `async`", hook.name),
            );
        } else if !hook.acts {
            self.errors.push(
                asyncness,
                format!("`{}` cannot be `async`: it runs once the stream is over, when nothing can wait for it; remove `async`", hook.name),
            );
        } else if method {
            self.errors.push(
                asyncness,
                "a hook method cannot be `async`: the filter's per-stream state cannot be held across `.await`; write the hook as a `#[filter] async fn`",
            );
        } else if params.iter().any(|p| matches!(p, ParamKind::Body { .. })) {
            self.errors.push(
                asyncness,
                format!("an `async` hook cannot take the body: the host lends it only until the hook first waits; read what you need in a hook without `async` (`{}`), or wait in the headers hook", hook.name),
            );
        }
    }

    /// What a parameter of type `ty` receives in `hook`, or why it cannot.
    fn classify(&mut self, hook: &Hook, ty: &Type) -> Result<ParamKind, String> {
        let offered = || offered_list(hook);
        let by_ref = match ty {
            Type::Reference(reference) => Some((reference.mutability.is_some(), &*reference.elem)),
            _ => None,
        };
        let inner = by_ref.map_or(ty, |(_, elem)| elem);
        if let Some(provides) = sdk_type(inner) {
            if !hook.provides.contains(&provides) {
                return Err(format!(
                    "`{}` has no {} to give; it can take {}",
                    hook.name,
                    describe(provides, hook.kind),
                    offered()
                ));
            }
            return match (provides, by_ref) {
                (Provides::Headers, Some((mutable, _))) => Ok(ParamKind::Headers { mutable }),
                (Provides::Body, Some((mutable, _))) => Ok(ParamKind::Body { mutable }),
                (Provides::Stream, Some((true, _))) => Ok(ParamKind::Stream),
                (Provides::Stream, _) => Err("take the stream as `&mut Stream`".to_owned()),
                (Provides::EndOfStream, None) => Ok(ParamKind::EndOfStream),
                (Provides::EndOfStream, Some(_)) => {
                    Err("take `EndOfStream` by value: `end: EndOfStream`".to_owned())
                }
                (other, None) => Err(format!(
                    "take it by reference: {}",
                    describe(other, hook.kind)
                )),
            };
        }
        match by_ref {
            Some((mutable, elem)) => {
                let is_plugin = self.plugin.is_some_and(|p| {
                    p.to_token_stream().to_string() == elem.to_token_stream().to_string()
                });
                if is_plugin {
                    if mutable {
                        return Err(format!(
                            "the plugin state is shared by every stream, so it cannot be `&mut`; take `&{}` and use `Cell`/`RefCell` inside",
                            elem.to_token_stream()
                        ));
                    }
                    return Ok(ParamKind::Plugin);
                }
                if mutable {
                    return Err(format!(
                        "the config is shared by every request of the plugin, so it cannot be `&mut`; take `&{}`",
                        elem.to_token_stream()
                    ));
                }
                // `&str` and `&[u8]` borrow a `String` / `Vec<u8>` config (the text and
                // the bytes as given): the hook call derefs to them.
                let written = elem.to_token_stream().to_string();
                let (config, key) = match owned_config(elem) {
                    Some((owned, key)) => (owned, key.to_owned()),
                    None => (elem.clone(), written.clone()),
                };
                match &self.config {
                    Some((_, existing, shown)) if *existing != key => Err(format!(
                        "a filter has one config type, and another hook takes `&{shown}`; use the same type in every hook"
                    )),
                    Some(_) => Ok(ParamKind::Config),
                    None => {
                        self.config = Some((config, key, written));
                        Ok(ParamKind::Config)
                    }
                }
            }
            None => Err(format!(
                "`{}` cannot provide a `{}`; it can take {}",
                hook.name,
                ty.to_token_stream(),
                offered()
            )),
        }
    }
}

/// The config type a borrowed one stands for: `str` the configuration text (`String`),
/// `[u8]` its bytes (`Vec<u8>`), with the name other hooks may use for it (`&String`);
/// spanned on the user's type, so errors point there.
fn owned_config(ty: &Type) -> Option<(Type, &'static str)> {
    let span = ty.span();
    match ty {
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("str") => Some((
            syn::parse_quote_spanned!(span=> ::std::string::String),
            "String",
        )),
        Type::Slice(slice) => match &*slice.elem {
            Type::Path(path) if path.qself.is_none() && path.path.is_ident("u8") => Some((
                syn::parse_quote_spanned!(span=> ::std::vec::Vec<u8>),
                "Vec < u8 >",
            )),
            _ => None,
        },
        _ => None,
    }
}

/// The kind of filter `item` is: TCP when one of its hooks exists only for TCP, else HTTP.
/// (`on_log` and `on_done` exist for both; a filter made of them alone is HTTP.)
fn filter_kind(item: &syn::Item) -> Kind {
    let tcp = |name: String| hooks::find(&name).is_some_and(|hook| hook.kind == Kind::Tcp);
    match item {
        syn::Item::Fn(item) => {
            if tcp(item.sig.ident.to_string()) {
                Kind::Tcp
            } else {
                Kind::Http
            }
        }
        syn::Item::Impl(item) => {
            let any_tcp = item.items.iter().any(|i| match i {
                ImplItem::Fn(method) => tcp(method.sig.ident.to_string()),
                _ => false,
            });
            if any_tcp {
                Kind::Tcp
            } else {
                Kind::Http
            }
        }
        _ => Kind::Http,
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Http => "an HTTP",
        Kind::Tcp => "a TCP",
    }
}

fn offered_list(hook: &Hook) -> String {
    let mut offered: Vec<&str> = hook
        .provides
        .iter()
        .map(|p| describe(*p, hook.kind))
        .collect();
    offered.push("`&C` for your config type `C`");
    offered.join(", ")
}

/// The SDK parameter type a path names (`Headers`, `proxylet::http::Body`...), if any.
fn sdk_type(ty: &Type) -> Option<Provides> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if !matches!(
        last.arguments,
        syn::PathArguments::None | syn::PathArguments::AngleBracketed(_)
    ) {
        return None;
    }
    hooks::sdk_param(&last.ident.to_string())
}

fn same_kind(a: &ParamKind, b: &ParamKind) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
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
fn item_keyword(item: &syn::Item) -> proc_macro2::TokenStream {
    match item {
        syn::Item::Struct(item) => item.struct_token.to_token_stream(),
        syn::Item::Enum(item) => item.enum_token.to_token_stream(),
        syn::Item::Mod(item) => item.mod_token.to_token_stream(),
        other => {
            let span = other.span();
            quote::quote_spanned!(span=> item)
        }
    }
}
