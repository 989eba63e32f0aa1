//! Resources: static URIs and templates (`{var}`, `{+var}`), async or not, returning text,
//! blobs, JSON, rmcp's own types or a `Result`; extractor parameters.

use mcp_auth::AccessToken;
use mcp_auth::rmcp::{
    ErrorData, Json, RoleServer,
    model::{ReadResourceResult, ResourceContents},
    service::RequestContext,
};
use serde::Serialize;

#[derive(Serialize)]
pub struct Note {
    pub id: String,
}

pub struct Files;

#[mcp_auth::server(scopes = Scope)]
impl Files {
    /// The index (description from this doc comment).
    #[resource(uri = "notes://index", scopes = ["notes:read"])]
    fn index(&self) -> &'static str {
        "index"
    }

    #[resource(
        uri = "notes://readme",
        name = "readme",
        title = "Read me",
        description = "Start here",
        mime_type = "text/markdown"
    )]
    async fn readme(&self) -> String {
        "# hi".into()
    }

    #[resource(uri = "notes://{id}", scopes = ["notes:read"])]
    async fn note(&self, id: String) -> Result<Json<Note>, ErrorData> {
        Ok(Json(Note { id }))
    }

    #[resource(uri = "notes://{id}/rev/{rev}")]
    fn revision(&self, rev: String, who: AccessToken, id: String) -> serde_json::Value {
        serde_json::json!({ "id": id, "rev": rev, "by": who.subject() })
    }

    #[resource(uri = "file:///{+path}", mime_type = "application/octet-stream")]
    async fn file(&self, path: String, who: Option<AccessToken>) -> Vec<u8> {
        let _ = who;
        path.into_bytes()
    }

    #[resource(uri = "raw://result")]
    fn raw(&self, ctx: RequestContext<RoleServer>) -> ReadResourceResult {
        let _ = ctx;
        ReadResourceResult::new(vec![ResourceContents::text("x", "raw://result")])
    }

    #[resource(uri = "raw://contents")]
    fn contents(&self) -> Vec<ResourceContents> {
        vec![ResourceContents::text("x", "raw://contents")]
    }

    #[resource(uri = "raw://one")]
    fn one(&self) -> Result<ResourceContents, ErrorData> {
        Ok(ResourceContents::text("x", "raw://one"))
    }
}

mcp_auth::scopes! { pub enum Scope { "notes:write" > "notes:read" } }

fn main() {}
