//! Claim-mapping presets against tokens shaped like Keycloak's, Entra ID's, Auth0's and Okta's
//! access tokens, issued and signed by a real authorization server process and verified over
//! HTTP through `AuthServer`.

#[path = "common/idp.rs"]
mod idp;

use idp::{Idp, Mcp, TokenRequest};
use mcp_auth::verify::{ClaimMapping, JwtVerifier};
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    mapping: ClaimMapping,
    /// Payload claims as that IdP writes them (`null` removes the mock's own `client_id`).
    claims: fn(&str) -> Value,
    /// `scope` form field of the token request, if the IdP uses `scope`.
    scope: Option<&'static str>,
    sub: &'static str,
    client_id: &'static str,
    scopes: &'static [&'static str],
    roles: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "Keycloak realm roles",
            mapping: ClaimMapping::keycloak().map_role("notes-admin", "admin"),
            claims: |_| {
                json!({
                    "sub": "f:8e7c:alice", "client_id": null, "azp": "notes-cli", "typ": "Bearer",
                    "preferred_username": "alice",
                    "realm_access": { "roles": ["offline_access", "uma_authorization", "notes-admin"] },
                    "resource_access": { "notes-api": { "roles": ["editor"] }, "account": { "roles": ["manage-account"] } },
                })
            },
            scope: Some("openid profile email mcp"),
            sub: "f:8e7c:alice",
            client_id: "notes-cli",
            scopes: &["email", "mcp", "openid", "profile"],
            roles: &["admin", "offline_access", "uma_authorization"],
        },
        Case {
            name: "Keycloak client roles",
            mapping: ClaimMapping::keycloak_client("notes-api"),
            claims: |_| {
                json!({
                    "sub": "f:8e7c:alice", "client_id": null, "azp": "notes-cli",
                    "realm_access": { "roles": ["offline_access"] },
                    "resource_access": { "notes-api": { "roles": ["editor", "viewer"] } },
                })
            },
            scope: Some("mcp"),
            sub: "f:8e7c:alice",
            client_id: "notes-cli",
            scopes: &["mcp"],
            roles: &["editor", "viewer"],
        },
        Case {
            name: "Entra ID v2 (delegated)",
            mapping: ClaimMapping::entra()
                .map_role("Notes.Admin", "admin")
                .drop_unmapped_roles(),
            claims: |_| {
                json!({
                    "ver": "2.0", "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                    "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "oid": "00000000-0000-0000-66f3-3332eca7ea81",
                    "client_id": null, "azp": "a1b2c3d4-0000-0000-0000-000000000001", "azpacr": "1",
                    "scp": "mcp notes.read", "roles": ["Notes.Admin", "Other.Role"], "name": "Alice",
                })
            },
            scope: None,
            sub: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            client_id: "a1b2c3d4-0000-0000-0000-000000000001",
            scopes: &["mcp", "notes.read"],
            roles: &["admin"],
        },
        Case {
            name: "Entra ID v1 (app-only)",
            mapping: ClaimMapping::entra().map_role("Notes.Writer", "editor"),
            claims: |_| {
                json!({
                    "ver": "1.0", "sub": "9f1c-app-sp", "client_id": null,
                    "appid": "a1b2c3d4-0000-0000-0000-000000000002", "appidacr": "1",
                    "roles": ["Notes.Writer"], "scp": "mcp",
                })
            },
            scope: None,
            sub: "9f1c-app-sp",
            client_id: "a1b2c3d4-0000-0000-0000-000000000002",
            scopes: &["mcp"],
            roles: &["editor"],
        },
        Case {
            name: "Auth0",
            mapping: ClaimMapping::auth0("https://notes.example.com/roles"),
            claims: |resource| {
                json!({
                    "sub": "auth0|64b7f0e2c1", "client_id": null, "azp": "Xy12AbCdEfGh",
                    "aud": [resource, "https://tenant.eu.auth0.com/userinfo"],
                    "permissions": ["notes:read", "notes:write"],
                    "https://notes.example.com/roles": ["editor"],
                })
            },
            scope: Some("openid profile mcp"),
            sub: "auth0|64b7f0e2c1",
            client_id: "Xy12AbCdEfGh",
            scopes: &["mcp", "notes:read", "notes:write", "openid", "profile"],
            roles: &["editor"],
        },
        Case {
            name: "Okta",
            mapping: ClaimMapping::okta()
                .map_role("notes-admins", "admin")
                .map_role("notes-viewers", "viewer")
                .drop_unmapped_roles(),
            claims: |_| {
                json!({
                    "ver": 1, "sub": "alice@example.com", "uid": "00u1a2b3c4", "client_id": null,
                    "cid": "0oa5d6e7f8", "scp": ["mcp", "notes:read"],
                    "groups": ["Everyone", "notes-admins", "notes-viewers"],
                })
            },
            scope: None,
            sub: "alice@example.com",
            client_id: "0oa5d6e7f8",
            scopes: &["mcp", "notes:read"],
            roles: &["admin", "viewer"],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_preset_maps_its_idps_token_shape() {
    let idp = Idp::start().await;
    for case in cases() {
        let slot = Mcp::reserve().await;
        let resource = slot.url.clone();
        let mcp = slot.serve(
            JwtVerifier::discover(&idp.issuer)
                .audience(&resource)
                .claims(case.mapping)
                .build()
                .unwrap(),
        );
        let mut request = TokenRequest::new("mock-client")
            .audience(&resource)
            .claims((case.claims)(&resource));
        if let Some(scope) = case.scope {
            request = request.scope(scope);
        }
        let token = idp.token(&request).await;
        let answer = mcp.whoami(&token).await;
        assert_eq!(answer.status, 200, "{}: {answer:?}", case.name);
        let who = answer.identity();
        assert_eq!(who["sub"], case.sub, "{}", case.name);
        assert_eq!(who["client_id"], case.client_id, "{}", case.name);
        assert_eq!(answer.strings("scopes"), case.scopes, "{}", case.name);
        assert_eq!(answer.strings("roles"), case.roles, "{}", case.name);
    }
}
