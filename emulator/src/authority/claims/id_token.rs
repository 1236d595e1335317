//! The OpenID Connect `id_token` ([`IdToken`]) and MSAL's `client_info` that user sign-in returns
//! beside the access token.
//!
//! Sources: the observed needs in `reference/interactive-flows.md` §0 and §5 (msal checks the
//! id_token `nonce`; azure-identity needs `iss`, `preferred_username`, `tid`, `sub`; MSAL builds
//! accounts from `client_info`) and `python-auth-clients.md` (MSAL decodes both without verifying).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::user::{pairwise_subject, SignedInUser};
use super::{random_b64, SKEW_SECONDS};
use crate::domain::world::User;
use crate::domain::{ObjectId, TenantId};

/// Claims of an OpenID Connect id_token (v2 shape, whichever endpoint issued it): `aud` is the
/// client application, `nonce` echoes the authorize request's when it had one.
#[derive(Debug, Serialize)]
pub struct IdToken {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub aio: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub oid: String,
    pub preferred_username: String,
    pub rh: String,
    pub sub: String,
    pub tid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    pub uti: String,
    pub ver: &'static str,
}

impl IdToken {
    /// Adds `upn` and `unique_name`, as v1 endpoints' id_tokens carry them: adal names the user
    /// by `upn` (else `email`, else `sub`).
    pub fn with_upn(mut self, upn: &str) -> Self {
        self.upn = Some(upn.to_string());
        self.unique_name = Some(upn.to_string());
        self
    }

    /// The id_token for `who`. `issuer` is the authority's v2 issuer ([`super::v2_issuer`] for the
    /// tenant, or the emulator's own authority URL where a client derives its authority from
    /// `iss`, as azure-identity's AuthenticationRecord does). Times as for [`super::UserClaims::new`].
    pub fn new(who: &SignedInUser<'_>, issuer: String, nonce: Option<&str>, now: i64, lifetime: i64) -> Self {
        IdToken {
            aud: who.client_id.to_string(),
            iss: issuer,
            iat: now - SKEW_SECONDS,
            nbf: now - SKEW_SECONDS,
            exp: now + lifetime,
            aio: random_b64::<42>(),
            name: who.user.display_name.clone(),
            nonce: nonce.map(str::to_string),
            oid: who.user.object_id.to_string(),
            preferred_username: who.user.upn.clone(),
            rh: format!("0.{}", random_b64::<48>()),
            sub: pairwise_subject(who.user.object_id, who.client_id),
            tid: who.tenant.id.to_string(),
            unique_name: None,
            upn: None,
            uti: random_b64::<16>(),
            ver: "2.0",
        }
    }
}

/// MSAL's `client_info`: the home account as `{uid, utid}` (user object id, tenant id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub uid: ObjectId,
    pub utid: TenantId,
}

/// The `client_info` response field: base64url (no padding) of `{"uid":…,"utid":…}`. MSAL derives
/// `home_account_id = "{uid}.{utid}"` from it.
pub fn client_info(user: &User) -> String {
    let info = ClientInfo {
        uid: user.object_id,
        utid: user.tenant_id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&info).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::tests::{arm, keys, set, tenant, user, who};
    use super::super::{v2_issuer, UserClaims};
    use super::*;

    #[test]
    fn id_token_claims() {
        let t = tenant();
        let u = user(&t, "Owner User");
        let w = who(&t, &u, &[]);
        let token = IdToken::new(&w, v2_issuer(&t), Some("n-123"), 1_000_000, 3600);
        let json = serde_json::to_value(&token).unwrap();
        assert_eq!(
            keys(&json),
            set(&[
                "aud",
                "iss",
                "iat",
                "nbf",
                "exp",
                "aio",
                "name",
                "nonce",
                "oid",
                "preferred_username",
                "rh",
                "sub",
                "tid",
                "uti",
                "ver"
            ])
        );
        assert_eq!(json["aud"], w.client_id.to_string());
        assert_eq!(json["iss"], format!("https://login.microsoftonline.com/{}/v2.0", t.id));
        assert_eq!(json["nonce"], "n-123");
        assert_eq!(json["preferred_username"], "owner@contoso.onmicrosoft.com");
        assert_eq!(
            (json["tid"].as_str(), json["ver"].as_str()),
            (Some(&*t.id.to_string()), Some("2.0"))
        );
        let access = UserClaims::new(&w, &arm(), "user_impersonation", 1_000_000, 3599);
        assert_eq!(json["sub"], access.sub, "one client sees one sub in both tokens");
        let no_nonce = serde_json::to_value(IdToken::new(&w, v2_issuer(&t), None, 0, 1)).unwrap();
        assert!(
            no_nonce.get("nonce").is_none(),
            "no nonce sent (msal-node), none echoed"
        );
    }

    #[test]
    fn client_info_is_base64url_uid_and_utid() {
        let t = tenant();
        let u = user(&t, "Owner User");
        let encoded = client_info(&u);
        assert!(!encoded.contains(['=', '+', '/']));
        let decoded: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&encoded).unwrap()).unwrap();
        assert_eq!(
            decoded,
            json!({"uid": u.object_id.to_string(), "utid": t.id.to_string()})
        );
        let typed: ClientInfo = serde_json::from_value(decoded).unwrap();
        assert_eq!((typed.uid, typed.utid), (u.object_id, t.id));
    }
}
