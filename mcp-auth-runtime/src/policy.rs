//! Policy: what each tool, prompt and resource requires, the scope and role hierarchies, and
//! the decision whether a caller satisfies a requirement.
//!
//! The `#[mcp_auth::server]` macro writes a [`PolicyTable`] as a `static` at compile time;
//! [`Policy::compile`] turns it once into bit masks, so that a request costs one expansion of
//! the caller's scopes and roles ([`Policy::grants`]) and each decision after that is a few
//! word-wise AND operations, without allocating.
//!
//! Semantics:
//! - several scopes listed = **all** of them; several roles listed = **any** of them; both =
//!   both;
//! - a granted scope or role satisfies everything it implies (transitively);
//! - an item with neither is open to any authenticated caller, unless the table says
//!   [`Undeclared::Deny`];
//! - without an identity only open items are allowed.

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    sync::OnceLock,
};

/// FxHash (rustc's): the maps here are built once from the macros' static names and only
/// looked up afterwards, so an attacker-chosen name cannot grow a probe chain; SipHash's
/// flooding resistance buys nothing and costs ~20 ns per lookup.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type NameMap<V> = HashMap<&'static str, V, BuildHasherDefault<Fx>>;

use crate::{
    AccessToken,
    ratelimit::{DEFAULT_LIMITER_CAPACITY, OperationLimits, Rate},
};

/// Whether `s` is an RFC 6749 `scope-token`: one or more of `%x21 / %x23-5B / %x5D-7E`.
///
/// ```
/// use mcp_auth_runtime::policy::is_scope_token;
/// assert!(is_scope_token("notes:read"));
/// assert!(!is_scope_token("notes read"));
/// assert!(!is_scope_token(""));
/// assert!(!is_scope_token("a\"b"));
/// ```
pub const fn is_scope_token(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)) {
            return false;
        }
        i += 1;
    }
    true
}

/// What one item requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requirement {
    /// All of these scopes.
    pub scopes: &'static [&'static str],
    /// Any of these roles.
    pub roles: &'static [&'static str],
}

impl Requirement {
    /// Open to any authenticated caller.
    pub const NONE: Self = Self {
        scopes: &[],
        roles: &[],
    };

    /// Whether the requirement asks for nothing.
    pub const fn is_open(&self) -> bool {
        self.scopes.is_empty() && self.roles.is_empty()
    }
}

/// The kind of an MCP item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A tool (`tools/call`).
    Tool,
    /// A prompt (`prompts/get`).
    Prompt,
    /// A resource with a fixed URI, or a URI matched by a template (`resources/read`).
    Resource,
    /// A resource template, looked up by its template string (for
    /// `resources/templates/list`).
    Template,
}

/// One declared item.
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// Tool or prompt name, resource URI or URI template.
    pub name: &'static str,
    /// What it requires.
    pub requirement: Requirement,
    /// How often one principal may use it (`rate = "10/min"`), if limited.
    pub rate: Option<Rate>,
}

/// What to do with items that declare neither scopes nor roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Undeclared {
    /// Open to any authenticated caller (default).
    #[default]
    Open,
    /// Refused, as if they did not exist.
    Deny,
}

/// A hierarchy: each name with every name it implies, transitively, itself excluded.
pub type HierarchyTable = &'static [(&'static str, &'static [&'static str])];

/// Everything the macros know about a server's permissions, written at compile time.
#[derive(Debug, Clone, Copy)]
pub struct PolicyTable {
    /// Tools by name.
    pub tools: &'static [Item],
    /// Prompts by name.
    pub prompts: &'static [Item],
    /// Resources by exact URI.
    pub resources: &'static [Item],
    /// Resource templates (RFC 6570 level 1-2: `{var}`, `{+var}`).
    pub templates: &'static [Item],
    /// The scope hierarchy.
    pub scopes: HierarchyTable,
    /// The role hierarchy.
    pub roles: HierarchyTable,
    /// Items without a requirement.
    pub undeclared: Undeclared,
}

impl PolicyTable {
    /// No items, no hierarchy: every item open to authenticated callers.
    pub const OPEN: Self = Self {
        tools: &[],
        prompts: &[],
        resources: &[],
        templates: &[],
        scopes: &[],
        roles: &[],
        undeclared: Undeclared::Open,
    };
}

/// Implemented by server types that carry a policy (the `#[mcp_auth::server]` macro writes
/// it). A hand-written rmcp handler opts in with an empty impl, which means "every item is
/// open to any authenticated caller":
///
/// ```
/// struct MyHandler;
/// impl mcp_auth_runtime::policy::Protected for MyHandler {}
/// assert!(<MyHandler as mcp_auth_runtime::policy::Protected>::policy().is_open());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no mcp-auth policy",
    label = "this handler declares no permissions",
    note = "annotate its impl block with `#[mcp_auth::server(..)]`, or add `impl mcp_auth::Protected for {Self} {{}}` to open every item to any authenticated caller"
)]
pub trait Protected {
    /// The compiled policy of this server.
    fn policy() -> &'static Policy
    where
        Self: Sized,
    {
        Policy::open()
    }
}

/// A bit set over the indexes of a name table: inline for up to 128 names (no allocation
/// when a request's grants are expanded), on the heap beyond.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bits {
    Inline([u64; 2]),
    Heap(Box<[u64]>),
}

impl Default for Bits {
    fn default() -> Self {
        Self::Inline([0; 2])
    }
}

impl Bits {
    fn zeros(len: usize) -> Self {
        if len <= 128 {
            Self::default()
        } else {
            Self::Heap(vec![0; len.div_ceil(64)].into_boxed_slice())
        }
    }
    fn words(&self) -> &[u64] {
        match self {
            Self::Inline(w) => w,
            Self::Heap(w) => w,
        }
    }
    fn words_mut(&mut self) -> &mut [u64] {
        match self {
            Self::Inline(w) => w,
            Self::Heap(w) => w,
        }
    }
    fn get(&self, i: usize) -> bool {
        self.words()[i / 64] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, i: usize) {
        self.words_mut()[i / 64] |= 1 << (i % 64);
    }
    fn or(&mut self, other: &Bits) {
        for (a, b) in self.words_mut().iter_mut().zip(other.words()) {
            *a |= *b;
        }
    }
    /// Every bit of `self` is in `have`.
    fn subset_of(&self, have: &Bits) -> bool {
        self.words()
            .iter()
            .zip(have.words())
            .all(|(n, h)| n & !h == 0)
    }
    fn intersects(&self, have: &Bits) -> bool {
        self.words()
            .iter()
            .zip(have.words())
            .any(|(n, h)| n & h != 0)
    }
}

/// Names → indexes, with each index's closure under the hierarchy.
#[derive(Debug, Default)]
struct Lattice {
    index: NameMap<usize>,
    closure: Vec<Bits>,
}

impl Lattice {
    fn build(hierarchy: HierarchyTable, mentioned: impl Iterator<Item = &'static str>) -> Self {
        let mut names: Vec<&'static str> = Vec::new();
        let mut index = NameMap::default();
        let mut add = |n: &'static str, names: &mut Vec<&'static str>| {
            index.entry(n).or_insert_with(|| {
                names.push(n);
                names.len() - 1
            });
        };
        for (n, implied) in hierarchy {
            add(n, &mut names);
            for i in *implied {
                add(i, &mut names);
            }
        }
        for n in mentioned {
            add(n, &mut names);
        }
        let len = names.len();
        let mut closure: Vec<Bits> = (0..len)
            .map(|i| {
                let mut b = Bits::zeros(len);
                b.set(i);
                b
            })
            .collect();
        for (n, implied) in hierarchy {
            let i = index[n];
            for m in *implied {
                let j = index[m];
                closure[i].set(j);
            }
        }
        // The macros emit closed hierarchies; close again so a hand-written table is safe too.
        loop {
            let mut changed = false;
            for i in 0..len {
                let mut next = closure[i].clone();
                for j in 0..len {
                    if i != j && closure[i].get(j) {
                        next.or(&closure[j]);
                    }
                }
                if next != closure[i] {
                    closure[i] = next;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Self { index, closure }
    }

    fn len(&self) -> usize {
        self.closure.len()
    }

    fn mask(&self, names: &[&'static str]) -> Bits {
        let mut b = Bits::zeros(self.len());
        for n in names {
            b.set(self.index[n]);
        }
        b
    }

    fn expand<'a>(&self, held: impl Iterator<Item = &'a str>) -> Bits {
        let mut b = Bits::zeros(self.len());
        for h in held {
            if let Some(&i) = self.index.get(h) {
                b.or(&self.closure[i]);
            }
        }
        b
    }
}

#[derive(Debug)]
struct Compiled {
    template: &'static str,
    requirement: Requirement,
    /// Index of the item's rate in [`Policy::rates`].
    rate: Option<RateSlot>,
    scopes: Bits,
    roles: Bits,
    /// The step-up challenge: the declared scopes, space-separated.
    challenge: Box<str>,
}

/// A compiled [`PolicyTable`].
#[derive(Debug)]
pub struct Policy {
    table: PolicyTable,
    scopes: Lattice,
    roles: Lattice,
    tools: NameMap<Compiled>,
    prompts: NameMap<Compiled>,
    resources: NameMap<Compiled>,
    templates: Vec<(UriTemplate, Compiled)>,
    /// The declared rates, one slot per rated item.
    rates: Vec<Rate>,
    /// Limiters for decisions the HTTP layer did not make (stdio, in-memory): one set per
    /// server type, as the policy itself. Over HTTP each server has its own, in its guard.
    handler_limits: OnceLock<OperationLimits>,
}

/// Which rate of a [`Policy`] an item has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateSlot(pub(crate) usize);

/// The caller's scopes and roles expanded by the hierarchies, computed once per request.
#[derive(Debug, Clone)]
pub struct Grants {
    scopes: Bits,
    roles: Bits,
}

/// The outcome of [`Policy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'p> {
    /// The caller may use the item.
    Allow,
    /// Scopes are missing: answer with a step-up naming `scopes` (the item's declared
    /// scopes, space-separated; never implied ones).
    MissingScopes {
        /// The challenge's `scope` value.
        scopes: &'p str,
    },
    /// The item is hidden from this caller (a role shortfall, no identity, or an undeclared
    /// item under [`Undeclared::Deny`]): answer exactly as for an unknown item.
    Hidden,
}

impl Policy {
    /// Compile a table. Done once per server (the macros keep it in a `static`).
    pub fn compile(table: PolicyTable) -> Self {
        let all = || {
            table
                .tools
                .iter()
                .chain(table.prompts)
                .chain(table.resources)
                .chain(table.templates)
        };
        let scopes = Lattice::build(
            table.scopes,
            all().flat_map(|i| i.requirement.scopes.iter().copied()),
        );
        let roles = Lattice::build(
            table.roles,
            all().flat_map(|i| i.requirement.roles.iter().copied()),
        );
        let mut rates = Vec::new();
        let mut compile = |item: &Item| Compiled {
            template: item.name,
            requirement: item.requirement,
            rate: item.rate.map(|rate| {
                rates.push(rate);
                RateSlot(rates.len() - 1)
            }),
            scopes: scopes.mask(item.requirement.scopes),
            roles: roles.mask(item.requirement.roles),
            challenge: item.requirement.scopes.join(" ").into_boxed_str(),
        };
        let mut map = |items: &'static [Item]| -> NameMap<Compiled> {
            items.iter().map(|i| (i.name, compile(i))).collect()
        };
        let tools = map(table.tools);
        let prompts = map(table.prompts);
        let resources = map(table.resources);
        let templates = table
            .templates
            .iter()
            .map(|i| (UriTemplate::parse(i.name), compile(i)))
            .collect();
        Self {
            tools,
            prompts,
            resources,
            templates,
            scopes,
            roles,
            table,
            rates,
            handler_limits: OnceLock::new(),
        }
    }

    /// The policy of a server without declarations: every item open to authenticated callers.
    pub fn open() -> &'static Policy {
        static OPEN: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
        OPEN.get_or_init(|| Policy::compile(PolicyTable::OPEN))
    }

    /// Whether nothing is declared.
    pub fn is_open(&self) -> bool {
        self.tools.is_empty()
            && self.prompts.is_empty()
            && self.resources.is_empty()
            && self.templates.is_empty()
            && self.table.undeclared == Undeclared::Open
    }

    /// The table this policy was compiled from.
    pub fn table(&self) -> &PolicyTable {
        &self.table
    }

    /// Every scope the declarations mention (hierarchy and requirements), for
    /// `scopes_supported`.
    pub fn declared_scopes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.scopes.index.keys().copied()
    }

    /// Expand a token's scopes and roles under the hierarchies.
    pub fn grants(&self, token: &AccessToken) -> Grants {
        Grants {
            scopes: self
                .scopes
                .expand(token.scopes().iter().map(String::as_str)),
            roles: self.roles.expand(token.roles().iter().map(String::as_str)),
        }
    }

    fn find(&self, kind: ItemKind, name: &str) -> Option<&Compiled> {
        match kind {
            ItemKind::Tool => self.tools.get(name),
            ItemKind::Prompt => self.prompts.get(name),
            ItemKind::Resource => self.resources.get(name).or_else(|| {
                self.templates
                    .iter()
                    .find(|(t, _)| t.matches(name))
                    .map(|(_, c)| c)
            }),
            ItemKind::Template => self
                .templates
                .iter()
                .find(|(_, c)| c.template == name)
                .map(|(_, c)| c),
        }
    }

    /// The requirement of an item, if declared.
    pub fn requirement(&self, kind: ItemKind, name: &str) -> Option<Requirement> {
        self.find(kind, name).map(|c| c.requirement)
    }

    /// The rate limit of an item (per principal), if it declares one.
    pub fn rate(&self, kind: ItemKind, name: &str) -> Option<Rate> {
        let slot = self.find(kind, name)?.rate?;
        Some(self.rates[slot.0])
    }

    /// Whether any item declares a rate.
    pub fn has_rates(&self) -> bool {
        !self.rates.is_empty()
    }

    pub(crate) fn rates(&self) -> &[Rate] {
        &self.rates
    }

    pub(crate) fn handler_limits(&self) -> &OperationLimits {
        self.handler_limits
            .get_or_init(|| OperationLimits::new(&self.rates, DEFAULT_LIMITER_CAPACITY))
    }

    /// Decide whether `grants` (or no identity at all) may use an item. Allocation-free.
    pub fn decide(&self, grants: Option<&Grants>, kind: ItemKind, name: &str) -> Decision<'_> {
        self.decide_rated(grants, kind, name).0
    }

    /// [`Policy::decide`], with the item's rate slot when allowed (one lookup for both).
    pub(crate) fn decide_rated(
        &self,
        grants: Option<&Grants>,
        kind: ItemKind,
        name: &str,
    ) -> (Decision<'_>, Option<RateSlot>) {
        let compiled = self.find(kind, name);
        let decision = self.decide_compiled(compiled, grants);
        let slot = match decision {
            Decision::Allow => compiled.and_then(|c| c.rate),
            _ => None,
        };
        (decision, slot)
    }

    fn decide_compiled<'p>(
        &'p self,
        compiled: Option<&'p Compiled>,
        grants: Option<&Grants>,
    ) -> Decision<'p> {
        let open = compiled.is_none_or(|c| c.requirement.is_open());
        if open {
            return match self.table.undeclared {
                Undeclared::Open => Decision::Allow,
                Undeclared::Deny => Decision::Hidden,
            };
        }
        let (Some(c), Some(g)) = (compiled, grants) else {
            return Decision::Hidden;
        };
        if !c.requirement.roles.is_empty() && !c.roles.intersects(&g.roles) {
            return Decision::Hidden;
        }
        if !c.scopes.subset_of(&g.scopes) {
            return Decision::MissingScopes {
                scopes: &c.challenge,
            };
        }
        Decision::Allow
    }
}

/// A URI template of RFC 6570 levels 1 and 2 as resources use them: literal text with
/// `{var}` (one or more characters other than `/`, `?`, `#`) and `{+var}` (any characters).
///
/// The URI is the caller's (up to the body cap), so matching runs in time linear in its length
/// whatever the template: the template is compiled once into a `regex` automaton (which never
/// backtracks) with greedy groups, leftmost-first.
#[derive(Debug, Clone)]
pub struct UriTemplate {
    parts: Vec<Part>,
    /// `None` only if the automaton would exceed regex's size limit: then nothing matches.
    automaton: Option<regex::Regex>,
}

impl PartialEq for UriTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl Eq for UriTemplate {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var { name: String, reserved: bool },
}

impl UriTemplate {
    /// Parse a template. Text outside braces is literal; an unclosed brace is literal too
    /// (the macros reject such templates at compile time).
    pub fn parse(template: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let inner = &rest[open + 1..open + close];
            let (reserved, name) = match inner.strip_prefix('+') {
                Some(n) => (true, n),
                None => (false, inner),
            };
            parts.push(Part::Var {
                name: name.to_owned(),
                reserved,
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        let mut pattern = String::from("^");
        for part in &parts {
            match part {
                Part::Literal(l) => pattern.push_str(&regex::escape(l)),
                Part::Var { reserved: true, .. } => pattern.push_str("(.+)"),
                Part::Var {
                    reserved: false, ..
                } => pattern.push_str("([^/?#]+)"),
            }
        }
        pattern.push('$');
        let automaton = regex::RegexBuilder::new(&pattern)
            .dot_matches_new_line(true)
            .build()
            .ok();
        Self { parts, automaton }
    }

    /// The variable names, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { name, .. } => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Whether `uri` matches.
    pub fn matches(&self, uri: &str) -> bool {
        self.automaton.as_ref().is_some_and(|a| a.is_match(uri))
    }

    /// Match `uri` and return each variable's value, in order.
    ///
    /// ```
    /// use mcp_auth_runtime::policy::UriTemplate;
    /// let t = UriTemplate::parse("notes://{id}/rev/{rev}");
    /// assert_eq!(t.capture("notes://42/rev/7").unwrap(), vec![("id", "42"), ("rev", "7")]);
    /// assert!(t.capture("notes://42/rev/").is_none());
    /// assert!(t.capture("notes://a/b/rev/7").is_none());
    /// ```
    pub fn capture<'u>(&self, uri: &'u str) -> Option<Vec<(&str, &'u str)>> {
        let caps = self.automaton.as_ref()?.captures(uri)?;
        let values = caps.iter().skip(1).map(|m| m.map_or("", |m| m.as_str()));
        Some(self.variables().zip(values).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static TABLE: PolicyTable = PolicyTable {
        tools: &[
            Item {
                name: "read",
                requirement: Requirement {
                    scopes: &["notes:read"],
                    roles: &[],
                },
                rate: None,
            },
            Item {
                name: "delete",
                requirement: Requirement {
                    scopes: &["notes:write", "audit"],
                    roles: &["editor"],
                },
                rate: Some(Rate::per_minute(2)),
            },
            Item {
                name: "open",
                requirement: Requirement::NONE,
                rate: None,
            },
        ],
        prompts: &[],
        resources: &[],
        templates: &[Item {
            name: "notes://{id}",
            requirement: Requirement {
                scopes: &["notes:read"],
                roles: &[],
            },
            rate: Some(Rate::per_second(5)),
        }],
        scopes: &[
            ("notes:admin", &["notes:write", "notes:read"]),
            ("notes:write", &["notes:read"]),
            ("notes:read", &[]),
        ],
        roles: &[
            ("admin", &["editor", "viewer"]),
            ("editor", &["viewer"]),
            ("viewer", &[]),
        ],
        undeclared: Undeclared::Open,
    };

    fn token(scopes: &[&str], roles: &[&str]) -> AccessToken {
        AccessToken::builder("t")
            .scopes(scopes.iter().copied())
            .roles(roles.iter().copied())
            .build()
    }

    #[test]
    fn a_token_remembers_its_grants_under_one_static_policy_only() {
        let nested: &'static Policy = Box::leak(Box::new(Policy::compile(TABLE)));
        let flat: &'static Policy = Box::leak(Box::new(Policy::compile(PolicyTable {
            scopes: &[
                ("notes:admin", &[]),
                ("notes:write", &[]),
                ("notes:read", &[]),
            ],
            ..TABLE
        })));
        let t = token(&["notes:admin"], &[]);
        for _ in 0..2 {
            let g = t.grants_under(nested);
            assert_eq!(
                nested.decide(Some(&g), ItemKind::Tool, "read"),
                Decision::Allow
            );
            let g = t.grants_under(flat);
            assert_ne!(
                flat.decide(Some(&g), ItemKind::Tool, "read"),
                Decision::Allow
            );
        }
        // What the handler reads back: only under the policy they were expanded under, and
        // never before an expansion; a policy that is not `'static` is asked too.
        let g = t
            .remembered_grants(nested)
            .expect("remembered under `nested`");
        assert_eq!(
            nested.decide(Some(&g), ItemKind::Tool, "read"),
            Decision::Allow
        );
        assert!(t.remembered_grants(flat).is_none());
        let local = Policy::compile(TABLE);
        assert!(t.remembered_grants(&local).is_none());
        assert!(
            token(&["notes:admin"], &[])
                .remembered_grants(nested)
                .is_none()
        );
    }

    #[test]
    fn hierarchy_and_semantics() {
        let p = Policy::compile(TABLE);
        let g = p.grants(&token(&["notes:admin"], &[]));
        assert_eq!(p.decide(Some(&g), ItemKind::Tool, "read"), Decision::Allow);
        assert_eq!(
            p.decide(Some(&g), ItemKind::Tool, "delete"),
            Decision::Hidden
        );
        let g = p.grants(&token(&["notes:admin"], &["admin"]));
        assert_eq!(
            p.decide(Some(&g), ItemKind::Tool, "delete"),
            Decision::MissingScopes {
                scopes: "notes:write audit"
            }
        );
        let g = p.grants(&token(&["notes:admin", "audit"], &["admin"]));
        assert_eq!(
            p.decide(Some(&g), ItemKind::Tool, "delete"),
            Decision::Allow
        );
        let g = p.grants(&token(&["notes:read"], &["viewer"]));
        assert_eq!(
            p.decide(Some(&g), ItemKind::Tool, "delete"),
            Decision::Hidden
        );
        assert_eq!(p.decide(Some(&g), ItemKind::Tool, "open"), Decision::Allow);
        assert_eq!(
            p.decide(Some(&g), ItemKind::Tool, "unlisted"),
            Decision::Allow
        );
        assert_eq!(
            p.decide(Some(&g), ItemKind::Resource, "notes://7"),
            Decision::Allow
        );
        assert_eq!(
            p.decide(Some(&g), ItemKind::Template, "notes://{id}"),
            Decision::Allow
        );
        assert_eq!(p.decide(None, ItemKind::Tool, "read"), Decision::Hidden);
        assert_eq!(p.decide(None, ItemKind::Tool, "open"), Decision::Allow);
        let none = p.grants(&token(&[], &[]));
        assert_eq!(
            p.decide(Some(&none), ItemKind::Resource, "notes://7"),
            Decision::MissingScopes {
                scopes: "notes:read"
            }
        );
    }

    /// Past 128 names the bit sets move to the heap: the same answers, across word edges.
    #[test]
    fn large_hierarchies_cross_the_inline_limit() {
        for len in [127, 128, 129, 300] {
            // s0 ⊃ s1 ⊃ … ⊃ s{len-1}; tool t{i} requires s{i}.
            let names: &'static [&'static str] = (0..len)
                .map(|i| &*format!("s{i}").leak())
                .collect::<Vec<_>>()
                .leak();
            let scopes: HierarchyTable = (0..len)
                .map(|i| (names[i], &names[(i + 1).min(len)..]))
                .collect::<Vec<_>>()
                .leak();
            let tools: &'static [Item] = (0..len)
                .map(|i| Item {
                    name: names[i],
                    requirement: Requirement {
                        scopes: std::slice::from_ref(&names[i]),
                        roles: &[],
                    },
                    rate: None,
                })
                .collect::<Vec<_>>()
                .leak();
            let p = Policy::compile(PolicyTable {
                tools,
                scopes,
                ..PolicyTable::OPEN
            });
            for held in [0, 63, 64, 65, 127, 128, len - 1] {
                if held >= len {
                    continue;
                }
                let g = p.grants(&token(&[names[held]], &[]));
                for i in [0, held.saturating_sub(1), held, held + 1, len - 1] {
                    if i >= len {
                        continue;
                    }
                    let expected = if i >= held {
                        Decision::Allow
                    } else {
                        Decision::MissingScopes { scopes: names[i] }
                    };
                    assert_eq!(
                        p.decide(Some(&g), ItemKind::Tool, names[i]),
                        expected,
                        "{len} names, holding s{held}, tool t{i}"
                    );
                }
            }
        }
    }

    #[test]
    fn undeclared_deny() {
        let p = Policy::compile(PolicyTable {
            undeclared: Undeclared::Deny,
            ..TABLE
        });
        let g = p.grants(&token(&["notes:admin"], &["admin"]));
        assert_eq!(p.decide(Some(&g), ItemKind::Tool, "open"), Decision::Hidden);
        assert_eq!(
            p.decide(Some(&g), ItemKind::Tool, "unlisted"),
            Decision::Hidden
        );
        assert_eq!(p.decide(Some(&g), ItemKind::Tool, "read"), Decision::Allow);
    }

    #[test]
    fn templates() {
        let t = UriTemplate::parse("file:///{+path}");
        assert_eq!(
            t.capture("file:///a/b.txt").unwrap(),
            vec![("path", "a/b.txt")]
        );
        let t = UriTemplate::parse("x://{a}-{b}");
        assert_eq!(
            t.capture("x://1-2-3").unwrap(),
            vec![("a", "1-2"), ("b", "3")]
        );
        assert_eq!(t.variables().collect::<Vec<_>>(), ["a", "b"]);
        assert!(!UriTemplate::parse("x://{a}").matches("x://"));
    }
}
