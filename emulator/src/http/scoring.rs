//! Scoring: AKS-style `/api/v1/service/{name}/score`, ACI services at `/aci/{name}/score`, and online
//! endpoints at `/online/{name}/score` (each with `swagger.json`). The credential must be what the
//! service's auth mode allows; a missing, wrong, regenerated-away or expired one is 401.
//!
//! This is the hot path: lookups are by name in the in-memory world, keys are compared in constant
//! time, and verified tokens are cached (expiry still checked on every request).

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::authority::aml::{self, AmlClaims};
use crate::authority::verify::{verify_with, VerifyError};
use crate::domain::scope::Scope;
use crate::domain::services::{AuthMode, ComputeType, Scoring, WorkspaceRef};
use crate::domain::{ObjectId, World};
use crate::state::AppState;

use super::scoring_body::{ScoringBody, MAX_SCORING_BODY};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let limit = || web::PayloadConfig::new(MAX_SCORING_BODY);
    cfg.service(
        web::scope("/api/v1/service")
            .app_data(limit())
            .default_service(web::to(aks)),
    )
    .service(web::scope("/aci").app_data(limit()).default_service(web::to(aci)))
    .service(web::scope("/online").app_data(limit()).default_service(web::to(online)));
}

/// What scoring answers when it refuses.
enum Refusal {
    /// 401: no usable credential.
    Unauthenticated(&'static str),
    /// 403: an AAD caller whose roles do not allow scoring.
    Forbidden(String),
    NotFound(String),
    BadRequest(String),
}

impl Refusal {
    fn render(self) -> HttpResponse {
        match self {
            Refusal::Unauthenticated(why) => HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer"))
                .json(json!({"message": why})),
            Refusal::Forbidden(why) => HttpResponse::Forbidden().json(json!({"message": why})),
            Refusal::NotFound(why) => HttpResponse::NotFound().json(json!({"message": why})),
            Refusal::BadRequest(why) => HttpResponse::BadRequest().json(json!({"message": why})),
        }
    }
}

const MISSING: &str = "No usable Authorization header: send 'Authorization: Bearer <key or token>'.";

/// `{name}/score` or `{name}/swagger.json` after the mount prefix.
fn split_tail(req: &HttpRequest) -> Option<(&str, &str)> {
    let path = req.path();
    let rest = ["/api/v1/service/", "/aci/", "/online/"]
        .iter()
        .find_map(|p| path.strip_prefix(p))?;
    rest.split_once('/')
}

fn bearer(req: &HttpRequest) -> Option<&[u8]> {
    // Bytes, not text: validating a ~1 KB token as text on every request is measurable on this
    // path, and only a cache miss needs it as text.
    let value = req.headers().get("authorization")?.as_bytes();
    let (scheme, token) = value.split_at(value.iter().position(|b| *b == b' ')?);
    let token = token.trim_ascii();
    (scheme.eq_ignore_ascii_case(b"bearer") && !token.is_empty()).then_some(token)
}

fn key_matches(given: &[u8], primary: &str, secondary: &str) -> bool {
    // Evaluate both comparisons: no early exit on the first.
    let p: bool = given.ct_eq(primary.as_bytes()).into();
    let s: bool = given.ct_eq(secondary.as_bytes()).into();
    p | s
}

/// A valid, unexpired Azure ML token for the service or endpoint `kind`/`name` of `ws`.
fn aml_token_ok(
    state: &AppState,
    token: &[u8],
    target: (&WorkspaceRef, &str, &str, uuid::Uuid),
) -> Result<(), Refusal> {
    let (ws, kind, name, instance) = target;
    let claims: Arc<AmlClaims> = state
        .aml_tokens
        .get_or_verify(token, || {
            let token = std::str::from_utf8(token).map_err(|_| VerifyError::Malformed)?;
            verify_with(token, |kid| {
                state.aml_key(kid).map(|k| move |m: &[u8], s: &[u8]| k.verify(m, s))
            })
        })
        .map_err(|_: VerifyError| Refusal::Unauthenticated("The token is not a valid Azure Machine Learning token."))?;
    if !aml::audience_is(&claims.aud, ws, kind, name) || claims.sid != instance {
        return Err(Refusal::Unauthenticated(
            "The token was issued for another service or endpoint.",
        ));
    }
    let now = state.clock.unix();
    if claims.exp <= now || claims.nbf > now {
        return Err(Refusal::Unauthenticated("The token has expired; fetch a new one."));
    }
    Ok(())
}

async fn aks(state: Data<AppState>, req: HttpRequest, body: ScoringBody) -> HttpResponse {
    v1(&state, &req, &body, ComputeType::Aks).unwrap_or_else(Refusal::render)
}

async fn aci(state: Data<AppState>, req: HttpRequest, body: ScoringBody) -> HttpResponse {
    v1(&state, &req, &body, ComputeType::Aci).unwrap_or_else(Refusal::render)
}

fn v1(state: &AppState, req: &HttpRequest, body: &ScoringBody, compute: ComputeType) -> Result<HttpResponse, Refusal> {
    let (name, what) = split_tail(req).ok_or_else(|| Refusal::NotFound("No such scoring path.".into()))?;
    let world = state.world();
    let service = world
        .service(name)
        .filter(|s| s.compute_type == compute)
        .ok_or_else(|| Refusal::NotFound(format!("Service {name} not found.")))?;
    if what == "swagger.json" && req.method() == Method::GET {
        return Ok(swagger(&service.name));
    }
    if what != "score" || req.method() != Method::POST {
        return Err(Refusal::NotFound(format!(
            "No {} {what} on service {name}.",
            req.method()
        )));
    }
    if service.auth_enabled || service.token_auth_enabled {
        let credential = bearer(req).ok_or(Refusal::Unauthenticated(MISSING))?;
        let by_key = service.auth_enabled && key_matches(credential, &service.primary_key, &service.secondary_key);
        if !by_key {
            if !service.token_auth_enabled {
                return Err(Refusal::Unauthenticated("The key is not valid for this service."));
            }
            aml_token_ok(
                state,
                credential,
                (&service.workspace, "services", &service.name, service.id),
            )?;
        }
    }
    respond(&service.scoring, body)
}

async fn online(state: Data<AppState>, req: HttpRequest, body: ScoringBody) -> HttpResponse {
    online_score(&state, &req, &body).unwrap_or_else(Refusal::render)
}

fn online_score(state: &AppState, req: &HttpRequest, body: &ScoringBody) -> Result<HttpResponse, Refusal> {
    let (name, what) = split_tail(req).ok_or_else(|| Refusal::NotFound("No such scoring path.".into()))?;
    let world = state.world();
    let ep = world
        .online_endpoint(name)
        .ok_or_else(|| Refusal::NotFound(format!("Endpoint {name} not found.")))?;
    if what == "swagger.json" && req.method() == Method::GET {
        return Ok(swagger(&ep.name));
    }
    if what != "score" || req.method() != Method::POST {
        return Err(Refusal::NotFound(format!(
            "No {} {what} on endpoint {name}.",
            req.method()
        )));
    }
    let credential = bearer(req).ok_or(Refusal::Unauthenticated(MISSING))?;
    match ep.auth_mode {
        AuthMode::Key => {
            if !key_matches(credential, &ep.primary_key, &ep.secondary_key) {
                return Err(Refusal::Unauthenticated("The key is not valid for this endpoint."));
            }
        }
        AuthMode::AmlToken => aml_token_ok(state, credential, (&ep.workspace, "onlineEndpoints", &ep.name, ep.id))?,
        AuthMode::AadToken => aad_token_ok(state, &world, credential, &ep.workspace, &ep.name)?,
    }
    if let Some(d) = req
        .headers()
        .get("azureml-model-deployment")
        .and_then(|v| v.to_str().ok())
    {
        if !ep.deployments.iter().any(|x| x.eq_ignore_ascii_case(d)) {
            return Err(Refusal::NotFound(format!(
                "Deployment '{d}' does not exist in endpoint '{}'.",
                ep.name
            )));
        }
    }
    respond(&ep.scoring, body)
}

const SCORE_ACTION: &str = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action";

/// An Entra token for `https://ml.azure.com` from the workspace's tenant, whose holder may score.
fn aad_token_ok(state: &AppState, world: &World, token: &[u8], ws: &WorkspaceRef, name: &str) -> Result<(), Refusal> {
    let token = std::str::from_utf8(token)
        .map_err(|_| Refusal::Unauthenticated("The token is not a valid Microsoft Entra token."))?;
    let claims = state
        .tokens
        .verify(&state.keys, token)
        .map_err(|_| Refusal::Unauthenticated("The token is not a valid Microsoft Entra token."))?;
    if claims.aud.trim_end_matches('/') != "https://ml.azure.com" {
        return Err(Refusal::Unauthenticated(
            "The Microsoft Entra token must be issued for https://ml.azure.com.",
        ));
    }
    let tenant_ok = world
        .subscription(ws.subscription_id)
        .is_some_and(|s| s.tenant_id.to_string() == claims.tid);
    if !tenant_ok {
        return Err(Refusal::Unauthenticated(
            "The Microsoft Entra token is from another tenant.",
        ));
    }
    let now = state.clock.unix();
    if claims.exp <= now || claims.nbf.is_some_and(|n| n > now) {
        return Err(Refusal::Unauthenticated("The token has expired; fetch a new one."));
    }
    let oid: ObjectId = claims
        .oid
        .as_deref()
        .and_then(|o| o.parse().ok())
        .ok_or(Refusal::Unauthenticated("The token names no object id."))?;
    let scope = Scope::parse(&format!("{}/onlineEndpoints/{name}", ws.arm_id()))
        .map_err(|e| Refusal::BadRequest(e.to_string()))?;
    if state.rbac().allows(oid, SCORE_ACTION, &scope) {
        Ok(())
    } else if state.rbac_mode == crate::state::RbacMode::LogOnly {
        state.record(crate::state::JournalEntry {
            time: crate::error::aad_timestamp(state.clock.now()),
            kind: "rbac-would-deny",
            principal: oid.to_string(),
            action: SCORE_ACTION.to_string(),
            scope: scope.to_string(),
        });
        Ok(())
    } else {
        Err(Refusal::Forbidden(format!(
            "The principal '{oid}' does not have authorization to perform action '{SCORE_ACTION}' over scope '{scope}'."
        )))
    }
}

fn respond(scoring: &Scoring, body: &ScoringBody) -> Result<HttpResponse, Refusal> {
    match scoring {
        Scoring::Echo => {
            serde_json::from_slice::<serde::de::IgnoredAny>(&body[..])
                .map_err(|e| Refusal::BadRequest(format!("The request body is not JSON: {e}")))?;
            Ok(HttpResponse::Ok().content_type("application/json").body(body.echo()))
        }
        Scoring::Static { body } => Ok(HttpResponse::Ok().json(body)),
    }
}

fn swagger(name: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "swagger": "2.0",
        "info": {"title": name, "description": "API specification for the Azure Machine Learning service", "version": "1.0"},
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {"Bearer": {"type": "apiKey", "name": "Authorization", "in": "header"}},
        "paths": {"/score": {"post": {"operationId": "RunMLService", "responses": {"200": {"description": "Success"}}}}}
    }))
}
