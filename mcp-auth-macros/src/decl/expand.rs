//! The enum, its inherent API, `Display` / `FromStr`, and the `Declared` impl that
//! `#[mcp_auth::server]` reads at compile time.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Kind, valid::Model};

pub fn expand(m: &Model) -> TokenStream {
    let Model {
        kind,
        attrs,
        vis,
        ident,
        variants,
        implied,
    } = m;
    let noun = kind.noun();
    let plural = kind.plural();
    let idents: Vec<_> = variants.iter().map(|v| &v.ident).collect();
    let wires: Vec<&str> = variants.iter().map(|v| v.wire.as_str()).collect();

    let variant_defs = variants.iter().map(|v| {
        let attrs = &v.attrs;
        let ident = &v.ident;
        let doc = (!attrs.iter().any(|a| a.path().is_ident("doc"))).then(|| {
            let doc = format!("The `{}` {noun}.", v.wire);
            quote!(#[doc = #doc])
        });
        quote!(#(#attrs)* #doc #ident)
    });
    let implies_arms = implied.iter().zip(&idents).map(|(implied, ident)| {
        let targets = implied.iter().map(|&i| &variants[i].ident);
        quote!(Self::#ident => &[#(Self::#targets),*])
    });
    let hierarchy = implied.iter().zip(&wires).map(|(implied, wire)| {
        let targets = implied.iter().map(|&i| variants[i].wire.as_str());
        quote!((#wire, &[#(#targets),*]))
    });

    let list = wires.join(", ");
    let macro_name = format!("mcp_auth::{plural}!");
    let unknown = format!(
        "unknown {noun}: `{ident}` declares no such {noun}; use one of: {list} (or add it to the \
         `{macro_name}` declaration of `{ident}`)"
    );
    let suggest = wires.iter().map(|w| {
        format!("unknown {noun}: did you mean `{w}`? (the {plural} of `{ident}` are: {list})")
    });
    let type_name = ident.to_string();
    let kind_tokens = match kind {
        Kind::Roles => quote!(::mcp_auth::__private::DeclKind::Roles),
        Kind::Scopes => quote!(::mcp_auth::__private::DeclKind::Scopes),
    };
    let all_doc = format!("Every {noun}, in declaration order.");
    let as_str_doc =
        format!("The wire name of this {noun}: what tokens carry and `{plural} = [..]` names.");
    let implies_doc = format!("Every {noun} this one implies, transitively, itself excluded.");
    let satisfies_doc = format!(
        "Whether holding this {noun} satisfies `required` (it is `required` or implies it)."
    );

    quote! {
        #(#attrs)*
        #[derive(
            ::core::fmt::Debug,
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::cmp::PartialEq,
            ::core::cmp::Eq,
            ::core::hash::Hash,
        )]
        // Variant names come from the wire names (`"notes:read"` → `NotesRead`): a shared
        // prefix is the norm, not a smell.
        #[allow(clippy::enum_variant_names)]
        #vis enum #ident {
            #(#variant_defs,)*
        }

        impl #ident {
            #[doc = #all_doc]
            pub const ALL: &'static [Self] = &[#(Self::#idents),*];

            #[doc = #as_str_doc]
            pub const fn as_str(self) -> &'static str {
                match self {
                    #(Self::#idents => #wires,)*
                }
            }

            #[doc = #implies_doc]
            pub const fn implies(self) -> &'static [Self] {
                match self {
                    #(#implies_arms,)*
                }
            }

            #[doc = #satisfies_doc]
            pub const fn satisfies(self, required: Self) -> bool {
                if self as usize == required as usize {
                    return true;
                }
                let implied = self.implies();
                let mut i = 0;
                while i < implied.len() {
                    if implied[i] as usize == required as usize {
                        return true;
                    }
                    i += 1;
                }
                false
            }
        }

        impl ::core::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::convert::AsRef<str> for #ident {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::core::str::FromStr for #ident {
            type Err = ::mcp_auth::__private::UnknownName;

            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                match s {
                    #(#wires => ::core::result::Result::Ok(Self::#idents),)*
                    _ => ::core::result::Result::Err(
                        ::mcp_auth::__private::UnknownName::new::<Self>(s),
                    ),
                }
            }
        }

        impl ::mcp_auth::__private::Declared for #ident {
            const KIND: ::mcp_auth::__private::DeclKind = #kind_tokens;
            const TYPE_NAME: &'static str = #type_name;
            const NAMES: &'static [&'static str] = &[#(#wires),*];
            const HIERARCHY: ::mcp_auth::__private::HierarchyTable = &[#(#hierarchy),*];
            const UNKNOWN: &'static str = #unknown;
            const SUGGEST: &'static [&'static str] = &[#(#suggest),*];

            fn name(self) -> &'static str {
                self.as_str()
            }
        }
    }
}
