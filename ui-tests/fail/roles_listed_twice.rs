mcp_auth::roles! {
    pub enum Role { Admin > Viewer, Viewer }
}

fn main() {}
