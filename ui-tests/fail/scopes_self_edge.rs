mcp_auth::scopes! {
    pub enum Scope { "notes:admin" > "notes:admin" }
}

fn main() {}
