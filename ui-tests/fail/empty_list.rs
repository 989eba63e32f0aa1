pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[tool(scopes = [])]
    fn list(&self) -> String {
        String::new()
    }

    #[tool(roles = "editor")]
    fn edit(&self) -> String {
        String::new()
    }
}

fn main() {}
