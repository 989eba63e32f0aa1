//! `undeclared = "deny"`: items without scopes or roles are hidden.

#[derive(Clone)]
pub struct Strict;

#[mcp_auth::server(undeclared = "deny")]
impl Strict {
    #[tool]
    fn hidden(&self) -> String {
        String::new()
    }

    #[tool(scopes = ["strict:use"])]
    fn visible(&self) -> String {
        String::new()
    }
}

fn main() {
    let _ = <Strict as mcp_auth::Protected>::policy;
}
