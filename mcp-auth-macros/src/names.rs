//! Name rules shared by the macros: "did you mean", RFC 6749 scope tokens, MCP tool names,
//! and the case conversions between variant identifiers and wire names.

/// Edit distance (Levenshtein with adjacent transpositions), ASCII case-insensitive.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let same = |x: char, y: char| x.eq_ignore_ascii_case(&y);
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(!same(a[i - 1], b[j - 1]));
            cur[j] = (prev[j - 1] + cost).min(prev[j] + 1).min(cur[j - 1] + 1);
            if i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1]) {
                cur[j] = cur[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

/// The candidate closest to `name`, if it is a plausible typo of it: within a third of its
/// length (at least one edit), or `name` is a prefix of it.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|c| {
            let d = distance(name, c);
            let prefix = name.len() >= 3 && c.starts_with(name);
            (d <= limit || prefix).then_some((d, c))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `; did you mean `x`?` or nothing.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(name, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

/// RFC 6749 `scope-token`: one or more of `%x21 / %x23-5B / %x5D-7E`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c == 0x21 || (0x23..=0x5B).contains(&c) || (0x5D..=0x7E).contains(&c))
}

/// Why `s` is not a scope token, for the error message; `noun` is what it names ("scope",
/// "role").
pub fn scope_token_problem(s: &str, noun: &str) -> Option<String> {
    if s.is_empty() {
        return Some("it is empty".into());
    }
    let bad = s
        .chars()
        .find(|&c| !(c.is_ascii() && is_scope_token(c.encode_utf8(&mut [0; 4]))))?;
    Some(match bad {
        ' ' => format!("it contains a space (list several {noun}s as separate strings)"),
        '"' => "it contains `\"`".into(),
        '\\' => "it contains `\\`".into(),
        c if c.is_control() || c.is_whitespace() => {
            format!("it contains the whitespace or control character {c:?}")
        }
        c => format!("it contains `{c}`, which is not printable ASCII"),
    })
}

/// MCP tool names: 1 to 128 characters of `[A-Za-z0-9_.-]`.
pub fn tool_name_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("it is empty".into());
    }
    if s.chars().count() > 128 {
        return Some(format!(
            "it is {} characters long (at most 128)",
            s.chars().count()
        ));
    }
    let bad = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))?;
    let bad = match bad {
        ' ' => "a space".to_owned(),
        c => format!("`{c}`"),
    };
    Some(format!(
        "it contains {bad} (allowed: ASCII letters, digits, `_`, `.` and `-`)"
    ))
}

/// The units of a rate (`rate = "10/min"`) and their length in seconds; the same as the
/// runtime's `RATE_UNITS`.
pub const RATE_UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("sec", 1),
    ("second", 1),
    ("m", 60),
    ("min", 60),
    ("minute", 60),
    ("h", 3600),
    ("hour", 3600),
];

/// Parse `"<count>/<unit>"` into (count, seconds), or say what is wrong.
pub fn parse_rate(s: &str) -> Result<(u32, u64), String> {
    let Some((count, unit)) = s.split_once('/') else {
        return Err("expected `<count>/<unit>`".into());
    };
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the count {count:?} is not a whole number (write digits only, e.g. `10/min`)"
        ));
    }
    let count = match count.parse::<u32>() {
        Ok(0) => return Err("the count is 0; a rate allows at least 1 call per period".into()),
        Ok(n) => n,
        Err(_) => return Err(format!("the count {count} is larger than 4294967295")),
    };
    if let Some(&(_, secs)) = RATE_UNITS.iter().find(|(name, _)| *name == unit) {
        return Ok((count, secs));
    }
    // The usual spellings first, so that `mn` suggests `min` rather than `m`.
    let suggestion = closest(
        unit,
        ["min", "sec", "hour", "minute", "second", "m", "s", "h"],
    );
    Err(match suggestion {
        Some(c) => format!("unknown unit {unit:?} (did you mean `{c}`?)"),
        None => format!("unknown unit {unit:?}"),
    })
}

/// `RealmAdmin` → `realm_admin`, `HTTPAdmin` → `http_admin`, `r#type` → `type`.
pub fn snake_case(ident: &str) -> String {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// `notes:admin` → `NotesAdmin`, `realm-admin` → `RealmAdmin`; `None` if no identifier can
/// be made (no ASCII letter or digit, or it would start with a digit).
pub fn camel_case(wire: &str) -> Option<String> {
    let mut out = String::new();
    for part in wire.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    let first = out.chars().next()?;
    (!first.is_ascii_digit()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(snake_case("RealmAdmin"), "realm_admin");
        assert_eq!(snake_case("HTTPAdmin"), "http_admin");
        assert_eq!(snake_case("Admin2Fa"), "admin2_fa");
        assert_eq!(snake_case("Viewer"), "viewer");
        assert_eq!(camel_case("notes:admin").as_deref(), Some("NotesAdmin"));
        assert_eq!(camel_case("realm-admin").as_deref(), Some("RealmAdmin"));
        assert_eq!(camel_case("2fa"), None);
        assert_eq!(camel_case("::"), None);
    }

    #[test]
    fn suggestions() {
        let keys = ["scopes", "roles", "name", "description"];
        assert_eq!(closest("scope", keys), Some("scopes"));
        assert_eq!(closest("role", keys), Some("roles"));
        assert_eq!(closest("desc", keys), Some("description"));
        assert_eq!(closest("zzz", keys), None);
        assert_eq!(closest("nmae", keys), Some("name"));
        assert_eq!(distance("nmae", "name"), 1);
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("10/min"), Ok((10, 60)));
        assert_eq!(parse_rate("1/hour"), Ok((1, 3600)));
        assert_eq!(parse_rate("5/s"), Ok((5, 1)));
        assert!(
            parse_rate("10/mn")
                .unwrap_err()
                .contains("did you mean `min`")
        );
        assert!(parse_rate("0/min").is_err());
        assert!(parse_rate("ten/min").is_err());
        assert!(parse_rate("10 per minute").is_err());
        assert!(parse_rate("99999999999/s").is_err());
    }

    #[test]
    fn tokens() {
        assert!(is_scope_token("notes:read"));
        assert!(
            scope_token_problem("a b", "scope")
                .unwrap()
                .contains("space")
        );
        assert!(scope_token_problem("", "scope").is_some());
        assert!(tool_name_problem("a b").is_some());
        assert!(tool_name_problem("notes.list-all_2").is_none());
        assert!(tool_name_problem(&"a".repeat(129)).is_some());
    }
}
