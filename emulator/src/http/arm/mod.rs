//! The ARM surface: subscriptions, tenants, resource groups, workspaces, role definitions and role
//! assignments. One dispatcher authenticates (bearer token, RS256, audience, tenant, expiry against
//! the emulator clock), checks the api-version, authorizes against [`route::ACTIONS`], then calls
//! the resource's handler.

pub mod authn;
pub mod authorization;
mod endpoints;
mod resources;
pub mod route;
mod versions;

use actix_web::http::header::HeaderValue;
use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use uuid::Uuid;

use super::origin;
use crate::decision::Gate;
use crate::domain::scope::Scope;
use crate::error::ArmError;
use crate::state::AppState;
use authn::Caller;
use route::{Route, Target};

/// Static prefixes with a catch-all service: no per-request pattern matching, and the dispatcher
/// parses the (case-insensitive) rest itself.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for prefix in ["/subscriptions", "/tenants", "/providers"] {
        cfg.service(web::scope(prefix).default_service(web::to(dispatch)));
    }
}

/// What every ARM handler receives.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub req: &'a HttpRequest,
    pub caller: &'a Caller,
    pub gate: &'a Gate<'a>,
    pub base: &'a str,
    pub api_version: &'a str,
    pub body: &'a [u8],
}

pub type ArmResult = Result<HttpResponse, ArmError>;

impl Ctx<'_> {
    /// `action` at `scope`, or ARM's 403 (journaled instead in log-only mode).
    pub fn require(&self, action: &str, scope: &Scope) -> Result<(), ArmError> {
        Ok(self.gate.require(action, scope)?)
    }

    /// Per-item check of a collection.
    pub fn may(&self, action: &str, scope: &Scope) -> bool {
        self.gate.may(action, scope)
    }

    /// A collection is listed for callers with some role in (or above) its scope, filtered per
    /// item; callers with none get ARM's 403 for the collection's read action.
    pub fn require_access_within(&self, action: &str, scope: &Scope) -> Result<(), ArmError> {
        Ok(self.gate.require_access_within(action, scope)?)
    }
}

/// Renders success and failure alike with ARM's request-tracking headers.
pub async fn dispatch(state: Data<AppState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let gate = Gate::new(&state, &req);
    let mut response = match handle(&state, &req, &body, &gate) {
        Ok(r) => r,
        Err(e) => e.error_response(),
    };
    let request_id = Uuid::new_v4().to_string();
    let correlation = req
        .headers()
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .map_or_else(|| request_id.clone(), |u| u.to_string());
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ms-request-id", request_id.clone()),
        ("x-ms-correlation-request-id", correlation),
        (
            "x-ms-routing-request-id",
            format!("EMULATOR:{}:{request_id}", state.clock.unix()),
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(actix_web::http::header::HeaderName::from_static(name), v);
        }
    }
    if let Some(id) = req.headers().get("x-ms-client-request-id").cloned() {
        headers.insert(
            actix_web::http::header::HeaderName::from_static("x-ms-client-request-id"),
            id,
        );
    }
    response
}

fn handle(state: &AppState, req: &HttpRequest, body: &[u8], gate: &Gate<'_>) -> ArmResult {
    let base = origin(state, req);
    let world = state.world();
    let caller = authn::authenticate(state, &world, req, gate)?;
    let route = Route::parse(req.path(), req.method())?;
    let api_version = versions::check(req.query_string(), route.target.family())?;
    if let Some(sub) = route.target.subscription() {
        if sub.parse().ok().and_then(|id| world.subscription(id)).is_none() {
            return Err(ArmError::subscription_not_found(sub));
        }
    }
    let ctx = Ctx {
        state,
        req,
        caller: &caller,
        gate,
        base: &base,
        api_version: &api_version,
        body,
    };
    if let route::Check::AtScope(action) = route.check {
        ctx.require(action, &route.target.scope())?;
    }
    match &route.target {
        Target::Subscriptions => resources::list_subscriptions(&ctx),
        Target::Subscription { sub } => resources::get_subscription(&ctx, sub),
        Target::Tenants => resources::list_tenants(&ctx),
        Target::ResourceGroups { sub } => resources::list_resource_groups(&ctx, sub),
        Target::ResourceGroup { sub, rg } => resources::resource_group(&ctx, sub, rg),
        Target::Workspaces { sub, rg } => resources::list_workspaces(&ctx, sub, rg.as_deref()),
        Target::Workspace { sub, rg, name } => resources::workspace(&ctx, sub, rg, name),
        Target::WorkspaceKeys { sub, rg, name } => resources::workspace_keys(&ctx, sub, rg, name),
        Target::Resources { sub, rg } => resources::list_generic(&ctx, sub, rg.as_deref()),
        Target::OnlineEndpoints { ws } => endpoints::list(&ctx, ws),
        Target::OnlineEndpoint { ws, name } => endpoints::endpoint(&ctx, ws, name),
        Target::EndpointAction { ws, name, action } => endpoints::action(&ctx, ws, name, *action),
        Target::Deployments { ws, endpoint } => endpoints::deployments(&ctx, ws, endpoint),
        Target::Deployment { ws, endpoint, name } => endpoints::deployment(&ctx, ws, endpoint, name),
        Target::RoleAssignments { scope } => authorization::list_assignments(&ctx, scope),
        Target::RoleAssignment { scope, name } => authorization::assignment(&ctx, scope, name),
        Target::RoleDefinitions { scope } => authorization::list_definitions(&ctx, scope),
        Target::RoleDefinition { scope, id } => authorization::definition(&ctx, scope, id),
    }
}
