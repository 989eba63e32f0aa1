pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[resource(uri = "notes://{id}")]
    fn note(&self, id: String, limit: u32) -> String {
        format!("{id} {limit}")
    }
}

fn main() {}
