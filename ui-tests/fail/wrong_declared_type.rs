mcp_auth::roles! { pub enum Role { Admin > Viewer } }
mcp_auth::scopes! { pub enum Scope { "notes:read" } }

pub struct Notes;

#[mcp_auth::server(roles = Scope, scopes = String)]
impl Notes {}

fn main() {}
