//! Azure ML workspaces: get, list (by resource group or subscription), create or update, delete,
//! and `listKeys`.

use actix_web::http::header::ContentType;
use actix_web::http::Method;
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest;
use uuid::Uuid;

use super::json::{is_sorted, Object, J};
use super::operations;
use super::route::WS_READ;
use super::{ArmResult, Ctx};
use crate::domain::operations::{Change, Snapshot};
use crate::domain::scope::Scope;
use crate::domain::world::{default_links, Actor, Provenance, Tags, Workspace};
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

fn tenant_of(ctx: &Ctx<'_>, sub: SubscriptionId) -> String {
    ctx.world
        .subscription(sub)
        .map(|s| s.tenant_id.to_string())
        .unwrap_or_default()
}

/// The workspace as the requested api-version shows it (`openapi/fidelity/shapes/workspaces.get.json`,
/// each group from recordings where they exist): before 2021-07-01 the 2020 shape (no
/// `systemData`, `tenantId`, `mlFlowTrackingUri`); from 2021-07-01 `systemData` and the keys the
/// service sends beyond the spec (`notebookInfo`, `linkedModelInventoryArmId`,
/// `sdkTelemetryAppInsightsKey`); from 2023-06-01-preview `kind`, `creationTime`, `managedNetwork`
/// (`isolationMode: Disabled`), `softDeleteEnabled`, `ipAllowlist`, `serverlessComputeSettings`,
/// `enableSoftwareBillOfMaterials`, `enableDataIsolation`, `sasGetterUri`; from 2024-10-01
/// `systemDatastoresAuthMode`, `enableServiceSideCMKEncryption`, `allowRoleAssignmentOnRG`,
/// `networkAcls`. `tags` is always sent (`{}` when untagged) and `etag` is null, as recorded.
/// Written directly (`json.rs`): this is the hottest ARM body.
pub(super) fn workspace_json<'a>(ctx: &'a Ctx<'a>, w: &'a Workspace, state: &'a str) -> WorkspaceView<'a> {
    WorkspaceView { ctx, w, state }
}

/// A workspace as an answer shows it ([`workspace_json`]).
pub(super) struct WorkspaceView<'a> {
    ctx: &'a Ctx<'a>,
    w: &'a Workspace,
    state: &'a str,
}

impl WorkspaceView<'_> {
    /// `200 OK` with this body.
    fn ok(&self) -> HttpResponse {
        let mut out = Vec::with_capacity(BODY_CAPACITY);
        self.write(&mut out);
        json_response(out)
    }

    /// Appends the body.
    fn write(&self, out: &mut Vec<u8>) {
        let (ctx, w) = (self.ctx, self.w);
        let id = ws_id(w);
        let tenant = tenant_of(ctx, w.subscription_id);
        let mut workspace_guid = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let workspace_guid: &str = w.workspace_id.hyphenated().encode_lower(&mut workspace_guid);
        let identity = super::computes::system_identity_json(&ctx.world, &id, workspace_guid, &tenant);
        let v2021 = ctx.since("2021-07-01");
        let location = w.location.as_str();
        let (g2021, g2023, g2024) = (v2021, ctx.since("2023-06-01"), ctx.since("2024-10-01"));
        let group = |on: bool, v: J<'static>| if on { v } else { J::Skip };
        let lower_name = lower(&w.name);
        let discovery = [ctx.base, "/discovery"];
        let tracking = ["azureml://", location, ".api.azureml.ms/mlflow/v1.0", &id];
        let fqdn = [
            "ml-",
            &lower_name,
            "-",
            location,
            "-",
            workspace_guid,
            ".",
            location,
            ".notebooks.azure.net",
        ];
        let notebook = [
            ("fqdn", J::Cat(&fqdn)),
            ("isPrivateLinkEnabled", J::Bool(false)),
            ("notebookPreparationError", J::Null),
            ("resourceId", J::Simple(w.workspace_id)),
        ];
        let serverless = [
            ("serverlessComputeCustomSubnet", J::Null),
            ("serverlessComputeNoPublicIP", J::Bool(false)),
        ];
        let managed_network = [("isolationMode", J::Str("Disabled"))];
        let acls = [("defaultAction", J::Str("Allow")), ("ipRules", J::EmptyArray)];
        // Sorted by name; `true` marks the 2020 members a linked resource of the same name replaces.
        let properties = [
            ("allowPublicAccessWhenBehindVnet", true, J::Bool(false)),
            ("allowRoleAssignmentOnRG", false, group(g2024, J::Bool(true))),
            ("creationTime", true, J::Str(&w.created)),
            ("description", true, J::Str(&w.description)),
            ("discoveryUrl", true, J::Cat(&discovery)),
            ("enableDataIsolation", false, group(g2023, J::Bool(false))),
            ("enableServiceSideCMKEncryption", false, group(g2024, J::Bool(false))),
            ("enableSoftwareBillOfMaterials", false, group(g2023, J::Bool(false))),
            ("friendlyName", true, J::Str(&w.friendly_name)),
            ("hbiWorkspace", true, J::Bool(false)),
            ("imageBuildCompute", true, J::Null),
            ("ipAllowlist", false, group(g2023, J::EmptyArray)),
            ("linkedModelInventoryArmId", false, group(g2021, J::Null)),
            (
                "managedNetwork",
                false,
                if g2023 { J::Obj(&managed_network) } else { J::Skip },
            ),
            (
                "mlFlowTrackingUri",
                false,
                if g2021 { J::Cat(&tracking) } else { J::Skip },
            ),
            ("networkAcls", false, if g2024 { J::Obj(&acls) } else { J::Skip }),
            ("notebookInfo", false, if g2021 { J::Obj(&notebook) } else { J::Skip }),
            ("privateLinkCount", true, J::U64(0)),
            ("provisioningState", true, J::Str(self.state)),
            ("publicNetworkAccess", false, group(g2021, J::Str("Enabled"))),
            ("sasGetterUri", false, group(g2023, J::Str(""))),
            (
                "sdkTelemetryAppInsightsKey",
                false,
                if g2021 {
                    J::Uuid(Uuid::new_v5(&w.workspace_id, b"telemetry"))
                } else {
                    J::Skip
                },
            ),
            (
                "serverlessComputeSettings",
                false,
                if g2023 { J::Obj(&serverless) } else { J::Skip },
            ),
            ("serviceProvisionedResourceGroup", true, J::Null),
            ("softDeleteEnabled", false, group(g2023, J::Bool(false))),
            ("storageHnsEnabled", true, J::Bool(false)),
            ("systemDatastoresAuthMode", false, group(g2024, J::Str("accesskey"))),
            ("tenantId", false, if g2021 { J::Str(&tenant) } else { J::Skip }),
            ("v1LegacyMode", false, group(g2021, J::Bool(false))),
            ("workspaceId", true, J::Uuid(w.workspace_id)),
        ];
        let sku = [("name", J::Str(&w.sku)), ("tier", J::Str(&w.sku))];
        let fixtures = Actor::fixtures();
        let created_by = w.provenance.created_by.as_ref().unwrap_or(&fixtures);
        let modified_by = w.provenance.modified_by.as_ref().unwrap_or(created_by);
        let system_data = [
            ("createdAt", J::Str(&w.created)),
            ("createdBy", J::Str(&created_by.name)),
            ("createdByType", J::Str(&created_by.kind)),
            (
                "lastModifiedAt",
                J::Str(w.provenance.modified.as_deref().unwrap_or(&w.created)),
            ),
            ("lastModifiedBy", J::Str(&modified_by.name)),
            ("lastModifiedByType", J::Str(&modified_by.kind)),
        ];
        debug_assert!(is_sorted(properties.iter().map(|(n, _, _)| *n)));
        debug_assert!(is_sorted(notebook.iter().chain(&system_data).map(|(n, _)| *n).take(4)));
        debug_assert!(is_sorted(system_data.iter().map(|(n, _)| *n)));
        let mut o = Object::open(out);
        o.member("etag", &J::Null);
        o.member("id", &J::Str(&id));
        // A few small objects: serde_json orders their members as a map would.
        let _ = serde_json::to_writer(o.name("identity"), &identity);
        o.member("kind", &J::Str("Default"));
        o.member("location", &J::Str(&w.location));
        o.member("name", &J::Str(&w.name));
        let mut p = Object::open(o.name("properties"));
        p.merged(&properties, &w.linked);
        p.close();
        o.member("sku", &J::Obj(&sku));
        if v2021 {
            o.member("systemData", &J::Obj(&system_data));
        }
        let _ = serde_json::to_writer(o.name("tags"), &w.tags);
        o.member("type", &J::Str(WS_TYPE));
        o.close();
    }
}

/// `s` in lower case, copied only when it has upper-case letters.
fn lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        s.to_ascii_lowercase().into()
    } else {
        s.into()
    }
}

/// What a workspace body usually takes: one allocation for the whole answer.
const BODY_CAPACITY: usize = 3072;

/// `200 OK` with a JSON body written by hand.
fn json_response(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::json()).body(body)
}

/// A workspace as shown now: `provisioningState` from its running operation.
fn shown<'a>(ctx: &'a Ctx<'a>, w: &'a Workspace) -> WorkspaceView<'a> {
    workspace_json(ctx, w, operations::provisioning_state(ctx, &ws_id(w)))
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
        "appInsightsInstrumentationKey": Uuid::new_v5(&w.workspace_id, b"appinsights"),
        "containerRegistryCredentials": registry,
        "notebookAccessKeys": {"primaryAccessKey": derived("notebook-primary"), "secondaryAccessKey": derived("notebook-secondary")}
    });
    keys[storage_key] = json!(w.linked.get("storageAccount"));
    Ok(HttpResponse::Ok().json(keys))
}
