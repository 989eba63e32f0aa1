//! Attribute arguments: `#[mcp_auth::server(..)]` and each method's `#[tool(..)]`,
//! `#[prompt(..)]` and `#[resource(..)]`, parsed into plain structs. Every unknown key, bad
//! value or repeated key is recorded in the [`Ctxt`] and parsing goes on, so one compile
//! reports them all.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{Expr, Ident, LitStr, spanned::Spanned};

use super::args::{Arg, ArgValue, Keys, expr_value, lit_str, parse_args};
use crate::{ctxt::Ctxt, names};

// ---------------------------------------------------------------------------------------------
// `#[mcp_auth::server(..)]`

const SERVER_KEYS: &[&str] = &[
    "name",
    "version",
    "instructions",
    "roles",
    "scopes",
    "undeclared",
    "handler",
];

#[derive(Default)]
pub struct ServerAttr {
    pub name: Option<Expr>,
    pub version: Option<Expr>,
    pub instructions: Option<Expr>,
    pub roles: Option<syn::Path>,
    pub scopes: Option<syn::Path>,
    pub deny_undeclared: bool,
    pub handler: bool,
}

pub fn server_attr(cx: &Ctxt, tokens: TokenStream) -> ServerAttr {
    let mut attr = ServerAttr {
        handler: true,
        ..ServerAttr::default()
    };
    let args = match parse_args(tokens) {
        Ok(args) => args,
        Err(e) => {
            cx.syn_error(e);
            return attr;
        }
    };
    let mut keys = Keys::new(cx, "#[mcp_auth::server(..)]", SERVER_KEYS);
    for arg in &args {
        if !keys.accept(arg) {
            continue;
        }
        match arg.key.to_string().as_str() {
            "name" => attr.name = expr_value(cx, arg, "name = \"notes\"").cloned(),
            "version" => attr.version = expr_value(cx, arg, "version = \"1.2.0\"").cloned(),
            "instructions" => {
                attr.instructions = expr_value(cx, arg, "instructions = \"...\"").cloned();
            }
            key @ ("roles" | "scopes") => {
                let (macro_name, example) = if key == "roles" {
                    ("roles!", "roles = Role")
                } else {
                    ("scopes!", "scopes = Scope")
                };
                match expr_value(cx, arg, example) {
                    Some(Expr::Path(p)) if p.qself.is_none() => {
                        if key == "roles" {
                            attr.roles = Some(p.path.clone());
                        } else {
                            attr.scopes = Some(p.path.clone());
                        }
                    }
                    Some(other) => cx.error_spanned_by(
                        other,
                        format!(
                            "expected the type declared with `mcp_auth::{macro_name}`: `{example}`"
                        ),
                    ),
                    None => {}
                }
            }
            "undeclared" => {
                if let Some(lit) = lit_str(cx, arg, "undeclared = \"deny\"") {
                    match lit.value().as_str() {
                        "open" => attr.deny_undeclared = false,
                        "deny" => attr.deny_undeclared = true,
                        other => cx.error_spanned_by(
                            &lit,
                            format!(
                                "`undeclared` is \"open\" (items without scopes or roles are open \
                                 to any authenticated caller) or \"deny\" (they are hidden){}",
                                names::did_you_mean(other, ["open", "deny"])
                            ),
                        ),
                    }
                }
            }
            "handler" => match expr_value(cx, arg, "handler = false") {
                Some(Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Bool(b),
                    ..
                })) => attr.handler = b.value,
                Some(other) => cx.error_spanned_by(other, "expected `handler = false` or `true`"),
                None => {}
            },
            _ => unreachable!("every known key is handled"),
        }
    }
    attr
}

// ---------------------------------------------------------------------------------------------
// `#[tool(..)]`, `#[prompt(..)]`, `#[resource(..)]`

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tool,
    Prompt,
    Resource,
}

impl Kind {
    pub fn from_ident(ident: &Ident) -> Option<Self> {
        match ident.to_string().as_str() {
            "tool" => Some(Self::Tool),
            "prompt" => Some(Self::Prompt),
            "resource" => Some(Self::Resource),
            _ => None,
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Resource => "resource",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Tool => &[
                "scopes",
                "roles",
                "rate",
                "name",
                "title",
                "description",
                "input_schema",
                "output_schema",
                "annotations",
                "icons",
                "meta",
            ],
            Self::Prompt => &[
                "scopes",
                "roles",
                "rate",
                "name",
                "title",
                "description",
                "arguments",
                "icons",
                "meta",
            ],
            Self::Resource => &[
                "uri",
                "scopes",
                "roles",
                "rate",
                "name",
                "title",
                "description",
                "mime_type",
                "icons",
                "meta",
            ],
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Tool => "#[tool(..)]",
            Self::Prompt => "#[prompt(..)]",
            Self::Resource => "#[resource(..)]",
        }
    }
}

const ANNOTATION_KEYS: &[&str] = &[
    "title",
    "read_only_hint",
    "destructive_hint",
    "idempotent_hint",
    "open_world_hint",
];

/// A role or scope in `roles = [..]` / `scopes = [..]`.
pub enum NameRef {
    Str(LitStr),
    /// A variant of the declared type, e.g. `Role::Editor`.
    Path(syn::Path),
}

impl NameRef {
    /// How duplicates are recognized.
    pub fn key(&self) -> String {
        match self {
            Self::Str(s) => s.value(),
            Self::Path(p) => p.to_token_stream().to_string().replace(' ', ""),
        }
    }
}

impl ToTokens for NameRef {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Self::Str(s) => s.to_tokens(tokens),
            Self::Path(p) => p.to_tokens(tokens),
        }
    }
}

/// `[a, b]`, with the tokens of the whole list for spans.
pub struct NameList {
    pub tokens: TokenStream,
    pub items: Vec<NameRef>,
}

pub struct ItemAttr {
    pub kind: Kind,
    /// Where the attribute starts, for the tokens that replace it.
    pub span: Span,
    /// The whole attribute, for errors about the item.
    pub tokens: TokenStream,
    pub name: Option<LitStr>,
    pub scopes: Option<NameList>,
    pub roles: Option<NameList>,
    /// `rate = "10/min"`: checked in `valid`.
    pub rate: Option<LitStr>,
    /// rmcp's own keys, passed through to `#[rmcp::tool(..)]` / `#[rmcp::prompt(..)]`.
    pub passthrough: Vec<Arg>,
    pub resource: ResourceAttr,
}

#[derive(Default)]
pub struct ResourceAttr {
    pub uri: Option<LitStr>,
    pub title: Option<Expr>,
    pub description: Option<Expr>,
    pub mime_type: Option<Expr>,
    pub icons: Option<Expr>,
    pub meta: Option<Expr>,
}

pub fn item_attr(cx: &Ctxt, kind: Kind, attr: &syn::Attribute) -> ItemAttr {
    let mut out = ItemAttr {
        kind,
        span: attr.span(),
        tokens: attr.to_token_stream(),
        name: None,
        scopes: None,
        roles: None,
        rate: None,
        passthrough: Vec::new(),
        resource: ResourceAttr::default(),
    };
    let tokens = match &attr.meta {
        syn::Meta::Path(_) => TokenStream::new(),
        syn::Meta::List(list) => list.tokens.clone(),
        syn::Meta::NameValue(nv) => {
            cx.error_spanned_by(
                nv,
                format!("expected `#[{}]` or `#[{}(..)]`", kind.noun(), kind.noun()),
            );
            return out;
        }
    };
    let args = match parse_args(tokens) {
        Ok(args) => args,
        Err(e) => {
            cx.syn_error(e);
            return out;
        }
    };
    let mut keys = Keys::new(cx, kind.what(), kind.keys()).elsewhere(|key| {
        [Kind::Tool, Kind::Prompt, Kind::Resource]
            .into_iter()
            .find(|k| k.keys().contains(&key))
            .map(Kind::what)
    });
    for arg in args {
        let key = arg.key.to_string();
        if key == "local" && kind != Kind::Resource {
            cx.error_spanned_by(
                &arg.key,
                "`local` (a handler whose future is not `Send`) is not supported in \
                 `#[mcp_auth::server]`: the generated handler is `Send`; remove `local`",
            );
            continue;
        }
        if !keys.accept(&arg) {
            continue;
        }
        match key.as_str() {
            "scopes" => out.scopes = name_list(cx, &arg, "scopes = [\"notes:read\"]"),
            "roles" => out.roles = name_list(cx, &arg, "roles = [\"editor\"]"),
            "rate" => out.rate = lit_str(cx, &arg, "rate = \"10/min\""),
            "name" => {
                out.name = lit_str(cx, &arg, "name = \"...\"");
                if kind != Kind::Resource {
                    out.passthrough.push(arg);
                }
            }
            "uri" => out.resource.uri = lit_str(cx, &arg, "uri = \"notes://{id}\""),
            _ if kind == Kind::Resource => {
                let value = expr_value(cx, &arg, &format!("{key} = ..")).cloned();
                let r = &mut out.resource;
                match key.as_str() {
                    "title" => r.title = value,
                    "description" => r.description = value,
                    "mime_type" => r.mime_type = value,
                    "icons" => r.icons = value,
                    "meta" => r.meta = value,
                    _ => unreachable!("every resource key is handled"),
                }
            }
            "annotations" => {
                match &arg.value {
                    ArgValue::List(_, inner) => annotations(cx, inner.clone()),
                    _ => cx.error_spanned_by(
                        &arg,
                        "expected `annotations(read_only_hint = true, ..)`",
                    ),
                }
                out.passthrough.push(arg);
            }
            _ => {
                if let ArgValue::Expr(..) = arg.value {
                    out.passthrough.push(arg);
                } else {
                    cx.error_spanned_by(&arg, format!("expected a value: `{key} = ..`"));
                }
            }
        }
    }
    out
}

fn annotations(cx: &Ctxt, tokens: TokenStream) {
    match parse_args(tokens) {
        Ok(args) => {
            let mut keys = Keys::new(cx, "annotations(..)", ANNOTATION_KEYS);
            for arg in &args {
                keys.accept(arg);
            }
        }
        Err(e) => cx.syn_error(e),
    }
}

fn name_list(cx: &Ctxt, arg: &Arg, example: &str) -> Option<NameList> {
    let expr = expr_value(cx, arg, example)?;
    let Expr::Array(array) = expr else {
        let hint = match expr {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => format!("write a list: `{} = [{:?}]`", arg.key, s.value()),
            _ => format!("write a list of strings: `{example}`"),
        };
        cx.error_spanned_by(expr, format!("expected a list; {hint}"));
        return None;
    };
    let mut items = Vec::new();
    for elem in &array.elems {
        match elem {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => items.push(NameRef::Str(s.clone())),
            Expr::Path(p) if p.qself.is_none() && p.path.segments.len() > 1 => {
                items.push(NameRef::Path(p.path.clone()));
            }
            other => cx.error_spanned_by(
                other,
                format!(
                    "expected a string literal such as `{}`, or a variant of the declared type \
                     such as `{}`",
                    if arg.key == "roles" {
                        "\"editor\""
                    } else {
                        "\"notes:read\""
                    },
                    if arg.key == "roles" {
                        "Role::Editor"
                    } else {
                        "Scope::NotesRead"
                    },
                ),
            ),
        }
    }
    Some(NameList {
        tokens: array.to_token_stream(),
        items,
    })
}
