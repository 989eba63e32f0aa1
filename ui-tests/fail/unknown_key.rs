pub struct Notes;

#[mcp_auth::server(nmae = "notes", undeclared = "closed")]
impl Notes {
    #[tool(scope = ["notes:read"], descripton = "List")]
    fn list(&self) -> String {
        String::new()
    }

    #[prompt(role = ["viewer"], input_schema = None)]
    fn p(&self) -> Vec<mcp_auth::rmcp::model::PromptMessage> {
        Vec::new()
    }

    #[resource(uri = "notes://index", mime = "text/plain")]
    fn index(&self) -> String {
        String::new()
    }

    #[tool(annotations(read_only = true), local)]
    fn annotated(&self) -> String {
        String::new()
    }
}

fn main() {}
