//! Opaque access tokens checked at the IdP's RFC 7662 introspection endpoint:
//! `cargo run --example introspection`.
//!
//! ```sh
//! MCP_INTROSPECTION_URL=https://sso.example.com/realms/notes/protocol/openid-connect/token/introspect \
//!   MCP_CLIENT_ID=notes-mcp MCP_CLIENT_SECRET=... MCP_ISSUER=https://sso.example.com/realms/notes \
//!   MCP_RESOURCE=https://notes.example.com/mcp cargo run --example introspection
//! ```
//!
//! Without `MCP_INTROSPECTION_URL`, the embedded `DevIssuer`'s endpoint is used and an opaque
//! token is printed. Answers are cached (60 s, never past `exp`; refusals 5 s).

use mcp_auth::prelude::*;
use mcp_auth::{DevIssuer, DevUser, Introspection};

#[derive(Clone)]
struct Hello;

// Open to any authenticated caller: the server declares no roles or scopes.
#[mcp_auth::server]
impl Hello {
    /// Who is calling, as the introspection endpoint described the token.
    #[tool]
    async fn whoami(&self, who: AccessToken) -> String {
        format!(
            "subject={} client={} scopes=[{}]",
            who.subject().unwrap_or("-"),
            who.client_id().unwrap_or("-"),
            who.scopes().join(" ")
        )
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("MCP_ADDR").unwrap_or_else(|_| "127.0.0.1:8000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let resource = std::env::var("MCP_RESOURCE")
        .unwrap_or_else(|_| format!("http://{}/mcp", listener.local_addr().unwrap()));
    let env = |k: &str| std::env::var(k).ok();

    let mut dev = None;
    let (endpoint, client_id, secret, issuer) = match env("MCP_INTROSPECTION_URL") {
        Some(url) => (
            url,
            env("MCP_CLIENT_ID").ok_or("MCP_CLIENT_ID is not set")?,
            env("MCP_CLIENT_SECRET").ok_or("MCP_CLIENT_SECRET is not set")?,
            env("MCP_ISSUER").ok_or("MCP_ISSUER is not set")?,
        ),
        None => {
            let d = DevIssuer::start().await?;
            let token = d.mint_opaque(&DevUser::new("alice").audience(&resource).scopes(["mcp"]));
            println!("  opaque token for alice: {token}");
            let (id, secret) = d.introspection_client();
            let parts = (
                d.introspection_endpoint(),
                id.to_owned(),
                secret.to_owned(),
                d.issuer().to_owned(),
            );
            dev = Some(d);
            parts
        }
    };

    let verifier = Introspection::builder(&endpoint)
        .client_secret_basic(client_id, secret)
        .issuer(&issuer)
        .audience(&resource)
        .build()?;
    println!("\nintrospection: MCP server at {resource}, tokens checked at {endpoint}");

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
