//! The authorization code grant with PKCE (`v2-oauth2-auth-code-flow.md`, RFC 7636): the sign-in
//! page ([`crate::http::aad`]'s `authorize`) mints a code with [`mint`]; the client redeems it
//! once at the token endpoint ([`grant`]) with the same client id and redirect URI and the
//! `code_verifier` whose S256 (or plain) transform is the `code_challenge` it sent.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::client_auth::{find_client, PresentedClient};
use super::request::TokenRequest;
use super::tenant::TenantSelector;
use super::user_tokens::{self, map_state, Requested, SignIn};
use super::{GrantContext, Issued, ProtocolVersion};
use crate::authority::grant_state::{
    GrantRef, GrantState, GrantStateError, GrantValue, Lookup, NewEntry, AUTHORIZATION_CODE_LIFETIME,
};
use crate::domain::grant::GrantKind;
use crate::domain::{ClientId, ObjectId, TenantId};
use crate::error::AadError;

/// What an authorization code remembers of the sign-in that minted it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodePayload {
    pub tenant: TenantId,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    /// `S256` or `plain` (the default when a challenge comes without a method).
    pub code_challenge_method: Option<String>,
    pub requested: Requested,
    pub nonce: Option<String>,
    pub amr: Vec<String>,
    /// Redirected to a single-page-application URI.
    pub spa: bool,
}

/// Mints a code for `user` (10 minutes on the emulator clock, single use).
pub fn mint(
    grants: &GrantState<'_>,
    client: ClientId,
    user: ObjectId,
    payload: &CodePayload,
) -> Result<GrantValue, GrantStateError> {
    grants.issue(NewEntry {
        kind: GrantKind::AuthorizationCode,
        client_id: client,
        user_id: Some(user),
        alias: None,
        lifetime: AUTHORIZATION_CODE_LIFETIME,
        payload,
    })
}

/// Client (900144, 700016, 7000218) → `code` (900144) redeemed now, once (unknown 9002313, already
/// redeemed 54005, expired 70008, revoked 50173) → the same client (700003) and redirect URI
/// (50011) → PKCE (50148 without a verifier, 501481 when it does not match) → the user still
/// there and enabled → tokens. A failed redemption still uses the code up, as in Entra ID.
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
    let code = request.required("code")?;
    let taken = map_state(
        ctx.grant_state
            .take_once::<CodePayload>(GrantKind::AuthorizationCode, GrantRef::Value(code)),
    )?;
    let grant = match taken {
        Lookup::Live(g) => g,
        Lookup::Consumed(_) => return Err(AadError::code_redeemed()),
        Lookup::Expired(_) => return Err(AadError::code_expired()),
        Lookup::Revoked(g) => return Err(AadError::grant_revoked(g.issued_at)),
        Lookup::Unknown => return Err(AadError::malformed_grant()),
    };
    if grant.client_id != app.client_id {
        return Err(AadError::grant_of_other_client(grant.client_id));
    }
    let p = grant.payload;
    let redirect = request.param("redirect_uri").unwrap_or_default();
    if redirect != p.redirect_uri {
        return Err(AadError::redirect_mismatch(redirect, &presented.client_id));
    }
    check_pkce(&p, request.param("code_verifier"))?;
    let (home, user) = user_tokens::grant_user(ctx.world, tenant, grant.user_id)?;
    let requested = Requested::read(version, request, Some(&p.requested))?;
    let who = SignIn {
        tenant: home,
        user,
        client,
        amr: p.amr,
        nonce: p.nonce,
        spa: p.spa,
        refresh_until: None,
    };
    user_tokens::issue(ctx, &requested, who, version, request)
}

/// RFC 7636 §4.6: `S256` compares base64url(SHA-256(verifier)) with the challenge, `plain` the
/// verifier itself; both in constant time. No challenge: nothing to check.
fn check_pkce(p: &CodePayload, verifier: Option<&str>) -> Result<(), AadError> {
    let Some(challenge) = p.code_challenge.as_deref() else {
        return Ok(());
    };
    let verifier = verifier.ok_or_else(AadError::pkce_verifier_missing)?;
    let derived = match p.code_challenge_method.as_deref() {
        Some("S256") => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        _ => verifier.to_string(),
    };
    if bool::from(derived.as_bytes().ct_eq(challenge.as_bytes())) {
        Ok(())
    } else {
        Err(AadError::pkce_mismatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(challenge: Option<&str>, method: Option<&str>) -> CodePayload {
        CodePayload {
            tenant: TenantId(uuid::Uuid::nil()),
            redirect_uri: "http://localhost".into(),
            code_challenge: challenge.map(str::to_string),
            code_challenge_method: method.map(str::to_string),
            requested: user_tokens::parse_scopes("https://ml.azure.com/.default").unwrap(),
            nonce: None,
            amr: vec![],
            spa: false,
        }
    }

    #[test]
    fn pkce_s256_and_plain() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let s256 = payload(Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), Some("S256"));
        assert!(check_pkce(&s256, Some(verifier)).is_ok());
        assert_eq!(check_pkce(&s256, Some("wrong")).unwrap_err().code, 501481);
        assert_eq!(check_pkce(&s256, None).unwrap_err().code, 50148);
        let plain = payload(Some(verifier), None);
        assert!(check_pkce(&plain, Some(verifier)).is_ok());
        assert_eq!(check_pkce(&plain, Some("x")).unwrap_err().code, 501481);
        assert!(check_pkce(&payload(None, None), Some("anything")).is_ok());
    }
}
