pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[tool]
    fn list() -> String {
        String::new()
    }

    #[tool]
    fn edit(&mut self) -> String {
        String::new()
    }

    #[prompt]
    fn owned(self) -> Vec<mcp_auth::rmcp::model::PromptMessage> {
        Vec::new()
    }
}

fn main() {}
