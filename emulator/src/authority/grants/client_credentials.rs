//! `grant_type=client_credentials`: an application's own (app-only) token.
//! Follows `v2-oauth2-client-creds-grant-flow.md` and the v1 `/oauth2/token` form of it.

use super::client_auth::{self, PresentedClient};
use super::request::TokenRequest;
use super::tenant::TenantSelector;
use super::{token_lifetime, GrantContext, Issued, ProtocolVersion};
use crate::authority::cae::ClaimsRequest;
use crate::authority::claims::AppClaims;
use crate::authority::jwt;
use crate::domain::audience;
use crate::error::AadError;

/// Validates in Entra ID's order — client id (900144), application in the tenant (700016),
/// resource or scope (900144, 901002, 70011), credential (7000218), application enabled (7000112),
/// secret (7000215 / 7000222), resource principal (500011) — then signs an app token.
pub fn grant(
    ctx: &GrantContext<'_>,
    version: ProtocolVersion,
    tenant: TenantSelector<'_>,
    tenant_segment: &str,
    request: &TokenRequest,
) -> Result<Issued, AadError> {
    let presented = PresentedClient::read(request)?;
    let app = client_auth::find_client(ctx.world, tenant, tenant_segment, &presented.client_id)?;
    // An application always belongs to a tenant of the world; should the index ever disagree,
    // the client is reported unknown rather than the request failing.
    let home = ctx
        .world
        .tenant(app.tenant_id)
        .ok_or_else(|| AadError::unknown_client(&presented.client_id, tenant_segment))?;
    let requested = request.requested_resource(version)?;
    let client = client_auth::authenticate_confidential(ctx, app, presented.credential.as_ref(), &requested.resource)?;
    let audience = audience::resolve(ctx.world, home.id, &requested.resource, &|r| ctx.origins.is_own(r))
        .ok_or_else(|| AadError::unknown_resource(&requested.resource, &home.display_name))?;
    let lifetime = match (app.token_lifetime_seconds, ctx.jittered_lifetime) {
        (None, Some(jittered)) => jittered,
        _ => token_lifetime(home, app),
    };
    let asked = ClaimsRequest::parse(request.param("claims"));
    let mut claims = AppClaims::new(
        home,
        client.app,
        client.method,
        &audience,
        ctx.now.unix_timestamp(),
        lifetime,
    );
    claims.xms_cc = asked.xms_cc();
    claims.nbf = asked.nbf(claims.nbf, ctx.now.unix_timestamp());
    Ok(Issued {
        access_token: jwt::encode(&ctx.keys.active, audience.version == 1, &claims),
        expires_in: lifetime,
        expires_on: claims.exp,
        token_id: claims.uti.clone(),
        not_before: claims.nbf,
        resource: requested.resource,
        scope: None,
        user: None,
    })
}
