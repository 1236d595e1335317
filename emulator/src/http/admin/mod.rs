//! The emulator-control API under `/_emulator`: health, reset, world, clock, info.
//! Loopback clients only, unless an admin key is configured and presented.

mod credentials;
mod explain;
mod faults;
mod forge;
mod groups;
mod interactive;
mod issuers;
mod journal;
mod keys;
mod lifecycle;
mod managed_identities;
mod resolve;
mod role_assignments;
mod service_principals;
mod services;
mod settings;
mod ui;
mod users;

use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::error::AdminError;
use crate::state::AppState;

/// The header carrying the admin key for non-loopback clients.
pub const ADMIN_KEY_HEADER: &str = "x-emulator-admin-key";

pub fn routes(cfg: &mut web::ServiceConfig) {
    // A malformed body gets the API's own error shape, not actix's plain-text message.
    cfg.app_data(
        web::JsonConfig::default()
            .error_handler(|err, _| AdminError::BadRequest(format!("invalid JSON body: {err}")).into()),
    )
    .route("/health", web::get().to(health))
    .route("/info", web::get().to(info))
    .route("/world", web::get().to(world))
    .route("/reset", web::post().to(reset))
    .route("/clock", web::get().to(clock_show))
    .route("/clock", web::post().to(clock_move))
    .configure(service_principals::routes)
    .configure(role_assignments::routes)
    .configure(services::routes)
    .configure(journal::routes)
    .configure(faults::routes)
    .configure(keys::routes)
    .configure(settings::routes)
    .configure(lifecycle::routes)
    .configure(explain::routes)
    .configure(forge::routes)
    .configure(ui::routes)
    .configure(credentials::routes)
    .configure(issuers::routes)
    .configure(managed_identities::routes)
    .configure(users::routes)
    .configure(groups::routes)
    .configure(interactive::routes);
}

/// Loopback peers, or any peer presenting the admin key — and in either case no web page of
/// another site. A browser on this machine is a loopback peer, so without the `Origin` check a page
/// of any site could `fetch` a control route (a form-encoded or `text/plain` POST needs no CORS
/// preflight) and move the clock or read the world. Browsers send `Origin` on every cross-origin
/// request and on same-origin writes; command-line clients and SDKs send none. The dashboard is
/// served from the emulator's own origin, so its writes carry one of the configured origins.
pub(super) fn authorize(state: &AppState, req: &HttpRequest) -> Result<(), AdminError> {
    if let Some(origin) = req.headers().get(actix_web::http::header::ORIGIN) {
        let own = origin.to_str().is_ok_and(|o| state.origins.is_own(o));
        if !own {
            return Err(AdminError::CrossOrigin);
        }
    }
    // Canonical first: on a dual-stack `::` listener an IPv4 client is `::ffff:127.0.0.1`.
    let loopback = req.peer_addr().is_some_and(|a| a.ip().to_canonical().is_loopback());
    let presented = req.headers().get(ADMIN_KEY_HEADER).map(|v| v.as_bytes());
    let key_ok = match (&state.admin_key, presented) {
        (Some(key), Some(given)) => bool::from(key.as_bytes().ct_eq(given)),
        _ => false,
    };
    if loopback || key_ok {
        Ok(())
    } else {
        Err(AdminError::Forbidden)
    }
}

/// Deliberately trivial: benchmarks use it as the baseline cost of a request.
async fn health(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "Healthy"})))
}

async fn info(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    Ok(HttpResponse::Ok().json(&state.info))
}

async fn world(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    Ok(HttpResponse::Ok().json(&*state.world()))
}

async fn reset(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    crate::service::blocking(&state, crate::service::world::reset)
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "reset"})))
}

fn bad(message: impl Into<String>) -> AdminError {
    AdminError::BadRequest(message.into())
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, AdminError> {
    serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON body: {e}")))
}

async fn clock_show(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    Ok(HttpResponse::Ok().json(state.clock.state()))
}

/// Exactly one of the fields moves the clock.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockMove {
    advance_seconds: Option<i64>,
    freeze: Option<bool>,
    set: Option<String>,
    resume: Option<bool>,
}

async fn clock_move(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    // Access is checked before the body is read: a refused client learns nothing from a 400.
    authorize(&state, &req)?;
    let body: ClockMove =
        serde_json::from_slice(&body).map_err(|e| AdminError::BadRequest(format!("invalid JSON body: {e}")))?;
    let clock = &state.clock;
    let out_of_range = |e: crate::clock::OutOfRange| AdminError::BadRequest(e.to_string());
    match body {
        ClockMove { advance_seconds: Some(n), freeze: None, set: None, resume: None } => {
            clock.advance(Duration::seconds(n)).map_err(out_of_range)?;
        }
        ClockMove { advance_seconds: None, freeze: Some(true), set: None, resume: None } => clock.freeze(),
        ClockMove { advance_seconds: None, freeze: None, set: Some(at), resume: None } => {
            let at = OffsetDateTime::parse(&at, &Rfc3339)
                .map_err(|e| AdminError::BadRequest(format!("set: '{at}' is not an RFC 3339 time: {e}")))?;
            clock.set(at).map_err(out_of_range)?;
        }
        ClockMove { advance_seconds: None, freeze: None, set: None, resume: Some(true) } => clock.resume(),
        _ => {
            return Err(AdminError::BadRequest(
                "send exactly one of {\"advance_seconds\": N}, {\"freeze\": true}, {\"set\": \"RFC 3339\"}, {\"resume\": true}".into(),
            ))
        }
    }
    tracing::info!(state = ?clock.state(), "clock moved");
    Ok(HttpResponse::Ok().json(clock.state()))
}
