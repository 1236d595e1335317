//! SDK v2 online endpoints on ARM: get, list, create or update, delete, `listKeys`,
//! `regenerateKeys` and `token` (Azure ML tokens of AMLToken endpoints).

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::operations;
use super::route::{Ws, EP_READ};
use super::{ArmResult, Ctx};
use crate::authority::aml::{MintRequest, Scorable};
use crate::domain::operations::{Change, Snapshot};
use crate::domain::scope::Scope;
use crate::domain::services::{new_key, AuthMode, KeySlot, OnlineEndpoint, WorkspaceRef};
use crate::domain::world::{Actor, Provenance, Workspace};
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

/// The endpoint as the Azure ML front end shows it (`openapi/fidelity/shapes/onlineendpoints.get.json`,
/// the 2022-05-01 recording): no `properties.keys`, `properties.compute: null`,
/// `properties.properties` with `azureml.onlineendpointid` (the lowercased id) and
/// `AzureAsyncOperationUri` (its last PUT's status), `systemData` with only `createdAt`,
/// `createdBy`, `lastModifiedAt`; `mirrorTraffic` and `publicNetworkAccess` only where the
/// api-version has them (2021-03-01-preview and 2022-05-01 have neither, 2022-10-01 only
/// `publicNetworkAccess`: the docs' change log). While `Creating` the scoring URIs are null.
fn endpoint_json(ctx: &Ctx<'_>, e: &OnlineEndpoint, state: &str) -> Value {
    let tenant = ctx
        .world
        .subscription(e.workspace.subscription_id)
        .map(|s| s.tenant_id.to_string())
        .unwrap_or_default();
    let workspace_id = workspace_guid(ctx, e);
    let id = endpoint_id(e);
    let properties = endpoint_properties(ctx, e, state, &id, workspace_id);
    let created_by = e.provenance.created_by.clone().unwrap_or_else(Actor::fixtures);
    json!({
        "id": id,
        "name": e.name,
        "type": EP_TYPE,
        "properties": properties,
        "systemData": {
            "createdAt": e.created,
            "createdBy": created_by.name,
            "lastModifiedAt": e.provenance.modified.as_deref().unwrap_or(&e.created),
        },
        "tags": {},
        "location": e.location,
        "kind": "Managed",
        "identity": super::computes::system_identity_json(&ctx.world, &id, &e.id.to_string(), &tenant),
    })
}

/// `properties`: as recorded, with `mirrorTraffic` / `publicNetworkAccess` where the version has them.
fn endpoint_properties(ctx: &Ctx<'_>, e: &OnlineEndpoint, state: &str, id: &str, workspace_id: Uuid) -> Value {
    let traffic: serde_json::Map<String, Value> = e
        .deployments
        .first()
        .map(|d| (d.clone(), json!(100)))
        .into_iter()
        .collect();
    let (scoring, swagger) = match state {
        "Creating" => (None, None),
        _ => {
            let (a, b) = crate::http::urls::endpoint_uris(ctx.base, e);
            (Some(a), Some(b))
        }
    };
    let mut properties = json!({
        "description": e.description,
        "properties": {
            "azureml.onlineendpointid": id.to_ascii_lowercase(),
            "AzureAsyncOperationUri": operations::endpoint_async_uri(ctx, e, workspace_id),
        },
        "scoringUri": scoring,
        "swaggerUri": swagger,
        "authMode": e.auth_mode.as_str(),
        "provisioningState": state,
        "compute": null,
        "traffic": traffic,
    });
    let v = ctx.api_version;
    if v != "2021-03-01-preview" && v != "2022-05-01" {
        properties["publicNetworkAccess"] = json!("Enabled");
        if v != "2022-10-01" {
            properties["mirrorTraffic"] = json!({});
        }
    }
    properties
}

/// The endpoint as shown now: `provisioningState` from its running operation.
fn shown(ctx: &Ctx<'_>, e: &OnlineEndpoint) -> Value {
    endpoint_json(ctx, e, operations::provisioning_state(ctx, || endpoint_id(e)))
}

/// The workspace GUID the endpoint's operation ids carry.
fn workspace_guid(ctx: &Ctx<'_>, e: &OnlineEndpoint) -> Uuid {
    ctx.world
        .workspace(
            e.workspace.subscription_id,
            &e.workspace.resource_group,
            &e.workspace.workspace,
        )
        .map(|w| w.workspace_id)
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
        .map(|e| shown(ctx, e))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

/// The endpoint; one being deleted is shown `Deleting` until its operation completes.
pub fn get(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> ArmResult {
    match find(ctx, ws, name) {
        Ok(e) => Ok(HttpResponse::Ok().json(shown(ctx, &e))),
        Err(missing) => match operations::deleting(ctx, &format!("{}/onlineEndpoints/{name}", ws.id())) {
            Some(Snapshot::Endpoint(e)) => Ok(HttpResponse::Ok().json(endpoint_json(ctx, &e, "Deleting"))),
            _ => Err(missing),
        },
    }
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

/// PUT creates (201) or updates (200), answering the endpoint `Creating`/`Updating` with its
/// operation's `Azure-AsyncOperation`; PATCH only updates (auth mode, description): 202, body
/// `null`, `Location` on the operation's result ([`operations`]).
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
        Some(e) => update(ctx, ws, e, &w, mode, body.properties.description).await,
        None if ctx.req.method() == actix_web::http::Method::PATCH => Err(not_found(ws, name)),
        None => create(ctx, &w, name, mode, body).await,
    }
}

/// PUT on an existing endpoint: 200 `Updating` with the operation's status URL; PATCH: the
/// front end's 202.
async fn update(
    ctx: &Ctx<'_>,
    ws: &Ws,
    mut e: OnlineEndpoint,
    w: &Workspace,
    mode: Option<AuthMode>,
    description: Option<String>,
) -> ArmResult {
    let name = e.name.clone();
    e.auth_mode = mode.unwrap_or(e.auth_mode);
    e.description = description.or(e.description);
    e.provenance.modified(ctx.actor(), ctx.now());
    let updated = ctx
        .write(move |s| writes::update_endpoint(s, e), |_| not_found(ws, &name))
        .await?;
    let op = operations::endpoint_operation(ctx, &updated, w.workspace_id, Change::Update);
    if ctx.req.method() == actix_web::http::Method::PATCH {
        return Ok(operations::mfe_accepted(&op, false, true));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Azure-AsyncOperation", op.status_url))
        .insert_header(operations::MFE_TIMEOUT_HEADER)
        .json(endpoint_json(ctx, &updated, "Updating")))
}

/// A new endpoint: 201 `Creating`, with its status URL and its own URL as `Location`.
async fn create(ctx: &Ctx<'_>, w: &Workspace, name: &str, mode: Option<AuthMode>, body: EndpointBody) -> ArmResult {
    let endpoint = new_endpoint(ctx, w, name, mode, body)?;
    let created = ctx
        .write(move |s| writes::create_endpoint(s, endpoint), |_| name_taken(name))
        .await?;
    let op = operations::endpoint_operation(ctx, &created, w.workspace_id, Change::Create);
    let own_url = format!("{}{}?api-version={}", ctx.base, endpoint_id(&created), ctx.api_version);
    Ok(HttpResponse::Created()
        .insert_header(("Azure-AsyncOperation", op.status_url))
        .insert_header((actix_web::http::header::LOCATION, own_url))
        .insert_header(operations::MFE_TIMEOUT_HEADER)
        .json(endpoint_json(ctx, &created, "Creating")))
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
        provenance: Provenance::created(ctx.actor()),
    })
}

/// 202 with both operation URLs (the endpoint is gone at once; GET shows it `Deleting` until the
/// operation completes); 204 when there is none.
pub async fn delete(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> ArmResult {
    let Ok(e) = find(ctx, ws, name) else {
        return Ok(HttpResponse::NoContent().finish());
    };
    let (gone, id) = (e.name.clone(), e.id);
    ctx.write(move |s| writes::delete_endpoint(s, &gone, id), ArmError::internal)
        .await?;
    let op = operations::endpoint_operation(ctx, &e, workspace_guid(ctx, &e), Change::Delete);
    Ok(operations::mfe_accepted(&op, true, true))
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
    let written = e.clone();
    ctx.write(
        move |s| writes::set_endpoint_key(s, &written.name, written.id, slot, value),
        |_| not_found(ws, name),
    )
    .await?;
    let op = operations::endpoint_operation(ctx, &e, workspace_guid(ctx, &e), Change::RegenerateKeys);
    Ok(operations::mfe_accepted(&op, false, false))
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
        kind: Scorable::Endpoint,
        name: e.name.clone(),
        workspace: e.workspace,
        instance: e.id,
        lifetime: e.token_lifetime_seconds,
        caller: Some(ctx.caller.object_id.to_string()),
        now: ctx.state().clock.unix(),
    };
    let world = ctx.world.clone();
    let issued = ctx
        .write(
            move |s| crate::service::keys::mint_aml_token(s, &world, request),
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
