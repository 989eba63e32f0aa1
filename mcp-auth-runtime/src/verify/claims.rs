//! Claim mapping: how a verified claim set (a JWT payload or an introspection response)
//! becomes an [`AccessToken`]: subject, client id, issuer, audiences, expiry, scopes and
//! roles, with presets for the common identity providers.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::{AccessToken, AccessTokenBuilder};

/// Most scopes or roles taken from one token; the rest are ignored.
const MAX_ENTRIES: usize = 1024;

/// Where a claim lives: a path of object keys from the top of the claim set.
///
/// `"realm_access.roles"` (a `&str`) splits on dots; [`ClaimPath::key`] takes one top-level
/// name literally, for namespaced claims such as `https://notes.example.com/roles`.
///
/// ```
/// use mcp_auth_runtime::verify::ClaimPath;
///
/// assert_eq!(ClaimPath::from("realm_access.roles"), ClaimPath::new(["realm_access", "roles"]));
/// assert_eq!(ClaimPath::key("https://a.example/roles").segments().len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath(Vec<String>);

impl ClaimPath {
    /// A path from its segments, e.g. `["resource_access", "notes-api", "roles"]`.
    pub fn new(segments: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self(segments.into_iter().map(Into::into).collect())
    }

    /// One top-level claim, its name taken literally (dots and slashes included).
    pub fn key(name: impl Into<String>) -> Self {
        Self(vec![name.into()])
    }

    /// The object keys, outermost first.
    pub fn segments(&self) -> &[String] {
        &self.0
    }

    fn lookup<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let (first, rest) = self.0.split_first()?;
        let mut value = claims.get(first)?;
        for key in rest {
            value = value.as_object()?.get(key)?;
        }
        Some(value)
    }
}

impl From<&str> for ClaimPath {
    fn from(dotted: &str) -> Self {
        Self(dotted.split('.').map(str::to_owned).collect())
    }
}

impl From<String> for ClaimPath {
    fn from(dotted: String) -> Self {
        Self::from(dotted.as_str())
    }
}

/// How claims become an [`AccessToken`].
///
/// The default reads scopes from `scope` (space-delimited) and `scp` (string or array), the
/// client id from `client_id` then `azp`, and roles from a top-level `roles` array. Presets
/// fit the token shapes of common identity providers; every preset can be adjusted further.
///
/// ```
/// use mcp_auth_runtime::verify::ClaimMapping;
///
/// // Keycloak client roles of `notes-api`, with IdP role names mapped onto declared roles.
/// let mapping = ClaimMapping::keycloak_client("notes-api")
///     .map_role("notes-admins", "admin")
///     .map_role("notes-editors", "editor")
///     .drop_unmapped_roles();
/// # let _ = mapping;
/// ```
#[derive(Debug, Clone)]
pub struct ClaimMapping {
    scopes: Vec<ClaimPath>,
    roles: Vec<ClaimPath>,
    client_ids: Vec<String>,
    role_names: BTreeMap<String, String>,
    drop_unmapped: bool,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            scopes: vec![ClaimPath::key("scope"), ClaimPath::key("scp")],
            roles: vec![ClaimPath::key("roles")],
            client_ids: vec!["client_id".into(), "azp".into()],
            role_names: BTreeMap::new(),
            drop_unmapped: false,
        }
    }
}

impl ClaimMapping {
    /// The default mapping (see the type's documentation).
    pub fn new() -> Self {
        Self::default()
    }

    /// Keycloak realm roles: `realm_access.roles`.
    pub fn keycloak() -> Self {
        Self::new().roles("realm_access.roles")
    }

    /// Keycloak client roles of `client`: `resource_access.<client>.roles`. Add realm roles
    /// too with `.add_roles("realm_access.roles")`.
    pub fn keycloak_client(client: impl Into<String>) -> Self {
        Self::new().roles(ClaimPath::new([
            "resource_access".to_owned(),
            client.into(),
            "roles".to_owned(),
        ]))
    }

    /// Microsoft Entra ID: app roles in `roles`, delegated scopes in `scp`, the client in
    /// `azp` (v2 tokens) or `appid` (v1 tokens).
    pub fn entra() -> Self {
        Self::new().roles("roles").client_id_claim("appid")
    }

    /// Auth0: roles in a namespaced custom claim set by an Action (e.g.
    /// `https://notes.example.com/roles`); API permissions (`permissions`, with RBAC on) count
    /// as scopes.
    pub fn auth0(roles_claim: impl Into<String>) -> Self {
        Self::new()
            .roles(ClaimPath::key(roles_claim))
            .add_scopes(ClaimPath::key("permissions"))
    }

    /// Okta: roles from the `groups` claim, scopes from `scp` (array), the client in `cid`.
    pub fn okta() -> Self {
        Self::new().roles("groups").client_id_claim("cid")
    }

    /// Read roles from `path` only (replacing the current sources).
    pub fn roles(mut self, path: impl Into<ClaimPath>) -> Self {
        self.roles = vec![path.into()];
        self
    }

    /// Also read roles from `path`.
    pub fn add_roles(mut self, path: impl Into<ClaimPath>) -> Self {
        self.roles.push(path.into());
        self
    }

    /// Read scopes from `path` only (replacing `scope` and `scp`).
    pub fn scopes(mut self, path: impl Into<ClaimPath>) -> Self {
        self.scopes = vec![path.into()];
        self
    }

    /// Also read scopes from `path`.
    pub fn add_scopes(mut self, path: impl Into<ClaimPath>) -> Self {
        self.scopes.push(path.into());
        self
    }

    /// Also take the client id from the top-level claim `name` (tried after the others).
    pub fn client_id_claim(mut self, name: impl Into<String>) -> Self {
        self.client_ids.push(name.into());
        self
    }

    /// Rename the IdP role `from` to the declared role `to`.
    pub fn map_role(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.role_names.insert(from.into(), to.into());
        self
    }

    /// Keep only roles named in [`ClaimMapping::map_role`]; others are dropped instead of
    /// passed through unchanged.
    pub fn drop_unmapped_roles(mut self) -> Self {
        self.drop_unmapped = true;
        self
    }

    /// Build the token for the bearer string `raw` from its verified `claims`.
    pub(crate) fn apply(&self, raw: &str, claims: Map<String, Value>) -> AccessTokenBuilder {
        let mut b = AccessToken::builder(raw);
        if let Some(sub) = claims.get("sub").and_then(Value::as_str) {
            b = b.subject(sub);
        }
        if let Some(client) = self
            .client_ids
            .iter()
            .find_map(|name| claims.get(name).and_then(Value::as_str))
        {
            b = b.client_id(client);
        }
        if let Some(iss) = claims.get("iss").and_then(Value::as_str) {
            b = b.issuer(iss);
        }
        b = b.audiences(audiences(&claims));
        if let Some(exp) = claims.get("exp").and_then(numeric_date) {
            b = b.expires_at_unix(exp);
        }
        let scopes: Vec<String> = self
            .scopes
            .iter()
            .filter_map(|p| p.lookup(&claims))
            .flat_map(strings)
            .take(MAX_ENTRIES)
            .collect();
        let roles: Vec<String> = self
            .roles
            .iter()
            .filter_map(|p| p.lookup(&claims))
            .flat_map(strings)
            .filter_map(|r| match self.role_names.get(&r) {
                Some(mapped) => Some(mapped.clone()),
                None if self.drop_unmapped => None,
                None => Some(r),
            })
            .take(MAX_ENTRIES)
            .collect();
        b.scopes(scopes).roles(roles).claims(claims)
    }
}

/// `aud` as a list: a string or an array of strings.
pub(crate) fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .take(MAX_ENTRIES)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A JWT NumericDate (seconds, integer or not) as whole seconds; negative or absurd → `None`.
pub(crate) fn numeric_date(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let f = v.as_f64()?;
    (f.is_finite() && (0.0..1e15).contains(&f)).then_some(f as u64)
}

/// Space-delimited string or array of strings.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(mapping: &ClaimMapping, claims: Value) -> AccessToken {
        let Value::Object(map) = claims else { panic!() };
        mapping.apply("raw", map).build()
    }

    #[test]
    fn default_reads_scope_scp_and_roles() {
        let t = apply(
            &ClaimMapping::new(),
            json!({"sub":"u","azp":"cli","iss":"i","aud":["a","b"],"exp":1e10,
                   "scope":"a b","scp":["c"],"roles":["admin"]}),
        );
        assert_eq!(t.subject(), Some("u"));
        assert_eq!(t.client_id(), Some("cli"));
        assert_eq!(t.audiences(), ["a", "b"]);
        assert_eq!(t.scopes(), ["a", "b", "c"]);
        assert_eq!(t.roles(), ["admin"]);
        assert!(t.expires_at().is_some());
    }

    #[test]
    fn presets() {
        let kc = json!({"realm_access":{"roles":["offline_access","admin"]},
                        "resource_access":{"notes":{"roles":["editor"]}}});
        assert_eq!(
            apply(&ClaimMapping::keycloak(), kc.clone()).roles(),
            ["admin", "offline_access"]
        );
        assert_eq!(
            apply(&ClaimMapping::keycloak_client("notes"), kc).roles(),
            ["editor"]
        );
        let entra = json!({"roles":["Notes.Admin"],"scp":"notes.read notes.write","appid":"app-1"});
        let t = apply(
            &ClaimMapping::entra().map_role("Notes.Admin", "admin"),
            entra,
        );
        assert_eq!(
            (t.roles(), t.client_id()),
            (&["admin".to_owned()][..], Some("app-1"))
        );
        assert_eq!(t.scopes(), ["notes.read", "notes.write"]);
        let auth0 =
            json!({"https://notes.example.com/roles":["viewer"],"permissions":["notes:read"]});
        let t = apply(
            &ClaimMapping::auth0("https://notes.example.com/roles"),
            auth0,
        );
        assert_eq!(
            (t.roles(), t.scopes()),
            (&["viewer".to_owned()][..], &["notes:read".to_owned()][..])
        );
        let okta = json!({"groups":["Everyone","notes-editors"],"scp":["notes:read"],"cid":"0oa1"});
        let t = apply(
            &ClaimMapping::okta()
                .map_role("notes-editors", "editor")
                .drop_unmapped_roles(),
            okta,
        );
        assert_eq!(
            (t.roles(), t.client_id()),
            (&["editor".to_owned()][..], Some("0oa1"))
        );
    }

    #[test]
    fn odd_shapes_are_ignored() {
        let t = apply(
            &ClaimMapping::keycloak(),
            json!({"realm_access":"nope","scope":7,"aud":{"x":1},"exp":-5,"sub":3}),
        );
        assert!(t.roles().is_empty() && t.scopes().is_empty() && t.audiences().is_empty());
        assert!(t.expires_at().is_none() && t.subject().is_none());
    }
}
