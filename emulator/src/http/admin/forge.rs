//! `POST /_emulator/tokens/forge`: tokens for negative tests ([`crate::authority::forge`]).
//! Control API only (loopback or the admin key), like every route here.

use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{authorize, bad, parse, resolve};
use crate::authority::aml::{self, Scorable};
use crate::authority::claims::{v2_issuer, AppClaims, ClientAuthMethod};
use crate::authority::forge::{merge, sign, ForgeKind, SignWith};
use crate::domain::audience::Audience;
use crate::domain::services::WorkspaceRef;
use crate::domain::world::Tenant;
use crate::domain::World;
use crate::error::AdminError;
use crate::service::ServiceError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/tokens/forge", web::post().to(forge));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Order {
    kind: ForgeKind,
    #[serde(default)]
    claims: Map<String, Value>,
    #[serde(default)]
    sign_with: SignWith,
    /// Negative for a token that expired that long ago (default 3599; Azure ML tokens 3600).
    lifetime_seconds: Option<i64>,
    /// `arm`: the calling service principal, `id`: the user (default: the world's first of each).
    principal: Option<String>,
    /// `aml`: the web service or online endpoint (default: the first with token auth).
    service: Option<String>,
}

/// The genuine claims of the kind, before the order's changes, and the workspace of an Azure ML token.
fn base_claims(state: &AppState, o: &Order) -> Result<(Value, Option<WorkspaceRef>), AdminError> {
    let world = state.world();
    let now = state.clock.unix();
    let lifetime = o.lifetime_seconds.unwrap_or(3599).clamp(-86_400 * 3650, 86_400 * 3650);
    let tenant = world
        .default_tenant()
        .cloned()
        .ok_or_else(|| AdminError::Internal("no tenant".into()))?;
    match o.kind {
        ForgeKind::Arm => Ok((arm_claims(&world, tenant, o, now, lifetime)?, None)),
        ForgeKind::Id => Ok((id_claims(&world, &tenant, o, now, lifetime)?, None)),
        ForgeKind::Aml => aml_claims(&world, o, now, o.lifetime_seconds.unwrap_or(3600)),
    }
}

/// An app-only ARM token of the order's service principal (else the world's first).
fn arm_claims(world: &World, tenant: Tenant, o: &Order, now: i64, lifetime: i64) -> Result<Value, AdminError> {
    let app = match &o.principal {
        Some(p) => {
            let (oid, _) = resolve::assignee(world, p)?;
            world.applications().iter().find(|a| a.object_id == oid).cloned()
        }
        None => world.applications().first().cloned(),
    }
    .ok_or_else(|| bad("principal: no such service principal"))?;
    let tenant = world.tenant(app.tenant_id).cloned().unwrap_or(tenant);
    let aud = Audience {
        aud: "https://management.azure.com/".into(),
        version: 1,
    };
    let claims = AppClaims::new(&tenant, &app, ClientAuthMethod::Secret, &aud, now, lifetime);
    Ok(serde_json::to_value(claims).unwrap_or_default())
}

/// A v2 id_token of the order's user (else the world's first), for the first application.
fn id_claims(world: &World, tenant: &Tenant, o: &Order, now: i64, lifetime: i64) -> Result<Value, AdminError> {
    let user = match &o.principal {
        Some(p) => world
            .users()
            .iter()
            .find(|u| u.upn.eq_ignore_ascii_case(p) || u.object_id.to_string() == *p),
        None => world.users().first(),
    }
    .ok_or_else(|| bad("principal: no such user"))?;
    let client = world
        .applications()
        .first()
        .map(|a| a.client_id.to_string())
        .unwrap_or_default();
    Ok(json!({
        "aud": client, "iss": v2_issuer(tenant), "iat": now, "nbf": now, "exp": now + lifetime,
        "name": user.display_name, "oid": user.object_id, "preferred_username": user.upn,
        "sub": user.object_id, "tid": tenant.id, "ver": "2.0",
    }))
}

/// The web service or online endpoint the order names (else the first web service with token
/// auth): its workspace, kind, name and instance id.
fn scorable(world: &World, o: &Order) -> Result<(WorkspaceRef, Scorable, String, Uuid), AdminError> {
    world
        .services()
        .iter()
        .filter(|s| {
            o.service
                .as_deref()
                .map_or(s.token_auth_enabled, |n| s.name.eq_ignore_ascii_case(n))
        })
        .map(|s| (s.workspace.clone(), Scorable::Service, s.name.clone(), s.id))
        .chain(
            world
                .online_endpoints()
                .iter()
                .filter(|e| o.service.as_deref().is_some_and(|n| e.name.eq_ignore_ascii_case(n)))
                .map(|e| (e.workspace.clone(), Scorable::Endpoint, e.name.clone(), e.id)),
        )
        .next()
        .ok_or_else(|| bad("service: no such web service or online endpoint (with token auth)"))
}

fn aml_claims(world: &World, o: &Order, now: i64, lifetime: i64) -> Result<(Value, Option<WorkspaceRef>), AdminError> {
    let (ws, kind, name, instance) = scorable(world, o)?;
    let w = world
        .workspace(ws.subscription_id, &ws.resource_group, &ws.workspace)
        .ok_or_else(|| bad("the service's workspace is gone"))?;
    let tid = world.subscription(ws.subscription_id).map(|s| s.tenant_id.to_string());
    // The recorded Azure ML claim shape (see `authority::aml`); claims the order gives override.
    Ok((
        json!({
            "canRefresh": "False", "workspaceId": w.workspace_id, "tid": tid,
            "actions": json!([kind.score_action()]).to_string(), "endpointName": name, "serviceId": instance,
            "exp": now + lifetime, "iss": aml::ISSUER_AND_AUDIENCE, "aud": aml::ISSUER_AND_AUDIENCE,
        }),
        Some(ws),
    ))
}

async fn forge(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let order: Order = parse(&body)?;
    let (base, ws) = base_claims(&state, &order)?;
    let claims = merge(base, &order.claims);
    let sign_with = order.sign_with;
    let key = crate::service::blocking(&state, move |s| {
        crate::service::keys::forge_key(s, sign_with, ws.as_ref()).map_err(ServiceError::Canceled)
    })
    .await
    .map_err(|e| AdminError::Status(actix_web::http::StatusCode::CONFLICT, "Conflict", e.to_string()))?;
    let (token, header) = sign(&claims, sign_with, &key, order.kind == ForgeKind::Arm);
    Ok(HttpResponse::Ok().json(json!({
        "token": token, "kind": order.kind.as_ref(), "sign_with": sign_with.as_ref(),
        "header": header, "claims": claims,
    })))
}
