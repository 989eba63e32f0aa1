//! Grammar of `roles!` and `scopes!`:
//!
//! ```text
//! decl    := attr* vis "enum" Ident "{" chain ("," chain)* ","? "}"
//! chain   := mention (">" mention)*
//! mention := attr* ( Ident ("=" LitStr)? | LitStr )
//! ```
//!
//! Parsing only records what was written; [`super::valid`] gives it meaning.

use proc_macro2::TokenStream;
use quote::{ToTokens, TokenStreamExt};
use syn::{
    Attribute, Ident, LitStr, Token, Visibility, braced,
    ext::IdentExt,
    parse::{Parse, ParseStream},
    token::Brace,
};

pub struct Decl {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub brace: Brace,
    pub chains: Vec<Chain>,
}

/// `A > B > C`: `mentions` in order, `gts[i]` between `mentions[i]` and `mentions[i + 1]`.
pub struct Chain {
    pub mentions: Vec<Mention>,
    pub gts: Vec<Token![>]>,
}

/// One occurrence of a name.
pub struct Mention {
    pub attrs: Vec<Attribute>,
    pub ident: Option<Ident>,
    /// `Ident = "wire"`.
    pub eq: Option<(Token![=], LitStr)>,
    /// A bare `"wire"`.
    pub lit: Option<LitStr>,
}

impl Parse for Decl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        input.parse::<Token![enum]>()?;
        let ident = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let mut chains = Vec::new();
        while !content.is_empty() {
            chains.push(content.parse()?);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        Ok(Self {
            attrs,
            vis,
            ident,
            brace,
            chains,
        })
    }
}

impl Parse for Chain {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut mentions = vec![input.parse()?];
        let mut gts = Vec::new();
        while input.peek(Token![>]) {
            gts.push(input.parse()?);
            mentions.push(input.parse()?);
        }
        Ok(Self { mentions, gts })
    }
}

impl Parse for Mention {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let lookahead = input.lookahead1();
        if lookahead.peek(LitStr) {
            return Ok(Self {
                attrs,
                ident: None,
                eq: None,
                lit: Some(input.parse()?),
            });
        }
        if !lookahead.peek(Ident::peek_any) {
            return Err(lookahead.error());
        }
        let ident = Ident::parse_any(input)?;
        let eq = if input.peek(Token![=]) {
            Some((input.parse()?, input.parse()?))
        } else {
            None
        };
        Ok(Self {
            attrs,
            ident: Some(ident),
            eq,
            lit: None,
        })
    }
}

impl ToTokens for Mention {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.ident.to_tokens(tokens);
        if let Some((eq, lit)) = &self.eq {
            eq.to_tokens(tokens);
            lit.to_tokens(tokens);
        }
        self.lit.to_tokens(tokens);
    }
}

impl Mention {
    /// The name as written, without attributes: for spans.
    pub fn name_tokens(&self) -> TokenStream {
        let mut tokens = TokenStream::new();
        self.ident.to_tokens(&mut tokens);
        if let Some((eq, lit)) = &self.eq {
            eq.to_tokens(&mut tokens);
            lit.to_tokens(&mut tokens);
        }
        self.lit.to_tokens(&mut tokens);
        tokens
    }
}
