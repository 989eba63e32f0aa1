pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[tool]
    fn list(&self) -> String {
        String::new()
    }

    #[tool(name = "list")]
    fn list_all(&self) -> String {
        String::new()
    }

    #[prompt(name = "hello")]
    fn a(&self) -> Vec<mcp_auth::rmcp::model::PromptMessage> {
        Vec::new()
    }

    #[prompt(name = "hello")]
    fn b(&self) -> Vec<mcp_auth::rmcp::model::PromptMessage> {
        Vec::new()
    }

    #[resource(uri = "notes://index")]
    fn index(&self) -> String {
        String::new()
    }

    #[resource(uri = "notes://index")]
    fn index_again(&self) -> String {
        String::new()
    }
}

fn main() {}
