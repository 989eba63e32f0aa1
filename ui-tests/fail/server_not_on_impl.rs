#[mcp_auth::server]
pub struct Notes;

fn main() {}
