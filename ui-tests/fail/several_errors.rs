//! One macro call, every mistake reported at once.

pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[tool(scope = ["notes:read"])]
    fn list(&self) -> String {
        String::new()
    }

    #[tool(name = "list", scopes = ["notes read"])]
    fn list_again(&self) -> String {
        String::new()
    }

    #[tool(roles = [])]
    fn no_self() -> String {
        String::new()
    }

    #[resource(uri = "notes://{id}")]
    fn note(&self) -> String {
        String::new()
    }
}

fn main() {}
