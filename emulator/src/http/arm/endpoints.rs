//! SDK v2 online endpoints on ARM: CRUD, deployments, keys, key regeneration and AML tokens.

use actix_web::http::Method;
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::route::{EndpointAction, Ws, EP_READ};
use super::{ArmResult, Ctx};
use crate::authority::aml;
use crate::domain::scope::Scope;
use crate::domain::services::{new_key, AuthMode, OnlineEndpoint, WorkspaceRef};
use crate::domain::world::Workspace;
use crate::error::ArmError;
use crate::http::mms::issue_token;

const EP_TYPE: &str = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints";

/// The workspace, in its canonical spelling, or ARM's parent-not-found.
fn workspace(ctx: &Ctx<'_>, ws: &Ws) -> Result<Workspace, ArmError> {
    let world = ctx.state.world();
    let sub = ws.sub.parse().map_err(ArmError::internal)?;
    world
        .resource_group(sub, &ws.rg)
        .ok_or_else(|| ArmError::resource_group_not_found(&ws.rg))?;
    world.workspace(sub, &ws.rg, &ws.name).cloned().ok_or_else(|| ArmError {
        status: 404,
        code: "ParentResourceNotFound",
        message: format!(
            "Can not perform requested operation on nested resource. Parent resource '{}' not found.",
            ws.name
        ),
        challenge: None,
    })
}

fn ws_ref(w: &Workspace) -> WorkspaceRef {
    WorkspaceRef {
        subscription_id: w.subscription_id,
        resource_group: w.resource_group.clone(),
        workspace: w.name.clone(),
    }
}

fn endpoint_id(e: &OnlineEndpoint) -> String {
    format!("{}/onlineEndpoints/{}", e.workspace.arm_id(), e.name)
}

fn endpoint_json(ctx: &Ctx<'_>, e: &OnlineEndpoint, tenant: &str) -> Value {
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
        "identity": {"type": "SystemAssigned", "principalId": Uuid::new_v5(&e.id, b"identity"), "tenantId": tenant},
        "properties": {
            "authMode": e.auth_mode.as_str(),
            "description": e.description,
            "properties": {},
            "scoringUri": format!("{}/online/{}/score", ctx.base, e.name),
            "swaggerUri": format!("{}/online/{}/swagger.json", ctx.base, e.name),
            "provisioningState": "Succeeded",
            "traffic": traffic,
            "mirrorTraffic": {},
            "publicNetworkAccess": "Enabled",
            "keys": null
        },
        "systemData": {"createdAt": e.created, "createdBy": null, "createdByType": "Application", "lastModifiedAt": e.created}
    })
}

fn tenant_of(ctx: &Ctx<'_>, w: &Workspace) -> String {
    ctx.state
        .world()
        .subscription(w.subscription_id)
        .map(|s| s.tenant_id.to_string())
        .unwrap_or_default()
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
fn find(ctx: &Ctx<'_>, w: &Workspace, ws: &Ws, name: &str) -> Result<OnlineEndpoint, ArmError> {
    let world = ctx.state.world();
    world
        .online_endpoint(name)
        .filter(|e| e.workspace == ws_ref(w))
        .cloned()
        .ok_or_else(|| not_found(ws, name))
}

pub fn list(ctx: &Ctx<'_>, ws: &Ws) -> ArmResult {
    let scope = Scope::parse(&ws.id()).map_err(ArmError::internal)?;
    ctx.require_access_within(EP_READ, &scope)?;
    let w = workspace(ctx, ws)?;
    let tenant = tenant_of(ctx, &w);
    let world = ctx.state.world();
    let value: Vec<Value> = world
        .online_endpoints
        .iter()
        .filter(|e| e.workspace == ws_ref(&w))
        .filter(|e| Scope::parse(&endpoint_id(e)).is_ok_and(|s| ctx.may(EP_READ, &s)))
        .map(|e| endpoint_json(ctx, e, &tenant))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
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

fn valid_endpoint_name(name: &str) -> bool {
    let mut chars = name.chars();
    (3..=32).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

pub fn endpoint(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> ArmResult {
    let w = workspace(ctx, ws)?;
    let tenant = tenant_of(ctx, &w);
    let existing = find(ctx, &w, ws, name).ok();
    match *ctx.req.method() {
        Method::GET => existing
            .map(|e| HttpResponse::Ok().json(endpoint_json(ctx, &e, &tenant)))
            .ok_or_else(|| not_found(ws, name)),
        Method::DELETE => {
            let Some(e) = existing else {
                return Ok(HttpResponse::NoContent().finish());
            };
            ctx.state.store.delete_endpoint(&e.name).map_err(ArmError::internal)?;
            ctx.state.services_changed().map_err(ArmError::internal)?;
            Ok(HttpResponse::Ok().finish())
        }
        _ => {
            let body: EndpointBody = serde_json::from_slice(ctx.body).map_err(ArmError::invalid_content)?;
            let patch = *ctx.req.method() == Method::PATCH;
            let mode = match body.properties.auth_mode.as_deref() {
                Some(m) => Some(AuthMode::parse(m).ok_or_else(|| {
                    ArmError::bad_request(
                        "BadRequest",
                        format!("The authMode '{m}' is not valid. Use Key, AMLToken or AADToken."),
                    )
                })?),
                None => None,
            };
            let endpoint = match existing {
                Some(mut e) => {
                    if let Some(m) = mode {
                        e.auth_mode = m;
                    }
                    if let Some(d) = body.properties.description {
                        e.description = Some(d);
                    }
                    e
                }
                None if patch => return Err(not_found(ws, name)),
                None => new_endpoint(ctx, &w, name, mode, body)?,
            };
            let created = ctx.state.world().online_endpoint(name).is_none();
            ctx.state.store.put_endpoint(&endpoint).map_err(ArmError::internal)?;
            ctx.state.services_changed().map_err(ArmError::internal)?;
            let mut response = if created {
                HttpResponse::Created()
            } else {
                HttpResponse::Ok()
            };
            Ok(response.json(endpoint_json(ctx, &endpoint, &tenant)))
        }
    }
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
    if ctx.state.world().online_endpoint(name).is_some() {
        return Err(ArmError::conflict("Conflict", format!(
            "An online endpoint named '{name}' already exists in another workspace; endpoint names are unique per region.")));
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
        created: ctx
            .state
            .clock
            .now()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(ArmError::internal)?,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegenerateBody {
    key_type: String,
    key_value: Option<String>,
}

pub fn action(ctx: &Ctx<'_>, ws: &Ws, name: &str, action: EndpointAction) -> ArmResult {
    let w = workspace(ctx, ws)?;
    let mut e = find(ctx, &w, ws, name)?;
    let wrong_mode = |wanted: &str| {
        ArmError::bad_request(
            "BadRequest",
            format!(
                "The endpoint '{}' uses authMode '{}'; this operation needs authMode '{wanted}'.",
                e.name,
                e.auth_mode.as_str()
            ),
        )
    };
    match action {
        EndpointAction::ListKeys => {
            if e.auth_mode != AuthMode::Key {
                return Err(wrong_mode("Key"));
            }
            Ok(HttpResponse::Ok().json(json!({"primaryKey": e.primary_key, "secondaryKey": e.secondary_key})))
        }
        EndpointAction::RegenerateKeys => {
            if e.auth_mode != AuthMode::Key {
                return Err(wrong_mode("Key"));
            }
            let b: RegenerateBody = serde_json::from_slice(ctx.body).map_err(ArmError::invalid_content)?;
            let slot = match b.key_type.to_ascii_lowercase().as_str() {
                "primary" => &mut e.primary_key,
                "secondary" => &mut e.secondary_key,
                _ => {
                    return Err(ArmError::bad_request(
                        "BadRequest",
                        format!("keyType must be Primary or Secondary, not '{}'.", b.key_type),
                    ))
                }
            };
            // azure-ai-ml sends the current key as keyValue: that (or nothing) means "a new one".
            *slot = match b.key_value.filter(|v| !v.is_empty() && v != slot) {
                Some(v) => v,
                None => new_key(),
            };
            ctx.state.store.put_endpoint(&e).map_err(ArmError::internal)?;
            ctx.state.services_changed().map_err(ArmError::internal)?;
            Ok(HttpResponse::Ok().finish())
        }
        EndpointAction::Token => {
            if e.auth_mode != AuthMode::AmlToken {
                return Err(wrong_mode("AMLToken"));
            }
            if !ctx.state.world().region_available(&w.location) {
                return Err(ArmError { status: 503, code: "ServiceUnavailable", challenge: None, message: format!(
                    "The Azure Machine Learning service in region '{}' is unavailable, so tokens cannot be issued. Key-based authentication is not affected.", w.location) });
            }
            let world = ctx.state.world();
            let issued = issue_token(
                ctx.state,
                &e.workspace,
                &world,
                aml::endpoint_audience(&e.workspace, &e.name),
                e.id,
                e.token_lifetime_seconds,
                Some(ctx.caller),
            )
            .map_err(ArmError::internal)?;
            Ok(HttpResponse::Ok().json(json!({
                "accessToken": issued.token,
                "tokenType": "Bearer",
                "expiryTimeUtc": issued.expires_on,
                "refreshAfterTimeUtc": issued.refresh_after,
            })))
        }
    }
}

fn deployment_json(e: &OnlineEndpoint, name: &str) -> Value {
    json!({
        "id": format!("{}/deployments/{name}", endpoint_id(e)),
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        "location": e.location,
        "kind": "Managed",
        "tags": {},
        "sku": {"name": "Default", "capacity": 1},
        "properties": {"endpointComputeType": "Managed", "provisioningState": "Succeeded", "instanceType": "Standard_DS3_v2",
                       "model": null, "scaleSettings": {"scaleType": "Default"}, "appInsightsEnabled": false}
    })
}

pub fn deployments(ctx: &Ctx<'_>, ws: &Ws, endpoint: &str) -> ArmResult {
    let w = workspace(ctx, ws)?;
    let e = find(ctx, &w, ws, endpoint)?;
    let value: Vec<Value> = e.deployments.iter().map(|d| deployment_json(&e, d)).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

pub fn deployment(ctx: &Ctx<'_>, ws: &Ws, endpoint: &str, name: &str) -> ArmResult {
    let w = workspace(ctx, ws)?;
    let e = find(ctx, &w, ws, endpoint)?;
    let d = e
        .deployments
        .iter()
        .find(|d| d.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            ArmError::resource_not_found(
                &format!(
                    "Microsoft.MachineLearningServices/workspaces/{}/onlineEndpoints/{endpoint}/deployments",
                    ws.name
                ),
                name,
                &ws.rg,
            )
        })?;
    Ok(HttpResponse::Ok().json(deployment_json(&e, d)))
}
