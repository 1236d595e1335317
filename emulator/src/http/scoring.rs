//! Scoring: AKS-style `/api/v1/service/{name}/score`, ACI services at `/aci/{name}/score`, and online
//! endpoints at `/online/{name}/score` (each with `swagger.json`). The credential must be what the
//! service's auth mode allows; a missing, wrong, regenerated-away or expired one is 401.
//!
//! This is the hot path: lookups are by name in the in-memory world, keys are compared in constant
//! time, and verified tokens are cached (expiry still checked on every request).

use actix_web::http::header::AUTHORIZATION;
use actix_web::http::Method;
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use crate::authority::aml::Scorable;
use crate::decision::{AmlTarget, Credential, Expectation, Gate};
use crate::domain::scope::Scope;
use crate::domain::services::{AuthMode, ComputeType, OnlineEndpoint, Scoring, WorkspaceRef};
use crate::domain::World;
use crate::error::scoring::Expected;
use crate::error::ScoringError;
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

type ScoringResult = Result<HttpResponse, ScoringError>;

/// `{name}/score` or `{name}/swagger.json` after the mount prefix.
fn split_tail(req: &HttpRequest) -> Option<(&str, &str)> {
    let path = req.path();
    let rest = ["/api/v1/service/", "/aci/", "/online/"]
        .iter()
        .find_map(|p| path.strip_prefix(p))?;
    rest.split_once('/')
}

fn credential(req: &HttpRequest) -> Credential<'_> {
    Credential::from_header(req.headers().get(AUTHORIZATION).map(|v| v.as_bytes()))
}

async fn aks(state: Data<AppState>, req: HttpRequest, body: ScoringBody) -> HttpResponse {
    v1(&state, &req, &body, ComputeType::Aks).unwrap_or_else(|e| e.error_response())
}

async fn aci(state: Data<AppState>, req: HttpRequest, body: ScoringBody) -> HttpResponse {
    v1(&state, &req, &body, ComputeType::Aci).unwrap_or_else(|e| e.error_response())
}

/// `GET swagger.json`, or `POST score`; anything else is 404 (naming the `kind`, `service` or
/// `endpoint`, and the name).
fn operation(req: &HttpRequest, what: &str, kind: &str, name: &str) -> Result<bool, ScoringError> {
    match (what, req.method()) {
        ("swagger.json", &Method::GET) => Ok(false),
        ("score", &Method::POST) => Ok(true),
        _ => Err(ScoringError::not_found(format!(
            "No {} {what} on {kind} {name}.",
            req.method()
        ))),
    }
}

fn v1(state: &AppState, req: &HttpRequest, body: &ScoringBody, compute: ComputeType) -> ScoringResult {
    let (name, what) = split_tail(req).ok_or_else(|| ScoringError::not_found("No such scoring path."))?;
    let world = state.world();
    let service = world
        .service(name)
        .filter(|s| s.compute_type == compute)
        .ok_or_else(|| ScoringError::not_found(format!("Service {name} not found.")))?;
    if !operation(req, what, "service", name)? {
        return Ok(swagger(&service.name));
    }
    if service.auth_enabled || service.token_auth_enabled {
        let gate = Gate::new(state, req);
        let target = aml_target(&world, &service.workspace, Scorable::Service, &service.name, service.id);
        let expectation = Expectation::Scoring {
            keys: service
                .auth_enabled
                .then_some((service.primary_key.as_str(), service.secondary_key.as_str())),
            aml: target.filter(|_| service.token_auth_enabled),
        };
        let expected = if service.token_auth_enabled {
            Expected::AmlToken
        } else {
            Expected::ServiceKey
        };
        gate.admit(&world, credential(req), &expectation)
            .map_err(|f| ScoringError::unauthenticated_by(&f, expected))?;
    }
    respond(&service.scoring, body)
}

/// What an Azure ML token of this service or endpoint must say (none if its workspace is gone).
fn aml_target<'w>(
    world: &'w World,
    ws: &'w WorkspaceRef,
    kind: Scorable,
    name: &'w str,
    instance: uuid::Uuid,
) -> Option<AmlTarget<'w>> {
    let workspace = world.workspace(ws.subscription_id, &ws.resource_group, &ws.workspace)?;
    let tenant = world.subscription(ws.subscription_id)?.tenant_id;
    Some(AmlTarget {
        workspace_id: workspace.workspace_id,
        kind,
        name,
        instance,
        tenant,
    })
}

async fn online(state: Data<AppState>, req: HttpRequest, body: ScoringBody) -> HttpResponse {
    online_score(&state, &req, &body).unwrap_or_else(|e| e.error_response())
}

fn online_score(state: &AppState, req: &HttpRequest, body: &ScoringBody) -> ScoringResult {
    let (name, what) = split_tail(req).ok_or_else(|| ScoringError::not_found("No such scoring path."))?;
    let world = state.world();
    let ep = world
        .online_endpoint(name)
        .ok_or_else(|| ScoringError::not_found(format!("Endpoint {name} not found.")))?;
    if !operation(req, what, "endpoint", name)? {
        return Ok(swagger(&ep.name));
    }
    let gate = Gate::new(state, req);
    let (expectation, expected) = endpoint_expectation(&world, ep)?;
    gate.admit(&world, credential(req), &expectation)
        .map_err(|f| ScoringError::unauthenticated_by(&f, expected))?;
    if ep.auth_mode == AuthMode::AadToken {
        let scope = Scope::parse(&format!("{}/onlineEndpoints/{name}", ep.workspace.arm_id()))
            .map_err(|e| ScoringError::bad_request(e.to_string()))?;
        gate.require(SCORE_ACTION, &scope)?;
    }
    check_deployment(req, ep)?;
    respond(&ep.scoring, body)
}

/// What the endpoint's auth mode accepts.
fn endpoint_expectation<'w>(
    world: &'w World,
    ep: &'w OnlineEndpoint,
) -> Result<(Expectation<'w>, Expected), ScoringError> {
    Ok(match ep.auth_mode {
        AuthMode::Key => (
            Expectation::Scoring {
                keys: Some((ep.primary_key.as_str(), ep.secondary_key.as_str())),
                aml: None,
            },
            Expected::EndpointKey,
        ),
        AuthMode::AmlToken => (
            Expectation::Scoring {
                keys: None,
                aml: aml_target(world, &ep.workspace, Scorable::Endpoint, &ep.name, ep.id),
            },
            Expected::AmlToken,
        ),
        AuthMode::AadToken => {
            let tenant = world
                .subscription(ep.workspace.subscription_id)
                .map(|s| s.tenant_id)
                .ok_or_else(|| ScoringError::not_found(format!("Endpoint {} not found.", ep.name)))?;
            (Expectation::EntraScoring { tenant }, Expected::EntraToken)
        }
    })
}

/// An `azureml-model-deployment` header must name a deployment of the endpoint (404 otherwise).
fn check_deployment(req: &HttpRequest, ep: &OnlineEndpoint) -> Result<(), ScoringError> {
    let Some(d) = req
        .headers()
        .get("azureml-model-deployment")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    if ep.deployments.iter().any(|x| x.eq_ignore_ascii_case(d)) {
        Ok(())
    } else {
        Err(ScoringError::not_found(format!(
            "Deployment '{d}' does not exist in endpoint '{}'.",
            ep.name
        )))
    }
}

const SCORE_ACTION: &str = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action";

fn respond(scoring: &Scoring, body: &ScoringBody) -> ScoringResult {
    match scoring {
        Scoring::Echo => {
            serde_json::from_slice::<serde::de::IgnoredAny>(&body[..])
                .map_err(|e| ScoringError::bad_request(format!("The request body is not JSON: {e}")))?;
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
