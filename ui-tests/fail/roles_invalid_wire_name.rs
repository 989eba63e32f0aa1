mcp_auth::roles! {
    pub enum Role { #[name = "realm admin"] RealmAdmin > Viewer, Émigré }
}

fn main() {}
