//! The HTTP surfaces on one HTTPS origin, told apart by path. [`configure`] is the one route table,
//! used by the server and therefore by every test.

pub mod aad;
pub mod admin;
pub mod arm;
pub mod discovery;
pub mod metadata;
pub mod mms;
pub mod scoring;
pub mod scoring_body;
pub mod slow_clients;

use actix_web::dev::ConnectionInfo;
use actix_web::{web, HttpRequest};

/// Registers every route. AAD routes are mounted twice: at the root and under `/adfs`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/_emulator").configure(admin::routes))
        .route("/metadata/endpoints", web::get().to(metadata::endpoints))
        .route("/discovery", web::get().to(discovery::workspace_discovery))
        .configure(arm::routes)
        .configure(mms::routes)
        .configure(scoring::routes)
        .service(web::scope("/adfs").configure(aad::routes))
        .configure(aad::routes);
}

/// Paths no route matched. ARM paths are case-insensitive (`/SUBSCRIPTIONS/...`), so those go to the
/// ARM dispatcher; anything else is a JSON 404.
pub async fn fallback(
    state: web::Data<crate::state::AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> actix_web::HttpResponse {
    let first = req.path().trim_start_matches('/').split('/').next().unwrap_or_default();
    if ["subscriptions", "providers", "tenants"]
        .iter()
        .any(|p| p.eq_ignore_ascii_case(first))
    {
        return arm::dispatch(state, req, body).await;
    }
    actix_web::HttpResponse::NotFound().json(serde_json::json!({
        "error": {"code": "NotFound", "message": format!("No emulated endpoint answers {} {}.", req.method(), req.path())}
    }))
}

/// Collapses `//` in paths (MSAL with a trailing-slash authority, az's `resource//.default`
/// scopes). Only requests that contain `//` pay for a rewrite.
pub async fn merge_slashes(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if req.path().contains("//") {
        let mut merged = String::with_capacity(req.path().len());
        for c in req.path().chars() {
            if !(c == '/' && merged.ends_with('/')) {
                merged.push(c);
            }
        }
        if let Some(q) = req.uri().query() {
            merged = format!("{merged}?{q}");
        }
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = merged.parse().ok();
        if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    next.call(req).await
}

/// `scheme://host[:port]` of the request: every URL the emulator hands out is built from it, so the
/// same code serves clients that reach it as 127.0.0.1, localhost, or a proxied Azure hostname.
pub fn origin(info: &ConnectionInfo) -> String {
    format!("{}://{}", info.scheme(), info.host())
}

/// The request's `client-request-id` (MSAL, ADAL) or `x-ms-client-request-id` (azure-core), when it
/// is a GUID: only then is it echoed back.
pub fn client_request_id(req: &HttpRequest) -> Option<uuid::Uuid> {
    let headers = req.headers();
    headers
        .get("client-request-id")
        .or_else(|| headers.get("x-ms-client-request-id"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v).ok())
}
