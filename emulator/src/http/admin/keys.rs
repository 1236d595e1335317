//! `GET /_emulator/keys`, `POST /_emulator/keys/rotate` and `POST /_emulator/keys/{kid}/retire`:
//! signing-key rotation with overlap, for the authority and for a workspace's Azure ML token key
//! ([`crate::service::keys`]).

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{authorize, bad};
use crate::error::AdminError;
use crate::service::keys::{self as writes, RetireError};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list))
        .route("/keys/rotate", web::post().to(rotate))
        .route("/keys/{kid}/retire", web::post().to(retire));
}

async fn list(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let keys = state.keys();
    let world = state.world();
    let workspaces: Vec<_> = state
        .aml_keys
        .list()
        .into_iter()
        .map(|w| {
            let name = world
                .workspaces()
                .iter()
                .find(|x| x.workspace_id == w.workspace_id)
                .map(|x| x.name.clone());
            json!({"workspace": name, "workspace_id": w.workspace_id, "active": w.active, "published": w.published})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "authority": {
            "active": keys.active.kid,
            "published": keys.published.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
            "retired": keys.retired.iter().map(|(kid, at)| json!({"kid": kid, "retired": at})).collect::<Vec<_>>(),
        },
        "workspaces": workspaces,
    })))
}

/// `{}` (or no body) rotates the authority's key; `{"workspace": NAME}` a workspace's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotate {
    workspace: Option<String>,
}

async fn rotate(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let r: Rotate = if body.iter().all(u8::is_ascii_whitespace) {
        Rotate::default()
    } else {
        super::parse(&body)?
    };
    let rotated = match r.workspace {
        None => crate::service::blocking(&state, writes::rotate_authority).await,
        Some(name) => {
            let ws = state
                .world()
                .workspaces()
                .iter()
                .find(|w| w.name.eq_ignore_ascii_case(&name))
                .cloned()
                .ok_or_else(|| AdminError::NotFound(format!("no workspace is named '{name}'")))?;
            crate::service::blocking(&state, move |s| writes::rotate_workspace(s, &ws)).await
        }
    }
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    tracing::info!(kid = %rotated.kid, target = %rotated.target, "signing key rotated");
    Ok(HttpResponse::Ok().json(rotated))
}

async fn retire(state: Data<AppState>, req: HttpRequest, kid: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let kid = kid.into_inner();
    let outcome = crate::service::blocking(&state, move |s| Ok(writes::retire(s, &kid)))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    match outcome {
        Ok(retired) => Ok(HttpResponse::Ok().json(retired)),
        Err(e @ RetireError::Unknown(_)) => Err(AdminError::NotFound(e.to_string())),
        Err(e @ RetireError::Active(_)) => Err(AdminError::Status(
            actix_web::http::StatusCode::CONFLICT,
            "Conflict",
            e.to_string(),
        )),
        Err(RetireError::Service(e)) => Err(bad(e.to_string())),
    }
}
