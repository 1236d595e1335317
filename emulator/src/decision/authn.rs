//! Authentication, decided in one place for every resource surface: ARM, model management and
//! scoring each state what they expect ([`Expectation`]) and get back the [`Principal`] the
//! credential names, or why it does not ([`AuthnFailure`]), which each renders in its own shape.
//!
//! Order of checks, as ARM documents its 401s: header present → `Bearer` scheme → a token this
//! authority (or the workspace) signed → audience → issuer and tenant → expiry and not-before on
//! the emulator clock → an object id. Signature work is skipped for a token verified before (the
//! cache compares whole tokens); every other check runs on every request.

use std::sync::Arc;

use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::authority::aml::{self, AmlClaims, Scorable};
use crate::authority::verify::{verify_with, AccessClaims, VerifyError};
use crate::decision::journal::token_hash;
use crate::domain::rbac::PrincipalType;
use crate::domain::world::Subscription;
use crate::domain::{ObjectId, TenantId, World};
use crate::state::AppState;

/// Longest lifetime (exp − iat, or exp − nbf) a token of this emulator can have: anything longer
/// was not minted here, whatever its signature says.
pub const MAX_LIFETIME_SECONDS: i64 = 400 * 24 * 3600;

/// What a caller presented in `Authorization`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    Missing,
    /// Not `Bearer <something>`.
    Malformed,
    /// The bytes after `Bearer `: a token or a key.
    Bearer(&'a [u8]),
}

impl<'a> Credential<'a> {
    /// Reads an `Authorization` header value (bytes: a ~1 KB token is not validated as text on the
    /// hot path; only a cache miss needs it as text).
    pub fn from_header(value: Option<&'a [u8]>) -> Self {
        let Some(value) = value else {
            return Credential::Missing;
        };
        let Some(space) = value.iter().position(|b| *b == b' ') else {
            return Credential::Malformed;
        };
        let (scheme, rest) = value.split_at(space);
        let token = rest.trim_ascii();
        if scheme.eq_ignore_ascii_case(b"bearer") && !token.is_empty() {
            Credential::Bearer(token)
        } else {
            Credential::Malformed
        }
    }
}

/// The service or endpoint instance an Azure ML token must be addressed to.
#[derive(Clone, Copy, Debug)]
pub struct AmlTarget<'a> {
    /// The workspace's GUID (`workspaceId`): only its key verifies the token.
    pub workspace_id: uuid::Uuid,
    pub kind: Scorable,
    pub name: &'a str,
    /// The instance id (`serviceId`): a re-created service of the same name does not accept old tokens.
    pub instance: uuid::Uuid,
    /// The workspace's tenant.
    pub tenant: TenantId,
}

/// What a surface accepts.
#[derive(Clone, Copy, Debug)]
pub enum Expectation<'a> {
    /// ARM and model management: an Entra token for ARM (or for this emulator's configured
    /// origins), from a tenant of this world — the one owning `subscription` when the path names one.
    Arm { subscription: Option<&'a Subscription> },
    /// Entra-token scoring (AADToken endpoints): a token for `https://ml.azure.com` from `tenant`.
    EntraScoring { tenant: TenantId },
    /// Key and Azure ML token scoring: one of `keys` (when key auth is on) or an Azure ML token for
    /// `aml` (when token auth is on).
    Scoring {
        keys: Option<(&'a str, &'a str)>,
        aml: Option<AmlTarget<'a>>,
    },
}

/// The kind of credential that authenticated a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, strum::AsRefStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum CredentialKind {
    /// An Entra access token presented to ARM, model management or scoring.
    EntraToken,
    /// An Azure ML token presented to scoring.
    AmlToken,
    /// A service's or endpoint's key presented to scoring.
    Key,
    /// A client secret presented to the token endpoint.
    AppSecret,
    /// A certificate-signed client assertion presented to the token endpoint.
    Certificate,
    /// A federated (workload identity) assertion presented to the token endpoint.
    FederatedAssertion,
    /// A user's password (ROPC) presented to the token endpoint.
    UserPassword,
    /// A refresh token presented to the token endpoint.
    RefreshToken,
    /// An authorization code presented to the token endpoint.
    AuthorizationCode,
    /// A device code presented to the token endpoint.
    DeviceCode,
    /// No credential, or one the token endpoint could not read.
    None,
}

/// Who a credential names.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The `oid` of an Entra or Azure ML token; none for a key.
    pub object_id: Option<ObjectId>,
    pub tenant: Option<TenantId>,
    /// How ARM names the caller in AuthorizationFailed: a user's UPN, else the object id.
    pub label: String,
    pub credential: CredentialKind,
    /// The verified Entra claims (none for keys and Azure ML tokens).
    pub claims: Option<Arc<AccessClaims>>,
    /// The verified Azure ML claims (none for keys and Entra tokens).
    pub aml_claims: Option<Arc<AmlClaims>>,
    /// `user`, `service-principal` or `key-holder` (for the journal).
    pub kind: &'static str,
    /// The user's or application's display name, when the world knows it.
    pub display_name: Option<String>,
}

impl Principal {
    /// The token's `uti` (Entra; Azure ML tokens carry no id claim): what the journal shows
    /// instead of the token. Read from the cached claims, not copied for every request.
    pub fn token_id(&self) -> Option<&str> {
        self.claims.as_ref().and_then(|c| c.uti.as_deref())
    }

    /// The token's [`crate::decision::journal::token_hash`] (none for keys).
    pub fn token_hash(&self) -> Option<&str> {
        match (&self.claims, &self.aml_claims) {
            (Some(c), _) => Some(&c.token_hash),
            (None, Some(c)) => Some(&c.token_hash),
            (None, None) => None,
        }
    }
}

/// Why a credential was refused. Each surface renders these in its own shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthnFailure {
    #[error("no Authorization header")]
    Missing,
    #[error("the Authorization header is not 'Bearer <token>'")]
    MalformedHeader,
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("the token is for audience '{0}'")]
    WrongAudience(String),
    #[error("the token's issuer '{issuer}' is not the subscription's tenant {expected}")]
    WrongTenant { issuer: String, expected: TenantId },
    #[error("the token expired at {}, emulator clock {}", rfc3339(exp), rfc3339(now))]
    Expired { exp: OffsetDateTime, now: OffsetDateTime },
    #[error("the token is not valid before {0}")]
    NotYetValid(i64),
    #[error("the key is not valid")]
    WrongKey,
    #[error("the token was issued for another service or endpoint")]
    WrongTarget,
    #[error("the token names no object id")]
    NoObjectId,
}

/// A time as the journal writes it: RFC 3339 to the second (`2030-01-01T10:00:00Z`).
fn rfc3339(t: &OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC).format(&f).unwrap_or_default()
}

fn invalid(why: impl std::fmt::Display) -> AuthnFailure {
    AuthnFailure::Invalid(why.to_string())
}

/// Decides who `credential` names under `expectation`, on the emulator clock.
pub fn authenticate(
    state: &AppState,
    world: &World,
    credential: Credential<'_>,
    expectation: &Expectation<'_>,
) -> Result<Principal, AuthnFailure> {
    let token = match credential {
        Credential::Missing => return Err(AuthnFailure::Missing),
        Credential::Malformed => return Err(AuthnFailure::MalformedHeader),
        Credential::Bearer(token) => token,
    };
    let now = state.clock.now();
    match *expectation {
        Expectation::Arm { subscription } => {
            let claims = entra_claims(state, token)?;
            if !(crate::error::ARM_AUDIENCES.contains(&claims.aud.as_str()) || state.origins.is_own(&claims.aud)) {
                return Err(AuthnFailure::WrongAudience(claims.aud.clone()));
            }
            let tenant = entra_tenant(world, &claims)?;
            check_times(claims.exp, claims.iat, claims.nbf, now)?;
            if let Some(sub) = subscription.filter(|s| s.tenant_id != tenant) {
                return Err(AuthnFailure::WrongTenant {
                    issuer: claims.iss.clone(),
                    expected: sub.tenant_id,
                });
            }
            entra_principal(world, claims, tenant)
        }
        Expectation::EntraScoring { tenant: expected } => {
            let claims = entra_claims(state, token)?;
            if claims.aud.trim_end_matches('/') != "https://ml.azure.com" {
                return Err(AuthnFailure::WrongAudience(claims.aud.clone()));
            }
            let tenant = entra_tenant(world, &claims)?;
            if tenant != expected {
                return Err(AuthnFailure::WrongTenant {
                    issuer: claims.iss.clone(),
                    expected,
                });
            }
            check_times(claims.exp, claims.iat, claims.nbf, now)?;
            entra_principal(world, claims, tenant)
        }
        Expectation::Scoring { keys, aml } => {
            if let Some((primary, secondary)) = keys {
                if key_matches(token, primary, secondary) {
                    return Ok(Principal {
                        object_id: None,
                        tenant: None,
                        label: "key holder".into(),
                        credential: CredentialKind::Key,
                        claims: None,
                        aml_claims: None,
                        kind: "key-holder",
                        display_name: None,
                    });
                }
            }
            match aml {
                Some(target) => aml_principal(state, world, token, &target, now),
                None => Err(AuthnFailure::WrongKey),
            }
        }
    }
}

/// Constant time, and both comparisons evaluated: no early exit on the first.
fn key_matches(given: &[u8], primary: &str, secondary: &str) -> bool {
    let p: bool = given.ct_eq(primary.as_bytes()).into();
    let s: bool = given.ct_eq(secondary.as_bytes()).into();
    p | s
}

/// The claims of an Entra token signed by one of this authority's published keys.
fn entra_claims(state: &AppState, token: &[u8]) -> Result<Arc<AccessClaims>, AuthnFailure> {
    state
        .tokens
        .get_or_verify(token, || {
            let text = std::str::from_utf8(token).map_err(|_| VerifyError::Malformed)?;
            let mut claims = crate::authority::verify::verify(&state.keys(), text)?;
            claims.token_hash = token_hash(token);
            Ok(claims)
        })
        .map_err(|e| key_failure(e, token, |kid| state.keys().retired_at(kid).map(str::to_string)))
}

/// A verification failure in words; an unknown `kid` that belonged to a retired key says so
/// ("signed by key … retired at …"), which is what a botched rotation looks like in the journal.
fn key_failure(e: VerifyError, token: &[u8], retired_at: impl Fn(&str) -> Option<String>) -> AuthnFailure {
    if e == VerifyError::UnknownKey {
        let kid = crate::faults::facts::header_kid(token);
        if let Some((kid, at)) = kid.and_then(|k| retired_at(&k).map(|at| (k, at))) {
            return invalid(format!("the token was signed by key {kid}, retired at {at}"));
        }
    }
    invalid(e)
}

/// The token's tenant: `tid` names a tenant of this world and `iss` is that tenant's v1 or v2 issuer.
fn entra_tenant(world: &World, claims: &AccessClaims) -> Result<TenantId, AuthnFailure> {
    let tenant = claims.tenant_id().ok_or_else(|| invalid("tid is not a GUID"))?;
    // `https://sts.windows.net/{tenant}/` or `https://login.microsoftonline.com/{tenant}/v2.0`,
    // compared in place (every ARM request asks).
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let tenant_text: &str = tenant.0.hyphenated().encode_lower(&mut buf);
    let iss = claims.iss.as_str();
    let v1 = iss
        .strip_prefix("https://sts.windows.net/")
        .and_then(|r| r.strip_suffix('/'));
    let v2 = iss
        .strip_prefix("https://login.microsoftonline.com/")
        .and_then(|r| r.strip_suffix("/v2.0"));
    if v1 != Some(tenant_text) && v2 != Some(tenant_text) {
        return Err(invalid("iss is not the issuer of the token's tenant"));
    }
    if world.tenant(tenant).is_none() {
        return Err(invalid("tid names no tenant of this emulator"));
    }
    Ok(tenant)
}

fn entra_principal(world: &World, claims: Arc<AccessClaims>, tenant: TenantId) -> Result<Principal, AuthnFailure> {
    let object_id = claims.object_id().ok_or(AuthnFailure::NoObjectId)?;
    let known = world.principal(object_id);
    let kind = principal_kind(known.as_ref().map(|(_, k)| *k), claims.idtyp.as_deref());
    let label = known
        .map(|(label, _)| label)
        .or_else(|| claims.upn.clone())
        .unwrap_or_else(|| object_id.text());
    Ok(Principal {
        kind,
        display_name: world.display_name(object_id),
        object_id: Some(object_id),
        tenant: Some(tenant),
        label,
        credential: CredentialKind::EntraToken,
        claims: Some(claims),
        aml_claims: None,
    })
}

/// An Azure ML token of the workspace, for exactly this service or endpoint instance and its score
/// action, for the workspace's tenant (the recorded claim shape: [`crate::authority::aml`]).
fn aml_principal(
    state: &AppState,
    world: &World,
    token: &[u8],
    target: &AmlTarget<'_>,
    now: OffsetDateTime,
) -> Result<Principal, AuthnFailure> {
    let claims: Arc<AmlClaims> = state
        .aml_tokens
        .get_or_verify(token, || {
            let text = std::str::from_utf8(token).map_err(|_| VerifyError::Malformed)?;
            let mut claims: AmlClaims = verify_with(text, |kid| {
                // Only the target workspace's own key verifies its tokens.
                state
                    .aml_key(kid)
                    .filter(|_| state.aml_keys.belongs_to(kid, target.workspace_id))
                    .map(|k| move |m: &[u8], s: &[u8]| k.verify(m, s))
            })?;
            claims.token_hash = token_hash(token);
            Ok(claims)
        })
        .map_err(|e| key_failure(e, token, |kid| state.aml_keys.retired_at(kid)))?;
    if claims.iss != aml::ISSUER_AND_AUDIENCE || claims.aud != aml::ISSUER_AND_AUDIENCE {
        return Err(invalid("the token's iss and aud are not Azure ML's"));
    }
    let addressed = claims.workspace_id == target.workspace_id
        && claims.endpoint_name.eq_ignore_ascii_case(target.name)
        && claims.service_id == target.instance
        && claims.grants(target.kind);
    if !addressed {
        return Err(AuthnFailure::WrongTarget);
    }
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    if claims.tid != *target.tenant.0.hyphenated().encode_lower(&mut buf) {
        return Err(invalid("the token was not issued for the workspace's tenant"));
    }
    // Azure ML tokens carry no iat: their lifetime counts from now (or from exp, once past it, so
    // an expired token is reported as expired).
    let issued = claims.iat.or_else(|| Some(now.unix_timestamp().min(claims.exp)));
    check_times(claims.exp, issued, claims.nbf, now)?;
    // Tokens the control API mints name no caller; any other names a principal of this world.
    let (object_id, known) = match claims.oid.as_deref() {
        Some(o) => {
            let oid = o.parse::<ObjectId>().map_err(|_| invalid("oid is not a GUID"))?;
            let (_, kind) = world.principal(oid).ok_or_else(|| invalid("oid names no principal"))?;
            (Some(oid), Some(kind))
        }
        None => (None, None),
    };
    Ok(Principal {
        kind: principal_kind(known, None),
        display_name: object_id.and_then(|o| world.display_name(o)),
        label: object_id.map_or_else(|| "Azure ML token holder".into(), |o| o.text()),
        object_id,
        tenant: Some(target.tenant),
        credential: CredentialKind::AmlToken,
        claims: None,
        aml_claims: Some(claims),
    })
}

/// How the journal names a principal's kind: from the world, else from the token's `idtyp`.
fn principal_kind(known: Option<PrincipalType>, idtyp: Option<&str>) -> &'static str {
    match (known, idtyp) {
        (Some(PrincipalType::User), _) | (None, Some("user")) => "user",
        (Some(PrincipalType::Group | PrincipalType::ForeignGroup), _) => "group",
        _ => "service-principal",
    }
}

/// `exp` and `nbf` against the clock, and a lifetime this emulator could have minted.
fn check_times(exp: i64, iat: Option<i64>, nbf: Option<i64>, now: OffsetDateTime) -> Result<(), AuthnFailure> {
    let start = iat
        .or(nbf)
        .ok_or_else(|| invalid("the token has neither iat nor nbf"))?;
    if exp.saturating_sub(start) > MAX_LIFETIME_SECONDS || exp < start {
        return Err(invalid("the token's lifetime is longer than this authority issues"));
    }
    let at = OffsetDateTime::from_unix_timestamp(exp).map_err(|_| invalid("exp is out of range"))?;
    if exp <= now.unix_timestamp() {
        return Err(AuthnFailure::Expired { exp: at, now });
    }
    if let Some(nbf) = nbf.filter(|n| *n > now.unix_timestamp()) {
        return Err(AuthnFailure::NotYetValid(nbf));
    }
    Ok(())
}

#[cfg(test)]
#[path = "authn_tests.rs"]
mod tests;
