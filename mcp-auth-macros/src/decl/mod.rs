//! `roles!` and `scopes!`: parse → validate → expand.

mod expand;
mod parse;
mod valid;

use proc_macro2::TokenStream;
use syn::Ident;

use crate::ctxt::Ctxt;

/// Which macro is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Roles,
    Scopes,
}

impl Kind {
    pub fn noun(self) -> &'static str {
        match self {
            Self::Roles => "role",
            Self::Scopes => "scope",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Self::Roles => "roles",
            Self::Scopes => "scopes",
        }
    }

    /// A one-line declaration of this kind, for error messages.
    pub fn example(self, ident: &Ident) -> String {
        match self {
            Self::Roles => format!("enum {ident} {{ Admin > Editor > Viewer }}"),
            Self::Scopes => format!("enum {ident} {{ \"notes:write\" > \"notes:read\" }}"),
        }
    }
}

pub fn expand(kind: Kind, input: TokenStream) -> syn::Result<TokenStream> {
    let decl: parse::Decl = syn::parse2(input)?;
    let cx = Ctxt::new();
    let model = valid::check(&cx, kind, decl);
    cx.check()?;
    Ok(expand::expand(&model))
}
