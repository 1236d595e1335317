//! Subscriptions, tenants, resource groups and workspaces.

use actix_web::http::Method;
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::route::{RG_READ, WS_READ};
use super::{ArmResult, Ctx};
use crate::domain::scope::Scope;
use crate::domain::world::{ResourceGroup, Subscription, Tags, Tenant, Workspace};
use crate::domain::SubscriptionId;
use crate::error::ArmError;
use crate::store::default_links;

const WS_TYPE: &str = "Microsoft.MachineLearningServices/workspaces";

fn sub_id(sub: &str) -> SubscriptionId {
    sub.parse().expect("the dispatcher checked the subscription exists")
}

fn visible(ctx: &Ctx<'_>, s: &Subscription) -> bool {
    let scope = Scope::parse(&format!("/subscriptions/{}", s.id)).expect("subscription scopes parse");
    s.tenant_id == ctx.caller.tenant && ctx.gate.has_access_within(&scope)
}

fn subscription_json(s: &Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s.id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

/// Subscriptions in which the caller holds some role (azureml-core requires its own to be listed).
pub fn list_subscriptions(ctx: &Ctx<'_>) -> ArmResult {
    let world = ctx.state.world();
    let value: Vec<Value> = world
        .subscriptions
        .iter()
        .filter(|s| visible(ctx, s))
        .map(subscription_json)
        .collect();
    let count = value.len();
    Ok(HttpResponse::Ok().json(json!({"value": value, "count": {"type": "Total", "value": count}})))
}

pub fn get_subscription(ctx: &Ctx<'_>, sub: &str) -> ArmResult {
    let world = ctx.state.world();
    match world.subscription(sub_id(sub)).filter(|s| visible(ctx, s)) {
        Some(s) => Ok(HttpResponse::Ok().json(subscription_json(s))),
        None => Err(ArmError::subscription_not_found(sub)),
    }
}

fn tenant_json(t: &Tenant) -> Value {
    json!({
        "id": format!("/tenants/{}", t.id),
        "tenantId": t.id,
        "countryCode": "US",
        "displayName": t.display_name,
        "domains": t.domains,
        "tenantCategory": "Home",
        "defaultDomain": t.default_domain(),
        "tenantType": "AAD"
    })
}

/// The caller's home tenant.
pub fn list_tenants(ctx: &Ctx<'_>) -> ArmResult {
    let world = ctx.state.world();
    let value: Vec<Value> = world.tenant(ctx.caller.tenant).map(tenant_json).into_iter().collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

fn rg_scope(rg: &ResourceGroup) -> Scope {
    Scope::parse(&format!(
        "/subscriptions/{}/resourceGroups/{}",
        rg.subscription_id, rg.name
    ))
    .expect("resource group scopes parse")
}

fn rg_json(rg: &ResourceGroup) -> Value {
    json!({
        "id": rg_scope(rg).as_str(),
        "name": rg.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": rg.location,
        "tags": rg.tags,
        "properties": {"provisioningState": "Succeeded"}
    })
}

pub fn list_resource_groups(ctx: &Ctx<'_>, sub: &str) -> ArmResult {
    let world = ctx.state.world();
    let id = sub_id(sub);
    ctx.require_access_within(
        RG_READ,
        &Scope::parse(&format!("/subscriptions/{sub}")).map_err(ArmError::internal)?,
    )?;
    let value: Vec<Value> = world
        .resource_groups
        .iter()
        .filter(|rg| rg.subscription_id == id && ctx.may(RG_READ, &rg_scope(rg)))
        .map(rg_json)
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

#[derive(Deserialize)]
struct RgBody {
    location: Option<String>,
    tags: Option<Tags>,
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ArmError> {
    serde_json::from_slice(body).map_err(ArmError::invalid_content)
}

fn valid_rg_name(name: &str) -> bool {
    (1..=90).contains(&name.len())
        && !name.ends_with('.')
        && name.chars().all(|c| c.is_alphanumeric() || "-_.()".contains(c))
}

pub fn resource_group(ctx: &Ctx<'_>, sub: &str, rg: &str) -> ArmResult {
    let id = sub_id(sub);
    let world = ctx.state.world();
    let existing = world.resource_group(id, rg).cloned();
    match *ctx.req.method() {
        Method::GET => existing
            .map(|rg| HttpResponse::Ok().json(rg_json(&rg)))
            .ok_or_else(|| ArmError::resource_group_not_found(rg)),
        Method::PUT | Method::PATCH => {
            let body: RgBody = parse_body(ctx.body)?;
            if !valid_rg_name(rg) {
                return Err(ArmError::bad_request("InvalidResourceGroup", format!("The provided resource group name '{rg}' has these invalid characters: the name must be 1-90 letters, digits, '-', '_', '.', '(' or ')', and not end in '.'.")));
            }
            let (name, location) = match (&existing, body.location) {
                (Some(e), Some(l)) if !l.eq_ignore_ascii_case(&e.location) => {
                    return Err(ArmError::conflict("InvalidResourceGroupLocation", format!(
                        "Invalid resource group location '{l}'. The Resource group already exists in location '{}'.", e.location)));
                }
                (Some(e), _) => (e.name.clone(), e.location.clone()),
                (None, Some(l)) if *ctx.req.method() == Method::PUT => (rg.to_string(), l),
                (None, _) if *ctx.req.method() == Method::PATCH => return Err(ArmError::resource_group_not_found(rg)),
                (None, None) => {
                    return Err(ArmError::bad_request(
                        "LocationRequired",
                        "The location property is required for this definition.",
                    ))
                }
                (None, Some(_)) => unreachable!("PUT and PATCH are the only writes"),
            };
            // PUT replaces (absent tags mean none); PATCH keeps what it does not name.
            let kept = existing
                .as_ref()
                .filter(|_| *ctx.req.method() == Method::PATCH)
                .map(|e| e.tags.clone());
            let tags = body.tags.or(kept).unwrap_or_default();
            let created = ctx
                .state
                .store
                .put_resource_group(id, &name, &location, &tags)
                .map_err(ArmError::internal)?;
            ctx.state.reload_world().map_err(ArmError::internal)?;
            let rg = ResourceGroup {
                subscription_id: id,
                name,
                location,
                tags,
            };
            let mut response = if created {
                HttpResponse::Created()
            } else {
                HttpResponse::Ok()
            };
            Ok(response.json(rg_json(&rg)))
        }
        _ => {
            if existing.is_none() {
                return Ok(HttpResponse::NoContent().finish());
            }
            ctx.state
                .store
                .delete_resource_group(id, rg)
                .map_err(ArmError::internal)?;
            ctx.state.reload_world().map_err(ArmError::internal)?;
            Ok(HttpResponse::Ok().finish())
        }
    }
}

fn ws_scope(w: &Workspace) -> Scope {
    Scope::parse(&format!(
        "/subscriptions/{}/resourceGroups/{}/providers/{WS_TYPE}/{}",
        w.subscription_id, w.resource_group, w.name
    ))
    .expect("workspace scopes parse")
}

/// The workspace as the requested api-version shows it (2020-era versions have no `tenantId`,
/// `mlFlowTrackingUri`, `v1LegacyMode` or `publicNetworkAccess`).
fn workspace_json(ctx: &Ctx<'_>, w: &Workspace, tenant: &str) -> Value {
    let id = ws_scope(w);
    let mut properties = json!({
        "workspaceId": w.workspace_id,
        "description": w.description,
        "friendlyName": w.friendly_name,
        "creationTime": w.created,
        "discoveryUrl": format!("{}/discovery", ctx.base),
        "provisioningState": "Succeeded",
        "hbiWorkspace": false,
        "allowPublicAccessWhenBehindVnet": false,
        "privateLinkCount": 0,
        "storageHnsEnabled": false,
        "imageBuildCompute": null,
        "serviceProvisionedResourceGroup": null,
    });
    for (k, v) in &w.linked {
        properties[k] = v.clone();
    }
    if ctx.api_version >= "2021-07-01" {
        properties["tenantId"] = json!(tenant);
        properties["mlFlowTrackingUri"] = json!(format!("azureml://{}.api.azureml.ms/mlflow/v1.0{}", w.location, id));
        properties["v1LegacyMode"] = json!(false);
        properties["publicNetworkAccess"] = json!("Enabled");
    }
    json!({
        "id": id.as_str(),
        "name": w.name,
        "type": WS_TYPE,
        "location": w.location,
        "tags": w.tags,
        "etag": null,
        "kind": "Default",
        "sku": {"name": w.sku, "tier": w.sku},
        "identity": {"type": "SystemAssigned", "principalId": Uuid::new_v5(&w.workspace_id, b"identity"), "tenantId": tenant},
        "properties": properties
    })
}

pub fn list_workspaces(ctx: &Ctx<'_>, sub: &str, rg: Option<&str>) -> ArmResult {
    let world = ctx.state.world();
    let id = sub_id(sub);
    let scope = match rg {
        Some(rg) => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        None => format!("/subscriptions/{sub}"),
    };
    ctx.require_access_within(WS_READ, &Scope::parse(&scope).map_err(ArmError::internal)?)?;
    if let Some(rg) = rg {
        world
            .resource_group(id, rg)
            .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    }
    let tenant = world
        .subscription(id)
        .map(|s| s.tenant_id.to_string())
        .unwrap_or_default();
    let value: Vec<Value> = world
        .workspaces
        .iter()
        .filter(|w| w.subscription_id == id && rg.is_none_or(|rg| w.resource_group.eq_ignore_ascii_case(rg)))
        .filter(|w| ctx.may(WS_READ, &ws_scope(w)))
        .map(|w| workspace_json(ctx, w, &tenant))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
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

fn valid_workspace_name(name: &str) -> bool {
    let mut chars = name.chars();
    (3..=33).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub fn workspace(ctx: &Ctx<'_>, sub: &str, rg: &str, name: &str) -> ArmResult {
    let id = sub_id(sub);
    let world = ctx.state.world();
    let group = world
        .resource_group(id, rg)
        .cloned()
        .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    let tenant = world
        .subscription(id)
        .map(|s| s.tenant_id.to_string())
        .unwrap_or_default();
    let existing = world.workspace(id, rg, name).cloned();
    drop(world);
    let not_found = || ArmError::resource_not_found(WS_TYPE, name, rg);
    match *ctx.req.method() {
        Method::GET => existing
            .map(|w| HttpResponse::Ok().json(workspace_json(ctx, &w, &tenant)))
            .ok_or_else(not_found),
        Method::DELETE => {
            if existing.is_none() {
                return Ok(HttpResponse::NoContent().finish());
            }
            ctx.state
                .store
                .delete_workspace(id, &group.name, name)
                .map_err(ArmError::internal)?;
            ctx.state.reload_world().map_err(ArmError::internal)?;
            Ok(HttpResponse::Ok().finish())
        }
        _ => {
            let body: WorkspaceBody = parse_body(ctx.body)?;
            let patch = *ctx.req.method() == Method::PATCH;
            let ws = match (existing, patch) {
                (None, true) => return Err(not_found()),
                (Some(w), _) => update_workspace(w, body, patch)?,
                (None, false) => new_workspace(ctx, id, &group.name, name, body)?,
            };
            let created = ctx.state.store.put_workspace(&ws).map_err(ArmError::internal)?;
            ctx.state.reload_world().map_err(ArmError::internal)?;
            let mut response = if created {
                HttpResponse::Created()
            } else {
                HttpResponse::Ok()
            };
            Ok(response.json(workspace_json(ctx, &ws, &tenant)))
        }
    }
}

fn new_workspace(
    ctx: &Ctx<'_>,
    sub: SubscriptionId,
    rg: &str,
    name: &str,
    body: WorkspaceBody,
) -> Result<Workspace, ArmError> {
    if !valid_workspace_name(name) {
        return Err(ArmError::bad_request("InvalidResourceName", format!(
            "Resource name {name} is invalid. The name can contain only letters, numbers, underscores and hyphens, start with a letter or number, and be 3 to 33 characters long.")));
    }
    let location = body.location.ok_or_else(|| {
        ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        )
    })?;
    let mut linked = default_links(&sub.to_string(), rg, name);
    apply_links(&mut linked, &body.properties);
    Ok(Workspace {
        subscription_id: sub,
        resource_group: rg.to_string(),
        name: name.to_string(),
        location,
        friendly_name: body
            .properties
            .friendly_name
            .clone()
            .unwrap_or_else(|| name.to_string()),
        workspace_id: Uuid::new_v4(),
        description: body.properties.description.clone().unwrap_or_default(),
        tags: body.tags.unwrap_or_default(),
        sku: body.sku.map_or_else(|| "Basic".to_string(), |s| s.name),
        created: ctx.state.clock.now().format(&Rfc3339).map_err(ArmError::internal)?,
        linked,
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
    if let Some(tags) = body.tags {
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
pub fn workspace_keys(ctx: &Ctx<'_>, sub: &str, rg: &str, name: &str) -> ArmResult {
    let world = ctx.state.world();
    world
        .resource_group(sub_id(sub), rg)
        .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    let w = world
        .workspace(sub_id(sub), rg, name)
        .ok_or_else(|| ArmError::resource_not_found(WS_TYPE, name, rg))?;
    let derived = |what: &str| {
        use base64::Engine;
        let digest = sha2::Sha256::digest(format!("{}/{what}", w.workspace_id).as_bytes());
        base64::engine::general_purpose::STANDARD.encode(digest)
    };
    Ok(HttpResponse::Ok().json(json!({
        "userStorageKey": derived("storage"),
        "userStorageResourceId": w.linked.get("storageAccount"),
        "appInsightsInstrumentationKey": Uuid::new_v5(&w.workspace_id, b"appinsights"),
        "containerRegistryCredentials": {"location": w.location, "username": null, "passwords": []},
        "notebookAccessKeys": {"primaryAccessKey": derived("notebook-primary"), "secondaryAccessKey": derived("notebook-secondary")}
    })))
}

/// `GET /subscriptions/{s}[/resourceGroups/{rg}]/resources[?$filter=resourceType eq '…']`: the
/// emulated resources (workspaces) the caller may read, in the generic resource shape.
pub fn list_generic(ctx: &Ctx<'_>, sub: &str, rg: Option<&str>) -> ArmResult {
    let world = ctx.state.world();
    let id = sub_id(sub);
    let scope = match rg {
        Some(rg) => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        None => format!("/subscriptions/{sub}"),
    };
    ctx.require_access_within(
        "Microsoft.Resources/subscriptions/resources/read",
        &Scope::parse(&scope).map_err(ArmError::internal)?,
    )?;
    if let Some(rg) = rg {
        world
            .resource_group(id, rg)
            .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    }
    let filter = serde_urlencoded::from_str::<Vec<(String, String)>>(ctx.req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("$filter"))
        .map(|(_, v)| v);
    let wanted_type = filter.as_deref().and_then(|f| {
        let (_, rest) = f.split_once("resourceType eq")?;
        rest.trim()
            .strip_prefix('\'')?
            .split_once('\'')
            .map(|(t, _)| t.to_string())
    });
    let value: Vec<Value> = world
        .workspaces
        .iter()
        .filter(|_| wanted_type.as_deref().is_none_or(|t| t.eq_ignore_ascii_case(WS_TYPE)))
        .filter(|w| w.subscription_id == id && rg.is_none_or(|rg| w.resource_group.eq_ignore_ascii_case(rg)))
        .filter(|w| ctx.may(WS_READ, &ws_scope(w)))
        .map(|w| {
            json!({
                "id": ws_scope(w).as_str(),
                "name": w.name,
                "type": WS_TYPE,
                "kind": "Default",
                "location": w.location,
                "tags": w.tags,
                "sku": {"name": w.sku, "tier": w.sku},
                "identity": {"type": "SystemAssigned"}
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}
