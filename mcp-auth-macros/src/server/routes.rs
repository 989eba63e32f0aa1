//! rmcp's tool and prompt routers, built by the macro instead of rmcp's `#[tool_router]` /
//! `#[prompt_router]`: each route extracts the method's parameters through
//! `__private::ToolParam` / `PromptParam` and converts its value through `tool_result` /
//! `prompt_result`. They do what rmcp's handler impls do, but a parameter that is not an
//! extractor, or a return type rmcp cannot send, fails at that parameter or type with an
//! error naming it, instead of as an unsatisfied bound on the whole method inside rmcp.
//!
//! rmcp's `#[tool(..)]` / `#[prompt(..)]` still run on each method: they write its metadata
//! (`<method>_tool_attr()`, from rmcp's own keys and the doc comment) and box async bodies.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{FnArg, ReturnType, Type, spanned::Spanned};

use super::{
    ast::{Handler, Server},
    attr::Kind,
    checks,
};

pub fn expand(server: &Server) -> TokenStream {
    let self_ty = server.self_ty();
    let mut fns = TokenStream::new();
    if server.has(Kind::Tool) {
        let routes = server.of(Kind::Tool).map(route);
        fns.extend(quote! {
            fn __mcp_auth_tool_router() -> rmcp::handler::server::router::tool::ToolRouter<Self> {
                rmcp::handler::server::router::tool::ToolRouter::new()
                    #(.with_route(#routes))*
            }
        });
    }
    if server.has(Kind::Prompt) {
        let routes = server.of(Kind::Prompt).map(route);
        fns.extend(quote! {
            fn __mcp_auth_prompt_router()
            -> rmcp::handler::server::router::prompt::PromptRouter<Self> {
                rmcp::handler::server::router::prompt::PromptRouter::new()
                    #(.with_route(#routes))*
            }
        });
    }
    if fns.is_empty() {
        return fns;
    }
    quote! {
        impl #self_ty {
            #fns
        }
    }
}

fn route(h: &Handler) -> TokenStream {
    let method = &h.sig.ident;
    let (route, param, finish, attr_fn, service) = match h.attr.kind {
        Kind::Tool => (
            quote!(rmcp::handler::server::router::tool::ToolRoute),
            quote!(ToolParam),
            quote!(tool_result),
            format_ident!("{}_tool_attr", method),
            quote!(service),
        ),
        Kind::Prompt => (
            quote!(rmcp::handler::server::router::prompt::PromptRoute),
            quote!(PromptParam),
            quote!(prompt_result),
            format_ident!("{}_prompt_attr", method),
            quote!(server),
        ),
        Kind::Resource => unreachable!("resources have no rmcp router"),
    };
    let mut bindings = TokenStream::new();
    let mut args = Vec::new();
    let typed = h.sig.inputs.iter().filter_map(|i| match i {
        FnArg::Typed(t) => Some(t),
        FnArg::Receiver(_) => None,
    });
    for (i, t) in typed.enumerate() {
        let arg = format_ident!("__mcp_auth_arg{}", i);
        let marker = checks::marker(&t.pat, i + 1);
        let ty = &t.ty;
        bindings.extend(quote_spanned! {ty.span()=>
            let #arg = match <#ty as __mcp_auth::#param<Self, __mcp_auth_params::#marker>>
                ::extract(&mut context)
            {
                ::std::result::Result::Ok(value) => value,
                ::std::result::Result::Err(error) => {
                    return ::std::boxed::Box::pin(::std::future::ready(
                        ::std::result::Result::Err(error),
                    ));
                }
            };
        });
        args.push(arg);
    }
    let output: Type = match &h.sig.output {
        ReturnType::Type(_, ty) => (**ty).clone(),
        ReturnType::Default => syn::parse_quote_spanned!(h.sig.ident.span()=> ()),
    };
    let finish = quote_spanned!(output.span()=> __mcp_auth::#finish::<#output>);
    let call = if h.sig.asyncness.is_some() {
        quote! {
            let future = Self::#method(service, #(#args),*);
            ::std::boxed::Box::pin(async move { #finish(future.await) })
        }
    } else {
        quote! {
            ::std::boxed::Box::pin(::std::future::ready(#finish(
                Self::#method(service, #(#args),*),
            )))
        }
    };
    quote! {
        #route::new_dyn(Self::#attr_fn(), |mut context| {
            #bindings
            let service = context.#service;
            #call
        })
    }
}
