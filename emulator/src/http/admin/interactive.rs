//! Interactive sign-in for CI: `PUT /_emulator/interactive {"auto_sign_in": "<upn or object id>" |
//! null}` (while set, `/authorize` completes at once as that user — still through the
//! `response_mode` answer and PKCE — and device codes are approved on their first poll), and
//! `POST /_emulator/device-codes/{user_code} {"action": "approve"|"deny", "user": …}`.

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::users::find;
use super::{authorize, bad, parse};
use crate::authority::grants::device_code::{self, DecideError};
use crate::error::AdminError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/interactive", web::get().to(show))
        .route("/interactive", web::put().to(set))
        .route("/device-codes/{user_code}", web::post().to(decide));
}

fn settings(state: &AppState) -> Value {
    let world = state.world();
    let user = state.auto_sign_in().and_then(|u| world.user(u).map(|u| u.upn.clone()));
    json!({"auto_sign_in": user})
}

async fn show(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    Ok(HttpResponse::Ok().json(settings(&state)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    auto_sign_in: Option<String>,
}

async fn set(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let body: Settings = parse(&body)?;
    let user = match body.auto_sign_in.as_deref() {
        Some(u) => Some(
            find(&state.world(), u)
                .map_err(|_| bad(format!("no user '{u}'")))?
                .object_id,
        ),
        None => None,
    };
    state.set_auto_sign_in(user);
    tracing::info!(?user, "auto sign-in changed");
    Ok(HttpResponse::Ok().json(settings(&state)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    action: String,
    user: Option<String>,
}

/// The user a decision approves as (`None`: declined).
fn decided_user(state: &AppState, body: &Decision) -> Result<Option<crate::domain::ObjectId>, AdminError> {
    match (body.action.as_str(), body.user.as_deref()) {
        ("approve", Some(u)) => Ok(Some(
            find(&state.world(), u)
                .map_err(|_| bad(format!("no user '{u}'")))?
                .object_id,
        )),
        ("approve", None) => Err(bad("approve needs a user (UPN or object id)")),
        ("deny", _) => Ok(None),
        (other, _) => Err(bad(format!("action must be approve or deny, not '{other}'"))),
    }
}

/// Approves (as `user`) or declines a pending device code, as the verification page would after
/// the user signed in. 404 for a code that is unknown, expired or already decided.
async fn decide(
    state: Data<AppState>,
    req: HttpRequest,
    code: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let body: Decision = parse(&body)?;
    let user = decided_user(&state, &body)?;
    let code = code.into_inner();
    let outcome = crate::service::blocking(&state, move |s| {
        let _writer = s.writer();
        Ok(device_code::decide(&s.grant_state(), &s.world(), &code, user))
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    match outcome {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({"status": if user.is_some() { "approved" } else { "declined" }}))),
        Err(DecideError::WrongUser) => Err(bad(DecideError::WrongUser.to_string())),
        Err(DecideError::State(e)) => Err(AdminError::Internal(e)),
        Err(e) => Err(AdminError::NotFound(e.to_string())),
    }
}
