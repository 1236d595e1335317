//! Control-API verbs behind `azureml-emulator service …` and `region outage`: web services and
//! online endpoints by name, with the emulator's authority (no RBAC).

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::authorize;
use crate::authority::aml::{MintRequest, Scorable};
use crate::domain::services::{new_key, AuthMode, KeySlot, OnlineEndpoint, Service};
use crate::error::AdminError;
use crate::http::origin;
use crate::http::shapes::service::service_json;
use crate::http::urls;
use crate::service::{deployments as writes, ServiceError};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/services", web::get().to(list))
        .route("/services/{name}", web::get().to(show))
        .route("/services/{name}/keys", web::get().to(keys))
        .route("/services/{name}/regenerate-key", web::post().to(regenerate))
        .route("/services/{name}/token", web::post().to(token))
        .route("/regions/{region}/outage", web::post().to(outage));
}

/// A web service or an online endpoint, found by name.
enum Found {
    Service(Service),
    Endpoint(OnlineEndpoint),
}

fn find(state: &AppState, name: &str) -> Result<Found, AdminError> {
    let world = state.world();
    if let Some(s) = world.service(name) {
        return Ok(Found::Service(s.clone()));
    }
    world
        .online_endpoint(name)
        .map(|e| Found::Endpoint(e.clone()))
        .ok_or_else(|| AdminError::NotFound(format!("no web service or online endpoint is named '{name}'")))
}

fn summary(base: &str, found: &Found) -> Value {
    match found {
        Found::Service(s) => json!({
            "name": s.name, "kind": "webservice", "computeType": s.compute_type.as_str(),
            "authEnabled": s.auth_enabled, "tokenAuthEnabled": s.token_auth_enabled,
            "workspace": s.workspace.arm_id(), "scoringUri": urls::service_uris(base, s).0,
        }),
        Found::Endpoint(e) => json!({
            "name": e.name, "kind": "onlineEndpoint", "authMode": e.auth_mode.as_str(),
            "workspace": e.workspace.arm_id(), "deployments": e.deployments,
            "scoringUri": urls::endpoint_uris(base, e).0,
        }),
    }
}

async fn list(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let base = origin(&state, &req);
    let world = state.world();
    let value: Vec<Value> = world
        .services()
        .iter()
        .map(|s| summary(&base, &Found::Service(s.clone())))
        .chain(
            world
                .online_endpoints()
                .iter()
                .map(|e| summary(&base, &Found::Endpoint(e.clone()))),
        )
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

async fn show(state: Data<AppState>, req: HttpRequest, name: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let base = origin(&state, &req);
    let found = find(&state, &name)?;
    let mut v = summary(&base, &found);
    if let Found::Service(s) = &found {
        v["service"] = service_json(&base, s);
    }
    Ok(HttpResponse::Ok().json(v))
}

fn key_pair(found: &Found) -> (String, String) {
    match found {
        Found::Service(s) => (s.primary_key.clone(), s.secondary_key.clone()),
        Found::Endpoint(e) => (e.primary_key.clone(), e.secondary_key.clone()),
    }
}

async fn keys(state: Data<AppState>, req: HttpRequest, name: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let (primary, secondary) = key_pair(&find(&state, &name)?);
    Ok(HttpResponse::Ok().json(json!({"primaryKey": primary, "secondaryKey": secondary})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Regenerate {
    key_type: String,
    key_value: Option<String>,
}

fn refused(name: &str) -> impl FnOnce(ServiceError) -> AdminError + '_ {
    move |e| match e {
        ServiceError::NotFound => AdminError::NotFound(format!("'{name}' was deleted meanwhile")),
        e => AdminError::Internal(e.to_string()),
    }
}

/// Regenerates one key (or sets it to `keyValue`); answers with both keys.
async fn regenerate(
    state: Data<AppState>,
    req: HttpRequest,
    name: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let b: Regenerate =
        serde_json::from_slice(&body).map_err(|e| AdminError::BadRequest(format!("invalid JSON body: {e}")))?;
    let slot = KeySlot::parse(&b.key_type)
        .ok_or_else(|| AdminError::BadRequest(format!("keyType must be Primary or Secondary, not '{}'", b.key_type)))?;
    let value = b.key_value.filter(|v| !v.is_empty()).unwrap_or_else(new_key);
    let found = find(&state, &name)?;
    let keys = crate::service::blocking(&state, move |s| match found {
        Found::Service(x) => {
            writes::set_service_key(s, &x.name, x.id, slot, value).map(|x| key_pair(&Found::Service(x)))
        }
        Found::Endpoint(x) => {
            writes::set_endpoint_key(s, &x.name, x.id, slot, value).map(|x| key_pair(&Found::Endpoint(x)))
        }
    })
    .await
    .map_err(refused(&name))?;
    Ok(HttpResponse::Ok().json(json!({"primaryKey": keys.0, "secondaryKey": keys.1})))
}

/// What to mint for a service with token auth or an AMLToken endpoint (none for the others).
fn mint_request(state: &AppState, found: Found) -> Option<MintRequest> {
    let (workspace, kind, name, instance, lifetime) = match found {
        Found::Service(s) if s.token_auth_enabled => (
            s.workspace.clone(),
            Scorable::Service,
            s.name.clone(),
            s.id,
            s.token_lifetime_seconds,
        ),
        Found::Endpoint(e) if e.auth_mode == AuthMode::AmlToken => (
            e.workspace.clone(),
            Scorable::Endpoint,
            e.name.clone(),
            e.id,
            e.token_lifetime_seconds,
        ),
        _ => return None,
    };
    Some(MintRequest {
        workspace,
        kind,
        name,
        instance,
        lifetime,
        caller: None,
        now: state.clock.unix(),
    })
}

/// A token, as the service's own API would hand it out (and refused the same way).
async fn token(state: Data<AppState>, req: HttpRequest, name: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let world = state.world();
    let request = mint_request(&state, find(&state, &name)?)
        .ok_or_else(|| AdminError::BadRequest(format!("'{name}' does not use Azure ML token auth")))?;
    let ws = &request.workspace;
    let region = world
        .workspace(ws.subscription_id, &ws.resource_group, &ws.workspace)
        .map(|w| w.location.clone())
        .unwrap_or_default();
    if !world.region_available(&region) {
        return Err(AdminError::Unavailable(format!(
            "region '{region}' is unavailable: tokens cannot be issued"
        )));
    }
    let t = crate::service::blocking(&state, move |s| {
        crate::service::keys::mint_aml_token(s, &world, request)
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(json!({"accessToken": t.token, "refreshAfter": t.refresh_after, "expiryOn": t.expires_on, "tokenType": "Bearer"})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Outage {
    on: bool,
}

async fn outage(
    state: Data<AppState>,
    req: HttpRequest,
    region: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let b: Outage =
        serde_json::from_slice(&body).map_err(|e| AdminError::BadRequest(format!("invalid JSON body: {e}")))?;
    if !crate::domain::services::is_region_name(&region) {
        return Err(AdminError::BadRequest(format!(
            "'{region}' is not an Azure region name (letters and digits, as in eastus or westeurope2)"
        )));
    }
    let r = region.clone();
    crate::service::blocking(&state, move |s| writes::set_region_outage(s, &r, b.on))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let world = state.world();
    Ok(HttpResponse::Ok().json(json!({"region": region.as_str(), "available": world.region_available(&region), "unavailable_regions": world.unavailable_regions()})))
}
