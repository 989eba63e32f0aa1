//! The handler: `impl ServerHandler` whose methods check the caller against the policy before
//! dispatching (the only check on stdio and in-memory transports, defense in depth over HTTP),
//! or, with `handler = false`, the same methods as inherent `auth_*` methods for a
//! hand-written `impl ServerHandler`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{ReturnType, spanned::Spanned};

use super::{
    ast::{self, Handler, ResourceParam, Server},
    attr::Kind,
    checks, template,
};

/// One handler method: its `ServerHandler` name, whether it is `async`, and what follows
/// `fn name`.
struct Method {
    name: &'static str,
    is_async: bool,
    rest: TokenStream,
}

fn methods(server: &Server) -> Vec<Method> {
    let ctx = quote!(context: rmcp::service::RequestContext<rmcp::RoleServer>);
    let paginated = quote!(_request: ::std::option::Option<rmcp::model::PaginatedRequestParams>);
    let result = |ty: TokenStream| quote!(::std::result::Result<rmcp::model::#ty, rmcp::ErrorData>);
    let mut out = vec![Method {
        name: "get_info",
        is_async: false,
        rest: quote! {
            (&self) -> rmcp::model::ServerConfig {
                __mcp_auth_info()
            }
        },
    }];
    if server.has(Kind::Tool) {
        let (call, list) = (
            result(quote!(CallToolResponse)),
            result(quote!(ListToolsResult)),
        );
        out.extend([
            Method {
                name: "call_tool",
                is_async: true,
                rest: quote! {
                    (&self, request: rmcp::model::CallToolRequestParams, #ctx) -> #call {
                        __mcp_auth::call_tool(
                            __mcp_auth_policy(), __mcp_auth_tools(), self, request, context,
                        )
                        .await
                    }
                },
            },
            Method {
                name: "list_tools",
                is_async: true,
                rest: quote! {
                    (&self, #paginated, #ctx) -> #list {
                        __mcp_auth::list_tools(__mcp_auth_policy(), __mcp_auth_tools(), &context)
                    }
                },
            },
            Method {
                name: "get_tool",
                is_async: false,
                rest: quote! {
                    (&self, name: &str) -> ::std::option::Option<rmcp::model::Tool> {
                        __mcp_auth_tools().get(name).cloned()
                    }
                },
            },
        ]);
    }
    if server.has(Kind::Prompt) {
        let (get, list) = (
            result(quote!(GetPromptResponse)),
            result(quote!(ListPromptsResult)),
        );
        out.extend([
            Method {
                name: "get_prompt",
                is_async: true,
                rest: quote! {
                    (&self, request: rmcp::model::GetPromptRequestParams, #ctx) -> #get {
                        __mcp_auth::get_prompt(
                            __mcp_auth_policy(), __mcp_auth_prompts(), self, request, context,
                        )
                        .await
                    }
                },
            },
            Method {
                name: "list_prompts",
                is_async: true,
                rest: quote! {
                    (&self, #paginated, #ctx) -> #list {
                        __mcp_auth::list_prompts(
                            __mcp_auth_policy(), __mcp_auth_prompts(), &context,
                        )
                    }
                },
            },
        ]);
    }
    if server.has(Kind::Resource) {
        let read = result(quote!(ReadResourceResponse));
        let body = read_resource(server);
        let (list, templates) = (
            result(quote!(ListResourcesResult)),
            result(quote!(ListResourceTemplatesResult)),
        );
        out.extend([
            Method {
                name: "read_resource",
                is_async: true,
                rest: quote! {
                    (&self, request: rmcp::model::ReadResourceRequestParams, #ctx) -> #read {
                        #body
                    }
                },
            },
            Method {
                name: "list_resources",
                is_async: true,
                rest: quote! {
                    (&self, #paginated, #ctx) -> #list {
                        __mcp_auth::list_resources(
                            __mcp_auth_policy(), __mcp_auth_resources(), &context,
                        )
                    }
                },
            },
            Method {
                name: "list_resource_templates",
                is_async: true,
                rest: quote! {
                    (&self, #paginated, #ctx) -> #templates {
                        __mcp_auth::list_resource_templates(
                            __mcp_auth_policy(), __mcp_auth_resource_templates(), &context,
                        )
                    }
                },
            },
        ]);
    }
    out
}

pub fn expand(server: &Server) -> TokenStream {
    let self_ty = server.self_ty();
    let methods = methods(server);
    if server.attr.handler {
        let fns = methods.iter().map(|m| {
            let name = format_ident!("{}", m.name);
            let asyncness = m.is_async.then(|| quote!(async));
            let rest = &m.rest;
            quote!(#asyncness fn #name #rest)
        });
        quote! {
            impl rmcp::ServerHandler for #self_ty {
                #(#fns)*
            }
        }
    } else {
        let fns = methods.iter().map(|m| {
            let name = format_ident!("auth_{}", m.name);
            let doc = format!(
                "The policy-checked `ServerHandler::{}` generated by `#[mcp_auth::server]`: \
                 call it from your `impl ServerHandler`.",
                m.name
            );
            let asyncness = m.is_async.then(|| quote!(async));
            let rest = &m.rest;
            quote! {
                #[doc = #doc]
                #[allow(dead_code)]
                pub(crate) #asyncness fn #name #rest
            }
        });
        quote! {
            impl #self_ty {
                #(#fns)*
            }
        }
    }
}

/// `resources/read`: the exact URIs first, then the templates in declaration order (the
/// order the policy matches in); unknown and hidden URIs get the same error.
fn read_resource(server: &Server) -> TokenStream {
    let mut exact = TokenStream::new();
    let mut templates = TokenStream::new();
    let mut template_index = 0usize;
    for h in server.of(Kind::Resource) {
        let uri = h.attr.resource.uri.as_ref().expect("validated");
        let vars = template::parse(&uri.value()).expect("validated");
        let call = call_resource(h, &vars);
        let authorize = quote! {
            let token = caller.authorize(__mcp_auth::ItemKind::Resource, uri, || {
                __mcp_auth::resource_not_found(uri)
            })?;
        };
        if vars.is_empty() {
            exact.extend(quote! {
                #uri => {
                    #authorize
                    #call
                }
            });
        } else {
            let i = template_index;
            template_index += 1;
            templates.extend(quote! {
                if let ::std::option::Option::Some(vars) = templates[#i].capture(uri) {
                    #authorize
                    #call
                }
            });
        }
    }
    let exact = (!exact.is_empty()).then(|| {
        quote! {
            match uri {
                #exact
                _ => {}
            }
        }
    });
    let templates = (!templates.is_empty()).then(|| {
        quote! {
            let templates = __mcp_auth_uri_templates();
            #templates
        }
    });
    quote! {
        let uri = request.uri.as_str();
        let caller = __mcp_auth::Caller::of(__mcp_auth_policy(), &context);
        #exact
        #templates
        ::std::result::Result::Err(__mcp_auth::resource_not_found(uri))
    }
}

/// Call one resource method as the caller, convert its value, and return the answer.
fn call_resource(h: &Handler, vars: &[String]) -> TokenStream {
    let method = &h.sig.ident;
    let mut bindings = TokenStream::new();
    let mut args = Vec::new();
    let typed = h.sig.inputs.iter().filter_map(|i| match i {
        syn::FnArg::Typed(t) => Some(t),
        syn::FnArg::Receiver(_) => None,
    });
    for (i, (t, p)) in typed.zip(ast::resource_params(&h.sig, vars)).enumerate() {
        let arg = format_ident!("__mcp_auth_arg{}", i);
        match p {
            ResourceParam::Var { index, .. } => bindings.extend(quote! {
                let #arg = ::std::borrow::ToOwned::to_owned(vars[#index].1);
            }),
            ResourceParam::Extractor { ty, .. } => {
                let m = checks::marker(&t.pat, i + 1);
                bindings.extend(quote_spanned! {ty.span()=>
                    let #arg = <#ty as __mcp_auth::ResourceParam<__mcp_auth_params::#m>>::extract(
                        &context,
                    )?;
                });
            }
        }
        args.push(arg);
    }
    let awaited = h.sig.asyncness.map(|_| quote!(.await));
    let output = match &h.sig.output {
        ReturnType::Type(_, ty) => quote!(#ty),
        ReturnType::Default => quote_spanned!(h.sig.ident.span()=> ()),
    };
    let mime = match &h.attr.resource.mime_type {
        Some(m) => quote!(::std::option::Option::Some(#m)),
        None => quote!(::std::option::Option::None),
    };
    let finish = quote_spanned!(output.span()=> __mcp_auth::resource_result::<#output>);
    quote! {
        let value = __mcp_auth::with_caller(token, async {
            #bindings
            ::std::result::Result::Ok::<_, rmcp::ErrorData>(self.#method(#(#args),*) #awaited)
        })
        .await?;
        return #finish(value, uri, #mime, &context);
    }
}
