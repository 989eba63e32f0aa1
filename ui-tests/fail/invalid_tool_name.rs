pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[tool(name = "list notes")]
    fn list(&self) -> String {
        String::new()
    }

    #[tool(name = "")]
    fn empty(&self) -> String {
        String::new()
    }

    #[tool]
    fn r#type(&self) -> String {
        String::new()
    }
}

fn main() {}
