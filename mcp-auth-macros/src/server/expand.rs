//! The expansion: inside one anonymous `const` (so `rmcp` resolves to the facade's re-export
//! and little leaks into the user's namespace), the impl block with rmcp's `#[tool]` /
//! `#[prompt]` on its methods, the checks, the routes, the policy table, the routers and
//! resource lists kept in `static`s, and the handler.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Expr, ImplItem, parse_quote, parse_quote_spanned};

use super::{
    ast::{Handler, Server},
    attr::{Kind, NameList, NameRef},
    checks, handler, routes, template,
};

pub fn expand(server: &Server) -> TokenStream {
    let item = rewrite(server);
    let checks = checks::expand(server);
    let routes = routes::expand(server);
    let table = table(server);
    let statics = statics(server);
    let handler = handler::expand(server);
    quote! {
        const _: () = {
            #[allow(unused_imports)]
            use ::mcp_auth::rmcp;
            #[allow(unused_imports)]
            use ::mcp_auth::__private as __mcp_auth;

            #item
            #checks
            #routes
            #table
            #statics
            #handler
        };
    }
}

/// The impl block with `#[rmcp::tool(..)]` / `#[rmcp::prompt(..)]` (rmcp's keys only) where
/// the user wrote `#[tool(..)]` / `#[prompt(..)]`.
fn rewrite(server: &Server) -> TokenStream {
    let mut item = server.item.clone();
    let mut routed = vec![false; item.items.len()];
    for h in &server.handlers {
        let ImplItem::Fn(f) = &mut item.items[h.index] else {
            unreachable!("handlers are methods");
        };
        let args = &h.attr.passthrough;
        let span = h.attr.span;
        let attr = match h.attr.kind {
            Kind::Tool => parse_quote_spanned!(span=> #[rmcp::tool(#(#args),*)]),
            Kind::Prompt => parse_quote_spanned!(span=> #[rmcp::prompt(#(#args),*)]),
            Kind::Resource => continue,
        };
        f.attrs.insert(h.attr_pos, attr);
        routed[h.index] = true;
    }
    // Tools and prompts go in an impl block of their own: rmcp adds an undocumented `pub fn
    // <prompt>_prompt_attr()` beside each prompt, which `missing_docs` must not flag.
    let mut handlers = item.clone();
    handlers.items = Vec::new();
    handlers.attrs.push(parse_quote!(#[allow(missing_docs)]));
    let mut rest = Vec::new();
    for (impl_item, routed) in std::mem::take(&mut item.items).into_iter().zip(routed) {
        if routed {
            handlers.items.push(impl_item);
        } else {
            rest.push(impl_item);
        }
    }
    item.items = rest;
    let mut out = TokenStream::new();
    if !handlers.items.is_empty() {
        handlers.to_tokens(&mut out);
    }
    if !item.items.is_empty() {
        item.to_tokens(&mut out);
    }
    out
}

fn is_template(h: &Handler) -> bool {
    h.attr
        .resource
        .uri
        .as_ref()
        .and_then(|u| template::parse(&u.value()).ok())
        .is_some_and(|vars| !vars.is_empty())
}

fn names(list: &Option<NameList>) -> Vec<TokenStream> {
    list.iter()
        .flat_map(|l| &l.items)
        .map(|item| match item {
            NameRef::Str(lit) => lit.to_token_stream(),
            NameRef::Path(path) => quote!(#path.as_str()),
        })
        .collect()
}

/// The `static` policy table, its compiled form, and the `Protected` impl.
fn table(server: &Server) -> TokenStream {
    let item = |h: &Handler, name: TokenStream| {
        let scopes = names(&h.attr.scopes);
        let roles = names(&h.attr.roles);
        let rate = match h
            .attr
            .rate
            .as_ref()
            .map(|lit| crate::names::parse_rate(&lit.value()))
        {
            Some(Ok((count, secs))) => quote! {
                ::core::option::Option::Some(__mcp_auth::Rate::new(
                    #count,
                    ::core::time::Duration::from_secs(#secs),
                ))
            },
            _ => quote!(::core::option::Option::None),
        };
        quote! {
            __mcp_auth::Item {
                name: #name,
                requirement: __mcp_auth::Requirement {
                    scopes: &[#(#scopes),*],
                    roles: &[#(#roles),*],
                },
                rate: #rate,
            }
        }
    };
    let named = |kind: Kind| -> Vec<TokenStream> {
        server
            .of(kind)
            .map(|h| {
                let name = h.name();
                item(h, quote!(#name))
            })
            .collect()
    };
    let tools = named(Kind::Tool);
    let prompts = named(Kind::Prompt);
    let uris = |templates: bool| -> Vec<TokenStream> {
        server
            .of(Kind::Resource)
            .filter(|h| is_template(h) == templates)
            .map(|h| {
                let uri = h.attr.resource.uri.as_ref().expect("validated");
                item(h, quote!(#uri))
            })
            .collect()
    };
    let resources = uris(false);
    let templates = uris(true);
    let scopes = match &server.attr.scopes {
        Some(_) => quote!(__MCP_AUTH_SCOPES.hierarchy),
        None => quote!(&[]),
    };
    let roles = match &server.attr.roles {
        Some(_) => quote!(__MCP_AUTH_ROLES.hierarchy),
        None => quote!(&[]),
    };
    let undeclared = if server.attr.deny_undeclared {
        quote!(__mcp_auth::Undeclared::Deny)
    } else {
        quote!(__mcp_auth::Undeclared::Open)
    };
    let self_ty = server.self_ty();
    quote! {
        static __MCP_AUTH_POLICY: __mcp_auth::PolicyTable = __mcp_auth::PolicyTable {
            tools: &[#(#tools),*],
            prompts: &[#(#prompts),*],
            resources: &[#(#resources),*],
            templates: &[#(#templates),*],
            scopes: #scopes,
            roles: #roles,
            undeclared: #undeclared,
        };

        fn __mcp_auth_policy() -> &'static __mcp_auth::Policy {
            static POLICY: ::std::sync::OnceLock<__mcp_auth::Policy> =
                ::std::sync::OnceLock::new();
            POLICY.get_or_init(|| __mcp_auth::Policy::compile(__MCP_AUTH_POLICY))
        }

        impl __mcp_auth::Protected for #self_ty {
            fn policy() -> &'static __mcp_auth::Policy {
                __mcp_auth_policy()
            }
        }
    }
}

/// A resource's description: the attribute's, or its doc comment.
fn description(h: &Handler) -> Option<TokenStream> {
    if let Some(d) = &h.attr.resource.description {
        return Some(d.to_token_stream());
    }
    let mut lines: Vec<String> = Vec::new();
    let mut exprs: Vec<&Expr> = Vec::new();
    let mut literal = true;
    for doc in &h.docs {
        match doc {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => {
                let line = s.value().trim().to_owned();
                if !line.is_empty() {
                    lines.push(line);
                }
            }
            _ => literal = false,
        }
        exprs.push(doc);
    }
    if exprs.is_empty() {
        return None;
    }
    if literal {
        let text = lines.join("\n");
        return (!text.is_empty()).then(|| quote!(#text));
    }
    Some(quote!(::core::concat!(#(#exprs),*)))
}

/// Routers and resource lists, each built once and kept in a `static`; and `get_info`.
fn statics(server: &Server) -> TokenStream {
    let self_ty = server.self_ty();
    let mut out = TokenStream::new();
    if server.has(Kind::Tool) {
        out.extend(quote! {
            fn __mcp_auth_tools()
            -> &'static rmcp::handler::server::router::tool::ToolRouter<#self_ty> {
                static ROUTER: ::std::sync::OnceLock<
                    rmcp::handler::server::router::tool::ToolRouter<#self_ty>,
                > = ::std::sync::OnceLock::new();
                ROUTER.get_or_init(<#self_ty>::__mcp_auth_tool_router)
            }
        });
    }
    if server.has(Kind::Prompt) {
        out.extend(quote! {
            fn __mcp_auth_prompts()
            -> &'static rmcp::handler::server::router::prompt::PromptRouter<#self_ty> {
                static ROUTER: ::std::sync::OnceLock<
                    rmcp::handler::server::router::prompt::PromptRouter<#self_ty>,
                > = ::std::sync::OnceLock::new();
                ROUTER.get_or_init(<#self_ty>::__mcp_auth_prompt_router)
            }
        });
    }
    if server.has(Kind::Resource) {
        let entry = |h: &Handler, ctor: TokenStream| {
            let r = &h.attr.resource;
            let uri = r.uri.as_ref().expect("validated");
            let name = h.attr.name.as_ref().map_or_else(
                || h.sig.ident.to_string().to_token_stream(),
                ToTokens::to_token_stream,
            );
            let title = r.title.iter().map(|t| quote!(.with_title(#t)));
            let desc = description(h).map(|d| quote!(.with_description(#d)));
            let mime = r.mime_type.iter().map(|m| quote!(.with_mime_type(#m)));
            let icons = r.icons.iter().map(|i| quote!(.with_icons(#i)));
            let meta = r.meta.iter().map(|m| quote!(.with_meta(#m)));
            quote!(#ctor(#uri, #name) #(#title)* #desc #(#mime)* #(#icons)* #(#meta)*)
        };
        let resources = server
            .of(Kind::Resource)
            .filter(|h| !is_template(h))
            .map(|h| entry(h, quote!(rmcp::model::Resource::new)));
        let templates: Vec<_> = server
            .of(Kind::Resource)
            .filter(|h| is_template(h))
            .collect();
        let listed = templates
            .iter()
            .map(|h| entry(h, quote!(rmcp::model::ResourceTemplate::new)));
        let parsed = templates.iter().map(|h| {
            let uri = h.attr.resource.uri.as_ref().expect("validated");
            quote!(__mcp_auth::UriTemplate::parse(#uri))
        });
        out.extend(quote! {
            fn __mcp_auth_resources() -> &'static [rmcp::model::Resource] {
                static LIST: ::std::sync::OnceLock<::std::vec::Vec<rmcp::model::Resource>> =
                    ::std::sync::OnceLock::new();
                LIST.get_or_init(|| ::std::vec![#(#resources),*])
            }

            fn __mcp_auth_resource_templates() -> &'static [rmcp::model::ResourceTemplate] {
                static LIST: ::std::sync::OnceLock<
                    ::std::vec::Vec<rmcp::model::ResourceTemplate>,
                > = ::std::sync::OnceLock::new();
                LIST.get_or_init(|| ::std::vec![#(#listed),*])
            }

            fn __mcp_auth_uri_templates() -> &'static [__mcp_auth::UriTemplate] {
                static LIST: ::std::sync::OnceLock<::std::vec::Vec<__mcp_auth::UriTemplate>> =
                    ::std::sync::OnceLock::new();
                LIST.get_or_init(|| ::std::vec![#(#parsed),*])
            }
        });
    }

    let mut capabilities = TokenStream::new();
    if server.has(Kind::Prompt) {
        capabilities.extend(quote!(.enable_prompts()));
    }
    if server.has(Kind::Resource) {
        capabilities.extend(quote!(.enable_resources()));
    }
    if server.has(Kind::Tool) {
        capabilities.extend(quote!(.enable_tools()));
    }
    let name = server.attr.name.as_ref().map_or_else(
        || quote!(::core::env!("CARGO_PKG_NAME")),
        ToTokens::to_token_stream,
    );
    let version = server.attr.version.as_ref().map_or_else(
        || quote!(::core::env!("CARGO_PKG_VERSION")),
        ToTokens::to_token_stream,
    );
    let instructions = server
        .attr
        .instructions
        .iter()
        .map(|i| quote!(.with_instructions(#i)));
    out.extend(quote! {
        fn __mcp_auth_info() -> rmcp::model::ServerConfig {
            rmcp::model::ServerConfig::new(
                rmcp::model::ServerCapabilities::builder() #capabilities .build(),
            )
            .with_server_info(rmcp::model::Implementation::new(#name, #version))
            #(#instructions)*
        }
    });
    out
}
