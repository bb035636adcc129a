//! `__hook_set!`: the `proxy_on_*` entry point groups a module exports, once each.
//!
//! `proxylet::main!` gathers the groups of every filter it lists, which repeat (two HTTP
//! filters both need `request_headers`); a declarative macro cannot drop the repeats, and
//! an entry point defined twice does not link.

use proc_macro2::{Ident, TokenStream, TokenTree};
use quote::quote;

/// Every group of a hand-written filter of each kind (`Type: HttpFilter` in `main!`):
/// proxylet cannot see which hooks it overrides.
const HTTP: &[&str] = &[
    "done",
    "log",
    "plugin",
    "callouts",
    "request_headers",
    "request_body",
    "request_trailers",
    "response_headers",
    "response_body",
    "response_trailers",
];
const TCP: &[&str] = &[
    "done",
    "log",
    "plugin",
    "new_connection",
    "downstream_data",
    "upstream_data",
    "downstream_close",
    "upstream_close",
];

/// `krate ; group group …` → `krate::__private::__export_hooks!(group …)` with each group
/// once, `HttpFilter` and `TcpFilter` standing for every group of that kind.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let mut tokens = input.into_iter();
    let krate: TokenStream = tokens
        .by_ref()
        .take_while(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == ';'))
        .collect();
    let mut groups: Vec<Ident> = Vec::new();
    for token in tokens {
        let TokenTree::Ident(ident) = token else {
            continue;
        };
        let kind = match ident.to_string().as_str() {
            "HttpFilter" => HTTP,
            "TcpFilter" => TCP,
            _ => {
                add(&mut groups, ident);
                continue;
            }
        };
        for group in kind {
            add(&mut groups, Ident::new(group, ident.span()));
        }
    }
    // A root id configured in a chain of the other kind must be refused, not passed
    // through: an HTTP stream of a TCP filter before its request goes upstream, a
    // connection of an HTTP filter before its first byte. Neither entry point is ever
    // called for a stream of the right kind, so it costs those nothing.
    let span = proc_macro2::Span::call_site();
    // Groups of one kind only (`done`, `log` and `plugin` are both kinds').
    let both = ["done", "log", "plugin"];
    let has = |groups: &[Ident], kind: &[&str]| {
        groups
            .iter()
            .any(|g| !both.iter().any(|b| g == b) && kind.iter().any(|k| g == k))
    };
    if has(&groups, TCP) {
        add(&mut groups, Ident::new("request_headers", span));
    }
    if has(&groups, HTTP) {
        add(&mut groups, Ident::new("new_connection", span));
    }
    quote!(#krate::__private::__export_hooks!(#(#groups)*);)
}

fn add(groups: &mut Vec<Ident>, group: Ident) {
    if !groups.contains(&group) {
        groups.push(group);
    }
}
