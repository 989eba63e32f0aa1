//! Meaning and checks of a declaration: which mention names which variant, the edges, and the
//! transitive closure. Every problem is recorded in the [`Ctxt`]; the model is only used when
//! there were none.
//!
//! Rules (documented on the macros):
//! - the first mention of a name declares it and may carry its doc comment, attributes and
//!   wire name (`#[name = ".."]` or `Ident = ".."`); later mentions refer to it by its bare
//!   identifier or wire string. Giving any of these again is "declared twice";
//! - a name listed on its own (a one-name chain) that was already mentioned is "listed twice";
//! - the same edge `A > B` written twice is a "duplicate edge";
//! - two variants with one wire name, an invalid wire name, and a cycle are errors.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, Ident, LitStr};

use super::{
    Kind,
    parse::{Decl, Mention},
};
use crate::{ctxt::Ctxt, names};

pub struct Model {
    pub kind: Kind,
    pub attrs: Vec<Attribute>,
    pub vis: syn::Visibility,
    pub ident: Ident,
    pub variants: Vec<Variant>,
    /// For each variant, every variant it implies (transitively, itself excluded), in
    /// declaration order.
    pub implied: Vec<Vec<usize>>,
}

pub struct Variant {
    pub ident: Ident,
    pub wire: String,
    pub attrs: Vec<Attribute>,
}

struct Edge {
    from: usize,
    to: usize,
    tokens: TokenStream,
}

pub fn check(cx: &Ctxt, kind: Kind, decl: Decl) -> Model {
    let noun = kind.noun();
    if decl.chains.is_empty() {
        cx.error_at(
            decl.brace.span.join(),
            format!(
                "declare at least one {noun}, e.g. `{}`",
                kind.example(&decl.ident)
            ),
        );
    }
    let mut variants: Vec<Variant> = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    for chain in &decl.chains {
        let mut indexes = Vec::with_capacity(chain.mentions.len());
        for m in &chain.mentions {
            indexes.push(resolve(
                cx,
                kind,
                m,
                &mut variants,
                chain.mentions.len() == 1,
            ));
        }
        for (i, pair) in indexes.windows(2).enumerate() {
            let (Some(from), Some(to)) = (pair[0], pair[1]) else {
                continue;
            };
            let mut tokens = chain.mentions[i].name_tokens();
            chain.gts[i].to_tokens(&mut tokens);
            tokens.extend(chain.mentions[i + 1].name_tokens());
            edges.push(Edge { from, to, tokens });
        }
    }

    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    for e in &edges {
        if !seen.insert((e.from, e.to)) {
            cx.error_spanned_by(
                &e.tokens,
                format!(
                    "duplicate edge `{} > {}`: it is already declared in this list; remove this one",
                    variants[e.from].ident, variants[e.to].ident
                ),
            );
        }
    }

    let mut adjacency = vec![Vec::new(); variants.len()];
    for e in &edges {
        if !adjacency[e.from].contains(&e.to) {
            adjacency[e.from].push(e.to);
        }
    }
    if let Some((cycle, closing)) = find_cycle(&adjacency) {
        let path: Vec<String> = cycle
            .iter()
            .map(|&v| match kind {
                Kind::Roles => variants[v].ident.to_string(),
                Kind::Scopes => format!("{:?}", variants[v].wire),
            })
            .collect();
        let edge = edges
            .iter()
            .find(|e| (e.from, e.to) == closing)
            .expect("the closing edge exists");
        cx.error_spanned_by(
            &edge.tokens,
            format!(
                "cyclic {noun} hierarchy: `{}`; a {noun} cannot imply itself, remove one of these edges",
                path.join(" > ")
            ),
        );
    }

    let implied = (0..variants.len())
        .map(|v| closure(&adjacency, v))
        .collect();
    Model {
        kind,
        attrs: decl.attrs,
        vis: decl.vis,
        ident: decl.ident,
        variants,
        implied,
    }
}

/// The variant `m` names, declaring it if it is new. `None` if it is unusable.
fn resolve(
    cx: &Ctxt,
    kind: Kind,
    m: &Mention,
    variants: &mut Vec<Variant>,
    alone: bool,
) -> Option<usize> {
    let noun = kind.noun();
    let mut attrs = Vec::new();
    let mut wire: Option<LitStr> = m.eq.as_ref().map(|(_, lit)| lit.clone());
    for attr in &m.attrs {
        if !attr.path().is_ident("name") {
            attrs.push(attr.clone());
            continue;
        }
        match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(lit),
                        ..
                    }),
                ..
            }) if wire.is_none() && m.lit.is_none() => wire = Some(lit.clone()),
            syn::Meta::NameValue(_) if wire.is_some() || m.lit.is_some() => cx.error_spanned_by(
                attr,
                format!("this {noun} already has a wire name; give it once"),
            ),
            _ => cx.error_spanned_by(
                attr,
                format!("expected `#[name = \"...\"]`, the {noun}'s wire name"),
            ),
        }
    }
    let defines = wire.is_some() || !attrs.is_empty();

    let existing = match (&m.ident, &m.lit) {
        (Some(ident), _) => variants.iter().position(|v| v.ident == *ident),
        (None, Some(lit)) => variants.iter().position(|v| v.wire == lit.value()),
        (None, None) => unreachable!("a mention has an identifier or a string"),
    };
    if let Some(index) = existing {
        if defines {
            let mut offending = proc_macro2::TokenStream::new();
            for attr in &m.attrs {
                attr.to_tokens(&mut offending);
            }
            if let Some((eq, lit)) = &m.eq {
                eq.to_tokens(&mut offending);
                lit.to_tokens(&mut offending);
            }
            let first = offending
                .into_iter()
                .take(2)
                .collect::<proc_macro2::TokenStream>();
            cx.error_spanned_by(
                first,
                format!(
                    "`{}` is declared twice: its first mention above declares it; refer to it \
                     here by its bare name `{}` (doc comments, attributes and wire names go on \
                     the first mention)",
                    variants[index].ident, variants[index].ident
                ),
            );
        } else if alone {
            cx.error_spanned_by(
                m,
                format!(
                    "`{}` is listed twice: it is already declared above; remove this entry",
                    variants[index].ident
                ),
            );
        }
        return Some(index);
    }

    let derived = m.ident.is_some() && wire.is_none();
    let (ident, wire, wire_span) = match (&m.ident, &m.lit) {
        (Some(ident), _) => {
            let (w, s) = match &wire {
                Some(lit) => (lit.value(), lit.span()),
                None => (names::snake_case(&ident.to_string()), ident.span()),
            };
            (ident.clone(), w, s)
        }
        (None, Some(lit)) => {
            let value = lit.value();
            let Some(camel) = names::camel_case(&value) else {
                cx.error_spanned_by(
                    lit,
                    format!(
                        "cannot make a variant name from {value:?}; name it yourself: \
                         `MyName = {value:?}`"
                    ),
                );
                return None;
            };
            let ident = Ident::new(&camel, lit.span());
            if let Some(other) = variants.iter().find(|v| v.ident == ident) {
                cx.error_spanned_by(
                    lit,
                    format!(
                        "{value:?} would become the variant `{camel}`, which {:?} already is; \
                         name one of them yourself: `{camel}Alt = {value:?}`",
                        other.wire
                    ),
                );
                return None;
            }
            (ident, value, lit.span())
        }
        (None, None) => unreachable!(),
    };

    if let Some(problem) = names::scope_token_problem(&wire, noun) {
        let fix = if derived {
            format!("give it a valid wire name: `#[name = \"...\"] {ident}`")
        } else {
            "change the name".to_owned()
        };
        cx.error_at(
            wire_span,
            format!(
                "invalid {noun} name {wire:?}: {problem}; a {noun} name is one or more printable \
                 ASCII characters other than space, `\"` and `\\` (RFC 6749 scope-token); {fix}"
            ),
        );
    }
    if let Some(other) = variants.iter().find(|v| v.wire == wire) {
        cx.error_at(
            wire_span,
            format!(
                "`{ident}` and `{}` have the same wire name {wire:?}; wire names must be \
                 unique, rename one with `#[name = \"...\"]`",
                other.ident
            ),
        );
    }
    variants.push(Variant { ident, wire, attrs });
    Some(variants.len() - 1)
}

/// The first cycle found: its path (first node repeated at the end) and its closing edge.
fn find_cycle(adjacency: &[Vec<usize>]) -> Option<(Vec<usize>, (usize, usize))> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        v: usize,
        adjacency: &[Vec<usize>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<(Vec<usize>, (usize, usize))> {
        marks[v] = Mark::Open;
        stack.push(v);
        for &w in &adjacency[v] {
            match marks[w] {
                Mark::Open => {
                    let start = stack.iter().position(|&s| s == w).expect("on the stack");
                    let mut path = stack[start..].to_vec();
                    path.push(w);
                    return Some((path, (v, w)));
                }
                Mark::New => {
                    if let Some(found) = visit(w, adjacency, marks, stack) {
                        return Some(found);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[v] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; adjacency.len()];
    for v in 0..adjacency.len() {
        if marks[v] == Mark::New
            && let Some(found) = visit(v, adjacency, &mut marks, &mut Vec::new())
        {
            return Some(found);
        }
    }
    None
}

/// Every node reachable from `start`, itself excluded, in index order.
fn closure(adjacency: &[Vec<usize>], start: usize) -> Vec<usize> {
    let mut seen = vec![false; adjacency.len()];
    let mut todo = adjacency[start].clone();
    while let Some(v) = todo.pop() {
        if v != start && !seen[v] {
            seen[v] = true;
            todo.extend(&adjacency[v]);
        }
    }
    (0..adjacency.len()).filter(|&v| seen[v]).collect()
}
