//! OIDC discovery documents (v1 and v2), JWKS and instance discovery, as Entra ID answers them
//! (`openapi/fidelity/aad/*.json` and their sources: the v2 document and headers from the
//! Azure/azure-sdk-for-js `recording_resourcegroups_delete_test.js` recording of
//! login.microsoftonline.com, the v1 `/common` document from AzureAD/MSIdentityTools' test).
//! Every answer is cacheable for a day and readable cross-origin:
//! `Cache-Control: max-age=86400, private`, `Access-Control-Allow-Origin: *`,
//! `Access-Control-Allow-Methods: GET, OPTIONS`.

use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{fail, Site};
use crate::authority::grants::{self, TenantSelector};
use crate::error::AadFailure;
use crate::state::AppState;

/// The tenant as URLs name it (its GUID, or `common`/`organizations`), the issuer's tenant part,
/// and whether it is a multi-tenant name.
fn tenant_names(selector: TenantSelector<'_>) -> (String, String, bool) {
    match selector {
        TenantSelector::Tenant(t) => (t.id.to_string(), t.id.to_string(), false),
        TenantSelector::Multi(name) => (name.to_string(), "{tenantid}".to_string(), true),
    }
}

fn resolve(state: &AppState, req: &HttpRequest, site: &Site) -> Result<(String, String, bool), AadFailure> {
    let world = state.world();
    grants::resolve_tenant(&world, &site.tenant)
        .map(tenant_names)
        .map_err(|e| fail(state, req, e.at_discovery()))
}

pub(super) async fn openid_v2(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AadFailure> {
    let site = Site::of(&state, &req);
    let (t, issuer_tid, multi) = resolve(&state, &req, &site)?;
    let mut doc = discovery_common(&site, &t, "oauth2/v2.0", multi);
    doc["jwks_uri"] = json!(site.url(&t, "discovery/v2.0/keys"));
    doc["issuer"] = json!(format!("https://login.microsoftonline.com/{issuer_tid}/v2.0"));
    doc["userinfo_endpoint"] = json!("https://graph.microsoft.com/oidc/userinfo");
    doc["scopes_supported"] = json!(["openid", "profile", "email", "offline_access"]);
    doc["response_types_supported"] = json!(["code", "id_token", "code id_token", "id_token token"]);
    doc["request_uri_parameter_supported"] = json!(false);
    doc["claims_supported"] = json!(claims_supported(V2_CLAIMS));
    Ok(cached().json(doc))
}

pub(super) async fn openid_v1(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AadFailure> {
    let site = Site::of(&state, &req);
    let (t, issuer_tid, multi) = resolve(&state, &req, &site)?;
    let mut doc = discovery_common(&site, &t, "oauth2", multi);
    doc["jwks_uri"] = json!(site.url("common", "discovery/keys"));
    doc["issuer"] = json!(format!("https://sts.windows.net/{issuer_tid}/"));
    doc["userinfo_endpoint"] = json!(site.url(&t, "openid/userinfo"));
    v1_only(&mut doc, &site, &t);
    if !site.prefix.is_empty() {
        // MSAL reads `/adfs/{tenant}/.well-known/openid-configuration` and posts v2-style requests
        // (`scope=`) to whatever endpoints it names, so under /adfs it names the v2 endpoints.
        doc["token_endpoint"] = json!(site.url(&t, "oauth2/v2.0/token"));
        // Likewise the sign-in endpoints: msal (azureml-core's interactive login) sends v2 requests.
        doc["authorization_endpoint"] = json!(site.url(&t, "oauth2/v2.0/authorize"));
        doc["device_authorization_endpoint"] = json!(site.url(&t, "oauth2/v2.0/devicecode"));
        doc["end_session_endpoint"] = json!(site.url(&t, "oauth2/v2.0/logout"));
    }
    Ok(cached().json(doc))
}

/// What only the v1 document has, or has differently (AzureAD/MSIdentityTools' recorded `/common` document).
fn v1_only(doc: &mut Value, site: &Site, t: &str) {
    doc["scopes_supported"] = json!(["openid"]);
    doc["microsoft_multi_refresh_token"] = json!(true);
    doc["check_session_iframe"] = json!(site.url(t, "oauth2/checksession"));
    doc["response_types_supported"] = json!(["code", "id_token", "code id_token", "token id_token", "token"]);
    doc["claims_supported"] = json!(claims_supported(V1_CLAIMS));
}

/// `claims_supported` of both documents (recorded): the same first nine, then each version's own.
const SHARED_CLAIMS: [&str; 9] = [
    "sub",
    "iss",
    "cloud_instance_name",
    "cloud_instance_host_name",
    "cloud_graph_host_name",
    "msgraph_host",
    "aud",
    "exp",
    "iat",
];
const V2_CLAIMS: &[&str] = &[
    "auth_time",
    "acr",
    "nonce",
    "preferred_username",
    "name",
    "tid",
    "ver",
    "at_hash",
    "c_hash",
    "email",
];
const V1_CLAIMS: &[&str] = &[
    "auth_time",
    "acr",
    "amr",
    "nonce",
    "email",
    "given_name",
    "family_name",
    "nickname",
];

fn claims_supported(own: &[&'static str]) -> Vec<&'static str> {
    SHARED_CLAIMS.iter().chain(own).copied().collect()
}

/// A discovery answer: Entra ID lets clients cache it for a day and read it from any origin.
fn cached() -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header(("Cache-Control", "max-age=86400, private"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Access-Control-Allow-Methods", "GET, OPTIONS"));
    builder
}

/// What the v1 and v2 documents share. The version-specific keys (`response_types_supported`,
/// `claims_supported`, `scopes_supported`, …) are set by each. `tenant_region_scope` is a region
/// for a tenant and `null` for `common`/`organizations`.
fn discovery_common(site: &Site, t: &str, oauth: &str, multi: bool) -> Value {
    json!({
        "token_endpoint": site.url(t, &format!("{oauth}/token")),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "authorization_endpoint": site.url(t, &format!("{oauth}/authorize")),
        "device_authorization_endpoint": site.url(t, &format!("{oauth}/devicecode")),
        "end_session_endpoint": site.url(t, &format!("{oauth}/logout")),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "kerberos_endpoint": site.url(t, "kerberos"),
        "tenant_region_scope": if multi { Value::Null } else { json!("NA") },
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net"
    })
}

pub(super) async fn keys_v1(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AadFailure> {
    resolve(&state, &req, &Site::of(&state, &req))?;
    Ok(cached().json(jwks(&state, &req, None)))
}

pub(super) async fn keys_v2(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AadFailure> {
    let (_, issuer_tid, _) = resolve(&state, &req, &Site::of(&state, &req))?;
    let issuer = format!("https://login.microsoftonline.com/{issuer_tid}/v2.0");
    Ok(cached().json(jwks(&state, &req, Some(&issuer))))
}

/// The published keys — without the signing key when a `missing-key` fault fired (a botched
/// rotation: validators cannot find the `kid` of fresh tokens).
fn jwks(state: &AppState, req: &HttpRequest, issuer: Option<&str>) -> serde_json::Value {
    let missing = actix_web::HttpMessage::extensions(req)
        .get::<crate::faults::FiredSet>()
        .is_some_and(|f| f.of(crate::faults::Kind::MissingKey).is_some());
    let keys = state.keys();
    if missing {
        keys.jwks_without_active(issuer)
    } else {
        keys.jwks(issuer)
    }
}

#[derive(Deserialize)]
pub(super) struct InstanceQuery {
    authorization_endpoint: Option<String>,
}

/// Instance discovery points clients back at this emulator for whatever tenant they named.
pub(super) async fn instance_discovery(
    state: Data<AppState>,
    req: HttpRequest,
    query: web::Query<InstanceQuery>,
) -> HttpResponse {
    let site = Site::of(&state, &req);
    let endpoint = query.authorization_endpoint.as_deref().unwrap_or_default();
    let after_scheme = endpoint.split_once("://").map_or(endpoint, |(_, rest)| rest);
    let mut segments = after_scheme.split('/').skip(1);
    let tenant = segments.next().filter(|t| !t.is_empty()).unwrap_or("common");
    let version = if endpoint.contains("/v2.0/") { "v2.0/" } else { "" };
    let host = site
        .base
        .split_once("://")
        .map_or(site.base.as_str(), |(_, h)| h)
        .to_string();
    cached().json(json!({
        "tenant_discovery_endpoint": site.url(tenant, &format!("{version}.well-known/openid-configuration")),
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]
    }))
}
