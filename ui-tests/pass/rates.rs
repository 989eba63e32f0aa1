//! `rate = "<count>/<unit>"` on tools, prompts and resources, beside the permissions; the
//! policy reports each item's rate.

use mcp_auth::Rate;
use mcp_auth::policy::ItemKind;
use mcp_auth::prelude::*;
use mcp_auth::rmcp::model::PromptMessage;

pub struct Limited;

#[mcp_auth::server]
impl Limited {
    #[tool(scopes = ["notes:write"], rate = "10/min")]
    fn write(&self) -> String {
        String::new()
    }

    #[tool(rate = "5/s")]
    fn fast(&self) -> String {
        String::new()
    }

    #[tool]
    fn unlimited(&self) -> String {
        String::new()
    }

    #[prompt(rate = "100/hour")]
    fn summarize(&self) -> Vec<PromptMessage> {
        Vec::new()
    }

    #[resource(uri = "notes://{id}", rate = "2/second")]
    fn note(&self, id: String) -> String {
        id
    }
}

fn main() {
    let policy = <Limited as Protected>::policy();
    assert_eq!(policy.rate(ItemKind::Tool, "write"), Some(Rate::per_minute(10)));
    assert_eq!(policy.rate(ItemKind::Tool, "fast"), Some(Rate::per_second(5)));
    assert_eq!(policy.rate(ItemKind::Tool, "unlimited"), None);
    assert_eq!(policy.rate(ItemKind::Prompt, "summarize"), Some(Rate::per_hour(100)));
    assert_eq!(policy.rate(ItemKind::Resource, "notes://7"), Some(Rate::per_second(2)));
    assert!(policy.has_rates());
}
