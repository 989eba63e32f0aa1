mcp_auth::roles! {
    pub enum Role {}
}

fn main() {}
