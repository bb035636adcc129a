//! The attribute's arguments:
//! `#[filter(root_id = "…", plugin = Type, max_body = N, export = false, crate = "…")]`.

use syn::parse::{Parse, ParseStream};
use syn::{LitBool, LitInt, LitStr, Token};

mod kw {
    syn::custom_keyword!(root_id);
    syn::custom_keyword!(export);
    syn::custom_keyword!(plugin);
    syn::custom_keyword!(max_body);
}

/// Parsed arguments, each keeping its tokens for spans.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) root_id: Option<LitStr>,
    pub(crate) export: Option<LitBool>,
    pub(crate) krate: Option<LitStr>,
    pub(crate) plugin: Option<syn::Type>,
    pub(crate) max_body: Option<LitInt>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::root_id) {
                let key: kw::root_id = input.parse()?;
                input.parse::<Token![=]>()?;
                set(&mut args.root_id, input.parse()?, key.span, "root_id")?;
            } else if lookahead.peek(kw::export) {
                let key: kw::export = input.parse()?;
                input.parse::<Token![=]>()?;
                set(&mut args.export, input.parse()?, key.span, "export")?;
            } else if lookahead.peek(kw::plugin) {
                let key: kw::plugin = input.parse()?;
                input.parse::<Token![=]>()?;
                set(&mut args.plugin, input.parse()?, key.span, "plugin")?;
            } else if lookahead.peek(kw::max_body) {
                let key: kw::max_body = input.parse()?;
                input.parse::<Token![=]>()?;
                set(&mut args.max_body, input.parse()?, key.span, "max_body")?;
            } else if lookahead.peek(Token![crate]) {
                let key: Token![crate] = input.parse()?;
                input.parse::<Token![=]>()?;
                set(&mut args.krate, input.parse()?, key.span, "crate")?;
            } else {
                return Err(lookahead.error());
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

fn set<T>(slot: &mut Option<T>, value: T, span: proc_macro2::Span, name: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            span,
            format!("duplicate argument `{name}`"),
        ));
    }
    *slot = Some(value);
    Ok(())
}
