//! Azure ML workspaces: get, list (by resource group or subscription), create or update, delete,
//! and `listKeys`.

use actix_web::http::Method;
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest;
use uuid::Uuid;

use super::operations;
use super::route::WS_READ;
use super::workspace_view::{json_response, workspace_json, world_workspace_json, WorkspaceView, BODY_CAPACITY};
use super::{ArmResult, Ctx};
use crate::domain::operations::{Change, Snapshot};
use crate::domain::scope::Scope;
use crate::domain::world::{default_links, Provenance, Tags, Workspace};
use crate::domain::SubscriptionId;
use crate::error::ArmError;
use crate::service::resources;

pub(super) const WS_TYPE: &str = "Microsoft.MachineLearningServices/workspaces";

/// Azure's limit on tags per resource (and resource group).
const MAX_TAGS: usize = 50;

/// Tags as sent, within Azure's limit of 50 and with string values.
pub(super) fn check_tags(tags: Option<Tags>) -> Result<Option<Tags>, ArmError> {
    let Some(tags) = tags else { return Ok(None) };
    if tags.len() > MAX_TAGS {
        return Err(ArmError::bad_request(
            "InvalidTagCount",
            format!(
                "The number of tags ({}) exceeds the maximum of {MAX_TAGS} per resource.",
                tags.len()
            ),
        ));
    }
    if let Some((name, _)) = tags.iter().find(|(_, v)| !v.is_string()) {
        return Err(ArmError::invalid_content(format!(
            "the value of tag '{name}' is not a string"
        )));
    }
    Ok(Some(tags))
}

fn sub_id(sub: &str) -> Result<SubscriptionId, ArmError> {
    sub.parse().map_err(|_| ArmError::subscription_not_found(sub))
}

pub(super) fn ws_id(w: &Workspace) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/{WS_TYPE}/{}",
        w.subscription_id, w.resource_group, w.name
    )
}

pub(super) fn ws_scope(w: &Workspace) -> Result<Scope, ArmError> {
    Scope::parse(&ws_id(w)).map_err(ArmError::internal)
}

/// A workspace as shown now: `provisioningState` from its running operation.
fn shown<'a>(ctx: &'a Ctx<'a>, w: &'a Workspace) -> WorkspaceView<'a> {
    world_workspace_json(ctx, w, operations::provisioning_state(ctx, || ws_id(w)))
}

pub fn list(ctx: &Ctx<'_>, sub: &str, rg: Option<&str>) -> ArmResult {
    let id = sub_id(sub)?;
    let scope = match rg {
        Some(rg) => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        None => format!("/subscriptions/{sub}"),
    };
    ctx.require_access_within(WS_READ, &Scope::parse(&scope).map_err(ArmError::internal)?)?;
    if let Some(rg) = rg {
        ctx.world
            .resource_group(id, rg)
            .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    }
    let value: Vec<WorkspaceView<'_>> = ctx
        .world
        .workspaces()
        .iter()
        .filter(|w| w.subscription_id == id && rg.is_none_or(|rg| w.resource_group.eq_ignore_ascii_case(rg)))
        .filter(|w| ws_scope(w).is_ok_and(|s| ctx.may(WS_READ, &s)))
        .map(|w| shown(ctx, w))
        .collect();
    let mut out = Vec::with_capacity(BODY_CAPACITY * value.len() + 16);
    out.extend_from_slice(b"{\"value\":[");
    for (i, w) in value.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        w.write(&mut out);
    }
    out.extend_from_slice(b"]}");
    Ok(json_response(out))
}

/// The workspace, after its resource group (ARM reports a missing group first).
fn find<'w>(ctx: &'w Ctx<'_>, sub: &str, rg: &str, name: &str) -> Result<Option<&'w Workspace>, ArmError> {
    let id = sub_id(sub)?;
    ctx.world
        .resource_group(id, rg)
        .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    Ok(ctx.world.workspace(id, rg, name))
}

/// The workspace; one being deleted is shown `Deleting` until its operation completes.
pub fn get(ctx: &Ctx<'_>, sub: &str, rg: &str, name: &str) -> ArmResult {
    if let Some(w) = find(ctx, sub, rg, name)? {
        return Ok(shown(ctx, w).ok());
    }
    let id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{WS_TYPE}/{name}");
    match operations::deleting(ctx, &id) {
        Some(Snapshot::Workspace(w)) => Ok(workspace_json(ctx, &w, "Deleting").ok()),
        _ => Err(ArmError::resource_not_found(WS_TYPE, name, rg)),
    }
}

#[derive(Deserialize)]
struct WorkspaceBody {
    location: Option<String>,
    tags: Option<Tags>,
    sku: Option<SkuBody>,
    #[serde(default)]
    properties: WorkspaceProps,
}

#[derive(Deserialize)]
struct SkuBody {
    name: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorkspaceProps {
    friendly_name: Option<String>,
    description: Option<String>,
    storage_account: Option<String>,
    key_vault: Option<String>,
    application_insights: Option<String>,
    container_registry: Option<String>,
}

/// PUT creates or replaces the mutable parts: a long-running operation (202, polled on
/// `workspaceOperationsStatus`). PATCH changes what it names and answers at once (200: every
/// api-version's spec allows it).
pub async fn put(ctx: &Ctx<'_>, sub: &str, rg: &str, name: &str) -> ArmResult {
    let existing = find(ctx, sub, rg, name)?.cloned();
    let body: WorkspaceBody = ctx.body()?;
    let patch = ctx.req.method() == Method::PATCH;
    let ws = match (existing, patch) {
        (None, true) => return Err(ArmError::resource_not_found(WS_TYPE, name, rg)),
        (Some(w), _) => {
            let mut w = update_workspace(w, body, patch)?;
            w.provenance.modified(ctx.actor(), ctx.now());
            w
        }
        (None, false) => new_workspace(ctx, sub_id(sub)?, rg, name, body)?,
    };
    let written = ws.clone();
    let created = ctx
        .write(move |s| resources::put_workspace(s, written), ArmError::internal)
        .await?;
    if patch {
        return Ok(workspace_json(ctx, &ws, "Succeeded").ok());
    }
    let change = if created { Change::Create } else { Change::Update };
    Ok(operations::workspace_written(ctx, &ws, change))
}

/// 202 and a deletion operation (the workspace, its services and endpoints are gone at once;
/// GET shows it `Deleting` until the operation completes); 204 when there is none.
pub async fn delete(ctx: &Ctx<'_>, sub: &str, rg: &str, name: &str) -> ArmResult {
    let Some(w) = find(ctx, sub, rg, name)?.cloned() else {
        return Ok(HttpResponse::NoContent().finish());
    };
    let gone = w.clone();
    ctx.write(
        move |s| resources::delete_workspace(s, gone.subscription_id, &gone.resource_group, &gone.name),
        ArmError::internal,
    )
    .await?;
    Ok(operations::workspace_deleted(ctx, w))
}

/// Azure's rule: 3–33 letters, digits, `_` and `-`, starting with a letter or digit.
fn valid_workspace_name(name: &str) -> bool {
    let mut chars = name.chars();
    (3..=33).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn location_required() -> ArmError {
    ArmError::bad_request(
        "LocationRequired",
        "The location property is required for this definition.",
    )
}

fn new_workspace(
    ctx: &Ctx<'_>,
    sub: SubscriptionId,
    rg: &str,
    name: &str,
    body: WorkspaceBody,
) -> Result<Workspace, ArmError> {
    if !valid_workspace_name(name) {
        return Err(ArmError::bad_request("InvalidResourceName", format!("Resource name {name} is invalid. The name can contain only letters, numbers, underscores and hyphens, start with a letter or number, and be 3 to 33 characters long.")));
    }
    let location = body.location.ok_or_else(location_required)?;
    let rg = ctx
        .world
        .resource_group(sub, rg)
        .map_or_else(|| rg.to_string(), |g| g.name.clone());
    let mut linked = default_links(&sub.to_string(), &rg, name);
    apply_links(&mut linked, &body.properties);
    Ok(Workspace {
        subscription_id: sub,
        resource_group: rg,
        name: name.to_string(),
        location,
        friendly_name: body
            .properties
            .friendly_name
            .clone()
            .unwrap_or_else(|| name.to_string()),
        workspace_id: Uuid::new_v4(),
        description: body.properties.description.clone().unwrap_or_default(),
        tags: check_tags(body.tags)?.unwrap_or_default(),
        sku: body.sku.map_or_else(|| "Basic".to_string(), |s| s.name),
        created: ctx.now(),
        linked,
        provenance: Provenance::created(ctx.actor()),
    })
}

fn update_workspace(mut w: Workspace, body: WorkspaceBody, patch: bool) -> Result<Workspace, ArmError> {
    if let Some(l) = body.location.filter(|l| !l.eq_ignore_ascii_case(&w.location)) {
        return Err(ArmError::bad_request("InvalidResourceLocation", format!(
            "The resource '{}' already exists in location '{}' in resource group '{}'. A resource with the same name cannot be created in location '{l}'. Please select a new resource name.",
            w.name, w.location, w.resource_group)));
    }
    if !patch {
        // PUT replaces the mutable parts; identity, creation time and linked resources stay.
        w.tags = Tags::new();
        w.description = String::new();
        w.friendly_name = w.name.clone();
    }
    if let Some(tags) = check_tags(body.tags)? {
        w.tags = tags;
    }
    if let Some(sku) = body.sku {
        w.sku = sku.name;
    }
    if let Some(f) = &body.properties.friendly_name {
        w.friendly_name = f.clone();
    }
    if let Some(d) = &body.properties.description {
        w.description = d.clone();
    }
    apply_links(&mut w.linked, &body.properties);
    Ok(w)
}

fn apply_links(linked: &mut Tags, p: &WorkspaceProps) {
    for (key, value) in [
        ("storageAccount", &p.storage_account),
        ("keyVault", &p.key_vault),
        ("applicationInsights", &p.application_insights),
        ("containerRegistry", &p.container_registry),
    ] {
        if let Some(v) = value {
            linked.insert(key.into(), v.clone().into());
        }
    }
}

/// `POST …/workspaces/{name}/listKeys`: the linked resources' secrets, as the 2020+ APIs shape them.
pub fn list_keys(ctx: &Ctx<'_>, sub: &str, rg: &str, name: &str) -> ArmResult {
    let w = find(ctx, sub, rg, name)?.ok_or_else(|| ArmError::resource_not_found(WS_TYPE, name, rg))?;
    let derived = |what: &str| {
        use base64::Engine;
        let digest = sha2::Sha256::digest(format!("{}/{what}", w.workspace_id).as_bytes());
        base64::engine::general_purpose::STANDARD.encode(digest)
    };
    // The storage id is `userStorageResourceId` in the older specs and `userStorageArmId` in the
    // 2022-05-01 recording (Get-AzMLWorkspaceKey.Recording.json); registry credentials name a
    // user only when the workspace has a registry.
    let storage_key = if ctx.since("2022-05-01") {
        "userStorageArmId"
    } else {
        "userStorageResourceId"
    };
    let mut registry = json!({"location": w.location, "passwords": []});
    if let Some(acr) = w.linked.get("containerRegistry").and_then(Value::as_str) {
        let user = acr.rsplit('/').next().unwrap_or(acr);
        registry["username"] = json!(user);
        registry["passwords"] =
            json!([{"name": "password", "value": derived("acr-1")}, {"name": "password2", "value": derived("acr-2")}]);
    }
    let mut keys = json!({
        "userStorageKey": derived("storage"),
        "appInsightsInstrumentationKey": crate::domain::ids::name_based(&w.workspace_id, b"appinsights"),
        "containerRegistryCredentials": registry,
        "notebookAccessKeys": {"primaryAccessKey": derived("notebook-primary"), "secondaryAccessKey": derived("notebook-secondary")}
    });
    keys[storage_key] = json!(w.linked.get("storageAccount"));
    Ok(HttpResponse::Ok().json(keys))
}
