//! `#[derive(ConfigSchema)]`: a `proxylet::schema::Schema` tree, built at compile time
//! from a type's shape and its serde attributes (what `Deserialize` accepts).
//!
//! The rule when serde and a schema could disagree: the schema may be looser than serde,
//! never stricter, so a configuration the filter accepts is never refused by a tool.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr, Token};

use crate::error::Errors;

/// Expands `#[derive(ConfigSchema)]` on `item`.
pub(crate) fn expand(item: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(item)?;
    let mut errors = Errors::default();
    let krate = crate_path(&input.attrs, &mut errors);
    let private = quote!(#krate::__private);
    let container = Serde::of(&input.attrs);

    let schema = if let Some(from) = &container.from {
        // `from`/`try_from`: serde reads that type, then converts.
        match from.parse::<syn::Type>() {
            Ok(ty) => field_schema(&ty, &private),
            Err(error) => {
                errors.add(error);
                quote!(&#private::Schema::Any)
            }
        }
    } else {
        match &input.data {
            Data::Struct(data) => {
                struct_schema(&input, &data.fields, &container, &private, &mut errors)
            }
            Data::Enum(data) => enum_schema(&input, data, &container, &private, &mut errors),
            Data::Union(data) => {
                errors.push(
                    data.union_token,
                    "`ConfigSchema` cannot be derived for a union; serde does not deserialize unions",
                );
                quote!(&#private::Schema::Any)
            }
        }
    };
    errors.finish()?;
    Ok(schema_impl(&input, &private, &schema))
}

/// On error: an impl accepting anything, so uses of the type do not fail in cascade.
pub(crate) fn fallback(item: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(item) {
        Ok(input) => {
            let krate = crate_path(&input.attrs, &mut Errors::default());
            let private = quote!(#krate::__private);
            schema_impl(&input, &private, &quote!(&#private::Schema::Any))
        }
        Err(_) => TokenStream::new(),
    }
}

fn schema_impl(input: &DeriveInput, private: &TokenStream, schema: &TokenStream) -> TokenStream {
    let ident = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(#private::ConfigSchema));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #private::ConfigSchema for #ident #ty_generics #where_clause {
            const SCHEMA: &'static #private::Schema = #schema;
        }
    }
}

/// `#[config_schema(crate = "path")]`, else `::proxylet`.
fn crate_path(attrs: &[syn::Attribute], errors: &mut Errors) -> TokenStream {
    let mut krate = quote!(::proxylet);
    for attr in attrs.iter().filter(|a| a.path().is_ident("config_schema")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let path: LitStr = meta.value()?.parse()?;
                krate = path.parse::<syn::Path>()?.into_token_stream();
                Ok(())
            } else {
                Err(meta.error("unknown `config_schema` argument; expected `crate = \"path\"`"))
            }
        });
        if let Err(error) = result {
            errors.add(error);
        }
    }
    krate
}

/// `<T as ConfigSchema>::SCHEMA`, spanned on the user's type so an unmet bound blames it.
fn field_schema(ty: &syn::Type, private: &TokenStream) -> TokenStream {
    quote_spanned!(ty.span()=> <#ty as #private::ConfigSchema>::SCHEMA)
}

fn struct_schema(
    input: &DeriveInput,
    fields: &Fields,
    container: &Serde,
    private: &TokenStream,
    errors: &mut Errors,
) -> TokenStream {
    let any = quote!(&#private::Schema::Any);
    let field_attrs = field_attrs(input, fields, errors);
    let kept: Vec<(&syn::Field, &Serde)> = fields
        .iter()
        .zip(&field_attrs)
        .filter(|(_, attrs)| !attrs.skip)
        .collect();

    if container.transparent {
        // serde checks there is exactly one such field.
        return match kept.as_slice() {
            [(field, attrs)] => value_schema(input, field, attrs, private),
            _ => any,
        };
    }
    match fields {
        Fields::Unit => any,
        Fields::Unnamed(_) if fields.len() == 1 => match kept.as_slice() {
            // A newtype struct is read as its field.
            [(field, attrs)] => value_schema(input, field, attrs, private),
            _ => any,
        },
        // Other tuple structs are arrays of their fields, in order.
        Fields::Unnamed(_) => tuple_schema(input, &kept, private),
        Fields::Named(_) => object_schema(
            input,
            &kept,
            container.rename_all,
            container.default,
            container.deny_unknown_fields,
            private,
        ),
    }
}

/// The serde attributes of each field; `flatten` is reported.
fn field_attrs(input: &DeriveInput, fields: &Fields, errors: &mut Errors) -> Vec<Serde> {
    let attrs: Vec<Serde> = fields.iter().map(|field| Serde::of(&field.attrs)).collect();
    for span in attrs.iter().filter_map(|attrs| attrs.flatten) {
        errors.add(syn::Error::new(
            span,
            format!(
                "`ConfigSchema` does not support `#[serde(flatten)]`; write the fields of the \
                 flattened type out in `{}`, or implement `ConfigSchema` by hand",
                input.ident
            ),
        ));
    }
    attrs
}

/// `Schema::Tuple` of the fields' schemas (a tuple struct or variant: a JSON array).
fn tuple_schema(
    input: &DeriveInput,
    kept: &[(&syn::Field, &Serde)],
    private: &TokenStream,
) -> TokenStream {
    let items = kept
        .iter()
        .map(|(field, attrs)| value_schema(input, field, attrs, private));
    quote!(&#private::Schema::Tuple(&[#(#items),*]))
}

/// `Schema::Object` of named fields (a struct, or a struct variant).
fn object_schema(
    input: &DeriveInput,
    kept: &[(&syn::Field, &Serde)],
    rename_all: RenameRule,
    default: bool,
    deny_unknown: bool,
    private: &TokenStream,
) -> TokenStream {
    let mut entries = Vec::new();
    for (field, attrs) in kept {
        let Some(ident) = &field.ident else { continue };
        let name = attrs
            .rename
            .clone()
            .unwrap_or_else(|| rename_all.apply_to_field(&ident.unraw().to_string()));
        let schema = value_schema(input, field, attrs, private);
        let required = if default || attrs.default || !attrs.aliases.is_empty() {
            // With aliases, any of the names will do: none is required alone.
            quote!(false)
        } else if attrs.with {
            // serde reports a missing field read by `deserialize_with`, `Option` or not.
            quote!(true)
        } else if refers_to(&field.ty, &input.ident) {
            let optional = is_option(&field.ty);
            quote!(!#optional)
        } else {
            quote!(!#private::Schema::is_optional(#schema))
        };
        for name in names_of(&name, &attrs.aliases) {
            entries.push(quote! {
                #private::Field { name: #name, schema: #schema, required: #required }
            });
        }
    }
    quote! {
        &#private::Schema::Object { fields: &[#(#entries),*], deny_unknown: #deny_unknown }
    }
}

/// The schema of one field's value.
fn value_schema(
    input: &DeriveInput,
    field: &syn::Field,
    attrs: &Serde,
    private: &TokenStream,
) -> TokenStream {
    if attrs.with || refers_to(&field.ty, &input.ident) {
        // `deserialize_with` reads some other form; a type that contains itself would
        // make const evaluation cycle.
        quote!(&#private::Schema::Any)
    } else {
        field_schema(&field.ty, private)
    }
}

fn enum_schema(
    input: &DeriveInput,
    data: &syn::DataEnum,
    container: &Serde,
    private: &TokenStream,
    errors: &mut Errors,
) -> TokenStream {
    let any = quote!(&#private::Schema::Any);
    let variant_attrs: Vec<Serde> = data
        .variants
        .iter()
        .map(|variant| Serde::of(&variant.attrs))
        .collect();
    let kept: Vec<(&syn::Variant, &Serde)> = data
        .variants
        .iter()
        .zip(&variant_attrs)
        .filter(|(_, attrs)| !attrs.skip)
        .collect();
    let tagging = match (&container.tag, &container.content, container.untagged) {
        (_, _, true) => quote!(#private::Tagging::Untagged),
        (Some(tag), Some(content), false) => {
            let deny = container.deny_unknown_fields;
            quote!(#private::Tagging::Adjacent { tag: #tag, content: #content, deny_unknown: #deny })
        }
        (Some(tag), None, false) => quote!(#private::Tagging::Internal { tag: #tag }),
        // `content` without `tag`: serde reports it.
        (None, Some(_), false) => return any,
        (None, None, false) => quote!(#private::Tagging::External),
    };
    let external = container.tag.is_none() && !container.untagged;

    // An enum of unit variants, externally tagged: its names, as plain strings.
    let unit_only = kept
        .iter()
        .all(|(variant, attrs)| matches!(variant.fields, Fields::Unit) && !attrs.untagged);
    if external && unit_only {
        if kept.iter().any(|(_, attrs)| attrs.other) {
            return quote!(&#private::Schema::String);
        }
        let mut names = Vec::new();
        for (variant, attrs) in &kept {
            names.extend(names_of(
                &variant_name(variant, attrs, container),
                &attrs.aliases,
            ));
        }
        return quote!(&#private::Schema::Enum(&[#(#names),*]));
    }

    let mut entries = Vec::new();
    for (variant, attrs) in &kept {
        let content = variant_content(input, variant, attrs, container, private, errors);
        let content = match content {
            Some(content) => quote!(#private::Some(#content)),
            None => quote!(#private::None),
        };
        let untagged = container.untagged || attrs.untagged;
        let name = variant_name(variant, attrs, container);
        for alias in names_of(&name, &attrs.aliases) {
            let other = attrs.other && alias == name;
            entries.push(quote! {
                #private::Variant { name: #alias, content: #content, untagged: #untagged, other: #other }
            });
        }
    }
    quote!(&#private::Schema::Variants { tagging: #tagging, variants: &[#(#entries),*] })
}

/// A field's or variant's name and aliases, sorted as serde lists them in its errors.
fn names_of(name: &str, aliases: &[String]) -> Vec<String> {
    let mut names: Vec<String> = std::iter::once(name.to_owned())
        .chain(aliases.iter().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A variant's name in JSON.
fn variant_name(variant: &syn::Variant, attrs: &Serde, container: &Serde) -> String {
    attrs.rename.clone().unwrap_or_else(|| {
        container
            .rename_all
            .apply_to_variant(&variant.ident.unraw().to_string())
    })
}

/// What a variant carries: `None` for a unit variant.
fn variant_content(
    input: &DeriveInput,
    variant: &syn::Variant,
    attrs: &Serde,
    container: &Serde,
    private: &TokenStream,
    errors: &mut Errors,
) -> Option<TokenStream> {
    let field_attrs = field_attrs(input, &variant.fields, errors);
    if attrs.with {
        // `deserialize_with` on the variant reads its content in some other form.
        return Some(quote!(&#private::Schema::Any));
    }
    let kept: Vec<(&syn::Field, &Serde)> = variant
        .fields
        .iter()
        .zip(&field_attrs)
        .filter(|(_, attrs)| !attrs.skip)
        .collect();
    match &variant.fields {
        Fields::Unit => None,
        Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
            let [(field, field_attrs)] = kept.as_slice() else {
                return Some(quote!(&#private::Schema::Any));
            };
            if let (Some(tag), None, false) =
                (&container.tag, &container.content, container.untagged)
            {
                if !attrs.untagged {
                    if let Some(kind) = never_an_object(&field.ty) {
                        errors.push(
                            &field.ty,
                            format!(
                                "an internally tagged variant is read from the object that holds \
                                 its tag, and {kind} is never an object; hold a struct or a map \
                                 in `{}`, or tag it adjacently: `#[serde(tag = \"{tag}\", \
                                 content = \"…\")]`",
                                variant.ident
                            ),
                        );
                    }
                }
            }
            Some(value_schema(input, field, field_attrs, private))
        }
        Fields::Unnamed(_) => Some(tuple_schema(input, &kept, private)),
        Fields::Named(_) => {
            // A variant's own `rename_all`, else the enum's `rename_all_fields`.
            let rule = if attrs.rename_all != RenameRule::None {
                attrs.rename_all
            } else {
                container.rename_all_fields
            };
            Some(object_schema(
                input,
                &kept,
                rule,
                false,
                container.deny_unknown_fields,
                private,
            ))
        }
    }
}

/// `` `String` `` when `ty` is written as a type whose JSON form is never an object
/// (a string, a number, a boolean, a sequence), through `Box` and `Option`.
fn never_an_object(ty: &syn::Type) -> Option<String> {
    const SCALARS: &[&str] = &[
        "String", "str", "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16",
        "i32", "i64", "i128", "isize", "f32", "f64", "Vec", "VecDeque", "HashSet", "BTreeSet",
    ];
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            let name = last.ident.to_string();
            if SCALARS.contains(&name.as_str()) {
                return Some(format!("`{}`", ty.to_token_stream()).replace(" ", ""));
            }
            if ["Box", "Option", "Rc", "Arc"].contains(&name.as_str()) {
                if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                    if let Some(syn::GenericArgument::Type(inner)) = args.args.first() {
                        return never_an_object(inner);
                    }
                }
            }
            None
        }
        syn::Type::Reference(reference) => never_an_object(&reference.elem),
        syn::Type::Array(_) | syn::Type::Slice(_) => Some("an array".to_owned()),
        syn::Type::Tuple(tuple) if !tuple.elems.is_empty() => Some("a tuple".to_owned()),
        syn::Type::Group(group) => never_an_object(&group.elem),
        syn::Type::Paren(paren) => never_an_object(&paren.elem),
        _ => None,
    }
}

/// Whether `ty` mentions the type being derived (or `Self`).
fn refers_to(ty: &syn::Type, ident: &syn::Ident) -> bool {
    fn walk(tokens: TokenStream, ident: &syn::Ident) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(i) => i == *ident || i == "Self",
            proc_macro2::TokenTree::Group(g) => walk(g.stream(), ident),
            _ => false,
        })
    }
    walk(ty.to_token_stream(), ident)
}

/// Whether `ty` is written `Option<…>` (any path ending in `Option`).
fn is_option(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Option"),
        syn::Type::Group(group) => is_option(&group.elem),
        syn::Type::Paren(paren) => is_option(&paren.elem),
        _ => false,
    }
}

/// The serde attributes that shape what `Deserialize` accepts, on a container, a field or
/// a variant. Malformed serde attributes are left for serde to report.
#[derive(Default)]
struct Serde {
    rename: Option<String>,
    rename_all: RenameRule,
    aliases: Vec<String>,
    default: bool,
    deny_unknown_fields: bool,
    skip: bool,
    flatten: Option<Span>,
    /// `with` / `deserialize_with`: the field is read in some other form.
    with: bool,
    transparent: bool,
    /// `from` / `try_from`: the type is read as this one.
    from: Option<LitStr>,
    /// `tag = "…"` on an enum.
    tag: Option<String>,
    /// `content = "…"` on an enum.
    content: Option<String>,
    /// `untagged`, on an enum or a variant.
    untagged: bool,
    /// `rename_all_fields` on an enum: the `rename_all` of its struct variants.
    rename_all_fields: RenameRule,
    /// `other` on a variant.
    other: bool,
}

impl Serde {
    fn of(attrs: &[syn::Attribute]) -> Serde {
        let mut serde = Serde::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
            // A syntax error here is serde's to report.
            let _ = attr.parse_nested_meta(|meta| serde.item(&meta));
        }
        serde
    }

    fn item(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let Some(key) = meta.path.get_ident().map(ToString::to_string) else {
            return skip_value(meta);
        };
        match key.as_str() {
            "rename" => {
                if let Some(name) = deserialize_name(meta)? {
                    self.rename = Some(name.value());
                }
            }
            "rename_all" => {
                if let Some(rule) = deserialize_name(meta)? {
                    self.rename_all = RenameRule::parse(&rule.value());
                }
            }
            "alias" => self.aliases.push(meta.value()?.parse::<LitStr>()?.value()),
            "default" => {
                self.default = true;
                skip_value(meta)?;
            }
            "deny_unknown_fields" => self.deny_unknown_fields = true,
            "skip" | "skip_deserializing" => self.skip = true,
            "flatten" => self.flatten = Some(meta.path.span()),
            "with" | "deserialize_with" => {
                self.with = true;
                skip_value(meta)?;
            }
            "transparent" => self.transparent = true,
            "from" | "try_from" => self.from = Some(meta.value()?.parse()?),
            "tag" => self.tag = Some(meta.value()?.parse::<LitStr>()?.value()),
            "content" => self.content = Some(meta.value()?.parse::<LitStr>()?.value()),
            "untagged" => self.untagged = true,
            "rename_all_fields" => {
                if let Some(rule) = deserialize_name(meta)? {
                    self.rename_all_fields = RenameRule::parse(&rule.value());
                }
            }
            "other" => self.other = true,
            _ => skip_value(meta)?,
        }
        Ok(())
    }
}

/// `= "name"`, or the `deserialize` name of `(serialize = "…", deserialize = "…")`.
fn deserialize_name(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<LitStr>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(meta.value()?.parse()?));
    }
    let mut name = None;
    meta.parse_nested_meta(|inner| {
        let value: LitStr = inner.value()?.parse()?;
        if inner.path.is_ident("deserialize") {
            name = Some(value);
        }
        Ok(())
    })?;
    Ok(name)
}

/// Consumes an attribute's value (`= expr` or `(…)`), if any.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

/// serde's `rename_all` rules, applied exactly as serde applies them
/// (`serde_derive/src/internals/case.rs`): fields are written in snake_case, variants in
/// PascalCase, and each rule converts from that.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
enum RenameRule {
    #[default]
    None,
    LowerCase,
    UpperCase,
    PascalCase,
    CamelCase,
    SnakeCase,
    ScreamingSnakeCase,
    KebabCase,
    ScreamingKebabCase,
}

impl RenameRule {
    /// An unknown rule is serde's to report; it is `None` here.
    fn parse(text: &str) -> RenameRule {
        match text {
            "lowercase" => RenameRule::LowerCase,
            "UPPERCASE" => RenameRule::UpperCase,
            "PascalCase" => RenameRule::PascalCase,
            "camelCase" => RenameRule::CamelCase,
            "snake_case" => RenameRule::SnakeCase,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnakeCase,
            "kebab-case" => RenameRule::KebabCase,
            "SCREAMING-KEBAB-CASE" => RenameRule::ScreamingKebabCase,
            _ => RenameRule::None,
        }
    }

    fn apply_to_variant(self, variant: &str) -> String {
        match self {
            RenameRule::None | RenameRule::PascalCase => variant.to_owned(),
            RenameRule::LowerCase => variant.to_ascii_lowercase(),
            RenameRule::UpperCase => variant.to_ascii_uppercase(),
            RenameRule::CamelCase => lower_first(variant),
            RenameRule::SnakeCase => {
                let mut snake = String::new();
                for (i, ch) in variant.char_indices() {
                    if i > 0 && ch.is_uppercase() {
                        snake.push('_');
                    }
                    snake.push(ch.to_ascii_lowercase());
                }
                snake
            }
            RenameRule::ScreamingSnakeCase => RenameRule::SnakeCase
                .apply_to_variant(variant)
                .to_ascii_uppercase(),
            RenameRule::KebabCase => RenameRule::SnakeCase
                .apply_to_variant(variant)
                .replace('_', "-"),
            RenameRule::ScreamingKebabCase => RenameRule::ScreamingSnakeCase
                .apply_to_variant(variant)
                .replace('_', "-"),
        }
    }

    fn apply_to_field(self, field: &str) -> String {
        match self {
            RenameRule::None | RenameRule::LowerCase | RenameRule::SnakeCase => field.to_owned(),
            RenameRule::UpperCase | RenameRule::ScreamingSnakeCase => field.to_ascii_uppercase(),
            RenameRule::PascalCase => {
                let mut pascal = String::new();
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        pascal.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        pascal.push(ch);
                    }
                }
                pascal
            }
            RenameRule::CamelCase => lower_first(&RenameRule::PascalCase.apply_to_field(field)),
            RenameRule::KebabCase => field.replace('_', "-"),
            RenameRule::ScreamingKebabCase => field.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

/// The first character in ASCII lowercase (serde: `s[..1].to_ascii_lowercase() + &s[1..]`).
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::RenameRule::{self, *};

    const RULES: [RenameRule; 9] = [
        None,
        LowerCase,
        UpperCase,
        PascalCase,
        CamelCase,
        SnakeCase,
        ScreamingSnakeCase,
        KebabCase,
        ScreamingKebabCase,
    ];

    #[test]
    fn variants_are_renamed_like_serde() {
        let expected = [
            "VeryTasty",
            "verytasty",
            "VERYTASTY",
            "VeryTasty",
            "veryTasty",
            "very_tasty",
            "VERY_TASTY",
            "very-tasty",
            "VERY-TASTY",
        ];
        for (rule, name) in RULES.iter().zip(expected) {
            assert_eq!(rule.apply_to_variant("VeryTasty"), name, "{rule:?}");
        }
        assert_eq!(SnakeCase.apply_to_variant("A"), "a");
    }

    #[test]
    fn fields_are_renamed_like_serde() {
        let expected = [
            "very_tasty",
            "very_tasty",
            "VERY_TASTY",
            "VeryTasty",
            "veryTasty",
            "very_tasty",
            "VERY_TASTY",
            "very-tasty",
            "VERY-TASTY",
        ];
        for (rule, name) in RULES.iter().zip(expected) {
            assert_eq!(rule.apply_to_field("very_tasty"), name, "{rule:?}");
        }
        assert_eq!(CamelCase.apply_to_field("_x"), "x");
    }
}
