//! The emulator's named test OIDC issuers (`/_emulator/issuers/{name}`): discovery document,
//! JWKS, subject tokens, key rotation. See [`crate::authority::issuers`].

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{authorize, bad, parse};
use crate::authority::issuers::{self, IssuerError, SubjectToken, TOKEN_EXCHANGE_AUDIENCE_DEFAULT};
use crate::authority::SigningKey;
use crate::error::AdminError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/issuers/{name}/.well-known/openid-configuration",
        web::get().to(discovery),
    )
    .route("/issuers/{name}/.well-known/jwks", web::get().to(jwks))
    .route("/issuers/{name}/token", web::post().to(token))
    .route("/issuers/{name}/rotate", web::post().to(rotate));
}

/// The issuer's key, made on first use (off the async workers).
async fn key(state: &Data<AppState>, name: &str, rotate: bool) -> Result<std::sync::Arc<SigningKey>, AdminError> {
    if !issuers::valid_name(name) {
        return Err(AdminError::NotFound(format!(
            "'{name}' cannot name an issuer: {}",
            IssuerError::BadName
        )));
    }
    let name = name.to_string();
    crate::service::blocking(state, move |s| {
        let now = crate::clock::arm_timestamp(s.clock.now());
        let made = if rotate {
            s.issuers.rotate(&name, &s.store, &now)
        } else {
            s.issuers.get_or_create(&name, &s.store, &now)
        };
        made.map_err(|e| crate::service::ServiceError::Canceled(e.to_string()))
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))
}

fn issuer(state: &AppState, req: &HttpRequest, name: &str) -> String {
    issuers::issuer_url(&crate::http::origin(state, req), name)
}

/// The issuer's key; only a control-API client may have it made (RSA generation is not free).
async fn existing_key(
    state: &Data<AppState>,
    req: &HttpRequest,
    name: &str,
) -> Result<std::sync::Arc<SigningKey>, AdminError> {
    match state.issuers.key(name) {
        Some(k) => Ok(k),
        None => {
            authorize(state, req)?;
            key(state, name, false).await
        }
    }
}

/// Public once the issuer exists, as an OIDC provider's metadata is.
async fn discovery(state: Data<AppState>, req: HttpRequest, name: Path<String>) -> Result<HttpResponse, AdminError> {
    existing_key(&state, &req, &name).await?;
    Ok(HttpResponse::Ok().json(issuers::discovery(&issuer(&state, &req, &name))))
}

/// Public once the issuer exists: its current key (a rotation removes the previous one).
async fn jwks(state: Data<AppState>, req: HttpRequest, name: Path<String>) -> Result<HttpResponse, AdminError> {
    let key = existing_key(&state, &req, &name).await?;
    let mut jwk = key.jwk(None);
    jwk["alg"] = json!("RS256");
    Ok(HttpResponse::Ok().json(json!({ "keys": [jwk] })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    sub: Option<String>,
    aud: Option<String>,
    lifetime_seconds: Option<i64>,
    #[serde(default)]
    claims: Map<String, Value>,
}

/// Mints a subject token: `{"sub", "aud" (default api://AzureADTokenExchange),
/// "lifetime_seconds" (1–86400, default 600), "claims": {…}}` → `{"token", "issuer", "expires_on"}`.
/// `github-actions` defaults `sub` to `repo:contoso/ml:ref:refs/heads/main`.
async fn token(
    state: Data<AppState>,
    req: HttpRequest,
    name: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    if !issuers::valid_name(&name) {
        return Err(AdminError::NotFound(format!(
            "'{name}' cannot name an issuer: {}",
            IssuerError::BadName
        )));
    }
    let body: TokenRequest = if body.is_empty() { parse(b"{}")? } else { parse(&body)? };
    let github = name.eq_ignore_ascii_case(issuers::GITHUB_ACTIONS);
    let sub = match (body.sub, github) {
        (Some(s), _) if !s.is_empty() => s,
        (_, true) => crate::fixtures::defaults::FEDERATED_SUBJECT.to_string(),
        _ => return Err(bad("sub is required")),
    };
    let lifetime = body.lifetime_seconds.unwrap_or(issuers::DEFAULT_LIFETIME_SECONDS);
    if !(1..=86_400).contains(&lifetime) {
        return Err(bad("lifetime_seconds must be between 1 and 86400"));
    }
    let key = key(&state, &name, false).await?;
    let iss = issuer(&state, &req, &name);
    let now = state.clock.unix();
    let aud = body.aud.unwrap_or_else(|| TOKEN_EXCHANGE_AUDIENCE_DEFAULT.to_string());
    let t = SubjectToken {
        issuer: &iss,
        name: &name,
        sub: &sub,
        aud: &aud,
        now,
        lifetime,
        claims: body.claims,
    };
    Ok(HttpResponse::Ok().json(json!({"token": issuers::mint(&key, &t), "issuer": iss, "expires_on": now + lifetime})))
}

/// Replaces the issuer's key: tokens signed with the old one stop verifying.
async fn rotate(state: Data<AppState>, req: HttpRequest, name: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let key = key(&state, &name, true).await?;
    Ok(HttpResponse::Ok().json(json!({"issuer": issuer(&state, &req, &name), "kid": key.kid})))
}
