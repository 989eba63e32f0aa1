pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[tool]
    async fn create(&self, title: String) -> String {
        title
    }
}

fn main() {}
