//! The token endpoints: `POST /{tenant}/oauth2/token` (v1: every number a string, `resource`
//! echoed) and `POST /{tenant}/oauth2/v2.0/token` (v2: numbers, `scope` echoed), as recorded in
//! `reference/api-fidelity.md` §4.1. The grant runs in [`crate::authority::grants`].

use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::fail;
use crate::authority::grants::{self, GrantContext, Issued, ProtocolVersion, TokenRequest};
use crate::error::{AadError, AadFailure};
use crate::http::client_request_id;
use crate::state::AppState;

pub(super) async fn token_v1(
    state: Data<AppState>,
    req: HttpRequest,
    tenant: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AadFailure> {
    let issued = token(&state, &req, &tenant, &body, ProtocolVersion::V1).await?;
    Ok(no_store(&req).json(json!({
        "token_type": "Bearer",
        "expires_in": issued.expires_in.to_string(),
        "ext_expires_in": issued.expires_in.to_string(),
        "expires_on": issued.expires_on.to_string(),
        "not_before": issued.not_before.to_string(),
        "resource": issued.resource,
        "access_token": issued.access_token,
    })))
}

pub(super) async fn token_v2(
    state: Data<AppState>,
    req: HttpRequest,
    tenant: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AadFailure> {
    let issued = token(&state, &req, &tenant, &body, ProtocolVersion::V2).await?;
    Ok(no_store(&req).json(json!({
        "token_type": "Bearer",
        "scope": issued.scope,
        "expires_in": issued.expires_in,
        "ext_expires_in": issued.expires_in,
        "access_token": issued.access_token,
    })))
}

/// Reads the request and runs the grant against a snapshot of the world, with the key an
/// `unknown-kid` fault asks for; the outcome goes to the journal. A request presenting a
/// `client_assertion` runs off the async workers (a certificate assertion's `jti` is recorded in
/// SQLite).
async fn token(
    state: &Data<AppState>,
    req: &HttpRequest,
    tenant: &str,
    body: &[u8],
    version: ProtocolVersion,
) -> Result<Issued, AadFailure> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let request = TokenRequest::parse(header("content-type"), header("authorization"), body);
    let keys = signing_keys(state, req);
    let seen = super::token_journal::Seen::of(req);
    if request.param("client_assertion").is_none() {
        return grant(state, &request, tenant, version, keys, seen).map_err(|e| fail(state, req, e));
    }
    let (s, t) = (state.clone(), tenant.to_string());
    let result = actix_web::web::block(move || grant(&s, &request, &t, version, keys, seen))
        .await
        .unwrap_or_else(|e| Err(AadError::generic(500, &format!("the request was cancelled: {e}"))));
    result.map_err(|e| fail(state, req, e))
}

fn grant(
    state: &AppState,
    request: &TokenRequest,
    tenant: &str,
    version: ProtocolVersion,
    keys: std::sync::Arc<crate::authority::KeySet>,
    seen: super::token_journal::Seen,
) -> Result<Issued, AadError> {
    let world = state.world();
    let ctx = GrantContext {
        world: &world,
        keys: &keys,
        now: state.clock.now(),
        origins: &state.origins,
        jittered_lifetime: state.settings.jittered_lifetime(),
        issuers: &state.issuers,
        store: &state.store,
    };
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

/// Token responses are never cached (AAD sends both headers) and echo `client-request-id`.
fn no_store(req: &HttpRequest) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header(("Cache-Control", "no-store, no-cache"))
        .insert_header(("Pragma", "no-cache"));
    if let Some(id) = client_request_id(req) {
        builder.insert_header(("client-request-id", id.to_string()));
    }
    builder
}
