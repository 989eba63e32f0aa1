use mcp_auth::prelude::*;

#[tool(scopes = ["notes:read"])]
fn free_function() -> String {
    String::new()
}

pub struct Plain;

impl Plain {
    #[prompt]
    fn not_in_a_server(&self) {}

    #[resource(uri = "notes://index")]
    fn neither(&self) {}
}

fn main() {}
