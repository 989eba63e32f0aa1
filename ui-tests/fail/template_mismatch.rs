pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[resource(uri = "notes://{id}")]
    fn note(&self, idd: String) -> String {
        idd
    }

    #[resource(uri = "notes://{id}/rev/{rev}")]
    fn revision(&self, id: u64, rev: String) -> String {
        format!("{id}{rev}")
    }

    #[resource(uri = "notes://index")]
    fn index(&self, page: String) -> String {
        page
    }
}

fn main() {}
