//! What rustc checks for the macro, spanned so its errors point at the user's tokens:
//!
//! - that `roles = T` / `scopes = T` name the right kind of declaration (one `const` each,
//!   so a wrong type is reported once);
//! - each role and scope string, against the declared type's names (a `const` that fails to
//!   evaluate with the message `roles!` / `scopes!` prepared, at the string literal);
//! - typed names (`Role::Editor`), against the declared type.
//!
//! And the marker types, named after handler parameters, through which trait errors of
//! [`super::routes`] and the resource dispatcher name the parameter.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{FnArg, Ident, spanned::Spanned};

use super::{
    ast::{Handler, Server},
    attr::{NameList, NameRef},
};

pub fn expand(server: &Server) -> TokenStream {
    let mut out = TokenStream::new();
    if let Some(ty) = &server.attr.roles {
        out.extend(quote_spanned! {ty.span()=>
            const __MCP_AUTH_ROLES: __mcp_auth::NameSet = __mcp_auth::roles_of::<#ty>();
        });
    }
    if let Some(ty) = &server.attr.scopes {
        out.extend(quote_spanned! {ty.span()=>
            const __MCP_AUTH_SCOPES: __mcp_auth::NameSet = __mcp_auth::scopes_of::<#ty>();
        });
    }
    for h in &server.handlers {
        if let (Some(list), Some(ty)) = (&h.attr.scopes, &server.attr.scopes) {
            out.extend(names(list, ty, quote!(__MCP_AUTH_SCOPES)));
        }
        if let (Some(list), Some(ty)) = (&h.attr.roles, &server.attr.roles) {
            out.extend(names(list, ty, quote!(__MCP_AUTH_ROLES)));
        }
    }
    out.extend(markers(server));
    out
}

fn names(list: &NameList, ty: &syn::Path, set: TokenStream) -> TokenStream {
    list.items
        .iter()
        .map(|item| match item {
            NameRef::Str(lit) => quote_spanned! {lit.span()=>
                const _: () = __mcp_auth::check_in(&#set, #lit);
            },
            NameRef::Path(path) => quote_spanned! {path.span()=>
                const _: #ty = #path;
            },
        })
        .collect()
}

/// A marker type named after a parameter, so the trait error can say which one.
pub fn marker(pat: &syn::Pat, position: usize) -> Ident {
    fn first_ident(pat: &syn::Pat) -> Option<Ident> {
        match pat {
            syn::Pat::Ident(p) => Some(p.ident.clone()),
            syn::Pat::TupleStruct(t) => t.elems.iter().find_map(first_ident),
            syn::Pat::Struct(s) => s.fields.iter().find_map(|f| first_ident(&f.pat)),
            syn::Pat::Tuple(t) => t.elems.iter().find_map(first_ident),
            syn::Pat::Reference(r) => first_ident(&r.pat),
            syn::Pat::Type(t) => first_ident(&t.pat),
            _ => None,
        }
    }
    first_ident(pat).unwrap_or_else(|| format_ident!("argument_{position}"))
}

/// Marker types named after every handler parameter, for trait errors that name it.
pub fn markers(server: &Server) -> TokenStream {
    let mut markers: BTreeSet<String> = BTreeSet::new();
    for h in &server.handlers {
        for (i, t) in typed_params(h).enumerate() {
            markers.insert(marker(&t.pat, i + 1).to_string());
        }
    }
    if markers.is_empty() {
        return TokenStream::new();
    }
    let markers = markers.iter().map(|m| format_ident!("{}", m));
    quote! {
        #[allow(non_camel_case_types, dead_code, unreachable_pub)]
        mod __mcp_auth_params {
            #(pub struct #markers;)*
        }
    }
}

fn typed_params(h: &Handler) -> impl Iterator<Item = &syn::PatType> {
    h.sig.inputs.iter().filter_map(|i| match i {
        FnArg::Typed(t) => Some(t),
        FnArg::Receiver(_) => None,
    })
}
