pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[prompt]
    fn summarize(&self, count: u32) -> Vec<mcp_auth::rmcp::model::PromptMessage> {
        let _ = count;
        Vec::new()
    }
}

fn main() {}
