//! Managed-identity hosts through the control API: which identities a compute, web app or online
//! endpoint has, and the variables its code would see for each token endpoint
//! (`azureml-emulator env --managed-identity HOST`).

use actix_web::web::{self, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::authorize;
use crate::authority::managed_identity::{self as mi, Host, HostType};
use crate::error::AdminError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/managed-identities/hosts", web::get().to(list))
        .route("/managed-identities/hosts/{name}", web::get().to(show));
}

fn host_json(state: &AppState, host: &Host) -> Value {
    let world = state.world();
    let (system, user) = world.identities().of_host(&host.resource_id);
    let identity = |m: &crate::domain::world::ManagedIdentity| {
        json!({
            "type": if m.user_assigned { "UserAssigned" } else { "SystemAssigned" },
            "name": m.service_principal.display_name,
            "clientId": m.service_principal.client_id,
            "principalId": m.service_principal.object_id,
            "tenantId": m.service_principal.tenant_id,
            "resourceId": m.resource_id,
        })
    };
    let identities: Vec<Value> = system.into_iter().chain(user.iter().copied()).map(identity).collect();
    let default_client = system
        .or(user.first().copied())
        .map(|m| m.service_principal.client_id.to_string());
    let base = format!(
        "{}/hosts/{}",
        state.info.msi_url,
        mi::host_id(&state.msi_key, &host.resource_id)
    );
    let secret = mi::host_secret(&state.msi_key, &host.resource_id);
    let default_endpoint = match host.host_type {
        HostType::Compute => "azure-ml",
        HostType::WebApp => "app-service",
        HostType::OnlineEndpoint => "imds",
    };
    json!({
        "name": host.name, "type": host.host_type, "resourceId": host.resource_id, "identities": identities,
        "defaultEndpoint": default_endpoint,
        "endpoints": {
            "imds": {"AZURE_POD_IDENTITY_AUTHORITY_HOST": base},
            "app-service": {"IDENTITY_ENDPOINT": format!("{base}/msi/token"), "IDENTITY_HEADER": secret},
            "azure-ml": {"MSI_ENDPOINT": format!("{base}/MSI/auth"), "MSI_SECRET": secret,
                         "DEFAULT_IDENTITY_CLIENT_ID": default_client},
        }
    })
}

async fn list(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let value: Vec<Value> = mi::hosts(&state.world()).iter().map(|h| host_json(&state, h)).collect();
    Ok(HttpResponse::Ok().json(json!({ "value": value })))
}

/// A host by name (case-insensitive); its identities and the variables of each endpoint.
async fn show(state: Data<AppState>, req: HttpRequest, name: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let host = mi::hosts(&state.world())
        .into_iter()
        .find(|h| h.name.eq_ignore_ascii_case(&name))
        .ok_or_else(|| AdminError::NotFound(format!("No compute, web app or online endpoint is named '{name}'.")))?;
    Ok(HttpResponse::Ok().json(host_json(&state, &host)))
}
