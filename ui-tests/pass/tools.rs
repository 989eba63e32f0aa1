//! Every key of rmcp's `#[tool]` passes through next to `scopes` and `roles`.

use std::sync::Arc;

use mcp_auth::rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    model::{Icon, MetaObject, object},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mcp_auth::roles! { pub enum Role { Admin > Editor > Viewer } }
mcp_auth::scopes! { pub enum Scope { "notes:write" > "notes:read" } }

#[derive(Deserialize, JsonSchema)]
pub struct AddArgs {
    pub a: i64,
    pub b: i64,
}

#[derive(Serialize, JsonSchema)]
pub struct Sum {
    pub sum: i64,
}

pub struct Calc;

#[mcp_auth::server(name = "calc", version = "1.0.0", instructions = "adds", roles = Role, scopes = Scope)]
impl Calc {
    /// Adds two numbers.
    #[tool(scopes = ["notes:read"])]
    async fn add(&self, Parameters(args): Parameters<AddArgs>) -> Json<Sum> {
        Json(Sum {
            sum: args.a + args.b,
        })
    }

    #[tool(
        name = "calc.sub-v2",
        title = "Subtract",
        description = "Subtracts b from a",
        annotations(
            title = "Subtract",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        ),
        icons = vec![Icon::new("https://example.com/sub.png")],
        meta = MetaObject(object(serde_json::json!({ "x": 1 }))),
        roles = ["editor", "admin"],
        scopes = ["notes:write", "notes:read"]
    )]
    fn sub(
        &self,
        Parameters(args): Parameters<AddArgs>,
    ) -> Result<String, mcp_auth::rmcp::ErrorData> {
        Ok((args.a - args.b).to_string())
    }

    #[tool(
        input_schema = Arc::new(object(serde_json::json!({ "type": "object" }))),
        output_schema = Arc::new(object(serde_json::json!({ "type": "object" })))
    )]
    async fn raw(
        &self,
        args: mcp_auth::rmcp::model::JsonObject,
        who: mcp_auth::AccessToken,
    ) -> String {
        format!("{} {}", args.len(), who.subject().unwrap_or("-"))
    }

    /// Not a tool: left alone.
    pub fn helper(&self) -> u8 {
        1
    }
}

fn main() {
    let _ = Calc.helper();
}
