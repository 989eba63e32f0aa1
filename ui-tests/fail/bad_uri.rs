pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[resource(uri = "index")]
    fn index(&self) -> String {
        String::new()
    }

    #[resource(uri = "notes://{?query}")]
    fn search(&self) -> String {
        String::new()
    }

    #[resource(uri = "notes://{id")]
    fn note(&self) -> String {
        String::new()
    }

    #[resource(name = "nameless")]
    fn nothing(&self) -> String {
        String::new()
    }
}

fn main() {}
