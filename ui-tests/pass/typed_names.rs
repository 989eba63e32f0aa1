//! Roles and scopes given as variants of the declared types instead of strings.

mcp_auth::roles! { pub enum Role { Admin > Editor > Viewer } }
mcp_auth::scopes! { pub enum Scope { "notes:write" > "notes:read" } }

pub struct Typed;

#[mcp_auth::server(roles = Role, scopes = Scope)]
impl Typed {
    #[tool(roles = [Role::Editor, "admin"], scopes = [Scope::NotesRead])]
    fn t(&self) -> String {
        String::new()
    }
}

fn main() {}
