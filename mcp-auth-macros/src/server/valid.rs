//! Checks on the parsed server, each recorded at the offending token. What only rustc can
//! decide (whether a role string is declared, whether a parameter is an extractor) becomes a
//! spanned assertion in [`super::checks`] instead.

use std::collections::HashMap;

use proc_macro2::Span;
use quote::ToTokens;
use syn::{FnArg, Signature, spanned::Spanned};

use super::{
    ast::{self, Handler, ResourceParam, Server},
    attr::{Kind, NameList, NameRef},
    template,
};
use crate::{ctxt::Ctxt, names};

pub fn check(cx: &Ctxt, server: &Server) {
    for h in &server.handlers {
        lists(cx, server, h);
        rate(cx, h);
        signature(cx, h);
        if h.attr.kind == Kind::Resource {
            resource(cx, h);
        }
    }
    unique_names(cx, server, Kind::Tool);
    unique_names(cx, server, Kind::Prompt);
    unique_uris(cx, server);
}

fn signature(cx: &Ctxt, h: &Handler) {
    let sig = &h.sig;
    let noun = h.attr.kind.noun();
    match sig.receiver() {
        None => cx.error_at(
            first_param_span(sig),
            format!(
                "a {noun} method takes `&self` first: `fn {}(&self, ..)`",
                sig.ident
            ),
        ),
        Some(r) if r.reference.is_none() || r.mutability.is_some() || r.colon_token.is_some() => {
            cx.error_spanned_by(
                r,
                format!(
                    "a {noun} method takes `&self` (a shared reference: the server handles \
                     requests concurrently)"
                ),
            );
        }
        Some(_) => {}
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            format!("a {noun} method cannot be generic; use concrete types"),
        );
    }
    if let Some(u) = &sig.unsafety {
        cx.error_spanned_by(u, format!("a {noun} method cannot be `unsafe`"));
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(v, format!("a {noun} method cannot be variadic"));
    }
}

fn first_param_span(sig: &Signature) -> Span {
    match sig.inputs.first() {
        Some(FnArg::Typed(t)) => t.span(),
        _ => sig.paren_token.span.join(),
    }
}

fn rate(cx: &Ctxt, h: &Handler) {
    let Some(lit) = &h.attr.rate else {
        return;
    };
    if let Err(problem) = names::parse_rate(&lit.value()) {
        cx.error_spanned_by(
            lit,
            format!(
                "invalid rate {:?}: {problem}; a rate is `<count>/<unit>` with the unit s, sec, \
                 second, m, min, minute, h or hour, e.g. `rate = \"10/min\"` (per principal)",
                lit.value()
            ),
        );
    }
}

fn lists(cx: &Ctxt, server: &Server, h: &Handler) {
    if let Some(list) = &h.attr.scopes {
        names_in(cx, list, "scope", server.attr.scopes.is_some());
    }
    if let Some(list) = &h.attr.roles {
        names_in(cx, list, "role", server.attr.roles.is_some());
    }
}

fn names_in(cx: &Ctxt, list: &NameList, noun: &str, declared: bool) {
    if list.items.is_empty() {
        cx.error_spanned_by(
            &list.tokens,
            format!(
                "`{noun}s = []` lists no {noun}; list at least one, or remove `{noun}s` to leave \
                 the item open to any authenticated caller"
            ),
        );
    }
    let mut seen: Vec<String> = Vec::new();
    for item in &list.items {
        let key = item.key();
        if seen.contains(&key) {
            cx.error_spanned_by(
                item,
                format!("`{key}` is listed twice in `{noun}s = [..]`; remove one"),
            );
            continue;
        }
        seen.push(key);
        match item {
            NameRef::Str(lit) => {
                let value = lit.value();
                if let Some(problem) = names::scope_token_problem(&value, noun) {
                    let what = if noun == "scope" {
                        "malformed scope"
                    } else {
                        "invalid role name"
                    };
                    cx.error_spanned_by(
                        lit,
                        format!(
                            "{what} {value:?}: {problem}; a {noun} is one or more printable \
                             ASCII characters other than space, `\"` and `\\` (RFC 6749 \
                             scope-token)"
                        ),
                    );
                }
            }
            NameRef::Path(path) if !declared => {
                let ty = if noun == "scope" { "Scope" } else { "Role" };
                cx.error_spanned_by(
                    path,
                    format!(
                        "`{}` names a {noun} of a declared type, but this server declares none; \
                         add `{noun}s = {ty}` to `#[mcp_auth::server(..)]`, or write the {noun} \
                         as a string",
                        path.to_token_stream().to_string().replace(' ', "")
                    ),
                );
            }
            NameRef::Path(_) => {}
        }
    }
}

/// Where an item's name comes from, for errors.
fn name_span(h: &Handler) -> Span {
    match &h.attr.name {
        Some(lit) => lit.span(),
        None => h.sig.ident.span(),
    }
}

fn unique_names(cx: &Ctxt, server: &Server, kind: Kind) {
    let noun = kind.noun();
    let mut seen: HashMap<String, &Handler> = HashMap::new();
    for h in server.of(kind) {
        let name = h.name();
        if kind == Kind::Tool {
            if let Some(problem) = names::tool_name_problem(&name) {
                let fix = if h.attr.name.is_some() {
                    "rename it"
                } else {
                    "give it a valid name with `name = \"...\"`"
                };
                cx.error_at(
                    name_span(h),
                    format!(
                        "invalid MCP tool name {name:?}: {problem}; a tool name is 1 to 128 \
                         characters of `A-Z a-z 0-9 _ . -`; {fix}"
                    ),
                );
            }
        } else if name.is_empty() {
            cx.error_at(name_span(h), format!("a {noun} name cannot be empty"));
        }
        if let Some(first) = seen.get(&name) {
            cx.error_at(
                name_span(h),
                format!(
                    "two {noun}s are named `{name}`: `fn {}` above already is; {noun} names \
                     must be unique, rename one with `name = \"...\"`",
                    first.sig.ident
                ),
            );
        } else {
            seen.insert(name, h);
        }
    }
}

fn unique_uris(cx: &Ctxt, server: &Server) {
    let mut seen: HashMap<String, &Handler> = HashMap::new();
    for h in server.of(Kind::Resource) {
        let Some(uri) = &h.attr.resource.uri else {
            continue;
        };
        if let Some(first) = seen.get(&uri.value()) {
            cx.error_spanned_by(
                uri,
                format!(
                    "two resources have the URI {:?}: `fn {}` above already does; remove one",
                    uri.value(),
                    first.sig.ident
                ),
            );
        } else {
            seen.insert(uri.value(), h);
        }
    }
}

fn resource(cx: &Ctxt, h: &Handler) {
    let Some(uri) = &h.attr.resource.uri else {
        cx.error_spanned_by(
            &h.attr.tokens,
            "`#[resource]` needs the resource's URI: `#[resource(uri = \"notes://index\")]` or \
             a template such as `#[resource(uri = \"notes://{id}\")]`",
        );
        return;
    };
    let vars = match template::parse(&uri.value()) {
        Ok(vars) => vars,
        Err(problem) => {
            cx.error_spanned_by(uri, format!("invalid resource URI: {problem}"));
            return;
        }
    };
    let names = vars;
    let params = ast::resource_params(&h.sig, &names);
    let mut bound = vec![false; names.len()];
    for p in &params {
        match p {
            ResourceParam::Var { index, ident, ty } => {
                bound[*index] = true;
                if !ast::is_string(ty) {
                    cx.error_spanned_by(
                        ty,
                        format!(
                            "`{ident}` receives the URI template variable `{{{ident}}}`, which \
                             is a `String`; declare it `{ident}: String` and parse it in the body"
                        ),
                    );
                }
            }
            ResourceParam::Extractor { pat, ty } => {
                if let (syn::Pat::Ident(p), true) = (pat, ast::is_string(ty)) {
                    let hint = if names.is_empty() {
                        format!("the URI {:?} has no variables", uri.value())
                    } else {
                        format!(
                            "the variables of {:?} are: {}{}",
                            uri.value(),
                            names.join(", "),
                            names::did_you_mean(
                                &p.ident.to_string(),
                                names.iter().map(String::as_str)
                            )
                        )
                    };
                    cx.error_spanned_by(
                        pat,
                        format!(
                            "parameter `{}` is not a variable of the resource URI; {hint}",
                            p.ident
                        ),
                    );
                }
            }
        }
    }
    for (name, bound) in names.iter().zip(bound) {
        if !bound {
            cx.error_spanned_by(
                uri,
                format!(
                    "URI template variable `{{{name}}}` has no parameter; add `{name}: String` \
                     to `fn {}`",
                    h.sig.ident
                ),
            );
        }
    }
}
