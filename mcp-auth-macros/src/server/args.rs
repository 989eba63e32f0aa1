//! The shape shared by every attribute of the macro: `key = value`, `key(..)` or a bare
//! `key`, comma-separated; and the bookkeeping of which keys are known and which were seen,
//! with "did you mean" for the rest.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{
    Expr, Ident, LitStr, Token,
    ext::IdentExt,
    parse::{Parse, ParseStream, Parser},
    punctuated::Punctuated,
    token::Paren,
};

use crate::{ctxt::Ctxt, names};

/// One `key = value`, `key(..)` or bare `key`.
pub struct Arg {
    pub key: Ident,
    pub value: ArgValue,
}

pub enum ArgValue {
    Expr(Token![=], Expr),
    List(Paren, TokenStream),
    Flag,
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            ArgValue::Expr(input.parse()?, input.parse()?)
        } else if input.peek(Paren) {
            let content;
            let paren = syn::parenthesized!(content in input);
            ArgValue::List(paren, content.parse()?)
        } else {
            ArgValue::Flag
        };
        Ok(Self { key, value })
    }
}

impl ToTokens for Arg {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.key.to_tokens(tokens);
        match &self.value {
            ArgValue::Expr(eq, expr) => {
                eq.to_tokens(tokens);
                expr.to_tokens(tokens);
            }
            ArgValue::List(paren, inner) => paren.surround(tokens, |t| inner.to_tokens(t)),
            ArgValue::Flag => {}
        }
    }
}

/// Parse `a = 1, b(..), c` into arguments.
pub fn parse_args(tokens: TokenStream) -> syn::Result<Vec<Arg>> {
    Ok(Punctuated::<Arg, Token![,]>::parse_terminated
        .parse2(tokens)?
        .into_iter()
        .collect())
}

/// Records "unknown key" and "given twice" errors; remembers which keys were seen.
pub struct Keys<'a> {
    cx: &'a Ctxt,
    what: &'static str,
    known: &'static [&'static str],
    /// Where a key unknown here belongs instead, if anywhere.
    elsewhere: Option<fn(&str) -> Option<&'static str>>,
    seen: Vec<String>,
}

impl<'a> Keys<'a> {
    pub fn new(cx: &'a Ctxt, what: &'static str, known: &'static [&'static str]) -> Self {
        Self {
            cx,
            what,
            known,
            elsewhere: None,
            seen: Vec::new(),
        }
    }

    /// Name the attribute an unknown key belongs in, when it is another one's.
    pub fn elsewhere(mut self, owner: fn(&str) -> Option<&'static str>) -> Self {
        self.elsewhere = Some(owner);
        self
    }

    /// Whether `arg` is a known key seen for the first time.
    pub fn accept(&mut self, arg: &Arg) -> bool {
        let key = arg.key.to_string();
        if !self.known.contains(&key.as_str()) {
            let mut hint = names::did_you_mean(&key, self.known.iter().copied());
            if hint.is_empty()
                && let Some(owner) = self.elsewhere.and_then(|f| f(&key))
            {
                hint = format!("; `{key}` belongs in `{owner}`");
            }
            self.cx.error_spanned_by(
                &arg.key,
                format!(
                    "unknown key `{key}` in `{}`{hint} (keys: {})",
                    self.what,
                    self.known.join(", ")
                ),
            );
            return false;
        }
        if self.seen.contains(&key) {
            self.cx.error_spanned_by(
                &arg.key,
                format!("`{key}` is given twice in `{}`; keep one", self.what),
            );
            return false;
        }
        self.seen.push(key);
        true
    }
}

pub fn expr_value<'a>(cx: &Ctxt, arg: &'a Arg, example: &str) -> Option<&'a Expr> {
    match &arg.value {
        ArgValue::Expr(_, e) => Some(e),
        _ => {
            cx.error_spanned_by(arg, format!("expected a value: `{example}`"));
            None
        }
    }
}

pub fn lit_str(cx: &Ctxt, arg: &Arg, example: &str) -> Option<LitStr> {
    match expr_value(cx, arg, example)? {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.clone()),
        other => {
            cx.error_spanned_by(other, format!("expected a string literal: `{example}`"));
            None
        }
    }
}
