//! What every user grant shares: which client may sign users in, which user a name means, the
//! password checks in Entra ID's order, the scopes a request names, and the issue of a user's
//! access token, id_token, client_info and refresh token.
//!
//! Sources: `reference/interactive-flows.md` §5 (response shape, `nonce`, MRRT),
//! `python-auth-clients.md` §1b and `node-auth-clients.md` §2.5 (id_token and client_info make
//! MSAL accounts), `api-fidelity.md` §4.3 (user claims).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::client_auth::{authenticate_confidential, AuthenticatedClient, ClientCredential};
use super::request::TokenRequest;
use super::tenant::TenantSelector;
use super::{token_lifetime, GrantContext, Issued, ProtocolVersion, UserTokens};
use crate::authority::claims::{client_info, ClientAuthMethod, IdToken, SignedInUser, UserClaims};
use crate::authority::grant_state::{GrantStateError, NewEntry, REFRESH_TOKEN_LIFETIME, SPA_REFRESH_TOKEN_LIFETIME};
use crate::authority::jwt;
use crate::domain::audience;
use crate::domain::grant::GrantKind;
use crate::domain::world::{Application, Tenant, User};
use crate::domain::{TenantId, World};
use crate::error::AadError;

/// OpenID Connect scopes: they ask for an id_token and a refresh token, not for a resource.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "offline_access", "email"];

/// The delegated scope of `/.default` requests for first-party resources (ARM documents
/// `user_impersonation`).
const DEFAULT_DELEGATED_SCOPE: &str = "user_impersonation";

/// Lifetime of id_tokens, seconds (AAD: one hour).
const ID_TOKEN_LIFETIME: i64 = 3600;

/// What a user-grant request asks for, remembered with device codes, authorization codes and
/// refresh tokens for requests that do not repeat it (device-code polls send no scope).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requested {
    /// The resource the access token is for.
    pub resource: String,
    /// The v2 `scope` echo: the requested resource scopes, OIDC scopes left out.
    pub scope: String,
    /// The delegated scopes granted (`scp`).
    pub scp: String,
    /// `openid` was asked (v1: in `scope`): an id_token and client_info come back.
    pub openid: bool,
    /// `offline_access` was asked (always on v1): a refresh token comes back.
    pub offline: bool,
}

impl Requested {
    /// Reads `resource` (v1) or `scope` (v2); when the request names neither, `remembered` (what
    /// the grant stored) is used. Errors: AADSTS900144, 901002, 70011.
    pub fn read(
        version: ProtocolVersion,
        request: &TokenRequest,
        remembered: Option<&Requested>,
    ) -> Result<Requested, AadError> {
        match version {
            ProtocolVersion::V1 => {
                let openid = request
                    .param("scope")
                    .is_some_and(|s| s.split_whitespace().any(|x| x == "openid"));
                match (request.param("resource"), remembered) {
                    (Some(resource), _) => Ok(Requested {
                        resource: resource.to_string(),
                        scope: format!("{resource}/.default"),
                        scp: DEFAULT_DELEGATED_SCOPE.into(),
                        openid,
                        offline: true,
                    }),
                    (None, Some(r)) => Ok(Requested {
                        openid: r.openid || openid,
                        offline: true,
                        ..r.clone()
                    }),
                    (None, None) => Err(AadError::missing_parameter("resource")),
                }
            }
            ProtocolVersion::V2 => {
                if request.param("resource").is_some() {
                    return Err(AadError::resource_parameter_not_supported());
                }
                match (request.param("scope"), remembered) {
                    (Some(scope), _) => parse_scopes(scope),
                    (None, Some(r)) => Ok(r.clone()),
                    (None, None) => Err(AadError::missing_parameter("scope")),
                }
            }
        }
    }
}

/// Parses a v2 `scope` list: OIDC scopes plus one resource's scopes — `{resource}/.default` or
/// `{resource}/{name}` (several names of one resource are allowed).
pub fn parse_scopes(scope: &str) -> Result<Requested, AadError> {
    let all: Vec<&str> = scope.split_whitespace().collect();
    let resource_scopes: Vec<&str> = all.iter().copied().filter(|s| !OIDC_SCOPES.contains(s)).collect();
    let invalid = || AadError::invalid_scope(scope);
    let mut resource: Option<&str> = None;
    let mut names: Vec<&str> = Vec::new();
    for s in &resource_scopes {
        let (r, name) = s.rsplit_once('/').ok_or_else(invalid)?;
        if r.is_empty() || name.is_empty() || !(r.contains("://") || r.starts_with("api:") || r.len() == 36) {
            return Err(invalid());
        }
        if resource.is_some_and(|seen| seen != r) {
            return Err(invalid());
        }
        resource = Some(r);
        names.push(name);
    }
    let resource = resource.ok_or_else(invalid)?;
    let scp = if names == [".default"] {
        DEFAULT_DELEGATED_SCOPE.to_string()
    } else if names.contains(&".default") {
        return Err(invalid());
    } else {
        names.join(" ")
    };
    Ok(Requested {
        resource: resource.to_string(),
        scope: resource_scopes.join(" "),
        scp,
        openid: all.contains(&"openid"),
        offline: all.contains(&"offline_access"),
    })
}

/// Authenticates the client of a user grant: a public client (`allowPublicClient`) may present no
/// credential (`appidacr` "0"); a confidential one authenticates as for client credentials
/// (AADSTS7000218 without a credential).
pub fn authenticate_client<'w>(
    ctx: &GrantContext<'_>,
    app: &'w Application,
    credential: Option<&ClientCredential>,
) -> Result<AuthenticatedClient<'w>, AadError> {
    match credential {
        None if app.sign_in.public_client => {
            if !app.enabled {
                return Err(AadError::disabled_application(app));
            }
            Ok(AuthenticatedClient {
                app,
                method: ClientAuthMethod::Public,
            })
        }
        None => Err(AadError::public_client_not_allowed()),
        // A certificate assertion's `jti` is kept per client for user grants (no single resource).
        Some(c) => authenticate_confidential(ctx, app, Some(c), ""),
    }
}

/// The user a sign-in name (UPN, case-insensitive) means in the requested tenant, and that
/// tenant: `common`/`organizations` mean the user's home tenant. AADSTS50034 otherwise.
pub fn find_user<'w>(
    world: &'w World,
    tenant: TenantSelector<'w>,
    username: &str,
) -> Result<(&'w Tenant, &'w User), AadError> {
    let user = world.user_by_upn(username.trim());
    let in_tenant = |t: &'w Tenant| user.filter(|u| u.tenant_id == t.id).map(|u| (t, u));
    match tenant {
        TenantSelector::Tenant(t) => in_tenant(t).ok_or_else(|| AadError::unknown_user(&t.display_name)),
        TenantSelector::Multi(name) => user
            .and_then(|u| world.tenant(u.tenant_id).map(|t| (t, u)))
            .ok_or_else(|| AadError::unknown_user(name)),
    }
}

/// The user a grant was issued to, still in the directory, in the requested tenant and enabled.
pub fn grant_user<'w>(
    world: &'w World,
    tenant: TenantSelector<'w>,
    user: Option<crate::domain::ObjectId>,
) -> Result<(&'w Tenant, &'w User), AadError> {
    let user = user.and_then(|u| world.user(u));
    let home = user.and_then(|u| world.tenant(u.tenant_id));
    let (t, u) = match (user, home, tenant) {
        (Some(u), Some(t), TenantSelector::Tenant(asked)) if asked.id == t.id => (t, u),
        (Some(u), Some(t), TenantSelector::Multi(_)) => (t, u),
        (_, _, TenantSelector::Tenant(asked)) => return Err(AadError::unknown_user(&asked.display_name)),
        (_, _, TenantSelector::Multi(name)) => return Err(AadError::unknown_user(name)),
    };
    if !u.enabled {
        return Err(AadError::user_disabled());
    }
    Ok((t, u))
}

/// How a password sign-in ends for `user`, in Entra ID's order: locked (50053), wrong password
/// (50126), disabled (50057), password expired (50055), and — unless the sign-in completes MFA, as
/// the interactive page does — MFA required (50076).
pub fn check_password(user: &User, password: &str, resource: &str, mfa_done: bool) -> Result<(), AadError> {
    if user.state.locked {
        return Err(AadError::user_locked());
    }
    if !user.password.matches(password) {
        return Err(AadError::invalid_password());
    }
    if !user.enabled {
        return Err(AadError::user_disabled());
    }
    if user.state.password_expired {
        return Err(AadError::password_expired());
    }
    if user.state.mfa_required && !mfa_done {
        return Err(AadError::mfa_required(resource));
    }
    Ok(())
}

/// `amr` of a password sign-in: `pwd`, plus `mfa` when the user had to do it.
pub fn password_amr(user: &User) -> Vec<String> {
    let mut amr = vec!["pwd".to_string()];
    if user.state.mfa_required {
        amr.push("mfa".into());
    }
    amr
}

/// A signed-in user about to get tokens.
pub struct SignIn<'w> {
    pub tenant: &'w Tenant,
    pub user: &'w User,
    pub client: AuthenticatedClient<'w>,
    /// `amr` values (`pwd`, `mfa`).
    pub amr: Vec<String>,
    /// The authorize request's `nonce`, echoed in the id_token.
    pub nonce: Option<String>,
    /// A single-page application (24-hour refresh tokens).
    pub spa: bool,
    /// When the refresh token must end at the latest (SPA refresh tokens do not slide).
    pub refresh_until: Option<OffsetDateTime>,
}

/// What a refresh token remembers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefreshPayload {
    pub tenant: TenantId,
    pub requested: Requested,
    pub amr: Vec<String>,
    pub spa: bool,
}

fn state_error(e: GrantStateError) -> AadError {
    tracing::error!(error = %e, "grant state");
    AadError::generic(500, "The token service could not keep the grant's state.")
}

pub(super) fn map_state<T>(r: Result<T, GrantStateError>) -> Result<T, AadError> {
    r.map_err(state_error)
}

/// Signs the user's access token for the requested resource (AADSTS500011 if unknown), plus the
/// id_token and client_info when `openid` was asked, and a refresh token when `offline_access`
/// was (always on v1). A client declaring the CP1 capability in the request's `claims` (az,
/// azure-identity) gets `xms_cc` in the access token, as with client credentials.
pub fn issue(
    ctx: &GrantContext<'_>,
    requested: &Requested,
    who: SignIn<'_>,
    version: ProtocolVersion,
    request: &TokenRequest,
) -> Result<Issued, AadError> {
    let asked = crate::authority::cae::ClaimsRequest::parse(request.param("claims"));
    let audience = audience::resolve(ctx.world, who.tenant.id, &requested.resource, &|r| {
        ctx.origins.is_own(r)
    })
    .ok_or_else(|| AadError::unknown_resource(&requested.resource, &who.tenant.display_name))?;
    let groups = ctx.world.groups_of(who.user.object_id);
    let amr: Vec<&'static str> = who
        .amr
        .iter()
        .filter_map(|a| match a.as_str() {
            "pwd" => Some("pwd"),
            "mfa" => Some("mfa"),
            _ => None,
        })
        .collect();
    let signed_in = SignedInUser {
        tenant: who.tenant,
        user: who.user,
        client_id: who.client.app.client_id,
        client_auth: who.client.method,
        amr: &amr,
        groups: &groups,
    };
    let now = ctx.now.unix_timestamp();
    let lifetime = token_lifetime(who.tenant, who.client.app);
    let mut claims = UserClaims::new(&signed_in, &audience, &requested.scp, now, lifetime);
    claims.xms_cc = asked.xms_cc();
    claims.nbf = asked.nbf(claims.nbf, now);
    let access_token = jwt::encode(&ctx.keys.active, audience.version == 1, &claims);
    let (id_token, info) = if requested.openid {
        let issuer = format!("{}/{}/v2.0", ctx.origin, who.tenant.id);
        let mut id = IdToken::new(&signed_in, issuer, who.nonce.as_deref(), now, ID_TOKEN_LIFETIME);
        if version == ProtocolVersion::V1 {
            id = id.with_upn(&who.user.upn);
        }
        (
            Some(jwt::encode(&ctx.keys.active, false, &id)),
            Some(client_info(who.user)),
        )
    } else {
        (None, None)
    };
    let refresh_token = if requested.offline {
        Some(mint_refresh_token(ctx, requested, &who)?)
    } else {
        None
    };
    Ok(Issued {
        access_token,
        expires_in: lifetime,
        expires_on: claims.exp,
        token_id: claims.uti.clone(),
        not_before: claims.nbf,
        resource: requested.resource.clone(),
        // User grants echo the granted scopes (client credentials do not).
        scope: Some(requested.scope.clone()),
        user: Some(UserTokens {
            refresh_token,
            id_token,
            client_info: info,
            scp: requested.scp.clone(),
        }),
    })
}

/// A new refresh token: 90 days from now (sliding: every redemption gets a fresh one; the old one
/// stays valid, as in Entra ID), or for single-page applications 24 hours from the first sign-in.
fn mint_refresh_token(ctx: &GrantContext<'_>, requested: &Requested, who: &SignIn<'_>) -> Result<String, AadError> {
    let lifetime = match (who.spa, who.refresh_until) {
        (true, Some(until)) => until - ctx.now,
        (true, None) => SPA_REFRESH_TOKEN_LIFETIME,
        (false, _) => REFRESH_TOKEN_LIFETIME,
    };
    let payload = RefreshPayload {
        tenant: who.tenant.id,
        requested: requested.clone(),
        amr: who.amr.clone(),
        spa: who.spa,
    };
    let value = map_state(ctx.grant_state.issue(NewEntry {
        kind: GrantKind::RefreshToken,
        client_id: who.client.app.client_id,
        user_id: Some(who.user.object_id),
        alias: None,
        lifetime: lifetime.max(Duration::seconds(1)),
        payload: &payload,
    }))?;
    Ok(value.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_one_resource_plus_oidc() {
        let r = parse_scopes("https://management.core.windows.net//.default offline_access openid profile").unwrap();
        assert_eq!(r.resource, "https://management.core.windows.net/");
        assert_eq!(r.scope, "https://management.core.windows.net//.default");
        assert_eq!(r.scp, "user_impersonation");
        assert!(r.openid && r.offline);
        let named = parse_scopes("api://my-api/Data.Read api://my-api/Data.Write").unwrap();
        assert_eq!(
            (named.resource.as_str(), named.scp.as_str()),
            ("api://my-api", "Data.Read Data.Write")
        );
        assert!(!named.openid && !named.offline);
        for bad in [
            "openid profile",
            "https://a.example/.default https://b.example/.default",
            "https://a.example/.default https://a.example/x",
            "User.Read",
        ] {
            assert_eq!(parse_scopes(bad).unwrap_err().code, 70011, "{bad}");
        }
    }
}
