//! `GET|POST|DELETE /_emulator/faults` and `DELETE /_emulator/faults/{id}`: the fault table
//! ([`crate::faults`]).

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::{authorize, bad, parse};
use crate::error::AdminError;
use crate::faults::{Kind, RuleSpec};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/faults", web::get().to(list))
        .route("/faults", web::post().to(add))
        .route("/faults", web::delete().to(clear))
        .route("/faults/{id}", web::delete().to(remove));
}

async fn list(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let rules: Vec<_> = state.faults.rules().iter().map(|r| r.view()).collect();
    Ok(HttpResponse::Ok().json(json!({"faults": rules})))
}

/// Adds a rule; `unknown-kid` first makes the never-published key (off the async workers).
async fn add(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let spec: RuleSpec = parse(&body)?;
    spec.check().map_err(bad)?;
    if spec.kind == Kind::UnknownKid {
        crate::service::blocking(&state, |s| {
            s.unpublished_key()
                .map(|_| ())
                .map_err(|e| crate::service::ServiceError::Canceled(e.to_string()))
        })
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    }
    let rule = state.faults.add(spec, state.clock.now()).map_err(|e| {
        if e.contains("exists") {
            AdminError::Status(actix_web::http::StatusCode::CONFLICT, "Conflict", e)
        } else {
            bad(e)
        }
    })?;
    tracing::info!(id = %rule.id, kind = rule.spec.kind.as_ref(), surface = rule.spec.surface.as_ref(), "fault rule added");
    Ok(HttpResponse::Created().json(rule.view()))
}

async fn clear(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let removed = state.faults.clear();
    Ok(HttpResponse::Ok().json(json!({"removed": removed})))
}

async fn remove(state: Data<AppState>, req: HttpRequest, id: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    if !state.faults.remove(&id) {
        return Err(AdminError::NotFound(format!("no fault rule has id '{id}'")));
    }
    Ok(HttpResponse::Ok().json(json!({"removed": 1})))
}
