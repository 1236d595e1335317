//! Grants of the token endpoints. Each validates the request in the order Entra ID does and either
//! issues a token or returns the AADSTS error a real tenant would.
//!
//! [`token`] is the dispatcher: it resolves the tenant, reads `grant_type` and hands the request to
//! one module per grant. A new grant (`password`, `refresh_token`, `authorization_code`,
//! `device_code`: issue #10) is a new file here and one arm in [`token`]; grants that remember
//! state between requests (codes, refresh tokens, device codes) keep it in
//! [`crate::authority::grant_state`]. Around the grants:
//! - [`request`]: the form, HTTP Basic credentials and the requested resource;
//! - [`tenant`]: the `{tenant}` path segment;
//! - [`client_auth`]: which application is calling and how it proves it.

mod certificate_auth;
pub mod client_auth;
mod client_credentials;
mod federated_auth;
pub mod request;
pub mod tenant;

use time::OffsetDateTime;

use super::keys::KeySet;
use crate::domain::world::{Application, Tenant, DEFAULT_TOKEN_LIFETIME_SECONDS};
use crate::domain::World;
use crate::error::AadError;

pub use request::{RequestedResource, TokenRequest};
pub use tenant::{resolve_tenant, TenantSelector};

/// Which generation of Entra ID's OAuth endpoints was called: v1 (`/oauth2/token`, which takes
/// `resource=`) or v2 (`/oauth2/v2.0/token`, which takes `scope=`). Not the version of the token
/// issued: that follows the resource (see [`crate::domain::audience::Audience`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolVersion {
    V1,
    V2,
}

/// Everything a grant reads besides the request itself.
pub struct GrantContext<'a> {
    pub world: &'a World,
    pub keys: &'a KeySet,
    pub now: OffsetDateTime,
    /// This emulator's configured origins: each is itself a valid resource (the cloud's
    /// `resourceManager`, which azure-ai-ml asks tokens for).
    pub origins: &'a crate::origins::Origins,
    /// The named test issuers whose tokens federated credentials may trust.
    pub issuers: &'a crate::authority::issuers::TestIssuers,
    /// Where state between requests is kept (certificate assertions' `jti`s). Blocking: a request
    /// that presents a `client_assertion` runs off the async workers.
    pub store: &'a crate::store::Store,
    /// An Entra-like lifetime drawn for this request when the world asks for jitter
    /// ([`crate::settings`]); an application's own lifetime still wins.
    pub jittered_lifetime: Option<i64>,
}

/// A freshly issued access token and the numbers both response shapes need.
#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    /// Seconds.
    pub expires_in: i64,
    /// Unix seconds (the token's `exp`).
    pub expires_on: i64,
    /// Unix seconds (the token's `nbf`: five minutes before issue).
    pub not_before: i64,
    /// The v1 `resource` echo (the resource as requested).
    pub resource: String,
    /// The v2 `scope` echo (the requested `/.default` scope).
    pub scope: String,
}

/// Runs the grant a token request names against the tenant its path names.
///
/// Errors, before any grant runs: the tenant's (AADSTS90002, 900023), a missing `grant_type`
/// (900144) and a grant the emulator does not offer (70003 `unsupported_grant_type`).
pub fn token(
    ctx: &GrantContext<'_>,
    version: ProtocolVersion,
    tenant_segment: &str,
    request: &TokenRequest,
) -> Result<Issued, AadError> {
    let tenant = resolve_tenant(ctx.world, tenant_segment)?;
    match request.required("grant_type")? {
        "client_credentials" => client_credentials::grant(ctx, version, tenant, tenant_segment, request),
        other => Err(AadError::unsupported_grant_type(other)),
    }
}

/// Access-token lifetime in seconds: the application's setting, else the tenant's, else AAD's
/// default (3599).
pub fn token_lifetime(tenant: &Tenant, app: &Application) -> i64 {
    i64::from(
        app.token_lifetime_seconds
            .or(tenant.token_lifetime_seconds)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME_SECONDS),
    )
}
