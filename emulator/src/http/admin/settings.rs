//! `GET|POST /_emulator/settings`: propagation delay, token-lifetime jitter, region latency
//! ([`crate::settings`]).

use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};

use super::{authorize, bad, parse};
use crate::error::AdminError;
use crate::settings::SettingsSpec;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(show))
        .route("/settings", web::post().to(change));
}

async fn show(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    Ok(HttpResponse::Ok().json(state.settings.view()))
}

/// Changes the fields given; answers the settings as they now are.
async fn change(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let spec: SettingsSpec = parse(&body)?;
    state.settings.apply(&spec).map_err(bad)?;
    Ok(HttpResponse::Ok().json(state.settings.view()))
}
