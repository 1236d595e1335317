//! Access-token claims, shaped as Entra ID shapes them (v1 for first-party resources such as ARM,
//! v2 for resources that ask for it).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use crate::domain::audience::Audience;
use crate::domain::world::{Application, Tenant};

/// AAD back-dates `iat`/`nbf` by five minutes to absorb clock skew.
pub const SKEW_SECONDS: i64 = 300;

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
}

pub fn v1_issuer(tenant: &Tenant) -> String {
    format!("https://sts.windows.net/{}/", tenant.id)
}

pub fn v2_issuer(tenant: &Tenant) -> String {
    format!("https://login.microsoftonline.com/{}/v2.0", tenant.id)
}

impl AppClaims {
    /// Claims for `client` (authenticated with a secret: `appidacr`/`azpacr` "1") calling `audience`.
    pub fn new(tenant: &Tenant, client: &Application, audience: &Audience, now: i64, lifetime: i64) -> Self {
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
            appidacr: v1.then_some("1"),
            azp: (!v1).then(|| client_id.clone()),
            azpacr: (!v1).then_some("1"),
            idp: v1.then(|| v1_issuer(tenant)),
            idtyp: "app",
            oid: client.object_id.to_string(),
            rh: format!("0.{}", random_b64::<48>()),
            sub: client.object_id.to_string(),
            tid: tenant.id.to_string(),
            uti: random_b64::<16>(),
            ver: if v1 { "1.0" } else { "2.0" },
        }
    }
}

/// `N` random bytes, base64url: the opaque `aio`, `rh` and `uti` values (they make every token unique).
fn random_b64<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::Rng::fill(&mut rand::thread_rng(), &mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}
