pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[tool]
    #[prompt]
    fn both(&self) -> String {
        String::new()
    }

    #[tool]
    const LIMIT: usize = 3;
}

fn main() {}
