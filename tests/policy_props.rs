//! Property tests of the policy (`mcp_auth_runtime::policy`): random tables (tools, prompts,
//! resources, templates) over random scope and role hierarchies (any directed graph, cycles
//! included: `Policy::compile` closes whatever it is given), random callers.
//!
//! - the decision agrees with an oracle written here from the documented semantics (all listed
//!   scopes, any listed role, hierarchies applied transitively to the caller's grants);
//! - granting more scopes or roles never turns allow into deny (more generally, never lowers
//!   the outcome on the order hidden < step-up < allow);
//! - a step-up challenge names exactly the scopes the item declares, in order: never an
//!   implied one, never one short;
//! - without an identity every protected item is denied (hidden), always;
//! - template matching costs time linear in the URI (attacker-controlled), not polynomial.

use std::{
    collections::{BTreeSet, VecDeque},
    time::{Duration, Instant},
};

use mcp_auth::{
    AccessToken,
    policy::{Decision, Item, ItemKind, Policy, PolicyTable, Requirement, Undeclared, UriTemplate},
};
use proptest::prelude::*;

const SCOPES: [&str; 8] = ["s:0", "s:1", "s:2", "s:3", "s:4", "s:5", "s:6", "s:7"];
const ROLES: [&str; 6] = ["r0", "r1", "r2", "r3", "r4", "r5"];
/// Names a token may hold that no table mentions.
const STRANGERS: [&str; 2] = ["zz:unknown", "admin "];

/// A table in owned form, leaked into the `'static` shape `Policy::compile` takes.
#[derive(Debug, Clone)]
struct Spec {
    /// (kind, name, scopes, roles)
    items: Vec<(ItemKind, String, Vec<&'static str>, Vec<&'static str>)>,
    scope_edges: Vec<(usize, usize)>,
    role_edges: Vec<(usize, usize)>,
    deny_undeclared: bool,
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn hierarchy(
    names: &[&'static str],
    edges: &[(usize, usize)],
) -> &'static [(&'static str, &'static [&'static str])] {
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let implied: Vec<&'static str> = edges
            .iter()
            .filter(|(a, b)| *a == i && *b != i)
            .map(|(_, b)| names[*b])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !implied.is_empty() || i.is_multiple_of(2) {
            out.push((*n, leak(implied)));
        }
    }
    leak(out)
}

impl Spec {
    fn table(&self) -> PolicyTable {
        let items = |kind: ItemKind| -> &'static [Item] {
            leak(
                self.items
                    .iter()
                    .filter(|(k, ..)| *k == kind)
                    .map(|(_, name, scopes, roles)| Item {
                        name: leak_str(name),
                        requirement: Requirement {
                            scopes: leak(scopes.clone()),
                            roles: leak(roles.clone()),
                        },
                        rate: None,
                    })
                    .collect(),
            )
        };
        PolicyTable {
            tools: items(ItemKind::Tool),
            prompts: items(ItemKind::Prompt),
            resources: items(ItemKind::Resource),
            templates: items(ItemKind::Template),
            scopes: hierarchy(&SCOPES, &self.scope_edges),
            roles: hierarchy(&ROLES, &self.role_edges),
            undeclared: if self.deny_undeclared {
                Undeclared::Deny
            } else {
                Undeclared::Open
            },
        }
    }

    /// What a caller would send for each item: the name, or a URI a template matches.
    fn targets(&self) -> Vec<(ItemKind, String, usize)> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, (kind, name, ..))| match kind {
                ItemKind::Template => (ItemKind::Resource, name.replace("{id}", "42"), i),
                k => (*k, name.clone(), i),
            })
            .collect()
    }
}

/// Every name reachable from `held` along `edges` (held included).
fn closure(
    names: &[&'static str],
    edges: &[(usize, usize)],
    held: &[&str],
) -> BTreeSet<&'static str> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| held.contains(n))
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = queue.pop_front() {
        if seen.insert(names[i]) {
            queue.extend(edges.iter().filter(|(a, _)| *a == i).map(|(_, b)| *b));
        }
    }
    seen
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Hidden,
    StepUp,
    Allow,
}

fn outcome(d: Decision<'_>) -> Outcome {
    match d {
        Decision::Hidden => Outcome::Hidden,
        Decision::MissingScopes { .. } => Outcome::StepUp,
        Decision::Allow => Outcome::Allow,
    }
}

/// The documented semantics, independently of the bit masks.
fn oracle(spec: &Spec, item: usize, scopes: &[&str], roles: &[&str]) -> Outcome {
    let (_, _, need_scopes, need_roles) = &spec.items[item];
    if need_scopes.is_empty() && need_roles.is_empty() {
        return if spec.deny_undeclared {
            Outcome::Hidden
        } else {
            Outcome::Allow
        };
    }
    let have_roles = closure(&ROLES, &spec.role_edges, roles);
    if !need_roles.is_empty() && !need_roles.iter().any(|r| have_roles.contains(r)) {
        return Outcome::Hidden;
    }
    let have_scopes = closure(&SCOPES, &spec.scope_edges, scopes);
    if !need_scopes.iter().all(|s| have_scopes.contains(s)) {
        return Outcome::StepUp;
    }
    Outcome::Allow
}

fn item_kind() -> impl Strategy<Value = ItemKind> {
    prop_oneof![
        4 => Just(ItemKind::Tool),
        2 => Just(ItemKind::Prompt),
        2 => Just(ItemKind::Resource),
        1 => Just(ItemKind::Template),
    ]
}

fn subset<T: Clone + std::fmt::Debug + 'static>(
    all: &[T],
    max: usize,
) -> impl Strategy<Value = Vec<T>> + use<T> {
    proptest::sample::subsequence(all.to_vec(), 0..=max).prop_shuffle()
}

fn spec() -> impl Strategy<Value = Spec> {
    let item = (item_kind(), subset(&SCOPES, 3), subset(&ROLES, 2));
    (
        proptest::collection::vec(item, 0..10),
        proptest::collection::vec((0..SCOPES.len(), 0..SCOPES.len()), 0..12),
        proptest::collection::vec((0..ROLES.len(), 0..ROLES.len()), 0..8),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(items, scope_edges, role_edges, deny_undeclared)| Spec {
            items: items
                .into_iter()
                .enumerate()
                .map(|(i, (kind, scopes, roles))| {
                    let name = match kind {
                        ItemKind::Tool => format!("tool_{i}"),
                        ItemKind::Prompt => format!("prompt_{i}"),
                        ItemKind::Resource => format!("res://item/{i}"),
                        ItemKind::Template => format!("tpl{i}://{{id}}"),
                    };
                    (kind, name, scopes, roles)
                })
                .collect(),
            scope_edges,
            role_edges,
            deny_undeclared,
        })
}

/// A caller's grants and a superset of them.
fn grants() -> impl Strategy<
    Value = (
        Vec<&'static str>,
        Vec<&'static str>,
        Vec<&'static str>,
        Vec<&'static str>,
    ),
> {
    let scopes: Vec<&'static str> = SCOPES.iter().chain(&STRANGERS).copied().collect();
    let roles: Vec<&'static str> = ROLES.iter().chain(&STRANGERS).copied().collect();
    (
        subset(&scopes, 4),
        subset(&roles, 3),
        subset(&scopes, 4),
        subset(&roles, 3),
    )
}

fn token(scopes: &[&str], roles: &[&str]) -> AccessToken {
    AccessToken::builder("t")
        .subject("prop")
        .scopes(scopes.iter().copied())
        .roles(roles.iter().copied())
        .build()
}

fn union(a: &[&'static str], b: &[&'static str]) -> Vec<&'static str> {
    let mut v = a.to_vec();
    v.extend(b.iter().filter(|x| !a.contains(x)));
    v
}

/// 512 cases per property; failures are reported (shrunk) but not persisted to files.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The generators are not vacuous: over many random tables and callers, each outcome
/// (allow, step-up, hidden) is common.
#[test]
fn the_generators_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = [0usize; 3];
    for _ in 0..500 {
        let spec = spec().new_tree(&mut runner).unwrap().current();
        let (scopes, roles, _, _) = grants().new_tree(&mut runner).unwrap().current();
        let policy = Policy::compile(spec.table());
        let grants = policy.grants(&token(&scopes, &roles));
        for (kind, target, _) in spec.targets() {
            seen[outcome(policy.decide(Some(&grants), kind, &target)) as usize] += 1;
        }
    }
    let total: usize = seen.iter().sum();
    eprintln!(
        "outcomes over 500 random tables: hidden {}, step-up {}, allow {}",
        seen[0], seen[1], seen[2]
    );
    for n in seen {
        assert!(n * 20 >= total, "an outcome is rare: {seen:?}");
    }
}

proptest! {
    #![proptest_config(config())]

    /// The bit-mask decision is the documented semantics.
    #[test]
    fn decisions_agree_with_the_oracle(spec in spec(), (scopes, roles, _, _) in grants()) {
        let policy = Policy::compile(spec.table());
        let grants = policy.grants(&token(&scopes, &roles));
        for (kind, target, i) in spec.targets() {
            let got = outcome(policy.decide(Some(&grants), kind, &target));
            prop_assert_eq!(got, oracle(&spec, i, &scopes, &roles), "{:?} {}", kind, target);
        }
    }

    /// More scopes or roles never lower the outcome; in particular allow stays allow.
    #[test]
    fn more_grants_never_turn_allow_into_deny(
        spec in spec(),
        (scopes, roles, more_scopes, more_roles) in grants(),
    ) {
        let policy = Policy::compile(spec.table());
        let less = policy.grants(&token(&scopes, &roles));
        let more = policy.grants(&token(&union(&scopes, &more_scopes), &union(&roles, &more_roles)));
        for (kind, target, _) in spec.targets().into_iter().chain([
            (ItemKind::Tool, "unlisted".to_owned(), usize::MAX),
            (ItemKind::Resource, "res://unlisted".to_owned(), usize::MAX),
        ]) {
            let before = outcome(policy.decide(Some(&less), kind, &target));
            let after = outcome(policy.decide(Some(&more), kind, &target));
            prop_assert!(after >= before, "{:?} {}: {:?} became {:?}", kind, target, before, after);
        }
    }

    /// A challenge names the item's declared scopes, all of them, in declaration order, and
    /// nothing implied.
    #[test]
    fn a_challenge_names_only_the_declared_scopes(
        spec in spec(),
        (scopes, roles, _, _) in grants(),
    ) {
        let policy = Policy::compile(spec.table());
        let grants = policy.grants(&token(&scopes, &roles));
        for (kind, target, i) in spec.targets() {
            if let Decision::MissingScopes { scopes: challenge } = policy.decide(Some(&grants), kind, &target) {
                let declared = &spec.items[i].2;
                let named: Vec<&str> = challenge.split(' ').collect();
                prop_assert_eq!(&named, declared, "{:?} {}", kind, target);
                // What the caller already holds by implication is never the whole story:
                // at least one named scope is really missing.
                let have = closure(&SCOPES, &spec.scope_edges, &scopes);
                prop_assert!(named.iter().any(|s| !have.contains(s)));
            }
        }
    }

    /// Without an identity, every protected item is hidden; open items follow the table's
    /// rule for undeclared items.
    #[test]
    fn no_identity_is_denied_every_protected_item(spec in spec()) {
        let policy = Policy::compile(spec.table());
        for (kind, target, i) in spec.targets() {
            let (_, _, s, r) = &spec.items[i];
            let d = policy.decide(None, kind, &target);
            if s.is_empty() && r.is_empty() {
                let want = if spec.deny_undeclared { Decision::Hidden } else { Decision::Allow };
                prop_assert_eq!(d, want);
            } else {
                prop_assert_eq!(d, Decision::Hidden, "{:?} {}", kind, target);
            }
        }
        // An identity holding nothing gets no more than no identity... except step-up hints.
        let empty = policy.grants(&token(&[], &[]));
        for (kind, target, _) in spec.targets() {
            let anonymous = outcome(policy.decide(None, kind, &target));
            let nobody = outcome(policy.decide(Some(&empty), kind, &target));
            prop_assert!(nobody >= anonymous);
            prop_assert!(nobody != Outcome::Allow || anonymous == Outcome::Allow);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Template matching cost
// ---------------------------------------------------------------------------------------------

/// Makes a URI of about the given length.
type UriOfLength = fn(usize) -> String;

/// Time `policy.decide` on a `resources/read` of `uri`, giving up after `limit`.
fn decide_time(template: &'static str, uri: String, limit: Duration) -> Option<Duration> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let table = PolicyTable {
            templates: leak(vec![Item {
                name: template,
                requirement: Requirement {
                    scopes: &["files:read"],
                    roles: &[],
                },
                rate: None,
            }]),
            ..PolicyTable::OPEN
        };
        let policy = Policy::compile(table);
        let grants = policy.grants(&token(&[], &[]));
        let start = Instant::now();
        let d = policy.decide(Some(&grants), ItemKind::Resource, &uri);
        let _ = tx.send((start.elapsed(), outcome(d)));
    });
    rx.recv_timeout(limit).ok().map(|(t, _)| t)
}

/// The URI of `resources/read` is the attacker's (up to the 4 MiB body cap). Matching it
/// against a declared template must cost time linear in its length: here an 8 KiB URI may
/// take at most 4 x 8 times what a 1 KiB one takes (or 50 ms), and never more than a second.
///
/// Two variables separated by a literal that the URI repeats (`x://{a}-{b}` against
/// `x://----…/`) make the backtracking matcher in `UriTemplate::capture` try every split point
/// of the first variable and, for each, every length of the second: quadratic (k variables:
/// degree k). The other two templates are controls that stay linear.
#[test]
fn template_matching_is_linear_in_the_uri() {
    let cases: [(&'static str, UriOfLength); 3] = [
        ("x://{a}-{b}", |n| format!("x://{}/", "-".repeat(n))),
        ("file:///{+dir}/{name}.txt", |n| {
            format!("file:///{}", "/".repeat(n))
        }),
        ("notes://{id}", |n| format!("notes://{}/", "a".repeat(n))),
    ];
    let mut report = Vec::new();
    let mut slow = Vec::new();
    for (template, uri) in cases {
        let small = decide_time(template, uri(1024), Duration::from_secs(10))
            .expect("1 KiB URI within 10 s");
        let big = decide_time(template, uri(8 * 1024), Duration::from_secs(10));
        report.push(format!("{template}: 1 KiB {small:?}, 8 KiB {big:?}"));
        let budget = (small * 8 * 4).max(Duration::from_millis(50));
        if big.is_none_or(|big| big > budget || big >= Duration::from_secs(1)) {
            slow.push(template);
        }
    }
    eprintln!("template matching: {report:?}");
    assert!(
        slow.is_empty(),
        "super-linear matching of an attacker-controlled URI for {slow:?} (8 KiB may cost at \
         most 32 x 1 KiB and under 1 s; no answer = over 10 s): {report:?}"
    );
}

/// The same through `UriTemplate::capture` directly, for the record: captures are correct.
#[test]
fn captures_rebuild_the_uri() {
    let t = UriTemplate::parse("x://{a}-{b}");
    assert_eq!(
        t.capture("x://1-2-3").unwrap(),
        vec![("a", "1-2"), ("b", "3")]
    );
    let t = UriTemplate::parse("file:///{+dir}/{name}.txt");
    assert_eq!(
        t.capture("file:///a/b/c.txt").unwrap(),
        vec![("dir", "a/b"), ("name", "c")]
    );
}
