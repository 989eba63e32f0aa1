pub struct Notes;

#[mcp_auth::server]
impl Clone for Notes {
    fn clone(&self) -> Self {
        Notes
    }
}

fn main() {}
