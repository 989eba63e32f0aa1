mcp_auth::roles! {
    pub enum Role { #[name = "editor"] Writer > Viewer, Editor > Viewer }
}

fn main() {}
