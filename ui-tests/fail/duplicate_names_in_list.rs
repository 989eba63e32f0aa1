pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[tool(scopes = ["notes:read", "notes:read"], roles = ["editor", "admin", "editor"])]
    fn list(&self) -> String {
        String::new()
    }
}

fn main() {}
