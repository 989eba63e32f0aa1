//! The scope and role parsers: `policy::is_scope_token`, `policy::UriTemplate::parse` /
//! `capture`, and the `FromStr` / edit distance of declared role and scope sets.
//!
//! The first input byte picks the parser; the rest is its input. Checked on every input:
//! - `is_scope_token` agrees with the RFC 6749 grammar written out here;
//! - a URI a template captures is rebuilt exactly from the template's literals and the
//!   captured values, which never contain `/`, `?` or `#` for a simple `{var}` and are never
//!   empty; attacker-controlled URIs against realistic templates, and fuzzed templates
//!   (at most three variables) against short URIs;
//! - `"x".parse::<Role>()` succeeds exactly for declared names and round-trips;
//!   `declared::distance` is symmetric and zero on equal names; `closest` only suggests a
//!   name within its documented distance.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_auth_runtime::{
    declared::{Declared, closest, distance},
    policy::{UriTemplate, is_scope_token},
};

mcp_auth::roles! {
    /// A role set with a renamed variant and two chains.
    pub enum Role { Admin > Editor > Viewer, Admin > Billing, #[name = "realm-admin"] RealmAdmin > Admin }
}
mcp_auth::scopes! {
    /// A scope set.
    pub enum Scope { "notes:admin" > "notes:write" > "notes:read", Billing = "billing:read" }
}

/// Templates a server might declare; the URI is the attacker's.
const TEMPLATES: &[&str] = &[
    "notes://{id}",
    "notes://{id}/rev/{rev}",
    "x://{a}-{b}",
    "file:///{+path}",
    "file:///{+dir}/{name}.txt",
    "repo://{owner}/{repo}/blob/{+path}",
    "{+all}",
];

#[derive(Debug)]
enum Piece {
    Literal(String),
    Var { reserved: bool },
}

/// The documented template grammar: text outside braces is literal; an unclosed brace is
/// literal too.
fn pieces(template: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            out.push(Piece::Literal(rest[..open].to_owned()));
        }
        let inner = &rest[open + 1..open + close];
        out.push(Piece::Var {
            reserved: inner.starts_with('+'),
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Literal(rest.to_owned()));
    }
    out
}

fn check_capture(template: &str, uri: &str) {
    let t = UriTemplate::parse(template);
    let Some(values) = t.capture(uri) else {
        return;
    };
    let names: Vec<&str> = t.variables().collect();
    assert_eq!(values.len(), names.len());
    let mut rebuilt = String::new();
    let mut next = values.iter();
    for p in pieces(template) {
        match p {
            Piece::Literal(l) => rebuilt.push_str(&l),
            Piece::Var { reserved } => {
                let (name, value) = next.next().expect("one value per variable");
                assert!(names.contains(name));
                assert!(!value.is_empty(), "{template:?} captured an empty {name}");
                if !reserved {
                    assert!(
                        !value.contains(['/', '?', '#']),
                        "{template:?} captured {value:?} for simple {name}"
                    );
                }
                rebuilt.push_str(value);
            }
        }
    }
    assert_eq!(rebuilt, uri, "{template:?} captured {values:?}");
}

fn scope_grammar(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c == 0x21 || (0x23..=0x5b).contains(&c) || (0x5d..=0x7e).contains(&c))
}

fn check_declared<T: Declared + std::str::FromStr + PartialEq + std::fmt::Debug>(s: &str) {
    let declared = T::NAMES.contains(&s);
    match s.parse::<T>() {
        Ok(v) => {
            assert!(declared, "{s:?} parsed but is not declared");
            assert_eq!(v.name(), s);
        }
        Err(_) => assert!(!declared, "declared {s:?} did not parse"),
    }
    if let Some(i) = closest(T::NAMES, s) {
        let limit = (s.len() / 3).max(1);
        assert!(distance(T::NAMES[i], s) <= limit);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match which % 5 {
        0 => assert_eq!(
            is_scope_token(&text),
            scope_grammar(&text),
            "is_scope_token({text:?})"
        ),
        1 => {
            let template = TEMPLATES[usize::from(which / 5) % TEMPLATES.len()];
            check_capture(template, &text);
        }
        2 => {
            let (template, uri) = text.split_once('\n').unwrap_or((&text, ""));
            if template.len() <= 64
                && uri.len() <= 256
                && UriTemplate::parse(template).variables().count() <= 3
            {
                check_capture(template, uri);
            }
        }
        3 => {
            check_declared::<Role>(&text);
            check_declared::<Scope>(&text);
        }
        _ => {
            let (a, b) = text.split_once('\n').unwrap_or((&text, ""));
            let d = distance(a, b);
            assert_eq!(d, distance(b, a), "distance({a:?}, {b:?}) is not symmetric");
            assert_eq!(distance(a, a), if a.len() > 64 { usize::MAX } else { 0 });
            if a.len() <= 64 && b.len() <= 64 {
                assert!(d <= a.len().max(b.len()));
            }
        }
    }
});
