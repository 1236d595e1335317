//! `azureml-emulator ad user …`: users created, read, changed and deleted with the emulator's
//! authority, in Microsoft Graph's user shape as `az ad user` prints it (`id`,
//! `userPrincipalName`, `displayName`, `givenName`, `surname`, …), plus the sign-in conditions
//! the emulator adds (`accountEnabled`, `locked`, `passwordExpired`, `mfaRequired`).

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{authorize, bad, parse};
use crate::domain::ids::parse_guid;
use crate::domain::secret::SecretHash;
use crate::domain::world::{User, UserState};
use crate::domain::{ObjectId, World};
use crate::error::AdminError;
use crate::service::users::{self, UserChange};
use crate::service::ServiceError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/{id}", web::get().to(show))
        .route("/users/{id}", web::patch().to(update))
        .route("/users/{id}", web::delete().to(delete))
        .route("/users/{id}/revoke-sessions", web::post().to(revoke_sessions));
}

/// A user in Graph's shape, as `az ad user show` prints it.
pub fn user_json(u: &User) -> Value {
    let (given, surname) = match u.display_name.split_once(' ') {
        Some((g, s)) => (Some(g), Some(s)),
        None => (None, None),
    };
    json!({
        "@odata.type": "#microsoft.graph.user",
        "businessPhones": [],
        "displayName": u.display_name,
        "givenName": given,
        "id": u.object_id,
        "jobTitle": null,
        "mail": null,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": surname,
        "userPrincipalName": u.upn,
        "accountEnabled": u.enabled,
        "locked": u.state.locked,
        "passwordExpired": u.state.password_expired,
        "mfaRequired": u.state.mfa_required,
    })
}

/// A user by object id or UPN; 404 in Graph's words otherwise.
pub fn find(world: &World, id: &str) -> Result<User, AdminError> {
    let by_id = parse_guid(id).ok().and_then(|g| world.user(ObjectId(g)));
    by_id.or_else(|| world.user_by_upn(id)).cloned().ok_or_else(|| {
        AdminError::NotFound(format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ))
    })
}

pub(super) fn service_error(e: ServiceError) -> AdminError {
    match e {
        ServiceError::NotFound => AdminError::NotFound("The object no longer exists.".into()),
        ServiceError::NameTaken => AdminError::Status(
            actix_web::http::StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName (or displayName) already exists.".into(),
        ),
        other => AdminError::Internal(other.to_string()),
    }
}

async fn list(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let value: Vec<Value> = state.world().users().iter().map(user_json).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

async fn show(state: Data<AppState>, req: HttpRequest, id: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    Ok(HttpResponse::Ok().json(user_json(&find(&state.world(), &id)?)))
}

/// `az ad user create` flags: `displayName`, `userPrincipalName` (its domain must be a verified
/// domain of a tenant), `password`; the rest optional.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewUser {
    display_name: String,
    user_principal_name: String,
    password: String,
    #[serde(default = "yes")]
    account_enabled: bool,
    #[serde(default)]
    force_change_password_next_sign_in: bool,
    #[serde(default)]
    locked: bool,
    #[serde(default)]
    mfa_required: bool,
    object_id: Option<ObjectId>,
}

fn yes() -> bool {
    true
}

async fn create(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let b: NewUser = parse(&body)?;
    let user = new_user(&state.world(), b)?;
    let made = crate::service::blocking(&state, move |s| users::create(s, user))
        .await
        .map_err(service_error)?;
    Ok(HttpResponse::Created().json(user_json(&made)))
}

fn new_user(world: &World, b: NewUser) -> Result<User, AdminError> {
    let domain = b
        .user_principal_name
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or_default();
    let tenant = world.tenant_by_domain(domain).ok_or_else(|| {
        bad("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
    })?;
    if b.display_name.trim().is_empty() || b.password.is_empty() {
        return Err(bad("displayName and password must not be empty"));
    }
    Ok(User {
        object_id: b.object_id.unwrap_or_else(|| ObjectId(Uuid::new_v4())),
        tenant_id: tenant.id,
        upn: b.user_principal_name,
        display_name: b.display_name,
        password: SecretHash::new(&b.password),
        enabled: b.account_enabled,
        state: UserState {
            locked: b.locked,
            password_expired: b.force_change_password_next_sign_in,
            mfa_required: b.mfa_required,
        },
    })
}

/// `az ad user update` flags (`accountEnabled`, `forceChangePasswordNextSignIn`, `password`,
/// `displayName`) plus the emulator's `locked` and `mfaRequired`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Patch {
    display_name: Option<String>,
    password: Option<String>,
    account_enabled: Option<bool>,
    force_change_password_next_sign_in: Option<bool>,
    locked: Option<bool>,
    mfa_required: Option<bool>,
}

async fn update(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let p: Patch = parse(&body)?;
    if p.password.as_deref() == Some("") {
        return Err(bad("password must not be empty"));
    }
    let oid = find(&state.world(), &id)?.object_id;
    let change = UserChange {
        display_name: p.display_name,
        password: p.password,
        enabled: p.account_enabled,
        password_expired: p.force_change_password_next_sign_in,
        locked: p.locked,
        mfa_required: p.mfa_required,
    };
    let user = crate::service::blocking(&state, move |s| users::update(s, oid, change))
        .await
        .map_err(service_error)?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}

async fn delete(state: Data<AppState>, req: HttpRequest, id: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let oid = find(&state.world(), &id)?.object_id;
    crate::service::blocking(&state, move |s| users::delete(s, oid))
        .await
        .map_err(service_error)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn revoke_sessions(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let oid = find(&state.world(), &id)?.object_id;
    let revoked = crate::service::blocking(&state, move |s| users::revoke_sessions(s, oid))
        .await
        .map_err(service_error)?;
    Ok(HttpResponse::Ok().json(json!({"value": true, "revokedGrants": revoked})))
}
