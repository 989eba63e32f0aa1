pub struct Limited;

#[mcp_auth::server]
impl Limited {
    #[tool(rate = "10/mn")]
    fn typo_unit(&self) -> String {
        String::new()
    }

    #[tool(rate = "0/min")]
    fn zero(&self) -> String {
        String::new()
    }

    #[tool(rate = "ten/min")]
    fn words(&self) -> String {
        String::new()
    }

    #[prompt(rate = "10 per minute")]
    fn no_slash(&self) -> Vec<mcp_auth::rmcp::model::PromptMessage> {
        Vec::new()
    }

    #[resource(uri = "notes://index", rate = 10)]
    fn not_a_string(&self) -> String {
        String::new()
    }

    #[tool(rates = "10/min")]
    fn plural(&self) -> String {
        String::new()
    }
}

fn main() {}
