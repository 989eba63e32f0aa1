mcp_auth::scopes! {
    pub enum Scope { "notes read", Quote = "say\"hi", Empty = "", Slash = "a\\b" }
}

fn main() {}
