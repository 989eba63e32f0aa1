mcp_auth::roles! {
    pub enum Role { Admin > Editor > Viewer, Viewer > Admin }
}

fn main() {}
