mcp_auth::roles! {
    pub enum Role { Admin > Editor > Viewer, Admin > Editor }
}

fn main() {}
