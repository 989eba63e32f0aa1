//! The annotated impl block as the macro sees it: the server type, and each method marked
//! `#[tool]`, `#[prompt]` or `#[resource]` with its parsed attribute and signature.

use proc_macro2::TokenStream;
use syn::{Attribute, Expr, ImplItem, ItemImpl, Signature, Type};

use super::attr::{self, ItemAttr, Kind, ServerAttr};
use crate::ctxt::Ctxt;

pub struct Server {
    pub attr: ServerAttr,
    /// The impl block with our attributes removed from its methods.
    pub item: ItemImpl,
    pub handlers: Vec<Handler>,
}

pub struct Handler {
    pub attr: ItemAttr,
    /// Index of the method in `Server::item.items`.
    pub index: usize,
    /// Where our attribute was among the method's attributes.
    pub attr_pos: usize,
    pub sig: Signature,
    /// The method's doc comment lines.
    pub docs: Vec<Expr>,
}

impl Server {
    pub fn self_ty(&self) -> &Type {
        &self.item.self_ty
    }

    pub fn of(&self, kind: Kind) -> impl Iterator<Item = &Handler> {
        self.handlers.iter().filter(move |h| h.attr.kind == kind)
    }

    pub fn has(&self, kind: Kind) -> bool {
        self.of(kind).next().is_some()
    }
}

impl Handler {
    /// The MCP name of a tool or prompt: `name = ".."`, or the method's name.
    pub fn name(&self) -> String {
        match &self.attr.name {
            Some(lit) => lit.value(),
            None => self.sig.ident.to_string(),
        }
    }
}

/// Which of our attributes `attr` is, if any: `tool`, `prompt` or `resource`, also as
/// `mcp_auth::tool` or `rmcp::tool`.
pub fn our_kind(attr: &Attribute) -> Option<Kind> {
    let path = attr.path();
    let last = path.segments.last()?;
    let prefix_ok = path.segments.len() == 1
        || (path.segments.len() == 2
            && ["mcp_auth", "rmcp"]
                .iter()
                .any(|p| path.segments[0].ident == p));
    if prefix_ok {
        Kind::from_ident(&last.ident)
    } else {
        None
    }
}

/// Parse the item the attribute is on. `None` (with errors recorded) if it is not an
/// inherent, non-generic impl block.
pub fn parse(cx: &Ctxt, attr_tokens: TokenStream, item: TokenStream) -> Option<Server> {
    let attr = attr::server_attr(cx, attr_tokens);
    let mut item: ItemImpl = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            cx.error_spanned_by(
                item_head(item),
                "`#[mcp_auth::server]` goes on an inherent impl block: \
                 `#[mcp_auth::server] impl MyServer { .. }`",
            );
            return None;
        }
    };
    if let Some((_, path, _)) = &item.trait_ {
        cx.error_spanned_by(
            path,
            "`#[mcp_auth::server]` goes on an inherent impl block (`impl MyServer { .. }`), not \
             on a trait impl; it writes the `ServerHandler` impl for you",
        );
        return None;
    }
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(
            &item.generics,
            "a `#[mcp_auth::server]` type cannot be generic: its routers and policy are built \
             once and kept in `static`s; use a concrete type (keep generic parts in fields)",
        );
    }

    let mut handlers = Vec::new();
    for (index, impl_item) in item.items.iter_mut().enumerate() {
        let ImplItem::Fn(f) = impl_item else {
            reject_on_non_fn(cx, impl_item);
            continue;
        };
        let mut found: Option<ItemAttr> = None;
        let mut attr_pos = 0;
        let mut kept = Vec::with_capacity(f.attrs.len());
        for a in std::mem::take(&mut f.attrs) {
            let Some(kind) = our_kind(&a) else {
                kept.push(a);
                continue;
            };
            if let Some(first) = &found {
                cx.error_spanned_by(
                    &a,
                    format!(
                        "`{}` is already a {}; a method is one tool, prompt or resource, remove \
                         this attribute",
                        f.sig.ident,
                        first.kind.noun()
                    ),
                );
                continue;
            }
            attr_pos = kept.len();
            found = Some(attr::item_attr(cx, kind, &a));
        }
        f.attrs = kept;
        if let Some(attr) = found {
            let docs = f
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .filter_map(|a| match &a.meta {
                    syn::Meta::NameValue(nv) => Some(nv.value.clone()),
                    _ => None,
                })
                .collect();
            handlers.push(Handler {
                attr,
                index,
                attr_pos,
                sig: f.sig.clone(),
                docs,
            });
        }
    }
    Some(Server {
        attr,
        item,
        handlers,
    })
}

/// The first tokens of an item after its attributes (`pub struct Notes`), for errors.
fn item_head(item: TokenStream) -> TokenStream {
    let mut tokens = item.into_iter().peekable();
    while let Some(proc_macro2::TokenTree::Punct(p)) = tokens.peek() {
        if p.as_char() != '#' {
            break;
        }
        tokens.next();
        tokens.next();
    }
    tokens.take(3).collect()
}

/// Our attributes on anything but a method: an error each, and removed.
fn reject_on_non_fn(cx: &Ctxt, item: &mut ImplItem) {
    let attrs = match item {
        ImplItem::Const(c) => &mut c.attrs,
        ImplItem::Type(t) => &mut t.attrs,
        ImplItem::Macro(m) => &mut m.attrs,
        _ => return,
    };
    attrs.retain(|a| match our_kind(a) {
        Some(kind) => {
            cx.error_spanned_by(
                a,
                format!(
                    "`#[{}]` goes on a method (`fn`) of the impl block",
                    kind.noun()
                ),
            );
            false
        }
        None => true,
    });
}

/// A parameter of a resource method after `&self`.
pub enum ResourceParam<'a> {
    /// Bound to the URI template variable `vars[index]`.
    Var {
        index: usize,
        ident: &'a syn::Ident,
        ty: &'a Type,
    },
    /// Anything else: an extractor (`AccessToken`, `RequestContext<RoleServer>`, ..).
    Extractor { pat: &'a syn::Pat, ty: &'a Type },
}

/// The parameters of a resource method, each bound to a template variable of the same name
/// or taken as an extractor.
pub fn resource_params<'a>(sig: &'a Signature, vars: &[String]) -> Vec<ResourceParam<'a>> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(t) => Some(t),
            syn::FnArg::Receiver(_) => None,
        })
        .map(|t| {
            if let syn::Pat::Ident(p) = &*t.pat
                && let Some(index) = vars.iter().position(|v| p.ident == v)
            {
                return ResourceParam::Var {
                    index,
                    ident: &p.ident,
                    ty: &t.ty,
                };
            }
            ResourceParam::Extractor {
                pat: &t.pat,
                ty: &t.ty,
            }
        })
        .collect()
}

/// Whether `ty` is written `String` (or `std::string::String`).
pub fn is_string(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "String" && s.arguments.is_none()),
        _ => false,
    }
}
