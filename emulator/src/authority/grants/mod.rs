//! Grants of the token endpoints. Each validates the request in the order Entra ID does and either
//! issues a token or returns the AADSTS error a real tenant would.
//!
//! [`token`] is the dispatcher: it resolves the tenant, reads `grant_type` and hands the request to
//! one module per grant: `client_credentials`, `password` (ROPC), `refresh_token`,
//! `authorization_code` (with PKCE) and `device_code`; a new grant is a new file here and one arm
//! in [`token`]. Grants that remember state between requests (codes, refresh tokens, device codes)
//! keep it in [`crate::authority::grant_state`]. Around the grants:
//! - [`user_tokens`]: what the user grants share (public clients, users, password checks,
//!   scopes, the user's tokens);
//! - [`redirect`]: redirect URI matching (loopback ports ignored);
//! - [`request`]: the form, HTTP Basic credentials and the requested resource;
//! - [`tenant`]: the `{tenant}` path segment;
//! - [`client_auth`]: which application is calling and how it proves it.

pub mod authorization_code;
mod certificate_auth;
pub mod client_auth;
mod client_credentials;
pub mod device_code;
mod federated_auth;
mod password;
pub mod redirect;
mod refresh_token;
pub mod request;
pub mod tenant;
pub mod user_tokens;

use time::OffsetDateTime;

use super::grant_state::GrantState;
use super::keys::KeySet;
use crate::domain::world::{Application, Tenant, DEFAULT_TOKEN_LIFETIME_SECONDS};
use crate::domain::{ObjectId, World};
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
    /// The configured origin the request reached: the id_token's issuer is built on it.
    pub origin: &'a str,
    /// Codes, refresh tokens and device codes (SQLite: user grants run off the async workers).
    pub grant_state: GrantState<'a>,
    /// Device-code polls, for `slow_down`.
    pub device_polls: &'a device_code::DevicePolls,
    /// The user pending device codes are approved as on their first poll (auto sign-in for CI).
    pub auto_sign_in: Option<ObjectId>,
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
    /// The token's `uti`: what the journal names it by (without reading the token back).
    pub token_id: String,
    /// Unix seconds (the token's `nbf`: five minutes before issue).
    pub not_before: i64,
    /// The v1 `resource` echo (the resource as requested).
    pub resource: String,
    /// The v2 `scope` echo, for grants that answer with one. Client credentials answer without
    /// it (AAD's v2 client-credentials answer has no `scope`: `openapi/fidelity/aad/token-v2-client-credentials.json`).
    pub scope: Option<String>,
    /// What user grants return besides the access token.
    pub user: Option<UserTokens>,
}

/// A user grant's extra answers.
#[derive(Debug, Default)]
pub struct UserTokens {
    /// Opaque, single value handed out (stored only as its hash).
    pub refresh_token: Option<String>,
    /// When `openid` was asked.
    pub id_token: Option<String>,
    /// base64url `{uid, utid}`, when `openid` was asked.
    pub client_info: Option<String>,
    /// The delegated scopes granted (the v1 `scope` field).
    pub scp: String,
}

/// The RFC 8628 grant type (msal Python); adal and msal-node send plain `device_code`.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

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
        "password" => password::grant(ctx, version, tenant, tenant_segment, request),
        "refresh_token" => refresh_token::grant(ctx, version, tenant, tenant_segment, request),
        "authorization_code" => authorization_code::grant(ctx, version, tenant, tenant_segment, request),
        DEVICE_CODE_GRANT | "device_code" => device_code::grant(ctx, version, tenant, tenant_segment, request),
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
