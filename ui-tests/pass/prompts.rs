//! Prompts with arguments, with every key of rmcp's `#[prompt]`, and the caller as a
//! parameter.

use mcp_auth::AccessToken;
use mcp_auth::rmcp::{
    ErrorData,
    handler::server::wrapper::Parameters,
    model::{GetPromptResult, Icon, MetaObject, PromptArgument, PromptMessage, Role as Speaker},
};
use schemars::JsonSchema;
use serde::Deserialize;

mcp_auth::roles! { pub enum Role { Admin > Viewer } }

/// Arguments of `summarize`.
#[derive(Deserialize, JsonSchema)]
pub struct SummarizeArgs {
    /// The topic.
    pub topic: String,
}

pub struct Prompts;

#[mcp_auth::server(roles = Role)]
impl Prompts {
    /// Summarize a topic.
    #[prompt(roles = ["viewer"])]
    async fn summarize(
        &self,
        Parameters(args): Parameters<SummarizeArgs>,
        who: AccessToken,
    ) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Speaker::User,
            format!("{}: summarize {}", who.subject().unwrap_or("-"), args.topic),
        )]
    }

    #[prompt(
        name = "review-code",
        title = "Review",
        description = "Reviews code",
        arguments = Some(vec![PromptArgument::new("code").with_required(true)]),
        icons = vec![Icon::new("https://example.com/r.png")],
        meta = MetaObject::new(),
        scopes = ["code:read"]
    )]
    fn review(&self) -> Result<GetPromptResult, ErrorData> {
        Ok(GetPromptResult::new(vec![]))
    }
}

fn main() {}
