pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[tool(scopes = ["notes read", "a\"b", "back\\slash", ""])]
    fn list(&self) -> String {
        String::new()
    }

    #[prompt(roles = ["team lead"])]
    fn p(&self) -> Vec<mcp_auth::rmcp::model::PromptMessage> {
        Vec::new()
    }
}

fn main() {}
