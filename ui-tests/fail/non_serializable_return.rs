pub struct Note {
    pub title: String,
}

pub struct Notes;

#[mcp_auth::server]
impl Notes {
    #[tool]
    async fn get(&self) -> Note {
        Note {
            title: String::new(),
        }
    }
}

fn main() {}
