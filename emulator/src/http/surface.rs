//! Surfaces: which emulated service a request is addressed to, resolved once per request by one
//! middleware. It is the hook every cross-cutting concern attaches to: the request id (journal,
//! `x-ms-request-id`), the request's tracing span, path normalisation, the configured origin the
//! request reached, and re-rendering the framework's own errors (body too large, no route) in the
//! surface's error shape.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};
use serde::Serialize;
use tracing::Instrument;
use uuid::Uuid;

/// An emulated service, as clients see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, strum::AsRefStr, strum::EnumString)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Surface {
    /// Entra ID: discovery, keys, token endpoints (also under `/adfs`).
    Aad,
    /// Azure Resource Manager.
    Arm,
    /// The model-management API of SDK v1 web services.
    ModelManagement,
    /// Scoring of web services and online endpoints.
    Scoring,
    /// The emulator's own control API (`/_emulator`).
    Control,
    /// Cloud metadata (`/metadata/endpoints`) and workspace discovery (`/discovery`).
    Metadata,
    /// The managed-identity token endpoints (IMDS, App Service, Azure ML) on their own plain-HTTP
    /// loopback listener: every request there is this surface, whatever its path.
    ManagedIdentity,
}

/// App data of a listener whose every request belongs to one surface (the managed-identity
/// listener), so paths like `/metadata/identity/…` are not read as another surface's.
#[derive(Clone, Copy, Debug)]
pub struct ListenerSurface(pub Surface);

impl Surface {
    /// Resolves a (slash-merged) path. Paths that name no surface are attributed to AAD, whose
    /// routes start with an arbitrary tenant segment.
    pub fn of(path: &str) -> Surface {
        let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        let is = |p: &str| first.eq_ignore_ascii_case(p);
        if first == "_emulator" {
            Surface::Control
        } else if is("subscriptions") || is("tenants") || is("providers") {
            Surface::Arm
        } else if first == "modelmanagement" {
            Surface::ModelManagement
        } else if first == "aci" || first == "online" || path.starts_with("/api/v1/service/") {
            Surface::Scoring
        } else if path == "/discovery" || first == "metadata" {
            Surface::Metadata
        } else {
            Surface::Aad
        }
    }
}

/// What the middleware learned about a request, in its extensions.
#[derive(Clone, Copy, Debug)]
pub struct RequestInfo {
    /// Unique per request: the journal's `request_id`, ARM's `x-ms-request-id`.
    pub id: Uuid,
    pub surface: Surface,
}

/// The request's id and surface (a fresh id if the middleware did not run, as in unit tests).
pub fn request_info(req: &HttpRequest) -> RequestInfo {
    req.extensions()
        .get::<RequestInfo>()
        .copied()
        .unwrap_or_else(|| RequestInfo {
            id: Uuid::new_v4(),
            surface: Surface::of(req.path()),
        })
}

/// The middleware: merges `//`, resolves the surface, assigns the request id, runs the request in
/// its span, and gives framework errors (plain-text 4xx from extractors, the 404 of no route)
/// the surface's error shape.
pub async fn layer(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    merge_slashes(&mut req);
    let fixed = req.app_data::<ListenerSurface>().map(|s| s.0);
    let info = RequestInfo {
        id: Uuid::new_v4(),
        surface: fixed.unwrap_or_else(|| Surface::of(req.path())),
    };
    req.extensions_mut().insert(info);
    // A debug span: off by default (`serve` logs the emulator at info), so hot routes do not pay
    // for formatting it; `RUST_LOG=azureml_emulator=debug` or `TEST_LOG=1` shows it.
    let span = tracing::debug_span!("request", id = %info.id, surface = info.surface.as_ref(),
        method = %req.method(), path = %req.path());
    let mut res = next.call(req).instrument(span).await?;
    conventions(info, res.headers_mut());
    let plain_error = res.response().error().is_some()
        && res.status().is_client_error()
        && !res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
    if !plain_error {
        return Ok(res.map_into_left_body());
    }
    let status = res.status();
    let message = res.response().error().map(|e| e.to_string()).unwrap_or_default();
    let (req, _) = res.into_parts();
    let rendered = crate::error::render(info.surface, &req, &crate::error::Generic::framework(status, &message));
    Ok(ServiceResponse::new(req, rendered).map_into_right_body())
}

/// JSON's `Content-Type` on Entra ID and ARM (see [`conventions`]); hot routes label their
/// answers with it directly, from a constant.
pub const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// The headers a surface puts on every answer, as the recordings show them
/// (`openapi/fidelity/SOURCES.md`): Entra ID and ARM label JSON `application/json; charset=utf-8`;
/// Entra ID names each answer with `x-ms-request-id` (its errors use their `trace_id`; ARM sets its
/// own request ids in its dispatcher).
fn conventions(info: RequestInfo, headers: &mut HeaderMap) {
    if !matches!(info.surface, Surface::Aad | Surface::Arm) {
        return;
    }
    let json = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json");
    if json {
        headers.insert(CONTENT_TYPE, JSON_UTF8);
    }
    let request_id = HeaderName::from_static("x-ms-request-id");
    if info.surface == Surface::Aad && !headers.contains_key(&request_id) {
        if let Ok(v) = HeaderValue::from_str(&info.id.to_string()) {
            headers.insert(request_id, v);
        }
    }
}

/// Collapses `//` in paths (MSAL with a trailing-slash authority, az's `resource//.default`
/// scopes). Only requests that contain `//` pay for a rewrite.
fn merge_slashes(req: &mut ServiceRequest) {
    if !req.path().contains("//") {
        return;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_surfaces() {
        assert_eq!(Surface::of("/_emulator/health"), Surface::Control);
        assert_eq!(Surface::of("/SUBSCRIPTIONS/x"), Surface::Arm);
        assert_eq!(
            Surface::of("/providers/Microsoft.Authorization/roleDefinitions"),
            Surface::Arm
        );
        assert_eq!(
            Surface::of("/modelmanagement/v1.0/subscriptions/x"),
            Surface::ModelManagement
        );
        assert_eq!(Surface::of("/api/v1/service/aks-service-1/score"), Surface::Scoring);
        assert_eq!(Surface::of("/online/ep/score"), Surface::Scoring);
        assert_eq!(Surface::of("/metadata/endpoints"), Surface::Metadata);
        assert_eq!(Surface::of("/discovery"), Surface::Metadata);
        assert_eq!(Surface::of("/contoso.onmicrosoft.com/discovery/keys"), Surface::Aad);
        assert_eq!(Surface::of("/adfs/common/oauth2/v2.0/token"), Surface::Aad);
        assert_eq!("model-management".parse::<Surface>().unwrap(), Surface::ModelManagement);
    }
}
