//! `#[mcp_auth::server]`: parse ([`attr`], [`ast`]) → validate ([`valid`]) → expand
//! ([`expand`], with [`checks`], [`routes`] and [`handler`]).

mod args;
mod ast;
mod attr;
mod checks;
mod expand;
mod handler;
mod routes;
mod template;
mod valid;

use proc_macro2::TokenStream;
use quote::ToTokens;

use crate::ctxt::Ctxt;

pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let Some(server) = ast::parse(&cx, attr, item.clone()) else {
        return with_errors(cx, item);
    };
    valid::check(&cx, &server);
    if cx.has_errors() {
        // Keep the methods (without our attributes) so the rest of the crate still sees them
        // and only the real mistakes are reported.
        return with_errors(cx, server.item.into_token_stream());
    }
    cx.check().expect("no errors");
    expand::expand(&server)
}

fn with_errors(cx: Ctxt, item: TokenStream) -> TokenStream {
    let mut out = item;
    if let Err(e) = cx.check() {
        out.extend(e.into_compile_error());
    }
    out
}

/// `#[tool]`, `#[prompt]` or `#[resource]` outside a `#[mcp_auth::server]` impl block: the
/// item, unchanged, and an error saying where the attribute belongs.
pub fn misplaced(noun: &str, item: TokenStream) -> TokenStream {
    let rmcp = if noun == "resource" {
        String::new()
    } else {
        format!(" (for rmcp's own `#[{noun}_router]`, import `rmcp::{noun}` instead)")
    };
    let message = format!(
        "`#[{noun}]` only works on a method of an impl block annotated with \
         `#[mcp_auth::server(..)]`; put `#[mcp_auth::server]` on the enclosing `impl` block{rmcp}"
    );
    let mut out = item;
    out.extend(syn::Error::new(proc_macro2::Span::call_site(), message).into_compile_error());
    out
}
