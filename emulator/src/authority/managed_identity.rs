//! Managed-identity tokens: which identities a host has, which one a request selects, and the
//! v1 access token minted for it.
//!
//! A *host* is what runs code with identities attached: an Azure ML compute, a web app, or an
//! online endpoint. The emulator's managed-identity endpoints (`http::msi`) know a host by an
//! opaque id in the path and check its secret (the `X-IDENTITY-HEADER` / `secret` header value);
//! both are HMAC-SHA256 of the host's resource id under a key generated once per data dir, so
//! they are stable across restarts and differ per host.
//!
//! Token claims follow `reference/api-fidelity.md` §4.3 for v1 app tokens, as managed-identity
//! tokens are: `appid` = the identity's client id, `appidacr` `2`, `idtyp` `app`, `oid` = its
//! principal id, plus `xms_mirid` = the host's resource id (system-assigned) or the identity's
//! own (user-assigned). Lifetime: 24 hours (Azure's default for managed identities), from the
//! emulator clock, `iat`/`nbf` back-dated five minutes as for every token.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::claims::{AppClaims, ClientAuthMethod};
use super::keys::KeySet;
use crate::domain::audience;
use crate::domain::world::{HostKind, ManagedIdentity};
use crate::domain::World;

/// Managed-identity tokens live 24 hours (expires_in 86399, as AAD's 3599 for an hour).
pub const LIFETIME_SECONDS: i64 = 86_399;

/// What kind of host, which decides the endpoint its code would use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostType {
    /// Azure ML compute: `MSI_ENDPOINT` + `MSI_SECRET` (2017-09-01).
    Compute,
    /// App Service / Functions / Container Apps: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` (2019-08-01).
    WebApp,
    /// An online endpoint's deployments: IMDS.
    OnlineEndpoint,
}

/// A host by name.
#[derive(Clone, Debug, Serialize)]
pub struct Host {
    pub name: String,
    #[serde(rename = "type")]
    pub host_type: HostType,
    pub resource_id: String,
}

/// Every host of the world: computes and web apps, then online endpoints.
pub fn hosts(world: &World) -> Vec<Host> {
    let mut out: Vec<Host> = world
        .identities()
        .hosts
        .iter()
        .map(|h| Host {
            name: h.name.clone(),
            host_type: match h.kind {
                HostKind::Compute { .. } => HostType::Compute,
                HostKind::WebApp => HostType::WebApp,
            },
            resource_id: h.resource_id(),
        })
        .collect();
    out.extend(world.online_endpoints().iter().map(|e| Host {
        name: e.name.clone(),
        host_type: HostType::OnlineEndpoint,
        resource_id: format!("{}/onlineEndpoints/{}", e.workspace.arm_id(), e.name),
    }));
    out
}

fn mac(key: &[u8], purpose: &str, resource_id: &str) -> Vec<u8> {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let message = format!("{purpose}|{}", resource_id.to_ascii_lowercase());
    hmac::sign(&k, message.as_bytes()).as_ref().to_vec()
}

/// The host's id in endpoint paths (22 characters).
pub fn host_id(key: &[u8], resource_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(&mac(key, "host-id", resource_id)[..16])
}

/// The host's secret: the `IDENTITY_HEADER` / `MSI_SECRET` value its code presents.
pub fn host_secret(key: &[u8], resource_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, "host-secret", resource_id))
}

/// The host an endpoint path names.
pub fn find_host(world: &World, key: &[u8], id: &str) -> Option<Host> {
    hosts(world)
        .into_iter()
        .find(|h| bool::from(host_id(key, &h.resource_id).as_bytes().ct_eq(id.as_bytes())))
}

/// Whether `presented` is the host's secret (constant time).
pub fn secret_matches(key: &[u8], host: &Host, presented: &str) -> bool {
    host_secret(key, &host.resource_id)
        .as_bytes()
        .ct_eq(presented.as_bytes())
        .into()
}

/// How a request names a user-assigned identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    ClientId(String),
    ObjectId(String),
    ResourceId(String),
}

/// Why no identity could be selected. Each endpoint words these its own way.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The host has no identity, or none matches the selector (unknown, or not attached here).
    #[error("Identity not found")]
    NotFound,
    /// No system-assigned identity, several user-assigned ones, and none selected.
    #[error("Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request")]
    Multiple,
}

/// The identity a request gets: the one the selector names among the host's, else the
/// system-assigned one, else the only user-assigned one.
pub fn select<'w>(
    world: &'w World,
    host: &Host,
    selector: Option<&Selector>,
) -> Result<&'w ManagedIdentity, SelectError> {
    let (system, user) = world.identities().of_host(&host.resource_id);
    let all = || system.into_iter().chain(user.iter().copied());
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match selector {
        Some(Selector::ClientId(id)) => all().find(|m| eq(&m.service_principal.client_id.to_string(), id)),
        Some(Selector::ObjectId(id)) => all().find(|m| eq(&m.service_principal.object_id.to_string(), id)),
        Some(Selector::ResourceId(id)) => user.iter().copied().find(|m| eq(&m.resource_id, id)),
        None => match (system, user.as_slice()) {
            (Some(s), _) => Some(s),
            (None, [only]) => Some(*only),
            (None, [_, _, ..]) => return Err(SelectError::Multiple),
            (None, []) => None,
        },
    }
    .ok_or(SelectError::NotFound)
}

/// A v1 app token's claims plus `xms_mirid`.
#[derive(Debug, Serialize)]
pub struct ManagedIdentityClaims {
    #[serde(flatten)]
    pub app: AppClaims,
    pub xms_mirid: String,
}

/// A minted managed-identity token and the numbers every endpoint's answer needs.
#[derive(Debug)]
pub struct MiToken {
    pub access_token: String,
    pub expires_in: i64,
    /// Unix seconds.
    pub expires_on: i64,
    pub not_before: i64,
    pub resource: String,
    pub client_id: String,
}

/// Why a token could not be minted: the resource is unknown (AADSTS500011), with the tenant's name.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownResource(pub String);

/// Mints `identity`'s token for `resource` (as requested: no `/.default`).
pub fn mint(
    world: &World,
    keys: &KeySet,
    is_own: &dyn Fn(&str) -> bool,
    now: i64,
    identity: &ManagedIdentity,
    resource: &str,
) -> Result<MiToken, UnknownResource> {
    let sp = &identity.service_principal;
    let tenant = world
        .tenant(sp.tenant_id)
        .ok_or_else(|| UnknownResource(sp.tenant_id.to_string()))?;
    let audience = audience::resolve(world, tenant.id, resource, is_own)
        .ok_or_else(|| UnknownResource(tenant.display_name.clone()))?;
    let app = AppClaims::new(
        tenant,
        sp,
        ClientAuthMethod::Certificate,
        &audience,
        now,
        LIFETIME_SECONDS,
    );
    let (exp, nbf) = (app.exp, app.nbf);
    let claims = ManagedIdentityClaims {
        app,
        xms_mirid: identity.resource_id.clone(),
    };
    Ok(MiToken {
        access_token: super::jwt::encode(&keys.active, audience.version == 1, &claims),
        expires_in: LIFETIME_SECONDS,
        expires_on: exp,
        not_before: nbf,
        resource: resource.to_string(),
        client_id: sp.client_id.to_string(),
    })
}
