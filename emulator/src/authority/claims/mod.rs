//! Token claims, shaped as Entra ID shapes them (v1 for first-party resources such as ARM, v2 for
//! resources that ask for it). Source: `MicrosoftDocs/entra-docs`
//! `docs/identity-platform/access-token-claims-reference.md` and `id-token-claims-reference.md`, as
//! recorded in `reference/api-fidelity.md` §4.3.
//!
//! - [`AppClaims`]: app-only access tokens (client credentials).
//! - [`UserClaims`] (`user.rs`), [`IdToken`] and [`client_info`] (`id_token.rs`): what user
//!   sign-in returns.

mod id_token;
mod user;

pub use id_token::{client_info, ClientInfo, IdToken};
pub use user::{pairwise_subject, SignedInUser, UserClaims, GROUPS_LIMIT};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use crate::domain::audience::Audience;
use crate::domain::world::{Application, Tenant};

/// AAD back-dates `iat`/`nbf` by five minutes to absorb clock skew.
pub const SKEW_SECONDS: i64 = 300;

/// How the client application authenticated, as `appidacr` (v1) and `azpacr` (v2) record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// A public client (no credential): `"0"`.
    Public,
    /// A client secret: `"1"`.
    Secret,
    /// A certificate or other client assertion: `"2"`.
    Certificate,
}

impl ClientAuthMethod {
    /// The `appidacr` / `azpacr` claim value.
    pub fn acr(self) -> &'static str {
        match self {
            ClientAuthMethod::Public => "0",
            ClientAuthMethod::Secret => "1",
            ClientAuthMethod::Certificate => "2",
        }
    }
}

/// Claims of an app-only (client-credentials) access token.
#[derive(Debug, Serialize)]
pub struct AppClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub aio: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appidacr: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azpacr: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    pub idtyp: &'static str,
    pub oid: String,
    pub rh: String,
    pub sub: String,
    pub tid: String,
    pub uti: String,
    pub ver: &'static str,
    /// Client capabilities the request declared (`["CP1"]`: continuous access evaluation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xms_cc: Option<Vec<String>>,
}

/// The v1 issuer: `https://sts.windows.net/{tid}/`.
pub fn v1_issuer(tenant: &Tenant) -> String {
    format!("https://sts.windows.net/{}/", tenant.id)
}

/// The v2 issuer: `https://login.microsoftonline.com/{tid}/v2.0`.
pub fn v2_issuer(tenant: &Tenant) -> String {
    format!("https://login.microsoftonline.com/{}/v2.0", tenant.id)
}

impl AppClaims {
    /// Claims for `client` (authenticated by `method`) calling `audience`; `now` and the result's
    /// times are unix seconds, `lifetime` seconds.
    pub fn new(
        tenant: &Tenant,
        client: &Application,
        method: ClientAuthMethod,
        audience: &Audience,
        now: i64,
        lifetime: i64,
    ) -> Self {
        let v1 = audience.version == 1;
        let client_id = client.client_id.to_string();
        AppClaims {
            aud: audience.aud.clone(),
            iss: if v1 { v1_issuer(tenant) } else { v2_issuer(tenant) },
            iat: now - SKEW_SECONDS,
            nbf: now - SKEW_SECONDS,
            exp: now + lifetime,
            aio: random_b64::<42>(),
            appid: v1.then(|| client_id.clone()),
            appidacr: v1.then_some(method.acr()),
            azp: (!v1).then(|| client_id.clone()),
            azpacr: (!v1).then_some(method.acr()),
            idp: v1.then(|| v1_issuer(tenant)),
            idtyp: "app",
            oid: client.object_id.to_string(),
            rh: format!("0.{}", random_b64::<48>()),
            sub: client.object_id.to_string(),
            tid: tenant.id.to_string(),
            uti: random_b64::<16>(),
            ver: if v1 { "1.0" } else { "2.0" },
            xms_cc: None,
        }
    }
}

/// `N` random bytes, base64url: the opaque `aio`, `rh` and `uti` values (they make every token unique).
fn random_b64<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::Rng::fill(&mut rand::thread_rng(), &mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;
    use uuid::Uuid;

    use super::*;
    use crate::domain::secret::SecretHash;
    use crate::domain::world::User;
    use crate::domain::{ClientId, ObjectId, TenantId};

    pub fn tenant() -> Tenant {
        Tenant {
            id: TenantId(Uuid::new_v4()),
            display_name: "Contoso".into(),
            domains: vec!["contoso.onmicrosoft.com".into()],
            token_lifetime_seconds: None,
        }
    }

    pub fn keys(value: &Value) -> BTreeSet<&str> {
        value.as_object().unwrap().keys().map(String::as_str).collect()
    }

    pub fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
        names.iter().copied().collect()
    }

    pub fn user(tenant: &Tenant, name: &str) -> User {
        User {
            object_id: ObjectId(Uuid::new_v4()),
            tenant_id: tenant.id,
            upn: "owner@contoso.onmicrosoft.com".into(),
            display_name: name.into(),
            password: SecretHash::new("pw"),
            enabled: true,
            state: Default::default(),
        }
    }

    pub fn arm() -> Audience {
        Audience {
            aud: "https://management.core.windows.net/".into(),
            version: 1,
        }
    }

    pub fn who<'a>(t: &'a Tenant, u: &'a User, groups: &'a [ObjectId]) -> SignedInUser<'a> {
        SignedInUser {
            tenant: t,
            user: u,
            client_id: ClientId(Uuid::new_v4()),
            client_auth: ClientAuthMethod::Public,
            amr: &["pwd"],
            groups,
        }
    }

    fn app(tenant: &Tenant) -> Application {
        Application {
            client_id: ClientId(Uuid::new_v4()),
            object_id: ObjectId(Uuid::new_v4()),
            tenant_id: tenant.id,
            display_name: "ml-app".into(),
            enabled: true,
            token_lifetime_seconds: None,
            identifier_uris: vec![],
            access_token_version: 1,
            secrets: vec![],
            sign_in: Default::default(),
        }
    }

    #[test]
    fn acr_values_follow_the_claims_reference() {
        assert_eq!(ClientAuthMethod::Public.acr(), "0");
        assert_eq!(ClientAuthMethod::Secret.acr(), "1");
        assert_eq!(ClientAuthMethod::Certificate.acr(), "2");
    }

    #[test]
    fn v1_app_token_claims() {
        let (t, a) = (tenant(), app(&tenant()));
        let audience = Audience {
            aud: "https://management.azure.com/".into(),
            version: 1,
        };
        let claims = AppClaims::new(&t, &a, ClientAuthMethod::Secret, &audience, 1_000_000, 3599);
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            keys(&json),
            set(&[
                "aud", "iss", "iat", "nbf", "exp", "aio", "appid", "appidacr", "idp", "idtyp", "oid", "rh", "sub",
                "tid", "uti", "ver"
            ])
        );
        assert_eq!(json["iss"], format!("https://sts.windows.net/{}/", t.id));
        assert_eq!(json["idp"], json["iss"]);
        assert_eq!(
            (json["iat"].as_i64(), json["exp"].as_i64()),
            (Some(999_700), Some(1_003_599))
        );
        assert_eq!(json["appidacr"], "1");
        assert_eq!(json["sub"], a.object_id.to_string());
        assert_eq!(
            (json["idtyp"].as_str(), json["ver"].as_str()),
            (Some("app"), Some("1.0"))
        );
    }

    #[test]
    fn v2_app_token_claims() {
        let (t, a) = (tenant(), app(&tenant()));
        let audience = Audience {
            aud: Uuid::new_v4().to_string(),
            version: 2,
        };
        let claims = AppClaims::new(&t, &a, ClientAuthMethod::Certificate, &audience, 1_000_000, 600);
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            keys(&json),
            set(&[
                "aud", "iss", "iat", "nbf", "exp", "aio", "azp", "azpacr", "idtyp", "oid", "rh", "sub", "tid", "uti",
                "ver"
            ])
        );
        assert_eq!(json["iss"], format!("https://login.microsoftonline.com/{}/v2.0", t.id));
        assert_eq!(
            (json["azp"].as_str(), json["azpacr"].as_str()),
            (Some(&*a.client_id.to_string()), Some("2"))
        );
        assert_eq!(json["ver"], "2.0");
    }
}
