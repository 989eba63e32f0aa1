//! Procedural macros of [mcp-auth](https://docs.rs/mcp-auth): declare roles and scopes once,
//! and each tool, prompt and resource's requirements next to it, checked at compile time.
//!
//! Use them through the `mcp-auth` facade (`mcp_auth::roles!`, `#[mcp_auth::server]`, ..),
//! whose documentation has compiling examples; the generated code refers to `::mcp_auth`.
//!
//! Each macro is a pipeline: parse (`attr`, `ast`, `parse`) → validate (`valid`) → expand
//! (`expand`), one module per stage. All errors of one call are collected (`ctxt`) and
//! reported together, each at the offending token.

mod ctxt;
mod decl;
mod names;
mod server;

use proc_macro::TokenStream;

/// Declares the role hierarchy once: an enum whose variants are the roles.
///
/// ```ignore
/// mcp_auth::roles! {
///     /// Who may do what.
///     pub enum Role {
///         Admin > Editor > Viewer,
///         Admin > Billing,
///         #[name = "realm-admin"] RealmAdmin > Admin,
///     }
/// }
/// ```
///
/// `A > B` reads "A implies B": a token holding `admin` satisfies `roles = ["editor"]`.
/// Chains are separated by commas; a role may imply several others and appear in several
/// chains. A role's wire name (what tokens carry and `roles = [..]` names) is its variant in
/// snake_case unless given with `#[name = ".."]` (or `Variant = ".."`); wire names are RFC 6749
/// scope-tokens (printable ASCII, no space, `"` or `\`).
///
/// The enum derives `Debug, Clone, Copy, PartialEq, Eq, Hash` and gets `ALL`,
/// `const fn as_str`, `const fn implies`, `const fn satisfies`, `Display`, `FromStr`,
/// `AsRef<str>` and `mcp_auth::declared::Declared` (the names and the transitive hierarchy,
/// read by `#[mcp_auth::server(roles = Role)]` at compile time).
///
/// Rules, each a compile error at the offending token:
/// - the first mention of a role declares it and may carry its doc comment, attributes and
///   wire name; later mentions refer to it by bare name. Doc comments, attributes or a wire
///   name on a later mention: "declared twice". A role listed on its own after it was already
///   mentioned (`Admin > Viewer, Viewer`): "listed twice";
/// - the same edge written twice: "duplicate edge";
/// - a cycle (`Admin > Editor > Admin`), named in the error;
/// - two roles with one wire name, or an invalid wire name.
///
/// See the `mcp-auth` crate for a compiling example.
#[proc_macro]
pub fn roles(input: TokenStream) -> TokenStream {
    ctxt::finish(decl::expand(decl::Kind::Roles, input.into()))
}

/// Declares the scope hierarchy once: an enum whose variants are the OAuth scopes.
///
/// ```ignore
/// mcp_auth::scopes! {
///     pub enum Scope {
///         "notes:admin" > "notes:write" > "notes:read",
///         Billing = "billing:read",
///     }
/// }
/// ```
///
/// Same grammar and rules as [`roles!`]. A scope written as a string gets a variant derived
/// from it (`"notes:admin"` → `NotesAdmin`); name it yourself with `Variant = "scope"`. Every
/// scope must be an RFC 6749 scope-token: one or more of `%x21 / %x23-5B / %x5D-7E`.
///
/// A token holding `notes:admin` satisfies `scopes = ["notes:read"]`; step-up challenges
/// name the declared scopes of the operation, never implied ones.
///
/// See the `mcp-auth` crate for a compiling example.
#[proc_macro]
pub fn scopes(input: TokenStream) -> TokenStream {
    ctxt::finish(decl::expand(decl::Kind::Scopes, input.into()))
}

/// Turns an inherent impl block into an authorization-aware MCP server.
///
/// ```ignore
/// #[mcp_auth::server(name = "notes", roles = Role, scopes = Scope)]
/// impl Notes {
///     /// List every note.
///     #[tool(scopes = ["notes:read"], annotations(read_only_hint = true))]
///     async fn list_notes(&self) -> Json<Vec<Note>> { .. }
///
///     /// Delete a note.
///     #[tool(scopes = ["notes:write"], roles = ["editor"])]
///     async fn delete_note(&self, Parameters(args): Parameters<DeleteArgs>) -> Result<String, ErrorData> { .. }
///
///     /// One note.
///     #[resource(uri = "notes://{id}", mime_type = "text/markdown", scopes = ["notes:read"])]
///     async fn note(&self, id: String) -> Result<String, ErrorData> { .. }
///
///     #[prompt(roles = ["viewer"])]
///     async fn summarize(&self, Parameters(args): Parameters<SummarizeArgs>) -> Vec<PromptMessage> { .. }
/// }
/// ```
///
/// Server keys (all optional): `name` (default `env!("CARGO_PKG_NAME")`), `version` (default
/// `env!("CARGO_PKG_VERSION")`), `instructions`, `roles = T` (declared with [`roles!`]),
/// `scopes = T` (declared with [`scopes!`]), `undeclared = "open" | "deny"` (items without
/// scopes or roles: open to any authenticated caller, the default, or hidden), `handler`.
///
/// Method attributes: `#[tool(..)]` and `#[prompt(..)]` take `scopes = [..]` (all required),
/// `roles = [..]` (any of them, hierarchy-aware) and every key of rmcp's `#[tool]`
/// (`name`, `title`, `description`, `input_schema`, `output_schema`, `annotations(..)`,
/// `icons`, `meta`) or `#[prompt]` (`name`, `title`, `description`, `arguments`, `icons`,
/// `meta`), passed to rmcp unchanged; doc comments become descriptions. Roles and scopes are
/// strings (checked against the declared types at compile time; free-form when none is
/// declared) or variants such as `Role::Editor`. `#[resource(uri = .., name, title,
/// description, mime_type, icons, meta, scopes, roles)]` serves a static URI or a template
/// with `{var}` / `{+var}`, each variable a `String` parameter of the same name; a resource
/// method may be async, may also take `AccessToken`, `Option<AccessToken>` or
/// `RequestContext<RoleServer>`, and returns `String`, `&str`, `Vec<u8>`, `Json<T>`,
/// `serde_json::Value`, `ResourceContents`, `Vec<ResourceContents>`, `ReadResourceResult`,
/// or a `Result` of one of these whose error converts into `rmcp::ErrorData`.
///
/// Generated: `impl ServerHandler` (capabilities for what exists, `serverInfo` with the
/// name and version above; `tools/call`, `prompts/get` and `resources/read` check the caller
/// before anything is parsed or run, a hidden item answers exactly like an unknown one, a
/// scope shortfall is the `-32003` `insufficient_scope` error naming the declared scopes;
/// lists show only what the caller may use), `impl mcp_auth::Protected` (the policy, from a
/// table built at compile time), and rmcp's routers, built once. Handlers run with the
/// caller as `mcp_auth::current_token()`; an `AccessToken` parameter works in tools and
/// prompts. The server type must not be generic.
///
/// # `handler = false`
///
/// To write `impl ServerHandler` yourself (e.g. to add `complete` or `on_initialized`),
/// set `handler = false`: instead of the impl, the macro generates `pub(crate)` inherent
/// methods named after the `ServerHandler` methods with an `auth_` prefix, for what
/// exists: `auth_get_info`; with tools `auth_call_tool`, `auth_list_tools`,
/// `auth_get_tool`; with prompts `auth_get_prompt`, `auth_list_prompts`; with resources
/// `auth_read_resource`, `auth_list_resources`, `auth_list_resource_templates`. Delegate
/// to each:
///
/// ```ignore
/// impl ServerHandler for Notes {
///     fn get_info(&self) -> ServerConfig { self.auth_get_info() }
///     async fn call_tool(&self, r: CallToolRequestParams, c: RequestContext<RoleServer>)
///         -> Result<CallToolResponse, ErrorData> { self.auth_call_tool(r, c).await }
///     async fn list_tools(&self, r: Option<PaginatedRequestParams>, c: RequestContext<RoleServer>)
///         -> Result<ListToolsResult, ErrorData> { self.auth_list_tools(r, c).await }
///     fn get_tool(&self, name: &str) -> Option<Tool> { self.auth_get_tool(name) }
/// }
/// ```
///
/// See the `mcp-auth` crate for compiling examples.
#[proc_macro_attribute]
pub fn server(attr: TokenStream, item: TokenStream) -> TokenStream {
    server::expand(attr.into(), item.into()).into()
}

/// Marks a tool inside a `#[mcp_auth::server]` impl block; see [`server`]. Anywhere else it
/// is a compile error saying so.
#[proc_macro_attribute]
pub fn tool(_attr: TokenStream, item: TokenStream) -> TokenStream {
    server::misplaced("tool", item.into()).into()
}

/// Marks a prompt inside a `#[mcp_auth::server]` impl block; see [`server`]. Anywhere else
/// it is a compile error saying so.
#[proc_macro_attribute]
pub fn prompt(_attr: TokenStream, item: TokenStream) -> TokenStream {
    server::misplaced("prompt", item.into()).into()
}

/// Marks a resource inside a `#[mcp_auth::server]` impl block; see [`server`]. Anywhere
/// else it is a compile error saying so.
#[proc_macro_attribute]
pub fn resource(_attr: TokenStream, item: TokenStream) -> TokenStream {
    server::misplaced("resource", item.into()).into()
}
