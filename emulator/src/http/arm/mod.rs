//! The ARM surface: subscriptions, tenants, resource groups, workspaces, online endpoints and
//! their deployments, computes, user-assigned identities, role definitions and role assignments,
//! and the polls of long-running operations.
//!
//! One dispatcher authenticates (bearer token, RS256, audience, tenant, expiry against the
//! emulator clock), parses the path into a [`route::Target`], checks the api-version, checks the
//! permission the [`route::ACTIONS`] table declares, then calls the one handler for the target's
//! kind and the method. Handlers live one file per resource type. A new resource type is a
//! `Target` variant, its `ACTIONS` rows, its arm of `Kind::api_type` (`versions.rs`: the type's
//! entry in `openapi/fidelity/api-versions.json`), a file of handlers and a match arm here. Writes
//! Azure runs as long-running operations answer through `operations.rs`.

mod actions;
mod authn;
mod body_cache;
mod computes;
mod context;
mod deployments;
pub(crate) mod filter;
mod generic_resources;
mod json;
mod online_endpoints;
mod operations;
mod resource_groups;
mod role_assignments;
mod role_definitions;
pub mod route;
mod subscriptions;
mod user_assigned_identities;
use user_assigned_identities as identities;
pub(crate) mod versions;
mod workspace_view;
mod workspaces;

pub use authn::{authenticate, Caller};
pub use body_cache::BodyCache;
pub use context::{ArmResult, Ctx};

use actix_web::http::header::{HeaderName, HeaderValue, CACHE_CONTROL, EXPIRES, PRAGMA};
use actix_web::http::Method;
use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use uuid::fmt::Hyphenated;
use uuid::Uuid;

use crate::decision::Gate;
use crate::error::ArmError;
use crate::http::surface::request_info;
use crate::state::AppState;
use route::{Check, Route, Target};

/// Static prefixes with a catch-all service: no per-request pattern matching, and the dispatcher
/// parses the (case-insensitive) rest itself.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for prefix in ["/subscriptions", "/tenants", "/providers"] {
        cfg.service(web::scope(prefix).default_service(web::to(dispatch)));
    }
}

/// Renders success and failure alike with ARM's request-tracking and caching headers.
pub async fn dispatch(state: Data<AppState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let gate = Gate::new(&state, &req);
    let mut response = match handle(&state, &req, &body, &gate).await {
        Ok(r) => r,
        Err(e) => e.error_response(),
    };
    tracking_headers(&state, &req, &mut response);
    response
}

/// `x-ms-request-id`, `x-ms-correlation-request-id` (the client's, when it sent a GUID),
/// `x-ms-routing-request-id` in ARM's `REGION:yyyyMMddTHHmmssZ:guid` form, the client's
/// `x-ms-client-request-id` echoed and `no-cache` headers — as ARM sends them (JSON's
/// `charset=utf-8`: [`crate::http::surface`]) (recorded answers, `openapi/fidelity/SOURCES.md`).
/// Every request pays for these: ids are written into stack buffers, names are constants.
fn tracking_headers(state: &AppState, req: &HttpRequest, response: &mut HttpResponse) {
    const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
    const CORRELATION_ID: HeaderName = HeaderName::from_static("x-ms-correlation-request-id");
    const ROUTING_ID: HeaderName = HeaderName::from_static("x-ms-routing-request-id");
    const CLIENT_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
    const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");
    let mut ids = [0u8; 2 * Hyphenated::LENGTH];
    let (request_buf, correlation_buf) = ids.split_at_mut(Hyphenated::LENGTH);
    let request_id = request_info(req).id.hyphenated().encode_lower(request_buf);
    let correlation = req
        .headers()
        .get(&CORRELATION_ID)
        .and_then(|v| Uuid::try_parse_ascii(v.as_bytes()).ok())
        .map_or(&*request_id, |u| u.hyphenated().encode_lower(correlation_buf));
    let routing = routing_request_id(state, correlation);
    let client_request_id = req.headers().get(&CLIENT_ID).cloned();
    let headers = response.headers_mut();
    for (name, value) in [(REQUEST_ID, &*request_id), (CORRELATION_ID, correlation)] {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    // Taken over without a copy.
    if let Ok(v) = HeaderValue::try_from(routing) {
        headers.insert(ROUTING_ID, v);
    }
    headers.insert(CACHE_CONTROL, NO_CACHE);
    headers.insert(PRAGMA, NO_CACHE);
    headers.insert(EXPIRES, HeaderValue::from_static("-1"));
    if let Some(id) = client_request_id {
        headers.insert(CLIENT_ID, id);
    }
}

/// `EMULATOR:yyyyMMddTHHmmssZ:{correlation id}` on the emulator clock. The digits are written
/// by hand (every ARM answer carries one; `write!` with six padded numbers cost more than the
/// rest of the headers).
fn routing_request_id(state: &AppState, correlation: &str) -> String {
    let now = state.clock.now();
    let mut id = String::with_capacity(26 + correlation.len());
    id.push_str("EMULATOR:");
    let Ok(year) = u32::try_from(now.year()) else {
        // A clock set before year 0: `write!` says it as it is.
        use std::fmt::Write;
        let _ = write!(id, "{:04}", now.year());
        return routing_rest(id, now, correlation);
    };
    push_digits(&mut id, year, 4);
    routing_rest(id, now, correlation)
}

/// The routing id after its year: `MMddTHHmmssZ:{correlation id}`.
fn routing_rest(mut id: String, now: time::OffsetDateTime, correlation: &str) -> String {
    push_digits(&mut id, u8::from(now.month()).into(), 2);
    push_digits(&mut id, now.day().into(), 2);
    id.push('T');
    for part in [now.hour(), now.minute(), now.second()] {
        push_digits(&mut id, part.into(), 2);
    }
    id.push_str("Z:");
    id.push_str(correlation);
    id
}

/// `n` in decimal, zero-padded to at least `width` digits (as `{:0width$}`).
fn push_digits(out: &mut String, n: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let (mut rest, mut at) = (n, digits.len());
    while rest > 0 || digits.len() - at < width {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

async fn handle(state: &Data<AppState>, req: &HttpRequest, body: &[u8], gate: &Gate<'_>) -> ArmResult {
    let world = state.world();
    let caller = authn::authenticate(state, &world, req, gate)?;
    let route = Route::parse(req.path(), req.method())?;
    let api_version = versions::check(req.query_string(), route.target.api_type(), || {
        region_of(&world, &route.target, body)
    })?;
    if let Some(sub) = route.target.subscription() {
        if !crate::domain::ids::is_canonical_guid(sub) {
            return Err(ArmError::invalid_subscription_id(sub));
        }
        if sub.parse().ok().and_then(|id| world.subscription(id)).is_none() {
            return Err(ArmError::subscription_not_found(sub));
        }
    }
    let base = state.origins.for_request(req);
    let ctx = Ctx {
        data: state,
        req,
        caller: &caller,
        gate,
        base,
        api_version,
        body,
        world,
    };
    if let Check::AtScope(action) = route.check {
        ctx.require(action, &route.target.scope())?;
    }
    call(&ctx, &route.target, req.method()).await
}

/// The region a provider's api-version error names: the resource's (or its workspace's, or its
/// resource group's) when the path names one that exists, else the body's `location`, else none.
/// ARM's choice for a collection at subscription scope is not known (`openapi/fidelity/SOURCES.md`).
fn region_of(world: &crate::domain::World, target: &Target, body: &[u8]) -> String {
    let sub = target.subscription().and_then(|s| s.parse().ok());
    let (rg, ws) = match target {
        Target::Workspace { rg, name, .. } | Target::WorkspaceKeys { rg, name, .. } => (Some(rg), Some(name)),
        Target::Workspaces { rg, .. } | Target::Resources { rg, .. } | Target::UserAssignedIdentities { rg, .. } => {
            (rg.as_ref(), None)
        }
        Target::UserAssignedIdentity { rg, .. } => (Some(rg), None),
        Target::ResourceGroup { rg, .. } => (Some(rg), None),
        _ => match target.workspace() {
            Some(w) => (Some(&w.rg), Some(&w.name)),
            None => (None, None),
        },
    };
    let from_world = sub.and_then(|sub| match (rg, ws) {
        (Some(rg), Some(ws)) => world.workspace(sub, rg, ws).map(|w| w.location.clone()),
        (Some(rg), None) => world.resource_group(sub, rg).map(|g| g.location.clone()),
        _ => None,
    });
    from_world
        .or_else(|| {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("location")?.as_str().map(str::to_string))
        })
        .unwrap_or_default()
}

/// The one handler for the target's kind and the method ([`Route::parse`] refused other methods).
/// Writes and the `POST` actions are boxed: their futures (a few KB, holding a store write) would
/// otherwise set the size of every ARM request's future, which actix moves into the heap and
/// copies on each request, reads included.
async fn call(ctx: &Ctx<'_>, target: &Target, method: &Method) -> ArmResult {
    match *method {
        Method::PUT | Method::PATCH => Box::pin(put(ctx, target)).await,
        Method::DELETE => Box::pin(delete(ctx, target)).await,
        _ => read(ctx, target).await,
    }
}

/// `PUT` and `PATCH`: create or update.
async fn put(ctx: &Ctx<'_>, target: &Target) -> ArmResult {
    match target {
        Target::ResourceGroup { sub, rg } => resource_groups::put(ctx, sub, rg).await,
        Target::Workspace { sub, rg, name } => workspaces::put(ctx, sub, rg, name).await,
        Target::OnlineEndpoint { ws, name } => online_endpoints::put(ctx, ws, name).await,
        Target::RoleAssignment { scope, name } => role_assignments::put(ctx, scope, name).await,
        Target::RoleDefinition { scope, id } => role_definitions::put(ctx, scope, id).await,
        Target::UserAssignedIdentity { sub, rg, name } => identities::put(ctx, sub, rg, name).await,
        _ => Err(ArmError::method_not_allowed("PUT", ctx.req.path())),
    }
}

/// `DELETE`.
async fn delete(ctx: &Ctx<'_>, target: &Target) -> ArmResult {
    match target {
        Target::ResourceGroup { sub, rg } => resource_groups::delete(ctx, sub, rg).await,
        Target::Workspace { sub, rg, name } => workspaces::delete(ctx, sub, rg, name).await,
        Target::OnlineEndpoint { ws, name } => online_endpoints::delete(ctx, ws, name).await,
        Target::RoleAssignment { scope, name } => role_assignments::delete(ctx, scope, name).await,
        Target::RoleDefinition { scope, id } => role_definitions::delete(ctx, scope, id).await,
        Target::UserAssignedIdentity { sub, rg, name } => identities::delete(ctx, sub, rg, name).await,
        _ => Err(ArmError::method_not_allowed("DELETE", ctx.req.path())),
    }
}

/// `GET` of a resource or a collection, and the `POST` actions.
async fn read(ctx: &Ctx<'_>, target: &Target) -> ArmResult {
    match target {
        Target::Subscriptions => subscriptions::list(ctx),
        Target::Subscription { sub } => subscriptions::get(ctx, sub),
        Target::Tenants => subscriptions::list_tenants(ctx),
        Target::ResourceGroups { sub } => resource_groups::list(ctx, sub),
        Target::ResourceGroup { sub, rg } => resource_groups::get(ctx, sub, rg),
        Target::Workspaces { sub, rg } => workspaces::list(ctx, sub, rg.as_deref()),
        Target::Workspace { sub, rg, name } => workspaces::get(ctx, sub, rg, name),
        Target::WorkspaceKeys { sub, rg, name } => workspaces::list_keys(ctx, sub, rg, name),
        Target::Resources { sub, rg } => generic_resources::list(ctx, sub, rg.as_deref()),
        Target::OnlineEndpoints { ws } => online_endpoints::list(ctx, ws),
        Target::OnlineEndpoint { ws, name } => online_endpoints::get(ctx, ws, name),
        Target::EndpointListKeys { ws, name } => online_endpoints::list_keys(ctx, ws, name),
        Target::EndpointRegenerateKeys { ws, name } => Box::pin(online_endpoints::regenerate_keys(ctx, ws, name)).await,
        Target::EndpointToken { ws, name } => Box::pin(online_endpoints::token(ctx, ws, name)).await,
        Target::Deployments { ws, endpoint } => deployments::list(ctx, ws, endpoint),
        Target::Deployment { ws, endpoint, name } => deployments::get(ctx, ws, endpoint, name),
        Target::RoleAssignments { scope } => role_assignments::list(ctx, scope),
        Target::RoleAssignment { scope, name } => role_assignments::get(ctx, scope, name),
        Target::RoleDefinitions { scope } => role_definitions::list(ctx, scope),
        Target::RoleDefinition { scope, id } => role_definitions::get(ctx, scope, id),
        Target::OperationResult { sub, id } => operations::poll_resource_group(ctx, sub, id),
        Target::MlOperation {
            sub,
            location,
            poll,
            id,
        } => operations::poll_ml(ctx, sub, location, *poll, id),
        Target::Computes { ws } => computes::list(ctx, ws),
        Target::Compute { ws, name } => computes::get(ctx, ws, name),
        Target::UserAssignedIdentities { sub, rg } => identities::list(ctx, sub, rg.as_deref()),
        Target::UserAssignedIdentity { sub, rg, name } => identities::get(ctx, sub, rg, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `handler` returns, without calling it.
    fn future_size<F, Fut>(_handler: F) -> usize
    where
        F: Fn(Data<AppState>, HttpRequest, Bytes) -> Fut,
    {
        std::mem::size_of::<Fut>()
    }

    #[test]
    fn a_request_future_is_not_sized_by_the_writes() {
        // 4,240 bytes before writes and POST actions were boxed; a GET's future is copied into
        // the heap whole on every request.
        let size = future_size(dispatch);
        assert!(size <= 1024, "dispatch's future is {size} bytes");
        assert!(future_size(crate::http::fallback) <= 1024);
    }

    #[test]
    fn routing_ids_are_written_as_write_would() {
        for (year, rest) in [(2026, 0), (7, 1), (0, 2), (9999, 3), (10_000, 4)] {
            let mut digits = String::new();
            push_digits(&mut digits, year, 4);
            assert_eq!(digits, format!("{year:04}"));
            push_digits(&mut digits, rest, 2);
            assert_eq!(digits, format!("{year:04}{rest:02}"));
        }
        let now = time::macros::datetime!(2026-02-03 04:05:06 UTC);
        assert_eq!(
            routing_rest(String::from("EMULATOR:2026"), now, "c"),
            "EMULATOR:20260203T040506Z:c"
        );
    }
}
