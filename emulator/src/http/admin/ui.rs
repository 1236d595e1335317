//! `GET /_emulator/ui`: the dashboard — plain HTML, CSS and JavaScript compiled into the binary,
//! no external assets, over the control API (so loopback or the admin key only, like it). A
//! content security policy keeps the page to its own scripts and styles.

use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};

use super::authorize;
use crate::error::AdminError;
use crate::state::AppState;

const INDEX: &str = include_str!("ui/index.html");
const SCRIPT: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/app.css");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ui", web::get().to(index))
        .route("/ui/app.js", web::get().to(script))
        .route("/ui/app.css", web::get().to(style));
}

fn page(
    req: &HttpRequest,
    state: &AppState,
    content_type: &str,
    body: &'static str,
) -> Result<HttpResponse, AdminError> {
    // The page itself is open to loopback peers; a remote one with the admin key is let through by
    // the API calls it makes (the page asks for the key), so the shell of the page is served to it.
    if authorize(state, req).is_err() && state.admin_key.is_none() {
        return Err(AdminError::Forbidden);
    }
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}

async fn index(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    page(&req, &state, "text/html; charset=utf-8", INDEX)
}

async fn script(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    page(&req, &state, "text/javascript; charset=utf-8", SCRIPT)
}

async fn style(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    page(&req, &state, "text/css; charset=utf-8", STYLE)
}
