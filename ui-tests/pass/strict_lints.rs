//! The generated code is clean under strict lints.
#![deny(
    warnings,
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    unused_qualifications,
    unused_results,
    rust_2018_idioms,
    trivial_casts,
    unsafe_code,
    clippy::all
)]

use mcp_auth::AccessToken;
use mcp_auth::rmcp::{ErrorData, handler::server::wrapper::Parameters, model::PromptMessage};
use schemars::JsonSchema;
use serde::Deserialize;

mcp_auth::roles! {
    /// Roles.
    pub enum Role { Admin > Viewer }
}

mcp_auth::scopes! {
    /// Scopes.
    pub enum Scope { "a:write" > "a:read" }
}

/// Arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Args {
    /// A number.
    pub n: u32,
}

/// The server.
#[derive(Debug)]
pub struct Strict;

#[mcp_auth::server(roles = Role, scopes = Scope)]
impl Strict {
    /// A tool.
    #[tool(scopes = ["a:read"], roles = [Role::Viewer])]
    async fn t(&self, Parameters(args): Parameters<Args>, who: AccessToken) -> String {
        format!("{} {}", args.n, who.subject().unwrap_or("-"))
    }

    /// A prompt.
    #[prompt]
    fn p(&self) -> Vec<PromptMessage> {
        Vec::new()
    }

    /// A resource.
    #[resource(uri = "a://{id}", scopes = ["a:write"])]
    async fn r(&self, id: String, who: Option<AccessToken>) -> Result<String, ErrorData> {
        Ok(format!("{id} {}", who.is_some()))
    }
}

fn main() {}
