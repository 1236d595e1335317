//! `azureml-emulator sp create-for-rbac` and `sp show`: service principals created and read with
//! the emulator's authority.

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::role_assignments::assign;
use super::{authorize, bad, parse, resolve};
use crate::domain::ids::parse_guid;
use crate::domain::rbac::PrincipalType;
use crate::domain::scope::Scope;
use crate::error::AdminError;
use crate::fixtures::{seed::client_secret, SecretSpec};
use crate::service::directory;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/service-principals", web::post().to(create))
        .route("/service-principals/{id}", web::get().to(show));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewServicePrincipal {
    display_name: String,
    role: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    /// A public certificate (PEM): the principal gets it instead of a new secret
    /// (`create-for-rbac --create-cert`).
    certificate: Option<String>,
}

/// A new client secret as az makes them: `8 chars~base64url`.
fn new_password() -> String {
    format!(
        "{}~{}",
        &Uuid::new_v4().simple().to_string()[..8],
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
    )
}

/// Like `az ad sp create-for-rbac`: a new application + service principal with one fresh secret
/// (shown only in this answer), optionally assigned a role at each scope. An existing application
/// of that name is patched instead: it gets a new secret (its others keep working). Everything is
/// checked before anything is written.
async fn create(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let body: NewServicePrincipal = parse(&body)?;
    let grants = requested_roles(&state, &body)?;
    let tenant = state
        .world()
        .default_tenant()
        .ok_or_else(|| AdminError::Internal("no tenant".into()))?
        .id;
    let (password, made) = match &body.certificate {
        Some(pem) => (None, with_certificate(&state, &body.display_name, tenant, pem).await?),
        None => {
            let password = new_password();
            let made = with_secret(&state, &body.display_name, tenant, &password).await?;
            (Some(password), made)
        }
    };
    let mut assignments = Vec::new();
    for (role, scope) in &grants {
        assignments.push(assign(&state, (made.object_id, PrincipalType::ServicePrincipal), *role, scope).await?);
    }
    let mut status = if made.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(status.json(json!({
        "appId": made.client_id,
        "objectId": made.object_id,
        "displayName": body.display_name,
        "password": password,
        "tenant": tenant,
        "roleAssignments": assignments,
    })))
}

async fn with_secret(
    state: &Data<AppState>,
    name: &str,
    tenant: crate::domain::TenantId,
    password: &str,
) -> Result<directory::Credential, AdminError> {
    let secret = client_secret(&SecretSpec {
        value: password.to_string(),
        display_name: "rbac".into(),
        expires: None,
    });
    let name = name.to_string();
    crate::service::blocking(state, move |s| {
        directory::create_or_add_secret(s, &name, tenant, secret)
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))
}

/// `create-for-rbac --create-cert`: the certificate (checked before anything is written) instead
/// of a secret.
async fn with_certificate(
    state: &Data<AppState>,
    name: &str,
    tenant: crate::domain::TenantId,
    pem: &str,
) -> Result<directory::Credential, AdminError> {
    let cert = crate::domain::certificate::Certificate::from_pem(pem, "rbac", None).map_err(|e| bad(e.to_string()))?;
    let name = name.to_string();
    crate::service::blocking(state, move |s| {
        crate::service::credentials::create_with_certificate(s, &name, tenant, cert)
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))
}

/// The (role, scope) pairs to assign, all checked before anything is written: a non-blank name,
/// a known role, at least one scope with a role, and scopes that exist.
fn requested_roles(state: &AppState, body: &NewServicePrincipal) -> Result<Vec<(Uuid, Scope)>, AdminError> {
    if body.display_name.trim().is_empty() {
        return Err(bad("displayName must not be empty"));
    }
    let role = body.role.as_deref().map(|r| resolve::role(state, r)).transpose()?;
    if role.is_some() && body.scopes.is_empty() {
        return Err(bad("a role needs at least one scope"));
    }
    let scopes = body
        .scopes
        .iter()
        .map(|s| resolve::scope(state, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(role
        .map(|r| scopes.into_iter().map(|s| (r, s)).collect())
        .unwrap_or_default())
}

/// By client id or object id, in Microsoft Graph's service principal shape.
async fn show(state: Data<AppState>, req: HttpRequest, id: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let world = state.world();
    let guid = parse_guid(&id).map_err(|_| bad(format!("'{id}' is not a GUID")))?;
    let managed = world.identities().managed.iter().map(|m| &m.service_principal);
    let app = world
        .applications()
        .iter()
        .chain(managed)
        .find(|a| a.client_id.0 == guid || a.object_id.0 == guid)
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ))
        })?;
    Ok(HttpResponse::Ok().json(json!({
        "objectId": app.object_id,
        "id": app.object_id,
        "appId": app.client_id,
        "appDisplayName": app.display_name,
        "displayName": app.display_name,
        "accountEnabled": app.enabled,
        "appOwnerOrganizationId": app.tenant_id,
        "servicePrincipalType": if world.identities().by_client(app.client_id).is_some() { "ManagedIdentity" } else { "Application" },
        "servicePrincipalNames": [app.client_id.to_string()],
        "passwordCredentials": app.secrets.iter().map(|s| json!({
            "keyId": s.key_id, "displayName": s.display_name, "hint": s.hint,
            "endDateTime": s.expires.and_then(|e| e.format(&Rfc3339).ok()),
        })).collect::<Vec<_>>(),
        "keyCredentials": world.identities().certificates_of(app.client_id).iter()
            .map(super::credentials::certificate_json).collect::<Vec<_>>(),
    })))
}
