mcp_auth::scopes! {
    pub enum Scope { "2fa", "notes:read" > "notes-read" }
}

fn main() {}
