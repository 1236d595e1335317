//! Credentials without secrets through the control API: certificates on applications
//! (`ad app credential reset --create-cert`, `sp create-for-rbac --create-cert`) and federated
//! identity credentials on applications and user-assigned identities (`ad app
//! federated-credential create|list|delete`), in Microsoft Graph's shapes.

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{authorize, bad, parse};
use crate::authority::issuers::test_issuer_name;
use crate::domain::certificate::Certificate;
use crate::domain::ids::parse_guid;
use crate::domain::world::identities::TOKEN_EXCHANGE_AUDIENCE;
use crate::domain::world::{FederatedCredential, FederatedIssuer, World};
use crate::domain::ClientId;
use crate::error::AdminError;
use crate::service::{credentials, ServiceError};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/applications/{id}/certificates", web::post().to(add_certificate))
        .route(
            "/applications/{id}/federated-credentials",
            web::get().to(list_federated),
        )
        .route(
            "/applications/{id}/federated-credentials",
            web::post().to(add_federated),
        )
        .route(
            "/applications/{id}/federated-credentials/{name}",
            web::delete().to(delete_federated),
        );
}

/// An application (client id, object id or display name) or, when `identities` is set, a
/// user-assigned identity (client id or name): its client id.
pub fn owner(world: &World, id: &str, identities: bool) -> Result<ClientId, AdminError> {
    let guid = parse_guid(id).ok();
    let app = world
        .applications()
        .iter()
        .find(|a| a.display_name == id || Some(a.client_id.0) == guid || Some(a.object_id.0) == guid)
        .map(|a| a.client_id);
    let uami = || {
        world
            .identities()
            .user_assigned
            .iter()
            .find(|u| identities && (u.name == id || Some(u.client_id.0) == guid))
            .map(|u| u.client_id)
    };
    app.or_else(uami).ok_or_else(|| {
        AdminError::NotFound(format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ))
    })
}

pub fn certificate_json(c: &Certificate) -> Value {
    json!({
        "keyId": c.key_id, "displayName": c.display_name, "type": "AsymmetricX509Cert", "usage": "Verify",
        "customKeyIdentifier": c.thumbprint,
        "startDateTime": c.start.format(&Rfc3339).ok(), "endDateTime": c.end.format(&Rfc3339).ok(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewCertificate {
    /// The public certificate (PEM); a private key in the same text is ignored, never stored.
    pem: String,
    #[serde(default)]
    display_name: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    end_date_time: Option<OffsetDateTime>,
    /// Replace the application's certificates (az's `credential reset` without `--append`).
    #[serde(default)]
    replace: bool,
}

async fn add_certificate(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let body: NewCertificate = parse(&body)?;
    let owner = owner(&state.world(), &id, false)?;
    let cert =
        Certificate::from_pem(&body.pem, &body.display_name, body.end_date_time).map_err(|e| bad(e.to_string()))?;
    let shown = certificate_json(&cert);
    crate::service::blocking(&state, move |s| {
        credentials::add_certificates(s, owner, vec![cert], body.replace)
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    Ok(HttpResponse::Created().json(json!({"appId": owner, "keyCredential": shown})))
}

/// Microsoft Graph's `federatedIdentityCredential`; a test issuer shows its URL on this origin.
fn federated_json(state: &AppState, req: &HttpRequest, f: &FederatedCredential) -> Value {
    let issuer = match &f.issuer {
        FederatedIssuer::Url(u) => u.clone(),
        FederatedIssuer::Test(n) => crate::authority::issuers::issuer_url(&crate::http::origin(state, req), n),
    };
    json!({"name": f.name, "issuer": issuer, "subject": f.subject, "audiences": f.audiences, "description": f.description})
}

async fn list_federated(state: Data<AppState>, req: HttpRequest, id: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let world = state.world();
    let owner = owner(&world, &id, true)?;
    let value: Vec<Value> = world
        .identities()
        .federated_of(owner)
        .iter()
        .map(|f| federated_json(&state, &req, f))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "appId": owner, "value": value })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewFederated {
    name: String,
    issuer: String,
    subject: String,
    audiences: Option<Vec<String>>,
    description: Option<String>,
}

/// Graph's body (`az ad app federated-credential create --parameters`). An issuer URL of one of
/// this emulator's test issuers is kept by name, so it survives a change of port.
async fn add_federated(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let b: NewFederated = parse(&body)?;
    let owner = owner(&state.world(), &id, true)?;
    let audiences = b.audiences.unwrap_or_else(|| vec![TOKEN_EXCHANGE_AUDIENCE.to_string()]);
    if b.name.trim().is_empty() || b.subject.is_empty() || b.issuer.is_empty() || audiences.is_empty() {
        return Err(bad("name, issuer, subject and audiences must not be empty"));
    }
    let issuer = match test_issuer_name(&state.origins, &b.issuer) {
        Some(n) => FederatedIssuer::Test(n.to_string()),
        None => FederatedIssuer::Url(b.issuer.clone()),
    };
    let f = FederatedCredential {
        name: b.name,
        issuer,
        subject: b.subject,
        audiences,
        description: b.description,
    };
    let shown = federated_json(&state, &req, &f);
    match crate::service::blocking(&state, move |s| credentials::add_federated(s, owner, f)).await {
        Ok(()) => Ok(HttpResponse::Created().json(shown)),
        Err(ServiceError::NameTaken) => Err(AdminError::Status(
            actix_web::http::StatusCode::CONFLICT,
            "Conflict",
            "A federated identity credential with this name already exists on the application.".into(),
        )),
        Err(e) => Err(AdminError::Internal(e.to_string())),
    }
}

async fn delete_federated(
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let (id, name) = path.into_inner();
    let owner = owner(&state.world(), &id, true)?;
    let gone = crate::service::blocking(&state, move |s| credentials::delete_federated(s, owner, &name))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    if gone {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AdminError::NotFound(
            "No federated identity credential of that name.".into(),
        ))
    }
}
