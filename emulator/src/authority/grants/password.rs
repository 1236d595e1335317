//! `grant_type=password` (ROPC): a user's name and password sent by the client. Follows
//! `v2-oauth-ropc.md` and the v1 form adal uses (`resource=`, `scope=openid`); the failures are the
//! AADSTS codes of [`super::user_tokens::check_password`].

use super::client_auth::{find_client, PresentedClient};
use super::request::TokenRequest;
use super::tenant::TenantSelector;
use super::user_tokens::{self, Requested, SignIn};
use super::{GrantContext, Issued, ProtocolVersion};
use crate::error::AadError;

/// Validates in Entra ID's order — client (900144, 700016), resource or scope (900144, 901002,
/// 70011), client authentication (public client, or 7000218/7000215), `username`/`password`
/// (900144), user in the tenant (50034), then the password checks (50053, 50126, 50057, 50055,
/// 50076) — and issues the user's tokens.
pub fn grant<'w>(
    ctx: &GrantContext<'w>,
    version: ProtocolVersion,
    tenant: TenantSelector<'w>,
    tenant_segment: &str,
    request: &TokenRequest,
) -> Result<Issued, AadError> {
    let presented = PresentedClient::read(request)?;
    let app = find_client(ctx.world, tenant, tenant_segment, &presented.client_id)?;
    let requested = Requested::read(version, request, None)?;
    let client = user_tokens::authenticate_client(ctx, app, presented.credential.as_ref())?;
    let username = request.required("username")?;
    let password = request.required("password")?;
    let (home, user) = user_tokens::find_user(ctx.world, tenant, username)?;
    user_tokens::check_password(user, password, &requested.resource, false)?;
    let who = SignIn {
        tenant: home,
        user,
        client,
        amr: vec!["pwd".into()],
        nonce: None,
        spa: false,
        refresh_until: None,
    };
    user_tokens::issue(ctx, &requested, who, version, request)
}
