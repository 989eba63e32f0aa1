//! # mcp-auth
//!
//! Declarative, compile-time-checked, per-tool authorization for MCP servers built on
//! [rmcp](https://docs.rs/rmcp).
//!
//! Every request to the MCP endpoint passes a bearer-first HTTP layer that speaks the MCP
//! authorization spec exactly (401/403 challenges with `WWW-Authenticate`, RFC 9728 Protected
//! Resource Metadata, audience binding) before rmcp sees it; handlers read the caller through
//! an [`AccessToken`] parameter or [`current_token`].
//!
//! ```no_run
//! use mcp_auth::prelude::*;
//! use mcp_auth::rmcp::{tool, tool_handler, tool_router, handler::server::router::tool::ToolRouter};
//!
//! #[derive(Clone)]
//! struct Hello { tool_router: ToolRouter<Self> }
//!
//! #[tool_router]
//! impl Hello {
//!     #[tool(description = "Greets the caller")]
//!     async fn hello(&self, who: AccessToken) -> String {
//!         format!("hello, {}", who.subject().unwrap_or("stranger"))
//!     }
//! }
//!
//! #[tool_handler(router = self.tool_router)]
//! impl ServerHandler for Hello {}
//! impl mcp_auth::Protected for Hello {}
//!
//! # async fn run() -> Result<(), mcp_auth::ServeError> {
//! AuthServer::new(Hello { tool_router: Hello::tool_router() })
//!     .name(env!("CARGO_PKG_NAME"))
//!     .version(env!("CARGO_PKG_VERSION"))
//!     .verifier(StaticTokens::from_env("MCP_API_KEYS").expect("MCP_API_KEYS"))
//!     .resource("https://hello.example.com/mcp")
//!     .authorization_server("https://idp.example.com")
//!     .serve("0.0.0.0:8000")
//!     .await
//! # }
//! ```
#![warn(missing_docs)]

pub use mcp_auth_runtime::*;
pub use rmcp;

#[doc(hidden)]
pub use mcp_auth_runtime::__private;

/// Declares the role hierarchy once.
///
/// ```
/// mcp_auth::roles! {
///     /// Who may do what.
///     pub enum Role {
///         Admin > Editor > Viewer,
///         Admin > Billing,
///         #[name = "realm-admin"] RealmAdmin > Admin,
///     }
/// }
///
/// assert_eq!(Role::RealmAdmin.as_str(), "realm-admin");
/// assert_eq!("editor".parse::<Role>().unwrap(), Role::Editor);
/// assert!(Role::RealmAdmin.satisfies(Role::Viewer));
/// assert_eq!(Role::Admin.implies(), [Role::Editor, Role::Viewer, Role::Billing]);
/// ```
#[doc(inline)]
pub use mcp_auth_macros::roles;
/// Declares the scope hierarchy once.
///
/// ```
/// mcp_auth::scopes! {
///     pub enum Scope {
///         "notes:admin" > "notes:write" > "notes:read",
///         Billing = "billing:read",
///     }
/// }
///
/// assert_eq!(Scope::NotesWrite.as_str(), "notes:write");
/// assert!(Scope::NotesAdmin.satisfies(Scope::NotesRead));
/// assert!(!Scope::Billing.satisfies(Scope::NotesRead));
/// use mcp_auth::declared::Declared;
/// assert_eq!(Scope::NAMES, ["notes:admin", "notes:write", "notes:read", "billing:read"]);
/// ```
#[doc(inline)]
pub use mcp_auth_macros::scopes;
/// Declares roles, scopes and each item's requirements, checked at compile time.
///
/// ```
/// use mcp_auth::prelude::*;
/// use mcp_auth::rmcp::{ErrorData, Json, handler::server::wrapper::Parameters};
/// use mcp_auth::rmcp::model::{PromptMessage, Role as Speaker};
///
/// mcp_auth::roles! {
///     /// Who may do what.
///     pub enum Role { Admin > Editor > Viewer, Admin > Billing }
/// }
/// mcp_auth::scopes! {
///     pub enum Scope { "notes:admin" > "notes:write" > "notes:read" }
/// }
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct DeleteArgs { id: u64 }
///
/// #[derive(Clone, Default)]
/// struct Notes;
///
/// #[mcp_auth::server(name = "notes", roles = Role, scopes = Scope)]
/// impl Notes {
///     /// List every note.
///     #[tool(scopes = ["notes:read"], annotations(read_only_hint = true))]
///     async fn list_notes(&self) -> Json<Vec<String>> {
///         Json(vec!["hello".into()])
///     }
///
///     /// Delete a note.
///     #[tool(scopes = ["notes:write"], roles = ["editor"])]
///     async fn delete_note(&self, Parameters(args): Parameters<DeleteArgs>, who: AccessToken) -> String {
///         format!("{} deleted note {}", who.subject().unwrap_or("?"), args.id)
///     }
///
///     /// One note, as Markdown.
///     #[resource(uri = "notes://{id}", mime_type = "text/markdown", scopes = ["notes:read"])]
///     async fn note(&self, id: String) -> Result<String, ErrorData> {
///         Ok(format!("# Note {id}"))
///     }
///
///     /// Summarize the notes.
///     #[prompt(roles = [Role::Viewer])]
///     fn summarize(&self) -> Vec<PromptMessage> {
///         vec![PromptMessage::new_text(Speaker::User, "Summarize my notes.")]
///     }
/// }
///
/// assert!(Role::Admin.satisfies(Role::Viewer));
/// assert_eq!("realm".parse::<Role>().unwrap_err().to_string(), "unknown role: `realm` is not declared by `Role`");
/// let policy = <Notes as Protected>::policy();
/// let editor = AccessToken::builder("t").scopes(["notes:admin"]).roles(["admin"]).build();
/// let grants = policy.grants(&editor);
/// use mcp_auth::policy::{Decision, ItemKind};
/// assert_eq!(policy.decide(Some(&grants), ItemKind::Tool, "delete_note"), Decision::Allow);
/// assert_eq!(policy.decide(None, ItemKind::Tool, "delete_note"), Decision::Hidden);
/// ```
#[doc(inline)]
pub use mcp_auth_macros::server;
#[doc(inline)]
pub use mcp_auth_macros::{prompt, resource, tool};

/// The names most servers need, in one import.
pub mod prelude {
    pub use mcp_auth_macros::{prompt, resource, roles, scopes, server, tool};
    pub use mcp_auth_runtime::{
        AccessToken, AuthLayer, AuthServer, Chain, ClaimMapping, DevIssuer, DevUser, Introspection,
        JwtVerifier, Protected, ProtectedResource, StaticTokens, StdioAuth, TokenVerifier,
        VerifyError, current_token, require_auth, serve_stdio,
    };
    pub use rmcp::ServerHandler;
}

/// The README's code blocks, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
