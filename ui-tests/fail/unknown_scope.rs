mcp_auth::scopes! { pub enum Scope { "notes:write" > "notes:read" } }

pub struct Notes;

#[mcp_auth::server(scopes = Scope)]
impl Notes {
    #[resource(uri = "notes://index", scopes = ["notes:raed"])]
    fn index(&self) -> String {
        String::new()
    }
}

fn main() {}
