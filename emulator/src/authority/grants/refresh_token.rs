//! `grant_type=refresh_token`: a refresh token redeemed for a new access token — for any resource
//! (multi-resource refresh tokens, which azureml-core and azure-identity rely on) — and a new
//! refresh token. The old one stays valid until its own expiry, as in Entra ID.

use super::client_auth::{find_client, PresentedClient};
use super::request::TokenRequest;
use super::tenant::TenantSelector;
use super::user_tokens::{self, map_state, RefreshPayload, Requested, SignIn};
use super::{GrantContext, Issued, ProtocolVersion};
use crate::authority::grant_state::{GrantRef, Lookup};
use crate::domain::grant::GrantKind;
use crate::error::AadError;

/// Client (900144, 700016, 7000218) → `refresh_token` present (900144: adal's empty one) → a
/// token this authority issued (9002313), not revoked (50173), not expired on the clock (700082),
/// issued to this client (700003) → its user still there, in the tenant and enabled (50034,
/// 50057) → tokens for the requested resource (or the one first asked for).
pub fn grant<'w>(
    ctx: &GrantContext<'w>,
    version: ProtocolVersion,
    tenant: TenantSelector<'w>,
    tenant_segment: &str,
    request: &TokenRequest,
) -> Result<Issued, AadError> {
    let presented = PresentedClient::read(request)?;
    let app = find_client(ctx.world, tenant, tenant_segment, &presented.client_id)?;
    let client = user_tokens::authenticate_client(ctx, app, presented.credential.as_ref())?;
    let value = request.required("refresh_token")?;
    let lookup = map_state(
        ctx.grant_state
            .get::<RefreshPayload>(GrantKind::RefreshToken, GrantRef::Value(value)),
    )?;
    let grant = match lookup {
        Lookup::Live(g) => g,
        Lookup::Revoked(g) => return Err(AadError::grant_revoked(g.issued_at)),
        Lookup::Expired(g) => return Err(AadError::refresh_token_expired(g.issued_at, ctx.now)),
        Lookup::Consumed(_) | Lookup::Unknown => return Err(AadError::malformed_grant()),
    };
    if grant.client_id != app.client_id {
        return Err(AadError::grant_of_other_client(grant.client_id));
    }
    let (home, user) = user_tokens::grant_user(ctx.world, tenant, grant.user_id)?;
    let requested = Requested::read(version, request, Some(&grant.payload.requested))?;
    let who = SignIn {
        tenant: home,
        user,
        client,
        amr: grant.payload.amr,
        nonce: None,
        spa: grant.payload.spa,
        refresh_until: grant.payload.spa.then_some(grant.expires_at),
    };
    user_tokens::issue(ctx, &requested, who, version, request)
}
