//! `handler = false`: the checked methods are inherent `auth_*` methods for a hand-written
//! `impl ServerHandler`, which may add methods of its own.

use mcp_auth::rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::*,
    service::{NotificationContext, RequestContext},
};

pub struct Mixed;

#[mcp_auth::server(handler = false, name = "mixed")]
impl Mixed {
    #[tool(scopes = ["a:b"])]
    fn t(&self) -> String {
        String::new()
    }

    #[prompt(roles = ["admin"])]
    fn p(&self) -> Vec<PromptMessage> {
        Vec::new()
    }

    #[resource(uri = "x://{id}")]
    fn r(&self, id: String) -> String {
        id
    }
}

impl ServerHandler for Mixed {
    fn get_info(&self) -> ServerConfig {
        self.auth_get_info()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.auth_call_tool(request, context).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.auth_list_tools(request, context).await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.auth_get_tool(name)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        self.auth_get_prompt(request, context).await
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        self.auth_list_prompts(request, context).await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.auth_read_resource(request, context).await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        self.auth_list_resources(request, context).await
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        self.auth_list_resource_templates(request, context).await
    }

    // A hand-written method next to the generated ones.
    async fn on_initialized(&self, _context: NotificationContext<RoleServer>) {}
}

fn _serves() {
    let _ = mcp_auth::AuthServer::new(Mixed);
}

fn main() {}
