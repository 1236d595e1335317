//! SDK v2 online endpoints on ARM: get, list, create or update, delete, `listKeys`,
//! `regenerateKeys` and `token` (Azure ML tokens of AMLToken endpoints).

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::context::created_or_ok;
use super::route::{Ws, EP_READ};
use super::{ArmResult, Ctx};
use crate::authority::aml::{self, MintRequest};
use crate::domain::scope::Scope;
use crate::domain::services::{new_key, AuthMode, KeySlot, OnlineEndpoint, WorkspaceRef};
use crate::domain::world::Workspace;
use crate::error::ArmError;
use crate::service::deployments as writes;

const EP_TYPE: &str = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints";

/// The workspace, in its canonical spelling, or ARM's parent-not-found.
pub(super) fn workspace(ctx: &Ctx<'_>, ws: &Ws) -> Result<Workspace, ArmError> {
    let sub = ws.sub.parse().map_err(ArmError::internal)?;
    ctx.world
        .resource_group(sub, &ws.rg)
        .ok_or_else(|| ArmError::resource_group_not_found(&ws.rg))?;
    ctx.world
        .workspace(sub, &ws.rg, &ws.name)
        .cloned()
        .ok_or_else(|| ArmError::parent_not_found(&ws.name))
}

fn ws_ref(w: &Workspace) -> WorkspaceRef {
    WorkspaceRef {
        subscription_id: w.subscription_id,
        resource_group: w.resource_group.clone(),
        workspace: w.name.clone(),
    }
}

pub(super) fn endpoint_id(e: &OnlineEndpoint) -> String {
    format!("{}/onlineEndpoints/{}", e.workspace.arm_id(), e.name)
}

fn endpoint_json(ctx: &Ctx<'_>, e: &OnlineEndpoint) -> Value {
    let tenant = ctx
        .world
        .subscription(e.workspace.subscription_id)
        .map(|s| s.tenant_id.to_string())
        .unwrap_or_default();
    let traffic: serde_json::Map<String, Value> = e
        .deployments
        .first()
        .map(|d| (d.clone(), json!(100)))
        .into_iter()
        .collect();
    json!({
        "id": endpoint_id(e),
        "name": e.name,
        "type": EP_TYPE,
        "location": e.location,
        "kind": "Managed",
        "tags": {},
        "identity": super::computes::system_identity_json(&ctx.world, &endpoint_id(e), &e.id.to_string(), &tenant),
        "properties": {
            "authMode": e.auth_mode.as_str(),
            "description": e.description,
            "properties": {},
            "scoringUri": crate::http::urls::endpoint_uris(ctx.base, e).0,
            "swaggerUri": crate::http::urls::endpoint_uris(ctx.base, e).1,
            "provisioningState": "Succeeded",
            "traffic": traffic,
            "mirrorTraffic": {},
            "publicNetworkAccess": "Enabled",
            "keys": null
        },
        "systemData": {"createdAt": e.created, "createdBy": null, "createdByType": "Application", "lastModifiedAt": e.created}
    })
}

fn not_found(ws: &Ws, name: &str) -> ArmError {
    ArmError::resource_not_found(
        &format!(
            "Microsoft.MachineLearningServices/workspaces/{}/onlineEndpoints",
            ws.name
        ),
        name,
        &ws.rg,
    )
}

/// The endpoint, when it lives in this workspace.
pub(super) fn find(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> Result<OnlineEndpoint, ArmError> {
    let w = workspace(ctx, ws)?;
    ctx.world
        .online_endpoint(name)
        .filter(|e| e.workspace == ws_ref(&w))
        .cloned()
        .ok_or_else(|| not_found(ws, name))
}

pub fn list(ctx: &Ctx<'_>, ws: &Ws) -> ArmResult {
    let scope = Scope::parse(&ws.id()).map_err(ArmError::internal)?;
    ctx.require_access_within(EP_READ, &scope)?;
    let w = ws_ref(&workspace(ctx, ws)?);
    let value: Vec<Value> = ctx
        .world
        .online_endpoints()
        .iter()
        .filter(|e| e.workspace == w)
        .filter(|e| Scope::parse(&endpoint_id(e)).is_ok_and(|s| ctx.may(EP_READ, &s)))
        .map(|e| endpoint_json(ctx, e))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

pub fn get(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> ArmResult {
    Ok(HttpResponse::Ok().json(endpoint_json(ctx, &find(ctx, ws, name)?)))
}

#[derive(Deserialize)]
struct EndpointBody {
    location: Option<String>,
    #[serde(default)]
    properties: EndpointProps,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndpointProps {
    auth_mode: Option<String>,
    description: Option<String>,
}

/// PUT creates or updates; PATCH only updates (auth mode, description).
pub async fn put(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> ArmResult {
    let w = workspace(ctx, ws)?;
    let body: EndpointBody = ctx.body()?;
    let mode = body
        .properties
        .auth_mode
        .as_deref()
        .map(|m| {
            AuthMode::parse(m).ok_or_else(|| {
                ArmError::bad_request(
                    "BadRequest",
                    format!("The authMode '{m}' is not valid. Use Key, AMLToken or AADToken."),
                )
            })
        })
        .transpose()?;
    match find(ctx, ws, name).ok() {
        Some(mut e) => {
            e.auth_mode = mode.unwrap_or(e.auth_mode);
            e.description = body.properties.description.or(e.description);
            let updated = ctx
                .write(move |s| writes::update_endpoint(s, e), |_| not_found(ws, name))
                .await?;
            Ok(created_or_ok(false, &endpoint_json(ctx, &updated)))
        }
        None if ctx.req.method() == actix_web::http::Method::PATCH => Err(not_found(ws, name)),
        None => {
            let endpoint = new_endpoint(ctx, &w, name, mode, body)?;
            let created = ctx
                .write(move |s| writes::create_endpoint(s, endpoint), |_| name_taken(name))
                .await?;
            Ok(created_or_ok(true, &endpoint_json(ctx, &created)))
        }
    }
}

fn name_taken(name: &str) -> ArmError {
    ArmError::conflict(
        "Conflict",
        format!(
        "An online endpoint named '{name}' already exists in another workspace; endpoint names are unique per region."),
    )
}

/// Azure's rule: 3–32 letters, digits and hyphens, starting with a letter.
fn valid_endpoint_name(name: &str) -> bool {
    let mut chars = name.chars();
    (3..=32).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn new_endpoint(
    ctx: &Ctx<'_>,
    w: &Workspace,
    name: &str,
    mode: Option<AuthMode>,
    body: EndpointBody,
) -> Result<OnlineEndpoint, ArmError> {
    if !valid_endpoint_name(name) {
        return Err(ArmError::bad_request(
            "InvalidResourceName",
            format!("The endpoint name '{name}' is invalid: 3-32 letters, digits and hyphens, starting with a letter."),
        ));
    }
    if ctx.world.online_endpoint(name).is_some() {
        return Err(name_taken(name));
    }
    let auth_mode = mode.ok_or_else(|| ArmError::bad_request("BadRequest", "The authMode property is required."))?;
    Ok(OnlineEndpoint {
        name: name.to_string(),
        id: Uuid::new_v4(),
        workspace: ws_ref(w),
        location: body.location.unwrap_or_else(|| w.location.clone()),
        auth_mode,
        primary_key: new_key(),
        secondary_key: new_key(),
        deployments: vec!["blue".into()],
        scoring: Default::default(),
        description: body.properties.description,
        token_lifetime_seconds: None,
        created: ctx.now(),
        cluster_region: None,
    })
}

pub async fn delete(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> ArmResult {
    let Ok(e) = find(ctx, ws, name) else {
        return Ok(HttpResponse::NoContent().finish());
    };
    ctx.write(move |s| writes::delete_endpoint(s, &e.name, e.id), ArmError::internal)
        .await?;
    Ok(HttpResponse::Ok().finish())
}

fn wrong_mode(e: &OnlineEndpoint, wanted: &str) -> ArmError {
    ArmError::bad_request(
        "BadRequest",
        format!(
            "The endpoint '{}' uses authMode '{}'; this operation needs authMode '{wanted}'.",
            e.name,
            e.auth_mode.as_str()
        ),
    )
}

pub fn list_keys(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> ArmResult {
    let e = find(ctx, ws, name)?;
    if e.auth_mode != AuthMode::Key {
        return Err(wrong_mode(&e, "Key"));
    }
    Ok(HttpResponse::Ok().json(json!({"primaryKey": e.primary_key, "secondaryKey": e.secondary_key})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegenerateBody {
    key_type: String,
    key_value: Option<String>,
}

/// azure-ai-ml sends the *current* key as `keyValue`: that (or nothing) means "a new one"; any
/// other value becomes the key.
pub async fn regenerate_keys(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> ArmResult {
    let e = find(ctx, ws, name)?;
    if e.auth_mode != AuthMode::Key {
        return Err(wrong_mode(&e, "Key"));
    }
    let b: RegenerateBody = ctx.body()?;
    let slot = KeySlot::parse(&b.key_type).ok_or_else(|| {
        ArmError::bad_request(
            "BadRequest",
            format!("keyType must be Primary or Secondary, not '{}'.", b.key_type),
        )
    })?;
    let current = match slot {
        KeySlot::Primary => &e.primary_key,
        KeySlot::Secondary => &e.secondary_key,
    };
    let value = b
        .key_value
        .filter(|v| !v.is_empty() && v != current)
        .unwrap_or_else(new_key);
    ctx.write(
        move |s| writes::set_endpoint_key(s, &e.name, e.id, slot, value),
        |_| not_found(ws, name),
    )
    .await?;
    Ok(HttpResponse::Ok().finish())
}

/// An Azure ML token for an AMLToken endpoint; 503 while the workspace's region is down.
pub async fn token(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> ArmResult {
    let w = workspace(ctx, ws)?;
    let e = find(ctx, ws, name)?;
    if e.auth_mode != AuthMode::AmlToken {
        return Err(wrong_mode(&e, "AMLToken"));
    }
    if !ctx.world.region_available(&w.location) {
        return Err(ArmError::region_unavailable(&w.location));
    }
    let distance = ctx
        .state()
        .settings
        .region_latency(&w.location, e.cluster_region.as_deref());
    if !distance.is_zero() {
        actix_web::rt::time::sleep(distance).await;
    }
    let request = MintRequest {
        audience: aml::endpoint_audience(&e.workspace, &e.name),
        workspace: e.workspace,
        instance: e.id,
        lifetime: e.token_lifetime_seconds,
        caller: Some(ctx.caller.object_id.to_string()),
        now: ctx.state().clock.unix(),
    };
    let world = ctx.world.clone();
    let issued = ctx
        .write(
            move |s| Ok(aml::mint(&world, &s.aml_keys, &s.store, request)?),
            ArmError::internal,
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "accessToken": issued.token,
        "tokenType": "Bearer",
        "expiryTimeUtc": issued.expires_on,
        "refreshAfterTimeUtc": issued.refresh_after,
    })))
}
