//! Credential lifecycle at run time ([`crate::service::lifecycle`]):
//! `POST /service-principals/{id}/secrets` (add), `POST …/secrets/{keyId}/expire`,
//! `DELETE …/secrets/{keyId}`, `POST /principals/{id}/disable|enable` (a user or a service
//! principal), `POST /service-principals/{id}/token-lifetime` and
//! `POST /services/{name}/token-lifetime` (`{"seconds": N | null}`, or `{"lifetime": "5s"}`).

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{authorize, bad, parse, resolve};
use crate::domain::rbac::PrincipalType;
use crate::domain::{ClientId, World};
use crate::error::AdminError;
use crate::service::lifecycle::{self as writes, PrincipalRef};
use crate::service::ServiceError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/service-principals/{id}/secrets", web::post().to(add_secret))
        .route(
            "/service-principals/{id}/secrets/{key}/expire",
            web::post().to(expire_secret),
        )
        .route(
            "/service-principals/{id}/secrets/{key}",
            web::delete().to(delete_secret),
        )
        .route("/service-principals/{id}/token-lifetime", web::post().to(app_lifetime))
        .route("/principals/{id}/disable", web::post().to(disable))
        .route("/principals/{id}/enable", web::post().to(enable))
        .route("/services/{name}/token-lifetime", web::post().to(service_lifetime));
}

/// The application a control-API id names: client id, object id or display name.
fn application(world: &World, id: &str) -> Result<ClientId, AdminError> {
    match resolve::assignee(world, id)? {
        (oid, PrincipalType::ServicePrincipal) => world
            .applications()
            .iter()
            .find(|a| a.object_id == oid)
            .map(|a| a.client_id)
            .ok_or_else(|| AdminError::NotFound(format!("no service principal matches '{id}'"))),
        _ => Err(AdminError::NotFound(format!("'{id}' is not a service principal"))),
    }
}

fn refused(e: ServiceError, what: &str) -> AdminError {
    match e {
        ServiceError::NotFound => AdminError::NotFound(format!("{what} does not exist")),
        e => AdminError::Internal(e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSecret {
    #[serde(default, rename = "displayName")]
    display_name: String,
    /// The value (a random one when absent).
    value: Option<String>,
    /// RFC 3339, emulator clock.
    expires: Option<String>,
    /// Or: seconds from now on the emulator clock.
    expires_in_seconds: Option<i64>,
}

/// Adds a secret (shown once in the answer): the application's other secrets keep working, so two
/// are valid during a rotation.
async fn add_secret(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let b: NewSecret = parse(&body)?;
    let client = application(&state.world(), &id)?;
    let expires = match (b.expires, b.expires_in_seconds) {
        (Some(_), Some(_)) => return Err(bad("give expires or expires_in_seconds, not both")),
        (Some(at), None) => Some(OffsetDateTime::parse(&at, &Rfc3339).map_err(|e| bad(format!("expires: {e}")))?),
        (None, Some(s)) => {
            Some(state.clock.now() + time::Duration::seconds(s.clamp(-86_400 * 36_500, 86_400 * 36_500)))
        }
        (None, None) => None,
    };
    if b.value.as_deref().is_some_and(|v| v.is_empty() || v.len() > 256) {
        return Err(bad("value: 1 to 256 characters"));
    }
    let created = crate::service::blocking(&state, move |s| {
        writes::add_secret(s, client, b.display_name, b.value, expires)
    })
    .await
    .map_err(|e| refused(e, "the application"))?;
    Ok(HttpResponse::Created().json(json!({
        "appId": client.to_string(),
        "keyId": created.secret.key_id,
        "displayName": created.secret.display_name,
        "hint": created.secret.hint,
        "secretText": created.value,
        "endDateTime": created.secret.expires.and_then(|e| e.format(&Rfc3339).ok()),
    })))
}

fn key_id(key: &str) -> Result<Uuid, AdminError> {
    Uuid::parse_str(key).map_err(|_| bad(format!("'{key}' is not a secret's keyId (a GUID)")))
}

/// Expires a secret now (emulator clock): the next token request with it gets AADSTS7000222.
async fn expire_secret(
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let (id, key) = path.into_inner();
    let (client, key) = (application(&state.world(), &id)?, key_id(&key)?);
    let now = state.clock.now();
    crate::service::blocking(&state, move |s| writes::set_secret_expiry(s, client, key, Some(now)))
        .await
        .map_err(|e| refused(e, "the secret"))?;
    Ok(HttpResponse::Ok().json(json!({"keyId": key, "endDateTime": now.format(&Rfc3339).unwrap_or_default()})))
}

async fn delete_secret(
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let (id, key) = path.into_inner();
    let (client, key) = (application(&state.world(), &id)?, key_id(&key)?);
    crate::service::blocking(&state, move |s| writes::delete_secret(s, client, key))
        .await
        .map_err(|e| refused(e, "the secret"))?;
    Ok(HttpResponse::Ok().json(json!({"keyId": key, "deleted": true})))
}

async fn set_enabled(
    state: Data<AppState>,
    req: HttpRequest,
    id: &str,
    enabled: bool,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let world = state.world();
    let who = match resolve::assignee(&world, id)? {
        (oid, PrincipalType::User) => PrincipalRef::User(oid),
        _ => PrincipalRef::Application(application(&world, id)?),
    };
    crate::service::blocking(&state, move |s| writes::set_enabled(s, who, enabled))
        .await
        .map_err(|e| refused(e, "the principal"))?;
    Ok(HttpResponse::Ok().json(json!({"id": id, "enabled": enabled})))
}

async fn disable(state: Data<AppState>, req: HttpRequest, id: Path<String>) -> Result<HttpResponse, AdminError> {
    set_enabled(state, req, &id, false).await
}

async fn enable(state: Data<AppState>, req: HttpRequest, id: Path<String>) -> Result<HttpResponse, AdminError> {
    set_enabled(state, req, &id, true).await
}

/// `{"seconds": N}`, `{"lifetime": "5s"}` (90, 90s, 15m, 1h) or `{"seconds": null}` (back to the default).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Lifetime {
    #[serde(default)]
    seconds: Option<u32>,
    #[serde(default)]
    lifetime: Option<String>,
}

fn lifetime(body: &[u8]) -> Result<Option<u32>, AdminError> {
    let l: Lifetime = parse(body)?;
    let seconds = match (l.seconds, l.lifetime) {
        (Some(_), Some(_)) => return Err(bad("give seconds or lifetime, not both")),
        (s, None) => s,
        (None, Some(text)) => {
            let d = crate::clock::parse_duration(&text)
                .ok_or_else(|| bad(format!("lifetime '{text}': use 90, 90s, 15m, 1h or 2d")))?;
            Some(u32::try_from(d.whole_seconds()).map_err(|_| bad("lifetime is positive"))?)
        }
    };
    if seconds.is_some_and(|s| !(1..=86_400 * 400).contains(&s)) {
        return Err(bad("a lifetime is 1 second to 400 days"));
    }
    Ok(seconds)
}

async fn app_lifetime(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let seconds = lifetime(&body)?;
    let client = application(&state.world(), &id)?;
    crate::service::blocking(&state, move |s| writes::set_application_lifetime(s, client, seconds))
        .await
        .map_err(|e| refused(e, "the application"))?;
    Ok(HttpResponse::Ok().json(json!({"appId": client.to_string(), "token_lifetime_seconds": seconds})))
}

async fn service_lifetime(
    state: Data<AppState>,
    req: HttpRequest,
    name: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let seconds = lifetime(&body)?;
    let n = name.clone();
    crate::service::blocking(&state, move |s| writes::set_deployment_lifetime(s, &n, seconds))
        .await
        .map_err(|e| refused(e, &format!("'{name}'")))?;
    Ok(HttpResponse::Ok().json(json!({"name": name.as_str(), "token_lifetime_seconds": seconds})))
}
