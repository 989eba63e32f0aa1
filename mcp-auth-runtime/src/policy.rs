//! Policy: scope tokens and the decision whether a token satisfies a requirement.

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
