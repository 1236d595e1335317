//! Web services of a workspace: list, get, create, delete, keys, key regeneration (with its
//! already-finished operation) and Azure ML tokens.

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{service_json, Cx, MmsResult, SERVICES_READ};
use crate::authority::aml::{MintRequest, Scorable};
use crate::domain::services::{check_service_auth, new_key, ComputeType, KeySlot, Service};
use crate::error::MmsError;
use crate::service::deployments as writes;

fn service_action(compute: ComputeType, verb: &str) -> String {
    format!(
        "Microsoft.MachineLearningServices/workspaces/services/{}/{verb}",
        compute.action_segment()
    )
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "computeType")]
    compute_type: Option<String>,
}

pub(super) fn list(cx: &Cx<'_>) -> MmsResult {
    cx.require(SERVICES_READ, None)?;
    let q = actix_web::web::Query::<ListQuery>::from_query(cx.req.query_string())
        .map_err(|e| MmsError::bad_argument(format!("Invalid query: {e}")))?;
    let wanted = match q.compute_type.as_deref() {
        Some(t) => {
            Some(ComputeType::parse(t).ok_or_else(|| MmsError::bad_argument(format!("Unknown computeType '{t}'.")))?)
        }
        None => None,
    };
    let value: Vec<Value> = cx
        .world
        .services()
        .iter()
        .filter(|s| s.workspace == *cx.ws && wanted.is_none_or(|t| s.compute_type == t))
        .map(|s| service_json(cx.base, s))
        .collect();
    // No `nextLink` at all on the last page: azureml-core pages while the key is present.
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

pub(super) fn get(cx: &Cx<'_>, name: &str) -> MmsResult {
    cx.require(SERVICES_READ, Some(name))?;
    Ok(HttpResponse::Ok().json(service_json(cx.base, &cx.service(name)?)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    name: String,
    compute_type: String,
    auth_enabled: Option<bool>,
    #[serde(default)]
    aad_auth_enabled: bool,
    description: Option<String>,
}

/// Azure's rule for web service names: 3–32 lowercase letters, digits and dashes, starting with a
/// letter. Checked before the name is used for anything (a scope, a lookup, a row).
fn valid_service_name(name: &str) -> bool {
    (3..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The create body and its compute type, or `BadArgument` naming what is wrong.
fn read_create(body: &[u8]) -> Result<(CreateBody, ComputeType), MmsError> {
    let b: CreateBody =
        serde_json::from_slice(body).map_err(|e| MmsError::bad_argument(format!("Invalid request body: {e}")))?;
    let compute = ComputeType::parse(&b.compute_type).ok_or_else(|| {
        MmsError::bad_argument(format!("Unsupported computeType '{}': use ACI or AKS.", b.compute_type))
    })?;
    if !valid_service_name(&b.name) {
        return Err(MmsError::bad_argument(format!(
            "Invalid service name '{}': 3-32 lowercase letters, digits and dashes, starting with a letter.",
            b.name
        )));
    }
    Ok((b, compute))
}

/// Creates a service from a deploy configuration (`authEnabled`, `aadAuthEnabled`); answers 202
/// with an `Operation-Location` whose operation has already succeeded. A name already taken is
/// 409, decided by the database's uniqueness constraint.
pub(super) async fn create(cx: &Cx<'_>, body: &[u8]) -> MmsResult {
    let (b, compute) = read_create(body)?;
    cx.require(&service_action(compute, "write"), Some(&b.name))?;
    let key_auth = b
        .auth_enabled
        .unwrap_or(compute == ComputeType::Aks && !b.aad_auth_enabled);
    check_service_auth(compute, key_auth, b.aad_auth_enabled).map_err(MmsError::bad_argument)?;
    let taken = MmsError::new(409, "Conflict", format!("A service named {} already exists.", b.name));
    let service = Service {
        name: b.name,
        id: Uuid::new_v4(),
        workspace: cx.ws.clone(),
        compute_type: compute,
        auth_enabled: key_auth,
        token_auth_enabled: b.aad_auth_enabled,
        primary_key: new_key(),
        secondary_key: new_key(),
        scoring: Default::default(),
        token_lifetime_seconds: None,
        description: b.description,
        created: now_rfc3339(cx),
        cluster_region: None,
    };
    let service = cx.write(move |s| writes::create_service(s, service), |_| taken).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            "Operation-Location",
            finished_operation(cx, "ServiceCreate", &service.name),
        ))
        .json(service_json(cx.base, &service)))
}

pub(super) async fn delete(cx: &Cx<'_>, name: &str) -> MmsResult {
    cx.require(SERVICES_READ, Some(name))?;
    let s = cx.service(name)?;
    cx.require(&service_action(s.compute_type, "delete"), Some(name))?;
    cx.write(
        move |state| writes::delete_service(state, &s.name, s.id),
        MmsError::internal,
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

pub(super) fn list_keys(cx: &Cx<'_>, name: &str) -> MmsResult {
    cx.require(SERVICES_READ, Some(name))?;
    let s = cx.service(name)?;
    cx.require(&service_action(s.compute_type, "listkeys/action"), Some(name))?;
    Ok(HttpResponse::Ok().json(json!({"primaryKey": s.primary_key, "secondaryKey": s.secondary_key})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegenerateBody {
    key_type: String,
    key_value: Option<String>,
}

/// Regenerates (or sets, with `keyValue`) one key; the other keeps working. A single-column
/// update of the instance read here: a concurrent regeneration of the other key is not lost, and
/// a service deleted meanwhile stays deleted (404).
pub(super) async fn regenerate_keys(cx: &Cx<'_>, name: &str, body: &[u8]) -> MmsResult {
    cx.require(SERVICES_READ, Some(name))?;
    let s = cx.service(name)?;
    cx.require(&service_action(s.compute_type, "write"), Some(name))?;
    let b: RegenerateBody =
        serde_json::from_slice(body).map_err(|e| MmsError::bad_argument(format!("Invalid request body: {e}")))?;
    let slot = KeySlot::parse(&b.key_type).ok_or_else(|| {
        MmsError::bad_argument(format!("keyType must be Primary or Secondary, not '{}'.", b.key_type))
    })?;
    let value = b.key_value.filter(|v| !v.is_empty()).unwrap_or_else(new_key);
    let gone = MmsError::not_found(name);
    cx.write(
        move |state| writes::set_service_key(state, &s.name, s.id, slot, value),
        |_| gone,
    )
    .await?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            "Operation-Location",
            finished_operation(cx, "ServiceKeyRegenerate", name),
        ))
        .finish())
}

/// A token for an AKS service with token auth. Needs only read access (Microsoft's article), and
/// fails with 503 while the workspace's region is down.
pub(super) async fn token(cx: &Cx<'_>, name: &str) -> MmsResult {
    cx.require(SERVICES_READ, Some(name))?;
    let s = cx.service(name)?;
    if !s.token_auth_enabled {
        return Err(MmsError::bad_argument(format!(
            "Token authentication is not enabled for service {}.",
            s.name
        )));
    }
    if !cx.world.region_available(&cx.region) {
        return Err(MmsError::region_unavailable(&cx.region));
    }
    // The farther the cluster from the workspace's region, the longer the token takes.
    let distance = cx.data.settings.region_latency(&cx.region, s.cluster_region.as_deref());
    if !distance.is_zero() {
        actix_web::rt::time::sleep(distance).await;
    }
    let request = MintRequest {
        kind: Scorable::Service,
        name: s.name.clone(),
        workspace: s.workspace,
        instance: s.id,
        lifetime: s.token_lifetime_seconds,
        caller: Some(cx.caller.object_id.to_string()),
        now: cx.data.clock.unix(),
    };
    let world = cx.world.clone();
    let issued = cx
        .write(
            move |state| crate::service::keys::mint_aml_token(state, &world, request),
            MmsError::internal,
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "accessToken": issued.token,
        "refreshAfter": issued.refresh_after,
        "expiryOn": issued.expires_on,
        "tokenType": "Bearer",
    })))
}

/// Records an operation that has already succeeded; answers its `Operation-Location`.
fn finished_operation(cx: &Cx<'_>, kind: &str, service: &str) -> String {
    let id = Uuid::new_v4();
    let now = now_rfc3339(cx);
    cx.data.record_operation(
        id,
        json!({
            "id": id,
            "operationType": kind,
            "state": "Succeeded",
            "createdTime": now,
            "endTime": now,
            "resourceLocation": format!("/api{}/services/{service}", cx.ws.arm_id()),
            "error": null,
        }),
    );
    format!("{}/operations/{id}", cx.base_path())
}

pub(super) fn operation(cx: &Cx<'_>, id: &str) -> MmsResult {
    cx.require(SERVICES_READ, None)?;
    let found = Uuid::parse_str(id).ok().and_then(|id| cx.data.operation(id));
    found
        .map(|op| HttpResponse::Ok().json(op))
        .ok_or_else(|| MmsError::new(404, "NotFound", format!("Operation {id} not found.")))
}

fn now_rfc3339(cx: &Cx<'_>) -> String {
    cx.data
        .clock
        .now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
