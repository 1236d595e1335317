//! Grants of the token endpoints. Each validates the request in the order Entra ID does and either
//! issues a token or returns the AADSTS error a real tenant would.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use time::OffsetDateTime;

use super::claims::{AppClaims, ClientAuthMethod};
use super::jwt;
use super::keys::KeySet;
use crate::domain::ids::parse_guid;
use crate::domain::resources::{self, Audience};
use crate::domain::world::{Application, Tenant, DEFAULT_TOKEN_LIFETIME_SECONDS};
use crate::domain::{ClientId, TenantId, World};
use crate::error::AadError;

/// Which token endpoint was called: v1 takes `resource=`, v2 takes `scope=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    V1,
    V2,
}

/// The tenant path segment, resolved.
#[derive(Clone, Copy, Debug)]
pub enum TenantSelector<'w> {
    Tenant(&'w Tenant),
    /// `common`, `organizations` or `consumers`: the client's home tenant is used.
    Multi(&'static str),
}

/// Resolves a `{tenant}` path segment: a GUID, a verified domain, `common`/`organizations`/`consumers`,
/// or `adfs` (the default tenant: MSAL treats `/adfs` authorities as known and skips instance discovery).
pub fn resolve_tenant<'w>(world: &'w World, segment: &str) -> Result<TenantSelector<'w>, AadError> {
    let lower = segment.to_ascii_lowercase();
    match lower.as_str() {
        "common" => return Ok(TenantSelector::Multi("common")),
        "organizations" => return Ok(TenantSelector::Multi("organizations")),
        "consumers" => return Ok(TenantSelector::Multi("consumers")),
        "adfs" => {
            return world
                .default_tenant()
                .map(TenantSelector::Tenant)
                .ok_or_else(|| AadError::unknown_tenant(segment))
        }
        _ => {}
    }
    if let Ok(id) = parse_guid(segment) {
        return world
            .tenant(TenantId(id))
            .map(TenantSelector::Tenant)
            .ok_or_else(|| AadError::unknown_tenant(segment));
    }
    if is_dns_name(&lower) {
        return world
            .tenant_by_domain(&lower)
            .map(TenantSelector::Tenant)
            .ok_or_else(|| AadError::unknown_tenant(segment));
    }
    Err(AadError::malformed_tenant(segment))
}

fn is_dns_name(s: &str) -> bool {
    s.contains('.')
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Everything a grant reads besides the request itself.
pub struct GrantContext<'a> {
    pub world: &'a World,
    pub keys: &'a KeySet,
    pub now: OffsetDateTime,
    /// This emulator's origin (`https://127.0.0.1:PORT`), itself a valid ARM audience.
    pub own_origin: &'a str,
}

/// A token endpoint request: the form fields plus HTTP Basic client credentials, if any.
pub struct TokenRequest<'a> {
    pub form: &'a HashMap<String, String>,
    pub authorization: Option<&'a str>,
}

impl TokenRequest<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> Result<&str, AadError> {
        self.param(name).ok_or_else(|| AadError::missing_parameter(name))
    }

    /// `client_id` and secret from the form, or from `Authorization: Basic` (urlencoded id:secret).
    fn client_credentials(&self) -> Result<(String, Option<String>), AadError> {
        if let Some((id, secret)) = self.authorization.and_then(parse_basic) {
            return Ok((id, Some(secret)));
        }
        let id = self.required("client_id")?.to_string();
        Ok((id, self.param("client_secret").map(str::to_string)))
    }
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|mut v| v.pop())
            .map(|(_, v)| v)
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// A freshly issued access token and the numbers both response shapes need.
#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub expires_on: i64,
    pub not_before: i64,
    /// The v1 `resource` echo (the resource as requested).
    pub resource: String,
    /// The v2 `scope` echo (the requested `/.default` scope).
    pub scope: String,
}

/// Dispatches on `grant_type`. Only the client-credentials grant exists so far.
pub fn token(
    ctx: &GrantContext<'_>,
    endpoint: Endpoint,
    tenant_segment: &str,
    request: &TokenRequest<'_>,
) -> Result<Issued, AadError> {
    let tenant = resolve_tenant(ctx.world, tenant_segment)?;
    match request.required("grant_type")? {
        "client_credentials" => client_credentials(ctx, endpoint, tenant, tenant_segment, request),
        other => Err(AadError::unsupported_grant_type(other)),
    }
}

fn client_credentials(
    ctx: &GrantContext<'_>,
    endpoint: Endpoint,
    tenant: TenantSelector<'_>,
    tenant_segment: &str,
    request: &TokenRequest<'_>,
) -> Result<Issued, AadError> {
    let (client_id, secret) = request.client_credentials()?;
    let app = find_client(ctx.world, tenant, tenant_segment, &client_id)?;
    let tenant = ctx
        .world
        .tenant(app.tenant_id)
        .expect("applications belong to a known tenant");
    let (resource, scope) = requested_resource(endpoint, request)?;
    let secret = secret.ok_or_else(AadError::missing_client_credential)?;
    if !app.enabled {
        return Err(AadError::disabled_application(app));
    }
    check_secret(app, &secret, ctx.now)?;
    let audience = resources::resolve(ctx.world, tenant.id, &resource, ctx.own_origin)
        .ok_or_else(|| AadError::unknown_resource(&resource, &tenant.display_name))?;
    Ok(issue(ctx, tenant, app, &audience, resource, scope))
}

fn find_client<'w>(
    world: &'w World,
    tenant: TenantSelector<'_>,
    tenant_segment: &str,
    client_id: &str,
) -> Result<&'w Application, AadError> {
    let app = parse_guid(client_id)
        .ok()
        .and_then(|id| world.application(ClientId(id)));
    match (app, tenant) {
        (Some(app), TenantSelector::Tenant(t)) if app.tenant_id == t.id => Ok(app),
        // Client credentials have no personal-account (`consumers`) form.
        (Some(app), TenantSelector::Multi(name)) if name != "consumers" => Ok(app),
        _ => Err(AadError::unknown_client(client_id, tenant_segment)),
    }
}

/// The resource named by `resource=` (v1) or derived from `scope=` (v2), plus the scope to echo.
fn requested_resource(endpoint: Endpoint, request: &TokenRequest<'_>) -> Result<(String, String), AadError> {
    match endpoint {
        Endpoint::V1 => {
            let resource = request.required("resource")?;
            Ok((resource.to_string(), format!("{resource}/.default")))
        }
        Endpoint::V2 => {
            if request.param("resource").is_some() {
                return Err(AadError::resource_parameter_not_supported());
            }
            let scope = request.required("scope")?;
            let resource = resources::resource_from_scope(scope).map_err(|_| AadError::invalid_scope(scope))?;
            Ok((resource, scope.to_string()))
        }
    }
}

/// Wrong secret and expired secret are told apart, as Entra ID does (7000215 vs 7000222).
fn check_secret(app: &Application, secret: &str, now: OffsetDateTime) -> Result<(), AadError> {
    let mut expired_match = false;
    for s in &app.secrets {
        if s.hash.matches(secret) {
            match s.expires {
                Some(at) if at <= now => expired_match = true,
                _ => return Ok(()),
            }
        }
    }
    if expired_match {
        Err(AadError::expired_secret(app.client_id))
    } else {
        Err(AadError::invalid_secret(app.client_id))
    }
}

fn issue(
    ctx: &GrantContext<'_>,
    tenant: &Tenant,
    app: &Application,
    audience: &Audience,
    resource: String,
    scope: String,
) -> Issued {
    let lifetime = i64::from(
        app.token_lifetime_seconds
            .or(tenant.token_lifetime_seconds)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME_SECONDS),
    );
    let now = ctx.now.unix_timestamp();
    let claims = AppClaims::new(tenant, app, ClientAuthMethod::Secret, audience, now, lifetime);
    let access_token = jwt::encode(&ctx.keys.active, audience.version == 1, &claims);
    Issued {
        access_token,
        expires_in: lifetime,
        expires_on: claims.exp,
        not_before: claims.nbf,
        resource,
        scope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_url_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret"));
        assert_eq!(parse_basic(&header), Some(("my app".into(), "s:cret".into())));
        assert_eq!(parse_basic("Bearer x"), None);
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_name("contoso.onmicrosoft.com"));
        assert!(!is_dns_name("contoso"));
        assert!(!is_dns_name("my tenant!.com"));
        assert!(!is_dns_name("a..b"));
    }
}
