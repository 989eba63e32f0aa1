//! [`Authenticated`]: the rmcp handler wrapper that [`AuthServer`](crate::AuthServer) puts
//! around the application's handler. For every request it makes the caller's token the
//! [`current_token`](crate::current_token) while the handler runs, and reports the server's
//! own name and version instead of rmcp's.

#![allow(deprecated)] // rmcp marks the legacy subscribe/unsubscribe methods deprecated.

use std::{borrow::Cow, future::Future, sync::Arc};

use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    model::*,
    service::{MaybeSendFuture, NotificationContext, RequestContext, SubscriptionContext},
};

use crate::{
    AccessToken,
    context::{scope_opt, token_from_extensions},
};

/// Wraps an rmcp [`ServerHandler`] so handlers can call
/// [`current_token`](crate::current_token). Every method delegates to the inner handler.
#[derive(Debug)]
pub struct Authenticated<H> {
    inner: Arc<H>,
    info: Arc<InfoOverride>,
    local: Option<AccessToken>,
}

impl<H> Clone for Authenticated<H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            info: self.info.clone(),
            local: self.local.clone(),
        }
    }
}

/// Name and version to report in `serverInfo`.
#[derive(Debug, Default, Clone)]
pub(crate) struct InfoOverride {
    pub(crate) name: Option<String>,
    pub(crate) version: Option<String>,
}

impl<H: ServerHandler> Authenticated<H> {
    /// Wrap `inner`.
    pub fn new(inner: H) -> Self {
        Self::from_arc(Arc::new(inner), Arc::default())
    }

    pub(crate) fn from_arc(inner: Arc<H>, info: Arc<InfoOverride>) -> Self {
        Self {
            inner,
            info,
            local: None,
        }
    }

    /// Wrap `inner` for a transport without HTTP (stdio, in-memory): every request that
    /// carries no token of its own runs as `identity` — visible to the generated permission
    /// checks, the [`AccessToken`] extractor and [`current_token`](crate::current_token).
    pub fn with_local_identity(inner: H, identity: AccessToken) -> Self {
        Self {
            inner: Arc::new(inner),
            info: Arc::default(),
            local: Some(identity),
        }
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &H {
        &self.inner
    }
}

/// List results may depend on the caller: a cache hint of `public` becomes `private`.
macro_rules! private_list {
    ($( fn $name:ident -> $out:ty; )*) => {
        $(
            fn $name(
                &self,
                request: Option<PaginatedRequestParams>,
                context: RequestContext<RoleServer>,
            ) -> impl Future<Output = Result<$out, McpError>> + MaybeSendFuture + '_ {
                let mut context = context;
                let token = self.caller(&mut context.extensions);
                let fut = scope_opt(token, self.inner.$name(request, context));
                async move {
                    let mut result = fut.await?;
                    if result.cache_scope.is_some() {
                        result.cache_scope = Some(CacheScope::Private);
                    }
                    Ok(result)
                }
            }
        )*
    };
}

macro_rules! with_caller {
    ($( fn $name:ident(&self, $($arg:ident : $ty:ty),* ; $ctx:ident : $ctx_ty:ty) -> $out:ty; )*) => {
        $(
            fn $name(
                &self,
                $($arg: $ty,)*
                $ctx: $ctx_ty,
            ) -> impl Future<Output = $out> + MaybeSendFuture + '_ {
                let mut $ctx = $ctx;
                let token = self.caller(&mut $ctx.extensions);
                scope_opt(token, self.inner.$name($($arg,)* $ctx))
            }
        )*
    };
}

impl<H: ServerHandler> ServerHandler for Authenticated<H> {
    with_caller! {
        fn ping(&self, ; context: RequestContext<RoleServer>) -> Result<(), McpError>;
        fn complete(&self, request: CompleteRequestParams; context: RequestContext<RoleServer>) -> Result<CompleteResult, McpError>;
        fn set_level(&self, request: SetLevelRequestParams; context: RequestContext<RoleServer>) -> Result<(), McpError>;
        fn get_prompt(&self, request: GetPromptRequestParams; context: RequestContext<RoleServer>) -> Result<GetPromptResponse, McpError>;
        fn read_resource(&self, request: ReadResourceRequestParams; context: RequestContext<RoleServer>) -> Result<ReadResourceResponse, McpError>;
        fn subscribe(&self, request: SubscribeRequestParams; context: RequestContext<RoleServer>) -> Result<(), McpError>;
        fn unsubscribe(&self, request: UnsubscribeRequestParams; context: RequestContext<RoleServer>) -> Result<(), McpError>;
        fn call_tool(&self, request: CallToolRequestParams; context: RequestContext<RoleServer>) -> Result<CallToolResponse, McpError>;
        fn on_custom_request(&self, request: CustomRequest; context: RequestContext<RoleServer>) -> Result<CustomResult, McpError>;
        fn get_task(&self, request: GetTaskParams; context: RequestContext<RoleServer>) -> Result<GetTaskResult, McpError>;
        fn update_task(&self, request: UpdateTaskParams; context: RequestContext<RoleServer>) -> Result<(), McpError>;
        fn cancel_task(&self, request: CancelTaskParams; context: RequestContext<RoleServer>) -> Result<(), McpError>;
        fn list_skills(&self, request: Option<PaginatedRequestParams>; context: RequestContext<RoleServer>) -> Result<ListSkillsResult, McpError>;
        fn get_skill(&self, request: GetSkillRequestParams; context: RequestContext<RoleServer>) -> Result<GetSkillResult, McpError>;
        fn read_resource_directory(&self, request: ReadResourceDirectoryRequestParams; context: RequestContext<RoleServer>) -> Result<ReadResourceDirectoryResult, McpError>;
        fn on_cancelled(&self, notification: CancelledNotificationParam; context: NotificationContext<RoleServer>) -> ();
        fn on_progress(&self, notification: ProgressNotificationParam; context: NotificationContext<RoleServer>) -> ();
        fn on_initialized(&self, ; context: NotificationContext<RoleServer>) -> ();
        fn on_roots_list_changed(&self, ; context: NotificationContext<RoleServer>) -> ();
        fn on_custom_notification(&self, notification: CustomNotification; context: NotificationContext<RoleServer>) -> ();
    }

    private_list! {
        fn list_tools -> ListToolsResult;
        fn list_prompts -> ListPromptsResult;
        fn list_resources -> ListResourcesResult;
        fn list_resource_templates -> ListResourceTemplatesResult;
    }

    fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<DiscoverResult, McpError>> + MaybeSendFuture + '_ {
        let mut context = context;
        let token = self.caller(&mut context.extensions);
        let fut = scope_opt(token, self.inner.discover(context));
        async move {
            let mut result = fut.await?;
            if let Some(mut info) = result.server_info() {
                self.patch_info(&mut info);
                result.set_server_info(info);
            }
            Ok(result)
        }
    }

    fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<InitializeResult, McpError>> + MaybeSendFuture + '_ {
        let mut context = context;
        let token = self.caller(&mut context.extensions);
        let fut = scope_opt(token, self.inner.initialize(request, context));
        async move {
            let mut result = fut.await?;
            self.patch_info(&mut result.server_info);
            Ok(result)
        }
    }

    fn negotiate_initialize(
        &self,
        request: &InitializeRequestParams,
    ) -> Result<InitializeResult, McpError> {
        let mut result = self.inner.negotiate_initialize(request)?;
        self.patch_info(&mut result.server_info);
        Ok(result)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.inner.supported_protocol_versions()
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        self.inner.accepted_subscription_filter(requested)
    }

    fn listen(
        &self,
        context: SubscriptionContext,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        self.inner.listen(context)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.get_tool(name)
    }

    fn get_info(&self) -> ServerConfig {
        let mut info = self.inner.get_info();
        self.patch_info(&mut info.server_info);
        info
    }
}

impl<H> Authenticated<H> {
    /// The request's own token, else the local identity (then also put where handlers and
    /// the generated checks look for it).
    fn caller(&self, extensions: &mut Extensions) -> Option<AccessToken> {
        if let Some(t) = token_from_extensions(extensions) {
            return Some(t);
        }
        let local = self.local.clone()?;
        extensions.insert(local.clone());
        Some(local)
    }

    fn patch_info(&self, implementation: &mut Implementation) {
        if let Some(name) = &self.info.name {
            implementation.name.clone_from(name);
        }
        if let Some(version) = &self.info.version {
            implementation.version.clone_from(version);
        }
    }
}
