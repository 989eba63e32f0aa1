mcp_auth::roles! { pub enum Role { Admin > Editor > Viewer } }

pub struct Notes;

#[mcp_auth::server(roles = Role)]
impl Notes {
    #[tool(roles = ["edtor"])]
    fn delete(&self) -> String {
        String::new()
    }

    #[tool(roles = ["janitor"])]
    fn sweep(&self) -> String {
        String::new()
    }
}

fn main() {}
