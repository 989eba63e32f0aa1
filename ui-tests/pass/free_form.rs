//! No role or scope type declared: any well-formed strings, no hierarchy. The prelude's
//! attribute names, and a server with no items at all.

use mcp_auth::prelude::*;

pub struct Loose;

#[server]
impl Loose {
    #[tool(scopes = ["anything:goes", "openid"], roles = ["whoever"])]
    fn t(&self) -> String {
        String::new()
    }
}

pub struct Empty;

#[mcp_auth::server]
impl Empty {
    pub fn new() -> Self {
        Empty
    }
}

fn _serves() {
    let _ = AuthServer::new(Loose);
    let _ = AuthServer::new(Empty::new());
}

fn main() {}
