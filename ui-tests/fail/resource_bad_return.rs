pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[resource(uri = "notes://count")]
    fn count(&self) -> u32 {
        0
    }
}

fn main() {}
