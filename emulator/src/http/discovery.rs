//! Workspace discovery: the unauthenticated service map azureml-core fetches from a workspace's
//! `discoveryUrl`. Every AzureML service of a region is this emulator.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::origin;

pub async fn workspace_discovery(
    state: actix_web::web::Data<crate::state::AppState>,
    req: HttpRequest,
) -> HttpResponse {
    let base = origin(&state, &req);
    HttpResponse::Ok().json(json!({
        "api": base,
        "catalog": base,
        "experimentation": base,
        "gallery": base,
        "history": base,
        "hyperdrive": base,
        "labeling": base,
        "modelmanagement": base,
        "pipelines": base,
        "studio": "https://ml.azure.com"
    }))
}
