//! `roles!` and `scopes!` in every form: chains, several parents, wire names given with
//! `#[name = ..]` and `Variant = ..`, derived variants, doc comments and extra attributes.

mcp_auth::roles! {
    /// Who may do what.
    #[allow(dead_code)]
    pub enum Role {
        /// Everything.
        Admin > Editor > Viewer,
        Admin > Billing,
        #[name = "realm-admin"] RealmAdmin > Admin,
        Auditor = "audit.only" > Viewer,
        Guest,
    }
}

mcp_auth::scopes! {
    pub(crate) enum Scope {
        "notes:admin" > "notes:write" > "notes:read",
        "notes:admin" > Export = "notes:export",
        /// Anything at all.
        "https://example.com/any",
    }
}

mod nested {
    mcp_auth::roles! { pub enum Single { Only } }
}

use mcp_auth::declared::Declared;

const _: () = assert!(Role::Admin.satisfies(Role::Viewer));
const _: () = assert!(Role::RealmAdmin.satisfies(Role::Billing));
const _: () = assert!(!Role::Editor.satisfies(Role::Admin));
const _: () = assert!(Role::ALL.len() == 7);
const _: () = assert!(Role::Admin.implies().len() == 3);
const _: () = assert!(mcp_auth::declared::str_eq(
    Role::RealmAdmin.as_str(),
    "realm-admin"
));
const _: () = assert!(mcp_auth::declared::str_eq(
    Role::Auditor.as_str(),
    "audit.only"
));
const _: () = assert!(mcp_auth::declared::str_eq(
    Scope::NotesAdmin.as_str(),
    "notes:admin"
));
const _: () = assert!(Scope::NotesAdmin.satisfies(Scope::NotesRead));
const _: () = assert!(Scope::NotesAdmin.satisfies(Scope::Export));
const _: () = assert!(mcp_auth::declared::str_eq(
    Scope::HttpsExampleComAny.as_str(),
    "https://example.com/any"
));
const _: () = assert!(<Role as Declared>::HIERARCHY.len() == 7);
const _: () = assert!(<nested::Single as Declared>::NAMES.len() == 1);

fn main() {}
