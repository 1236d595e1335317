//! The model-management service (SDK v1 web services) under `/modelmanagement/v1.0/subscriptions/{s}/
//! resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}/…`: services
//! (list, get, create, delete), their keys, key regeneration with its operation, and tokens.
//! Callers present ARM tokens; each operation checks its RBAC action at the service's scope.

use actix_web::http::Method;
use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::arm::authn::{self, Caller};
use super::origin;
use crate::authority::aml;
use crate::decision::Gate;
use crate::domain::scope::Scope;
use crate::domain::services::{check_service_auth, new_key, ComputeType, Service, WorkspaceRef};
use crate::domain::World;
use crate::error::MmsError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/modelmanagement/v1.0").default_service(web::to(dispatch)));
}

type MmsResult = Result<HttpResponse, MmsError>;

const SERVICES_READ: &str = "Microsoft.MachineLearningServices/workspaces/services/read";

fn service_action(compute: ComputeType, verb: &str) -> String {
    format!(
        "Microsoft.MachineLearningServices/workspaces/services/{}/{verb}",
        compute.action_segment()
    )
}

/// What a model-management path names, below a workspace.
enum Op {
    Services,
    Service(String),
    ServiceAction(String, String),
    Operation(String),
}

fn parse(path: &str) -> Option<(WorkspaceRef, Op)> {
    let rest = path.strip_prefix("/modelmanagement/v1.0/")?;
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    if segs.len() < 9
        || !(eq(segs[0], "subscriptions") && eq(segs[2], "resourceGroups") && eq(segs[4], "providers"))
        || !(eq(segs[5], "Microsoft.MachineLearningServices") && eq(segs[6], "workspaces"))
    {
        return None;
    }
    let ws = WorkspaceRef {
        subscription_id: segs[1].parse().ok()?,
        resource_group: segs[3].to_string(),
        workspace: segs[7].to_string(),
    };
    let op = match &segs[8..] {
        [s] if eq(s, "services") => Op::Services,
        [s, name] if eq(s, "services") => Op::Service(name.to_string()),
        [s, name, action] if eq(s, "services") => Op::ServiceAction(name.to_string(), action.to_ascii_lowercase()),
        [o, id] if eq(o, "operations") => Op::Operation(id.to_string()),
        _ => return None,
    };
    Some((ws, op))
}

async fn dispatch(state: Data<AppState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let gate = Gate::new(&state, &req);
    match handle(&state, &req, &body, &gate) {
        Ok(r) => r,
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

fn handle(state: &AppState, req: &HttpRequest, body: &[u8], gate: &Gate<'_>) -> MmsResult {
    let base = origin(state, req);
    let world = state.world();
    let caller = authn::authenticate(state, &world, req, gate)?;
    let (ws, op) = parse(req.path())
        .ok_or_else(|| MmsError::new(404, "NotFound", format!("No model-management API at {}.", req.path())))?;
    // Nothing about the workspace is revealed to callers without any role in or above it.
    let ws_scope = Scope::parse(&ws.arm_id()).map_err(|e| MmsError::bad_argument(e.to_string()))?;
    gate.require_access_within(SERVICES_READ, &ws_scope)?;
    let workspace = world
        .workspace(ws.subscription_id, &ws.resource_group, &ws.workspace)
        .ok_or_else(|| {
            MmsError::new(
                404,
                "WorkspaceNotFound",
                format!("Workspace {} not found.", ws.workspace),
            )
        })?;
    // Canonical spelling from here on.
    let ws = WorkspaceRef {
        subscription_id: workspace.subscription_id,
        resource_group: workspace.resource_group.clone(),
        workspace: workspace.name.clone(),
    };
    let region = workspace.location.clone();
    let cx = Cx {
        state,
        req,
        caller: &caller,
        gate,
        base: &base,
        ws: &ws,
        world: &world,
    };
    match (op, req.method().clone()) {
        (Op::Services, Method::GET) => list(&cx),
        (Op::Services, Method::POST) => create(&cx, body),
        (Op::Service(name), Method::GET) => get(&cx, &name),
        (Op::Service(name), Method::DELETE) => delete(&cx, &name),
        (Op::ServiceAction(name, a), Method::POST) if a == "listkeys" => list_keys(&cx, &name),
        (Op::ServiceAction(name, a), Method::POST) if a == "regeneratekeys" => regenerate(&cx, &name, body),
        (Op::ServiceAction(name, a), Method::POST) if a == "token" => token(&cx, &name, &region),
        (Op::Operation(id), Method::GET) => operation(&cx, &id),
        (_, m) => Err(MmsError::new(
            405,
            "MethodNotAllowed",
            format!("{m} is not supported at {}.", req.path()),
        )),
    }
}

struct Cx<'a> {
    state: &'a AppState,
    req: &'a HttpRequest,
    caller: &'a Caller,
    gate: &'a Gate<'a>,
    base: &'a str,
    ws: &'a WorkspaceRef,
    world: &'a World,
}

impl Cx<'_> {
    /// The workspace's scope, or a service's below it.
    fn scope(&self, service: Option<&str>) -> Result<Scope, MmsError> {
        let id = match service {
            Some(name) => format!("{}/services/{name}", self.ws.arm_id()),
            None => self.ws.arm_id(),
        };
        Scope::parse(&id)
            .map_err(|_| MmsError::bad_argument(format!("Invalid service name '{}'.", service.unwrap_or_default())))
    }

    fn require(&self, action: &str, service: Option<&str>) -> Result<(), MmsError> {
        Ok(self.gate.require(action, &self.scope(service)?)?)
    }

    /// The service, when it lives in this workspace.
    fn service(&self, name: &str) -> Result<Service, MmsError> {
        self.world
            .service(name)
            .filter(|s| s.workspace == *self.ws)
            .cloned()
            .ok_or_else(|| MmsError::not_found(name))
    }

    fn base_path(&self) -> String {
        format!("{}/modelmanagement/v1.0{}", self.base, self.ws.arm_id())
    }
}

/// Scoring and swagger URIs: AKS services answer at `/api/v1/service/{name}/…` (as the AKS
/// router does), ACI services at a per-service path.
pub fn scoring_uris(base: &str, s: &Service) -> (String, String) {
    match s.compute_type {
        ComputeType::Aks => (
            format!("{base}/api/v1/service/{}/score", s.name),
            format!("{base}/api/v1/service/{}/swagger.json", s.name),
        ),
        ComputeType::Aci => (
            format!("{base}/aci/{}/score", s.name),
            format!("{base}/aci/{}/swagger.json", s.name),
        ),
    }
}

/// The service as `GET services/{name}?expand=true` returns it: every key azureml-core's payload
/// check expects is present, and nested objects are objects, never null. `imageDetails` is left
/// out: azureml-core deserializes it as an image whenever the key is present.
pub fn service_json(base: &str, s: &Service) -> Value {
    let (scoring, swagger) = scoring_uris(base, s);
    let mut v = json!({
        "id": s.name,
        "name": s.name,
        "description": s.description,
        "kvTags": {},
        "properties": {},
        "computeType": s.compute_type.as_str(),
        "createdTime": s.created,
        "updatedTime": s.created,
        "createdBy": null,
        "state": "Healthy",
        "error": null,
        "imageId": null,
        "models": [],
        "environmentImageRequest": null,
        "deploymentStatus": {"runningReplicas": 1, "desiredReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "error": null},
        "appInsightsEnabled": false,
        "authEnabled": s.auth_enabled,
        "aadAuthEnabled": s.token_auth_enabled,
        "scoringUri": scoring,
        "swaggerUri": swagger,
    });
    let extra = match s.compute_type {
        ComputeType::Aci => json!({
            "containerResourceRequirements": {"cpu": 0.1, "memoryInGB": 0.5},
            "location": null,
            "publicIp": null,
            "publicFqdn": null,
            "cname": null,
            "sslCertificate": null,
            "sslEnabled": false,
            "sslKey": null,
            "dataCollection": {"eventHubEnabled": false, "storageEnabled": false},
        }),
        ComputeType::Aks => json!({
            "computeName": "aks-compute",
            "namespace": "azureml-emulator",
            "isDefault": null,
            "trafficPercentile": null,
            "type": "Realtime",
            "containerResourceRequirements": {"cpu": 0.1, "cpuLimit": null, "memoryInGB": 0.5, "memoryInGBLimit": null, "gpu": 0},
            "autoScaler": {"autoscaleEnabled": true, "maxReplicas": 10, "minReplicas": 1, "refreshPeriodInSeconds": 1, "targetUtilization": 70},
            "dataCollection": {"eventHubEnabled": false, "storageEnabled": false},
            "livenessProbeRequirements": {"periodSeconds": 10, "initialDelaySeconds": 310, "timeoutSeconds": 2, "failureThreshold": 3, "successThreshold": 1},
            "maxConcurrentRequestsPerContainer": 1,
            "maxQueueWaitMs": 500,
            "numReplicas": null,
            "scoringTimeoutMs": 60000,
        }),
    };
    if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        obj.extend(more.clone());
    }
    v
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "computeType")]
    compute_type: Option<String>,
}

fn list(cx: &Cx<'_>) -> MmsResult {
    cx.require(SERVICES_READ, None)?;
    let q = web::Query::<ListQuery>::from_query(cx.req.query_string())
        .map_err(|e| MmsError::bad_argument(format!("Invalid query: {e}")))?;
    let wanted = match q.compute_type.as_deref() {
        Some(t) => {
            Some(ComputeType::parse(t).ok_or_else(|| MmsError::bad_argument(format!("Unknown computeType '{t}'.")))?)
        }
        None => None,
    };
    let value: Vec<Value> = cx
        .world
        .services
        .iter()
        .filter(|s| s.workspace == *cx.ws && wanted.is_none_or(|t| s.compute_type == t))
        .map(|s| service_json(cx.base, s))
        .collect();
    // No `nextLink` at all on the last page: azureml-core pages while the key is present.
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

fn get(cx: &Cx<'_>, name: &str) -> MmsResult {
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

/// Creates a service from a deploy configuration (`authEnabled`, `aadAuthEnabled`); answers 202
/// with an `Operation-Location` whose operation has already succeeded.
fn create(cx: &Cx<'_>, body: &[u8]) -> MmsResult {
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
    cx.require(&service_action(compute, "write"), Some(&b.name))?;
    let key_auth = b
        .auth_enabled
        .unwrap_or(compute == ComputeType::Aks && !b.aad_auth_enabled);
    check_service_auth(compute, key_auth, b.aad_auth_enabled).map_err(MmsError::bad_argument)?;
    if cx.world.service(&b.name).is_some() {
        return Err(MmsError::new(
            409,
            "Conflict",
            format!("A service named {} already exists.", b.name),
        ));
    }
    let service = Service {
        name: b.name.clone(),
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
        created: now_rfc3339(cx.state),
    };
    cx.state.store.put_service(&service).map_err(MmsError::internal)?;
    cx.state.services_changed().map_err(MmsError::internal)?;
    let op = finished_operation(cx, "ServiceCreate", &service.name);
    Ok(HttpResponse::Accepted()
        .insert_header(("Operation-Location", format!("{}/operations/{op}", cx.base_path())))
        .json(service_json(cx.base, &service)))
}

fn delete(cx: &Cx<'_>, name: &str) -> MmsResult {
    cx.require(SERVICES_READ, Some(name))?;
    let s = cx.service(name)?;
    cx.require(&service_action(s.compute_type, "delete"), Some(name))?;
    cx.state.store.delete_service(&s.name).map_err(MmsError::internal)?;
    cx.state.services_changed().map_err(MmsError::internal)?;
    Ok(HttpResponse::Ok().json(json!({})))
}

fn list_keys(cx: &Cx<'_>, name: &str) -> MmsResult {
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

/// Regenerates (or sets, with `keyValue`) one key; the other keeps working.
fn regenerate(cx: &Cx<'_>, name: &str, body: &[u8]) -> MmsResult {
    cx.require(SERVICES_READ, Some(name))?;
    let mut s = cx.service(name)?;
    cx.require(&service_action(s.compute_type, "write"), Some(name))?;
    let b: RegenerateBody =
        serde_json::from_slice(body).map_err(|e| MmsError::bad_argument(format!("Invalid request body: {e}")))?;
    let value = b.key_value.filter(|v| !v.is_empty()).unwrap_or_else(new_key);
    match b.key_type.to_ascii_lowercase().as_str() {
        "primary" => s.primary_key = value,
        "secondary" => s.secondary_key = value,
        _ => {
            return Err(MmsError::bad_argument(format!(
                "keyType must be Primary or Secondary, not '{}'.",
                b.key_type
            )))
        }
    }
    cx.state.store.put_service(&s).map_err(MmsError::internal)?;
    cx.state.services_changed().map_err(MmsError::internal)?;
    let op = finished_operation(cx, "ServiceKeyRegenerate", &s.name);
    Ok(HttpResponse::Accepted()
        .insert_header(("Operation-Location", format!("{}/operations/{op}", cx.base_path())))
        .finish())
}

/// A token for an AKS service with token auth. Needs only read access (Microsoft's article), and
/// fails with 503 while the workspace's region is down.
fn token(cx: &Cx<'_>, name: &str, region: &str) -> MmsResult {
    cx.require(SERVICES_READ, Some(name))?;
    let s = cx.service(name)?;
    if !s.token_auth_enabled {
        return Err(MmsError::bad_argument(format!(
            "Token authentication is not enabled for service {}.",
            s.name
        )));
    }
    if !cx.world.region_available(region) {
        return Err(MmsError::region_unavailable(region));
    }
    let issued = issue_token(
        cx.state,
        &s.workspace,
        cx.world,
        aml::service_audience(&s.workspace, &s.name),
        s.id,
        s.token_lifetime_seconds,
        Some(cx.caller),
    )
    .map_err(MmsError::internal)?;
    Ok(HttpResponse::Ok().json(json!({
        "accessToken": issued.token,
        "refreshAfter": issued.refresh_after,
        "expiryOn": issued.expires_on,
        "tokenType": "Bearer",
    })))
}

/// Mints an Azure ML token with the workspace's key.
pub fn issue_token(
    state: &AppState,
    ws: &WorkspaceRef,
    world: &World,
    audience: String,
    instance: Uuid,
    lifetime: Option<u32>,
    caller: Option<&Caller>,
) -> Result<aml::AmlToken, String> {
    let workspace = world
        .workspace(ws.subscription_id, &ws.resource_group, &ws.workspace)
        .ok_or_else(|| "workspace vanished".to_string())?;
    let key = state.workspace_key(workspace.workspace_id)?;
    Ok(aml::issue(
        &key,
        aml::Issue {
            region: &workspace.location,
            audience,
            instance,
            caller: caller.map(|c| c.object_id.to_string()),
            // The workspace's tenant, whoever asks: scoring checks it.
            tenant: world
                .subscription(ws.subscription_id)
                .map(|s| s.tenant_id.to_string())
                .ok_or_else(|| "subscription vanished".to_string())?,
            now: state.clock.unix(),
            lifetime: lifetime.map_or(aml::DEFAULT_LIFETIME_SECONDS, i64::from),
        },
    ))
}

fn finished_operation(cx: &Cx<'_>, kind: &str, service: &str) -> Uuid {
    let id = Uuid::new_v4();
    let now = now_rfc3339(cx.state);
    cx.state.record_operation(
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
    id
}

fn operation(cx: &Cx<'_>, id: &str) -> MmsResult {
    cx.require(SERVICES_READ, None)?;
    let found = Uuid::parse_str(id).ok().and_then(|id| cx.state.operation(id));
    found
        .map(|op| HttpResponse::Ok().json(op))
        .ok_or_else(|| MmsError::new(404, "NotFound", format!("Operation {id} not found.")))
}

fn now_rfc3339(state: &AppState) -> String {
    state
        .clock
        .now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
