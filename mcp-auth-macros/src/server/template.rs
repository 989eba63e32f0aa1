//! Resource URIs at compile time: a static URI, or a URI template with `{var}` and `{+var}`
//! expressions (what the runtime's `UriTemplate` matches).

/// The variable names of `uri`, in order, or why it is not a URI this crate can serve.
pub fn parse(uri: &str) -> Result<Vec<String>, String> {
    let scheme_end = uri.find(':').filter(|&i| {
        i > 0
            && uri[..i].starts_with(|c: char| c.is_ascii_alphabetic())
            && uri[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if scheme_end.is_none() {
        return Err(
            "it has no scheme; a resource URI starts with one, e.g. `notes://index` \
                    or `file:///{+path}`"
                .into(),
        );
    }
    let mut vars: Vec<String> = Vec::new();
    let mut rest = uri;
    while let Some(i) = rest.find(['{', '}']) {
        if rest[i..].starts_with('}') {
            return Err("it has a `}` without a `{`".into());
        }
        let after = &rest[i + 1..];
        let Some(close) = after.find('}') else {
            return Err("it has a `{` without a closing `}`".into());
        };
        let inner = &after[..close];
        if inner.contains('{') {
            return Err("it has a `{` inside a `{..}` expression".into());
        }
        let name = inner.strip_prefix('+').unwrap_or(inner);
        if name.starts_with(['#', '.', '/', ';', '?', '&', '=', ',', '!', '@', '|']) {
            return Err(format!(
                "`{{{inner}}}` uses an RFC 6570 operator; only `{{var}}` and `{{+var}}` are \
                 supported"
            ));
        }
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "`{{{inner}}}` is not a variable; a variable is a Rust identifier such as `{{id}}`"
            ));
        }
        if vars.iter().any(|v| v == name) {
            return Err(format!("the variable `{name}` appears twice"));
        }
        vars.push(name.to_owned());
        rest = &after[close + 1..];
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn templates() {
        assert!(parse("notes://index").unwrap().is_empty());
        let vars = parse("notes://{id}/rev/{+rest}").unwrap();
        assert_eq!(vars, ["id", "rest"]);
        assert!(parse("index").is_err());
        assert!(parse("x://{id").is_err());
        assert!(parse("x://{?q}").is_err());
        assert!(parse("x://{a}/{a}").is_err());
        assert!(parse("x://{}").is_err());
        assert!(parse("x://}").is_err());
    }
}
