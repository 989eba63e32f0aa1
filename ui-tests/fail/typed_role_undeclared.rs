mcp_auth::roles! { pub enum Role { Admin > Viewer } }
mcp_auth::scopes! { pub enum Scope { "notes:read" } }

pub struct Notes;

#[mcp_auth::server(scopes = Scope)]
impl Notes {
    #[tool(roles = [Role::Admin], scopes = [Role::Viewer])]
    fn list(&self) -> String {
        String::new()
    }
}

fn main() {}
