//! `GET /common/userrealm/{user}` (msal, which asks port 443 of the authority host) and adal's
//! `/common/UserRealm/{url-encoded user}`: home realm discovery. Every domain of this world is a
//! managed (cloud) domain, so ROPC follows; any other domain is `Unknown`, as Entra ID answers.
//! Shape: `reference/python-auth-clients.md` §0 and §4, `node-auth-clients.md` §1.6.

use actix_web::web::{Data, Path};
use actix_web::HttpResponse;
use serde_json::json;

use crate::state::AppState;

pub(super) async fn user_realm(state: Data<AppState>, path: Path<(String, String)>) -> HttpResponse {
    let (_, user) = path.into_inner();
    let domain = user.rsplit_once('@').map_or("", |(_, d)| d).to_ascii_lowercase();
    let world = state.world();
    let managed = !domain.is_empty() && world.tenant_by_domain(&domain).is_some();
    let mut body = json!({
        "ver": "1.0",
        "account_type": if managed { "Managed" } else { "Unknown" },
        "domain_name": domain,
    });
    if managed {
        body["cloud_instance_name"] = json!("microsoftonline.com");
        body["cloud_audience_urn"] = json!("urn:federation:MicrosoftOnline");
    }
    HttpResponse::Ok().json(body)
}
