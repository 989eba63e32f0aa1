//! JWT access tokens from an OpenID Connect / OAuth 2.0 identity provider:
//! `cargo run --example jwt_jwks`.
//!
//! With `MCP_ISSUER`, tokens from that IdP are verified (discovery → JWKS → signature, `iss`,
//! `aud`, `exp`); `MCP_IDP_PRESET` picks the claim mapping (`keycloak`, `entra`, `okta`,
//! `auth0:<roles claim>`), `MCP_RESOURCE` the public URL (the audience tokens must carry):
//!
//! ```sh
//! MCP_ISSUER=https://sso.example.com/realms/notes MCP_IDP_PRESET=keycloak \
//!   MCP_RESOURCE=https://notes.example.com/mcp cargo run --example jwt_jwks
//! ```
//!
//! Without `MCP_ISSUER`, the embedded `DevIssuer` plays the IdP and two tokens are printed.

use mcp_auth::prelude::*;
use mcp_auth::{ClaimMapping, DevIssuer, DevUser, JwtVerifier};

#[derive(Clone)]
struct Hello;

// Open to any authenticated caller: the server declares no roles or scopes.
#[mcp_auth::server]
impl Hello {
    /// Who is calling, from the verified token.
    #[tool]
    async fn whoami(&self, who: AccessToken) -> String {
        format!(
            "subject={} client={} scopes=[{}] roles=[{}]",
            who.subject().unwrap_or("-"),
            who.client_id().unwrap_or("-"),
            who.scopes().join(" "),
            who.roles().join(" ")
        )
    }
}

fn mapping(preset: Option<&str>) -> ClaimMapping {
    match preset {
        Some("keycloak") => ClaimMapping::keycloak(),
        Some("entra") => ClaimMapping::entra(),
        Some("okta") => ClaimMapping::okta(),
        Some(p) if p.starts_with("auth0:") => ClaimMapping::auth0(&p["auth0:".len()..]),
        _ => ClaimMapping::default(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("MCP_ADDR").unwrap_or_else(|_| "127.0.0.1:8000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let resource = std::env::var("MCP_RESOURCE")
        .unwrap_or_else(|_| format!("http://{}/mcp", listener.local_addr().unwrap()));

    // Development: an embedded issuer. Production: your IdP's issuer URL.
    let mut dev = None;
    let issuer = match std::env::var("MCP_ISSUER") {
        Ok(issuer) => issuer,
        Err(_) => {
            let d = DevIssuer::start().await?;
            for (who, scopes) in [
                ("alice", &["mcp", "notes:write"][..]),
                ("bob", &["mcp"][..]),
            ] {
                let user = DevUser::new(who)
                    .audience(&resource)
                    .scopes(scopes.iter().copied());
                println!("  {who:<6} {}", d.mint(&user));
            }
            dev = Some(d);
            dev.as_ref().unwrap().issuer().to_owned()
        }
    };

    let verifier = JwtVerifier::discover(&issuer)
        .audience(&resource)
        .claims(mapping(std::env::var("MCP_IDP_PRESET").ok().as_deref()))
        .build()?;
    if let Err(e) = verifier.warm_up().await {
        eprintln!("warning: keys not fetched yet ({e}); requests get 503 until the IdP answers");
    }
    println!("\njwt_jwks: MCP server at {resource}, tokens from {issuer}");

    AuthServer::new(Hello)
        .name(env!("CARGO_PKG_NAME"))
        .version(env!("CARGO_PKG_VERSION"))
        .verifier(verifier)
        .resource(resource)
        .authorization_server(issuer)
        .required_scopes(["mcp"])
        .serve_with_listener(listener)
        .await?;
    drop(dev);
    Ok(())
}
