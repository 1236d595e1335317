//! The managed-identity token endpoints, on their own plain-HTTP loopback listener (they are
//! `http://` in Azure too). A host's code reaches them under `/hosts/{host}` (the host's id, see
//! [`crate::authority::managed_identity`]), the way `azureml-emulator env --managed-identity HOST`
//! prints:
//!
//! - IMDS `GET …/metadata/identity/oauth2/token[/]?api-version=2018-02-01&resource=…
//!   [&client_id=|object_id=|msi_res_id=]`, `Metadata: true` required; every answer field a string
//!   (`AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:PORT/hosts/{host}`).
//! - App Service / Functions / Container Apps `GET …/msi/token?api-version=2019-08-01&resource=…
//!   [&client_id=|principal_id=|mi_res_id=]` with `X-IDENTITY-HEADER` = the host's secret
//!   (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).
//! - Azure ML compute `GET …/MSI/auth?api-version=2017-09-01&resource=…[&clientid=]` with
//!   `secret` = the host's secret (`MSI_ENDPOINT`, `MSI_SECRET`), and the same URL `POST`ed a form
//!   `resource=…[&client_id=…]` with `Metadata: true` (Cloud Shell style: what azureml-core's
//!   `MsiAuthentication` sends through msrestazure).

use std::collections::HashMap;

use actix_web::web::{self, Bytes, Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::authority::managed_identity::{self as mi, Host, MiToken, Selector};
use crate::error::{MsiError, MsiFlavor};
use crate::state::AppState;

type Params = Query<HashMap<String, String>>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/hosts/{host}/metadata/identity/oauth2/token", web::get().to(imds))
        .route("/hosts/{host}/metadata/identity/oauth2/token/", web::get().to(imds))
        .route("/metadata/identity/oauth2/token", web::get().to(imds_without_host))
        .route("/metadata/identity/oauth2/token/", web::get().to(imds_without_host))
        .route("/hosts/{host}/msi/token", web::get().to(app_service))
        .route("/hosts/{host}/MSI/auth", web::get().to(azure_ml))
        .route("/hosts/{host}/MSI/auth", web::post().to(azure_ml_form));
}

/// Paths no route matched: IMDS's shape, status 400 (a 404 would make azure-identity retry).
pub async fn fallback(req: HttpRequest) -> Result<HttpResponse, MsiError> {
    Err(MsiError::bad_request(
        MsiFlavor::Imds,
        format!("No managed-identity endpoint answers {} {}.", req.method(), req.path()),
    ))
}

fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn host(state: &AppState, id: &str, flavor: MsiFlavor) -> Result<Host, MsiError> {
    mi::find_host(&state.world(), &state.msi_key, id).ok_or_else(|| {
        MsiError::bad_request(
            flavor,
            "Identity not found: no managed-identity host has this endpoint URL.",
        )
    })
}

/// A required query (or form) parameter.
fn param<'p>(params: &'p HashMap<String, String>, name: &str, flavor: MsiFlavor) -> Result<&'p str, MsiError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| MsiError::bad_request(flavor, format!("Required query variable '{name}' is missing")))
}

/// The identity selector among `names` (`client_id`-like first); more than one is refused.
fn selector(
    params: &HashMap<String, String>,
    names: [&str; 3],
    flavor: MsiFlavor,
) -> Result<Option<Selector>, MsiError> {
    let given: Vec<Selector> = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| params.get(*n).filter(|v| !v.is_empty()).map(|v| (i, v.clone())))
        .map(|(i, v)| match i {
            0 => Selector::ClientId(v),
            1 => Selector::ObjectId(v),
            _ => Selector::ResourceId(v),
        })
        .collect();
    match given.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(MsiError::bad_request(
            flavor,
            format!("Only one of {} may be given.", names.join(", ")),
        )),
    }
}

/// Selects the identity and mints its token, with each failure in the endpoint's shape.
fn issue(
    state: &AppState,
    host: &Host,
    selector: Option<&Selector>,
    resource: &str,
    flavor: MsiFlavor,
) -> Result<MiToken, MsiError> {
    let world = state.world();
    let identity = mi::select(&world, host, selector).map_err(|e| MsiError::bad_request(flavor, e.to_string()))?;
    let is_own = |r: &str| state.origins.is_own(r);
    mi::mint(&world, &state.keys(), &is_own, state.clock.unix(), identity, resource).map_err(|e| {
        let aad = crate::error::AadError::unknown_resource(resource, &e.0);
        MsiError::new(
            flavor,
            400,
            "invalid_resource",
            format!("AADSTS{}: {}", aad.code, aad.message),
        )
    })
}

fn api_version(params: &HashMap<String, String>, accepted: &[&str], flavor: MsiFlavor) -> Result<(), MsiError> {
    let v = param(params, "api-version", flavor)?;
    if accepted.contains(&v) {
        Ok(())
    } else {
        Err(MsiError::bad_request(
            flavor,
            format!(
                "Invalid api-version '{v}': this endpoint accepts {}.",
                accepted.join(", ")
            ),
        ))
    }
}

/// IMDS: `Metadata: true`, api-version, resource, then the identity. Every field a string.
async fn imds(state: Data<AppState>, req: HttpRequest, id: Path<String>, q: Params) -> Result<HttpResponse, MsiError> {
    let f = MsiFlavor::Imds;
    if !header(&req, "metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(MsiError::bad_request(f, "Required metadata header not specified"));
    }
    // `mi_res_id` is the newer spelling of `msi_res_id`.
    let mut q = q.into_inner();
    if let Some(r) = q.remove("mi_res_id") {
        q.entry("msi_res_id".into()).or_insert(r);
    }
    api_version(&q, &["2018-02-01", "2019-08-01", "2021-02-01", "2025-04-07"], f)?;
    let resource = param(&q, "resource", f)?;
    let host = host(&state, &id, f)?;
    let sel = selector(&q, ["client_id", "object_id", "msi_res_id"], f)?;
    let t = issue(&state, &host, sel.as_ref(), resource, f)?;
    Ok(HttpResponse::Ok().json(json!({
        "access_token": t.access_token, "client_id": t.client_id, "expires_in": t.expires_in.to_string(),
        "expires_on": t.expires_on.to_string(), "ext_expires_in": t.expires_in.to_string(),
        "not_before": t.not_before.to_string(), "resource": t.resource, "token_type": "Bearer",
    })))
}

/// IMDS without a host: nobody told the SDK which host it runs on.
async fn imds_without_host() -> Result<HttpResponse, MsiError> {
    Err(MsiError::bad_request(MsiFlavor::Imds, "Identity not found: point AZURE_POD_IDENTITY_AUTHORITY_HOST at the URL `azureml-emulator env --managed-identity HOST` prints."))
}

/// The host of the endpoint `id`, when the request presents its secret in `name` (400 without
/// the header, 401 `unauthorized_client` when it is not `whose`).
fn host_with_secret(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    f: MsiFlavor,
    name: &str,
    whose: &str,
) -> Result<Host, MsiError> {
    let presented = header(req, name)
        .ok_or_else(|| MsiError::bad_request(f, format!("The request is missing the {name} header.")))?;
    let host = host(state, id, f)?;
    if !mi::secret_matches(&state.msi_key, &host, presented) {
        let message = format!("The {name} header value is not {whose}.");
        return Err(MsiError::new(f, 401, "unauthorized_client", message));
    }
    Ok(host)
}

/// App Service 2019-08-01: the host's secret in `X-IDENTITY-HEADER`.
async fn app_service(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
    q: Params,
) -> Result<HttpResponse, MsiError> {
    let f = MsiFlavor::AppService;
    let host = host_with_secret(&state, &req, &id, f, "X-IDENTITY-HEADER", "this app's IDENTITY_HEADER")?;
    api_version(&q, &["2019-08-01"], f)?;
    let resource = param(&q, "resource", f)?;
    let sel = selector(&q, ["client_id", "principal_id", "mi_res_id"], f)?;
    let t = issue(&state, &host, sel.as_ref(), resource, f)?;
    Ok(HttpResponse::Ok().json(json!({
        "access_token": t.access_token, "expires_on": t.expires_on.to_string(), "resource": t.resource,
        "token_type": "Bearer", "client_id": t.client_id,
    })))
}

/// Azure ML compute 2017-09-01: the host's secret in `secret`; `clientid` selects.
async fn azure_ml(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
    q: Params,
) -> Result<HttpResponse, MsiError> {
    let f = MsiFlavor::AzureMl;
    let host = host_with_secret(&state, &req, &id, f, "secret", "this compute's MSI_SECRET")?;
    api_version(&q, &["2017-09-01"], f)?;
    let resource = param(&q, "resource", f)?;
    let sel = selector(&q, ["clientid", "client_id", "object_id"], f)?;
    let t = issue(&state, &host, sel.as_ref(), resource, f)?;
    Ok(ml_answer(&t))
}

/// The same endpoint POSTed a form with `Metadata: true` (msrestazure's `get_msi_token`).
async fn azure_ml_form(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, MsiError> {
    let f = MsiFlavor::AzureMl;
    if !header(&req, "metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(MsiError::bad_request(f, "Required metadata header not specified"));
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let resource = param(&form, "resource", f)?;
    let host = host(&state, &id, f)?;
    let sel = selector(&form, ["client_id", "object_id", "msi_res_id"], f)?;
    let t = issue(&state, &host, sel.as_ref(), resource, f)?;
    Ok(ml_answer(&t))
}

fn ml_answer(t: &MiToken) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "access_token": t.access_token, "expires_in": t.expires_in.to_string(), "expires_on": t.expires_on.to_string(),
        "resource": t.resource, "token_type": "Bearer", "client_id": t.client_id,
    }))
}
