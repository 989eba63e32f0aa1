mcp_auth::roles! {
    pub enum Role {
        /// Runs the place.
        Admin > Editor,
        /// Runs the place, again.
        Admin > Viewer,
        Auditor > Viewer,
        #[name = "auditor"] Auditor > Editor,
    }
}

fn main() {}
