//! Declared role and scope sets: what `mcp_auth::roles!` and `mcp_auth::scopes!` generate,
//! and the const checks `#[mcp_auth::server]` runs against them.
//!
//! The server macro cannot see a `roles!` declaration (they are separate macro calls), so it
//! checks each role and scope string it is given with a `const` item that rustc evaluates
//! at compile time: [`check_name`] looks the string up in [`Declared::NAMES`] and, if it is
//! missing, fails compilation with a message the declaring macro prepared, pointing at the
//! offending string literal.
//!
//! ```
//! use mcp_auth_runtime::declared::{DeclKind, Declared, check_name, closest};
//!
//! #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//! enum Role { Admin, Viewer }
//!
//! impl Declared for Role {
//!     const KIND: DeclKind = DeclKind::Roles;
//!     const TYPE_NAME: &'static str = "Role";
//!     const NAMES: &'static [&'static str] = &["admin", "viewer"];
//!     const HIERARCHY: mcp_auth_runtime::policy::HierarchyTable =
//!         &[("admin", &["viewer"]), ("viewer", &[])];
//!     const UNKNOWN: &'static str = "unknown role; the roles of `Role` are: admin, viewer";
//!     const SUGGEST: &'static [&'static str] = &[
//!         "unknown role; did you mean `admin`?",
//!         "unknown role; did you mean `viewer`?",
//!     ];
//!     fn name(self) -> &'static str {
//!         Self::NAMES[self as usize]
//!     }
//! }
//!
//! const _: () = check_name::<Role>("viewer"); // compiles; "veiwer" would not
//! assert_eq!(closest(Role::NAMES, "veiwer"), Some(1));
//! assert_eq!(closest(Role::NAMES, "billing"), None);
//! ```

use crate::policy::HierarchyTable;

/// Which macro declared a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeclKind {
    /// `mcp_auth::roles!`.
    Roles,
    /// `mcp_auth::scopes!`.
    Scopes,
}

impl DeclKind {
    /// `"role"` or `"scope"`.
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Roles => "role",
            Self::Scopes => "scope",
        }
    }
}

/// A role or scope set declared with `mcp_auth::roles!` / `mcp_auth::scopes!`.
///
/// The macros implement it; the constants are what `#[mcp_auth::server(roles = .., scopes =
/// ..)]` reads at compile time.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a role or scope set",
    label = "not declared with `mcp_auth::roles!` or `mcp_auth::scopes!`",
    note = "declare the set once, e.g. `mcp_auth::roles! {{ pub enum Role {{ Admin > Editor > Viewer }} }}`, and name that type here"
)]
pub trait Declared: Copy + 'static {
    /// Which macro declared this type.
    const KIND: DeclKind;
    /// The type's name as written in the declaration.
    const TYPE_NAME: &'static str;
    /// Every wire name, in declaration order (the order of the enum's variants).
    const NAMES: &'static [&'static str];
    /// Each name with every name it implies, transitively, itself excluded.
    const HIERARCHY: HierarchyTable;
    /// The compile error for a name that is not declared and resembles none.
    #[doc(hidden)]
    const UNKNOWN: &'static str;
    /// The compile error for a name that is not declared and resembles `NAMES[i]`.
    #[doc(hidden)]
    const SUGGEST: &'static [&'static str];

    /// The wire name of this value.
    fn name(self) -> &'static str;
}

/// The error of a declared type's `FromStr`: the string names no declared role or scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {}: `{name}` is not declared by `{type_name}`", kind.noun())]
pub struct UnknownName {
    kind: DeclKind,
    type_name: &'static str,
    name: String,
}

impl UnknownName {
    /// `name` is not one of `T`'s names.
    pub fn new<T: Declared>(name: &str) -> Self {
        Self {
            kind: T::KIND,
            type_name: T::TYPE_NAME,
            name: name.to_owned(),
        }
    }

    /// The string that was parsed.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Byte-wise string equality, usable in `const`.
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The index of `name` in `names`.
pub const fn position(names: &[&str], name: &str) -> Option<usize> {
    let mut i = 0;
    while i < names.len() {
        if str_eq(names[i], name) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Longest name [`distance`] compares; longer ones never count as similar.
const MAX_COMPARED: usize = 64;

/// Edit distance (Levenshtein with adjacent transpositions), ASCII case-insensitive, usable
/// in `const`. Names longer than 64 bytes are infinitely far from everything.
pub const fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > MAX_COMPARED || b.len() > MAX_COMPARED {
        return usize::MAX;
    }
    let mut before = [0usize; MAX_COMPARED + 1];
    let mut prev = [0usize; MAX_COMPARED + 1];
    let mut cur = [0usize; MAX_COMPARED + 1];
    let mut j = 0;
    while j <= b.len() {
        prev[j] = j;
        j += 1;
    }
    let mut i = 1;
    while i <= a.len() {
        cur[0] = i;
        let mut j = 1;
        while j <= b.len() {
            let same = a[i - 1].eq_ignore_ascii_case(&b[j - 1]);
            let mut best = prev[j - 1] + if same { 0 } else { 1 };
            if prev[j] + 1 < best {
                best = prev[j] + 1;
            }
            if cur[j - 1] + 1 < best {
                best = cur[j - 1] + 1;
            }
            if i > 1
                && j > 1
                && a[i - 1].eq_ignore_ascii_case(&b[j - 2])
                && a[i - 2].eq_ignore_ascii_case(&b[j - 1])
                && before[j - 2] + 1 < best
            {
                best = before[j - 2] + 1;
            }
            cur[j] = best;
            j += 1;
        }
        before = prev;
        prev = cur;
        i += 1;
    }
    prev[b.len()]
}

/// The index of the name in `names` closest to `name`, if one is close enough to be a
/// plausible typo (at most a third of the name's length, and at least one edit, away).
pub const fn closest(names: &[&str], name: &str) -> Option<usize> {
    let limit = if name.len() / 3 > 1 {
        name.len() / 3
    } else {
        1
    };
    let mut best: Option<usize> = None;
    let mut best_distance = usize::MAX;
    let mut i = 0;
    while i < names.len() {
        let d = distance(names[i], name);
        if d <= limit && d < best_distance {
            best = Some(i);
            best_distance = d;
        }
        i += 1;
    }
    best
}

/// A declared set, as the server macro reads it in `const` context: one `const` per server
/// (so a wrong type is reported once), then one [`check_in`] per role or scope string.
#[derive(Debug, Clone, Copy)]
pub struct NameSet {
    /// Which macro declared it.
    pub kind: DeclKind,
    /// [`Declared::NAMES`].
    pub names: &'static [&'static str],
    /// [`Declared::HIERARCHY`].
    pub hierarchy: HierarchyTable,
    unknown: &'static str,
    suggest: &'static [&'static str],
}

impl NameSet {
    /// `T`'s names, whatever macro declared it.
    pub const fn of<T: Declared>() -> Self {
        Self {
            kind: T::KIND,
            names: T::NAMES,
            hierarchy: T::HIERARCHY,
            unknown: T::UNKNOWN,
            suggest: T::SUGGEST,
        }
    }
}

/// `T`'s names; fails compilation unless `T` was declared with `roles!`.
pub const fn roles_of<T: Declared>() -> NameSet {
    if !matches!(T::KIND, DeclKind::Roles) {
        panic!(
            "`roles = ..` needs a type declared with `mcp_auth::roles!`, but this one was \
             declared with `mcp_auth::scopes!`; did you mean `scopes = ..`?"
        );
    }
    NameSet::of::<T>()
}

/// `T`'s names; fails compilation unless `T` was declared with `scopes!`.
pub const fn scopes_of<T: Declared>() -> NameSet {
    if !matches!(T::KIND, DeclKind::Scopes) {
        panic!(
            "`scopes = ..` needs a type declared with `mcp_auth::scopes!`, but this one was \
             declared with `mcp_auth::roles!`; did you mean `roles = ..`?"
        );
    }
    NameSet::of::<T>()
}

/// Fail compilation unless `name` is in `set`, with the message the declaring macro prepared
/// (naming the closest declared name, if one is close). `#[mcp_auth::server]` emits
/// `const _: () = check_in(&ROLES, "editor");` spanned at the string literal.
pub const fn check_in(set: &NameSet, name: &str) {
    if position(set.names, name).is_some() {
        return;
    }
    match closest(set.names, name) {
        Some(i) => panic!("{}", set.suggest[i]),
        None => panic!("{}", set.unknown),
    }
}

/// [`check_in`] for a type.
pub const fn check_name<T: Declared>(name: &str) {
    check_in(&NameSet::of::<T>(), name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("editor", "editor"), 0);
        assert_eq!(distance("edtor", "editor"), 1);
        assert_eq!(distance("Editor", "editor"), 0);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("edtior", "editor"), 1);
        assert_eq!(distance(&"a".repeat(65), "a"), usize::MAX);
    }

    #[test]
    fn closest_name() {
        let names = ["admin", "editor", "viewer"];
        assert_eq!(closest(&names, "edtor"), Some(1));
        assert_eq!(closest(&names, "viewr"), Some(2));
        assert_eq!(closest(&names, "billing"), None);
        assert_eq!(position(&names, "viewer"), Some(2));
        assert_eq!(position(&names, "view"), None);
    }
}
