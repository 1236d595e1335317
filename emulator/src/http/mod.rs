//! The HTTP surfaces on one HTTPS origin, told apart by path. [`configure`] is the one route table,
//! used by the server and therefore by every test.

pub mod aad;
pub mod admin;
pub mod arm;
pub mod discovery;
pub mod metadata;
pub mod model_management;
pub mod msi;
pub mod scoring;
pub mod scoring_body;
pub mod shapes;
pub mod slow_clients;
pub mod surface;
pub mod urls;

use actix_web::{web, HttpRequest};

/// Registers every route. AAD routes are mounted twice: at the root and under `/adfs`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/_emulator").configure(admin::routes))
        .route("/metadata/endpoints", web::get().to(metadata::endpoints))
        .route("/discovery", web::get().to(discovery::workspace_discovery))
        .configure(arm::routes)
        .configure(model_management::routes)
        .configure(scoring::routes)
        .configure(aad::device_login)
        .service(web::scope("/adfs/aad").configure(|c| aad::routes_at(c, "/adfs/aad")))
        .service(web::scope("/adfs").configure(|c| aad::routes_at(c, "/adfs")))
        .configure(aad::routes);
}

/// Paths no route matched. ARM paths are case-insensitive (`/SUBSCRIPTIONS/...`), so those go to the
/// ARM dispatcher; anything else is a 404 in the shape of the surface the path belongs to.
pub async fn fallback(
    state: web::Data<crate::state::AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> actix_web::HttpResponse {
    let surface = surface::request_info(&req).surface;
    if surface == surface::Surface::Arm {
        return arm::dispatch(state, req, body).await;
    }
    let failure = crate::error::Generic::no_route(req.method().as_str(), req.path());
    crate::error::render(surface, &req, &failure)
}

/// The configured origin the request reached (never its Host header as such: see
/// [`crate::origins`]). Every URL handed to clients is built on it.
pub fn origin(state: &crate::state::AppState, req: &HttpRequest) -> String {
    state.origins.for_request(req).to_string()
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
