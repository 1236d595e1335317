//! The token endpoints: `POST /{tenant}/oauth2/token` (v1: every number a string, `resource`
//! echoed) and `POST /{tenant}/oauth2/v2.0/token` (v2: numbers; `scope` only for grants that echo
//! one: a client-credentials answer has none, as `openapi/fidelity/aad/token-*.json` records), as in
//! `reference/api-fidelity.md` §4.1; user grants add `refresh_token`, `id_token` and `client_info`
//! (`interactive-flows.md` §5). The grant runs in [`crate::authority::grants`]: client credentials
//! on the worker (signing only), user grants off it (their grant state is SQLite).

use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::fail;
use crate::authority::grants::{self, Issued, ProtocolVersion, TokenRequest};
use crate::error::{AadError, AadFailure};
use crate::http::{client_request_id, origin};
use crate::state::AppState;

pub(super) async fn token_v1(
    state: Data<AppState>,
    req: HttpRequest,
    tenant: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AadFailure> {
    answer_v1(&state, &req, tenant.into_inner(), &body).await
}

pub(super) async fn token_v2(
    state: Data<AppState>,
    req: HttpRequest,
    tenant: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AadFailure> {
    answer_v2(&state, &req, tenant.into_inner(), &body).await
}

/// `POST {mount}/{tenant}/oauth2/token` or `…/oauth2/v2.0/token` after `mount`: the tenant
/// segment (without `%`, so it needs no decoding) and the protocol version.
pub(super) fn token_path<'p>(path: &'p str, mount: &str) -> Option<(&'p str, ProtocolVersion)> {
    let rest = path.strip_prefix(mount)?.strip_prefix('/')?;
    let (tenant, endpoint) = rest.split_once('/')?;
    let version = match endpoint {
        "oauth2/token" => ProtocolVersion::V1,
        "oauth2/v2.0/token" => ProtocolVersion::V2,
        _ => return None,
    };
    (!tenant.is_empty() && !tenant.contains('%')).then_some((tenant, version))
}

/// The token endpoints as [`super::routes`] reaches them without the router's pattern matching
/// (a regular expression per route tried, several times the cost of everything else around the
/// signature); the guard in `routes` let only [`token_path`]s in.
pub(super) async fn token_direct(
    state: Data<AppState>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, AadFailure> {
    let path = req.path();
    let (tail, version) = match path.strip_suffix("/oauth2/token") {
        Some(tail) => (tail, ProtocolVersion::V1),
        None => (
            path.strip_suffix("/oauth2/v2.0/token").unwrap_or_default(),
            ProtocolVersion::V2,
        ),
    };
    let tenant = tail.rsplit('/').next().unwrap_or_default().to_string();
    match version {
        ProtocolVersion::V1 => answer_v1(&state, &req, tenant, &body).await,
        ProtocolVersion::V2 => answer_v2(&state, &req, tenant, &body).await,
    }
}

async fn answer_v1(
    state: &Data<AppState>,
    req: &HttpRequest,
    tenant: String,
    body: &[u8],
) -> Result<HttpResponse, AadFailure> {
    let issued = token(state, req, tenant, body, ProtocolVersion::V1).await?;
    let mut out = json!({
        "token_type": "Bearer",
        "expires_in": issued.expires_in.to_string(),
        "ext_expires_in": issued.expires_in.to_string(),
        "expires_on": issued.expires_on.to_string(),
        "not_before": issued.not_before.to_string(),
        "resource": issued.resource,
        "access_token": issued.access_token,
    });
    if let Some(user) = &issued.user {
        out["scope"] = json!(user.scp);
        user_fields(&mut out, user);
    }
    Ok(no_store(req).json(out))
}

async fn answer_v2(
    state: &Data<AppState>,
    req: &HttpRequest,
    tenant: String,
    body: &[u8],
) -> Result<HttpResponse, AadFailure> {
    let issued = token(state, req, tenant, body, ProtocolVersion::V2).await?;
    let mut out = json!({
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "ext_expires_in": issued.expires_in,
        "access_token": issued.access_token,
    });
    if let Some(scope) = &issued.scope {
        out["scope"] = json!(scope);
    }
    if let Some(user) = &issued.user {
        user_fields(&mut out, user);
    }
    Ok(no_store(req).json(out))
}

/// `refresh_token`, `id_token` and `client_info`, each when the grant produced it.
fn user_fields(out: &mut Value, user: &grants::UserTokens) {
    for (name, value) in [
        ("refresh_token", &user.refresh_token),
        ("id_token", &user.id_token),
        ("client_info", &user.client_info),
    ] {
        if let Some(v) = value {
            out[name] = json!(v);
        }
    }
}

/// Reads the request and runs the grant against a snapshot of the world, signing with the key an
/// `unknown-kid` fault asks for, and journals the outcome: client credentials with a secret on
/// this worker; user grants and client assertions (whose `jti` is recorded in SQLite) on the
/// blocking pool.
async fn token(
    state: &Data<AppState>,
    req: &HttpRequest,
    tenant: String,
    body: &[u8],
    version: ProtocolVersion,
) -> Result<Issued, AadFailure> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let request = TokenRequest::parse(header("content-type"), header("authorization"), body);
    let base = origin(state, req);
    let keys = signing_keys(state, req);
    let seen = super::token_journal::Seen::of(req);
    let inline =
        request.param("grant_type") == Some("client_credentials") && request.param("client_assertion").is_none();
    if inline {
        return grant(state, &request, &tenant, version, &base, keys, seen).map_err(|e| fail(state, req, e));
    }
    let outcome = crate::service::blocking(state, move |s| {
        Ok(grant(s, &request, &tenant, version, &base, keys, seen))
    })
    .await
    .unwrap_or_else(|e| Err(AadError::generic(503, &e.to_string())));
    outcome.map_err(|e| fail(state, req, e))
}

fn grant(
    state: &AppState,
    request: &TokenRequest,
    tenant: &str,
    version: ProtocolVersion,
    origin: &str,
    keys: std::sync::Arc<crate::authority::KeySet>,
    seen: super::token_journal::Seen,
) -> Result<Issued, AadError> {
    let world = state.world();
    let ctx = state.grant_context(&world, origin, &keys);
    let outcome = grants::token(&ctx, version, tenant, request);
    super::token_journal::record(state, seen, &world, request, outcome.as_ref());
    outcome
}

/// The authority's keys, or — when an `unknown-kid` fault fired for this request and the
/// never-published key exists (it is made when such a rule is added) — a set whose signing key
/// no JWKS publishes.
fn signing_keys(state: &AppState, req: &HttpRequest) -> std::sync::Arc<crate::authority::KeySet> {
    let keys = state.keys();
    let unknown_kid = actix_web::HttpMessage::extensions(req)
        .get::<crate::faults::FiredSet>()
        .is_some_and(|f| f.of(crate::faults::Kind::UnknownKid).is_some());
    match state.has_unpublished_key().filter(|_| unknown_kid) {
        Some(unpublished) => std::sync::Arc::new(crate::authority::KeySet {
            active: unpublished,
            published: Vec::new(),
            retired: Vec::new(),
        }),
        None => keys,
    }
}

/// Token responses are never cached (AAD sends `Cache-Control`, `Pragma` and `Expires`) and echo
/// `client-request-id`.
pub(super) fn no_store(req: &HttpRequest) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header(("Cache-Control", "no-store, no-cache"))
        .insert_header(("Pragma", "no-cache"))
        .insert_header(("Expires", "-1"));
    if let Some(id) = client_request_id(req) {
        builder.insert_header(("client-request-id", id.to_string()));
    }
    builder
}
