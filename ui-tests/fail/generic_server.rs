pub struct Notes<T>(T);

#[mcp_auth::server]
impl<T: Send + Sync + 'static> Notes<T> {
    #[tool]
    fn list(&self) -> String {
        String::new()
    }
}

fn main() {}
