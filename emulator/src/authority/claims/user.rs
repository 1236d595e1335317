//! Delegated (user) access tokens: [`UserClaims`], about a [`SignedInUser`].
//!
//! Source: `reference/api-fidelity.md` §4.3 (access-token claims, v1 and v2) and issue #10's
//! list of user claims.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{random_b64, v1_issuer, v2_issuer, ClientAuthMethod, SKEW_SECONDS};
use crate::domain::audience::Audience;
use crate::domain::world::{Tenant, User};
use crate::domain::{ClientId, ObjectId};

/// Above this many groups a JWT carries the overage claim instead of `groups` (Entra ID's limit
/// for JWTs).
pub const GROUPS_LIMIT: usize = 200;

/// A user who signed in to a client application: what user tokens and id_tokens are about.
#[derive(Clone, Copy, Debug)]
pub struct SignedInUser<'a> {
    /// The tenant the user signed in to (their home tenant): `tid`.
    pub tenant: &'a Tenant,
    pub user: &'a User,
    /// The client application the user signed in to: `appid`/`azp`, and the id_token's `aud`.
    pub client_id: ClientId,
    /// How that client authenticated: `appidacr`/`azpacr` (public clients: `"0"`).
    pub client_auth: ClientAuthMethod,
    /// How the user authenticated, as `amr` lists it: `["pwd"]`, `["pwd", "mfa"]`.
    pub amr: &'a [&'static str],
    /// Object ids of the groups the user belongs to, nested membership included.
    pub groups: &'a [ObjectId],
}

impl SignedInUser<'_> {
    /// `given_name` and `family_name`. Users carry only a display name so far, so these are its
    /// first word and the rest; a one-word name has neither, as AAD omits unset names.
    fn names(&self) -> (Option<String>, Option<String>) {
        match self.user.display_name.trim().split_once(' ') {
            Some((given, family)) if !family.trim().is_empty() => {
                (Some(given.to_string()), Some(family.trim().to_string()))
            }
            _ => (None, None),
        }
    }
}

/// The `sub` of a user's tokens: pairwise, so the same user has a different `sub` in each client
/// application (AAD: "unique for a particular application ID"), and stable for that pair. AAD's
/// derivation is not public; this is base64url(SHA-256) of the pair, 43 characters like AAD's.
/// The same value is used in the access token and the id_token of one client (a choice: AAD's
/// access-token `sub` is documented only as pairwise).
pub fn pairwise_subject(user: ObjectId, client: ClientId) -> String {
    let mut h = Sha256::new();
    h.update(b"azureml-emulator pairwise sub\0");
    h.update(client.0.as_bytes());
    h.update(user.0.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// Claims of a delegated (user) access token. v1 tokens (first-party resources such as ARM) carry
/// `acr`, `amr`, `appid`/`appidacr`, `given_name`/`family_name`, `unique_name`, `upn`; v2 tokens
/// carry `azp`/`azpacr` and `preferred_username` instead. `groups` up to [`GROUPS_LIMIT`], the
/// overage claim (`_claim_names`/`_claim_sources`) above it, neither without groups.
#[derive(Debug, Serialize)]
pub struct UserClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<&'static str>,
    pub aio: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appidacr: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azpacr: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(rename = "_claim_names", skip_serializing_if = "Option::is_none")]
    pub claim_names: Option<Value>,
    #[serde(rename = "_claim_sources", skip_serializing_if = "Option::is_none")]
    pub claim_sources: Option<Value>,
    pub idtyp: &'static str,
    pub name: String,
    pub oid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    pub rh: String,
    /// The delegated scopes granted, space-separated (`user_impersonation` for ARM).
    pub scp: String,
    pub sub: String,
    pub tid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    pub uti: String,
    pub ver: &'static str,
    /// Client capabilities the request declared (`["CP1"]`: continuous access evaluation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xms_cc: Option<Vec<String>>,
}

impl UserClaims {
    /// Claims for `who` calling `audience` with the delegated scopes `scp`; `now` and the result's
    /// times are unix seconds, `lifetime` seconds.
    pub fn new(who: &SignedInUser<'_>, audience: &Audience, scp: &str, now: i64, lifetime: i64) -> Self {
        let v1 = audience.version == 1;
        let user = who.user;
        let client_id = who.client_id.to_string();
        let (given_name, family_name) = if v1 { who.names() } else { (None, None) };
        let (groups, claim_names, claim_sources) = group_claims(who);
        UserClaims {
            aud: audience.aud.clone(),
            iss: if v1 {
                v1_issuer(who.tenant)
            } else {
                v2_issuer(who.tenant)
            },
            iat: now - SKEW_SECONDS,
            nbf: now - SKEW_SECONDS,
            exp: now + lifetime,
            acr: v1.then_some("1"),
            aio: random_b64::<42>(),
            amr: v1.then(|| who.amr.to_vec()),
            appid: v1.then(|| client_id.clone()),
            appidacr: v1.then_some(who.client_auth.acr()),
            azp: (!v1).then(|| client_id.clone()),
            azpacr: (!v1).then_some(who.client_auth.acr()),
            family_name,
            given_name,
            groups,
            claim_names,
            claim_sources,
            idtyp: "user",
            name: user.display_name.clone(),
            oid: user.object_id.to_string(),
            preferred_username: (!v1).then(|| user.upn.clone()),
            rh: format!("0.{}", random_b64::<48>()),
            scp: scp.to_string(),
            sub: pairwise_subject(user.object_id, who.client_id),
            tid: who.tenant.id.to_string(),
            unique_name: v1.then(|| user.upn.clone()),
            upn: v1.then(|| user.upn.clone()),
            uti: random_b64::<16>(),
            ver: if v1 { "1.0" } else { "2.0" },
            xms_cc: None,
        }
    }
}

/// `groups`, or the overage claim pointing at Microsoft Graph's `getMemberObjects` for the user
/// (the endpoint AAD now puts there; it used to name graph.windows.net).
fn group_claims(who: &SignedInUser<'_>) -> (Option<Vec<String>>, Option<Value>, Option<Value>) {
    if who.groups.is_empty() {
        return (None, None, None);
    }
    if who.groups.len() <= GROUPS_LIMIT {
        return (Some(who.groups.iter().map(ToString::to_string).collect()), None, None);
    }
    let endpoint = format!(
        "https://graph.microsoft.com/v1.0/users/{}/getMemberObjects",
        who.user.object_id
    );
    (
        None,
        Some(json!({"groups": "src1"})),
        Some(json!({"src1": {"endpoint": endpoint}})),
    )
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::super::tests::{arm, keys, set, tenant, user, who};
    use super::*;

    #[test]
    fn v1_user_token_claims() {
        let t = tenant();
        let u = user(&t, "Owner User");
        let groups = [ObjectId(Uuid::new_v4())];
        let w = who(&t, &u, &groups);
        let json = serde_json::to_value(UserClaims::new(&w, &arm(), "user_impersonation", 1_000_000, 3599)).unwrap();
        assert_eq!(
            keys(&json),
            set(&[
                "aud",
                "iss",
                "iat",
                "nbf",
                "exp",
                "acr",
                "aio",
                "amr",
                "appid",
                "appidacr",
                "family_name",
                "given_name",
                "groups",
                "idtyp",
                "name",
                "oid",
                "rh",
                "scp",
                "sub",
                "tid",
                "unique_name",
                "upn",
                "uti",
                "ver"
            ])
        );
        assert_eq!(json["aud"], "https://management.core.windows.net/");
        assert_eq!(json["iss"], format!("https://sts.windows.net/{}/", t.id));
        assert_eq!(
            (json["iat"].as_i64(), json["exp"].as_i64()),
            (Some(999_700), Some(1_003_599))
        );
        assert_eq!(
            (json["acr"].as_str(), json["appidacr"].as_str()),
            (Some("1"), Some("0"))
        );
        assert_eq!(json["amr"], json!(["pwd"]));
        assert_eq!(json["appid"], w.client_id.to_string());
        assert_eq!(
            (json["given_name"].as_str(), json["family_name"].as_str()),
            (Some("Owner"), Some("User"))
        );
        assert_eq!(json["name"], "Owner User");
        assert_eq!(json["oid"], u.object_id.to_string());
        assert_eq!(json["upn"], "owner@contoso.onmicrosoft.com");
        assert_eq!(json["unique_name"], json["upn"]);
        assert_eq!(json["scp"], "user_impersonation");
        assert_eq!(json["groups"], json!([groups[0].to_string()]));
        assert_eq!(
            (json["idtyp"].as_str(), json["ver"].as_str()),
            (Some("user"), Some("1.0"))
        );
        assert_eq!(json["tid"], t.id.to_string());
        assert_ne!(json["sub"], json["oid"], "a user's sub is pairwise, not the object id");
    }

    #[test]
    fn v2_user_token_claims() {
        let t = tenant();
        let u = user(&t, "Owner User");
        let mut w = who(&t, &u, &[]);
        w.client_auth = ClientAuthMethod::Secret;
        let api = Audience {
            aud: Uuid::new_v4().to_string(),
            version: 2,
        };
        let json = serde_json::to_value(UserClaims::new(&w, &api, "Data.Read Data.Write", 0, 60)).unwrap();
        // v2: no acr, amr, unique_name, appid or appidacr; preferred_username instead of upn.
        assert_eq!(
            keys(&json),
            set(&[
                "aud",
                "iss",
                "iat",
                "nbf",
                "exp",
                "aio",
                "azp",
                "azpacr",
                "idtyp",
                "name",
                "oid",
                "preferred_username",
                "rh",
                "scp",
                "sub",
                "tid",
                "uti",
                "ver"
            ])
        );
        assert_eq!(json["iss"], format!("https://login.microsoftonline.com/{}/v2.0", t.id));
        assert_eq!(
            (json["azp"].as_str(), json["azpacr"].as_str()),
            (Some(&*w.client_id.to_string()), Some("1"))
        );
        assert_eq!(json["preferred_username"], "owner@contoso.onmicrosoft.com");
        assert_eq!(
            (json["scp"].as_str(), json["ver"].as_str()),
            (Some("Data.Read Data.Write"), Some("2.0"))
        );
    }

    #[test]
    fn groups_overage_above_the_limit() {
        let t = tenant();
        let u = user(&t, "Owner User");
        let many: Vec<ObjectId> = (0..=GROUPS_LIMIT).map(|_| ObjectId(Uuid::new_v4())).collect();
        let at_limit =
            serde_json::to_value(UserClaims::new(&who(&t, &u, &many[..GROUPS_LIMIT]), &arm(), "s", 0, 1)).unwrap();
        assert_eq!(at_limit["groups"].as_array().map(Vec::len), Some(GROUPS_LIMIT));
        assert!(at_limit.get("_claim_names").is_none());
        let over = serde_json::to_value(UserClaims::new(&who(&t, &u, &many), &arm(), "s", 0, 1)).unwrap();
        assert!(over.get("groups").is_none());
        assert_eq!(over["_claim_names"], json!({"groups": "src1"}));
        assert_eq!(
            over["_claim_sources"]["src1"]["endpoint"],
            format!(
                "https://graph.microsoft.com/v1.0/users/{}/getMemberObjects",
                u.object_id
            )
        );
    }

    #[test]
    fn one_word_names_have_no_given_or_family_name() {
        let t = tenant();
        let u = user(&t, "Reader");
        let json = serde_json::to_value(UserClaims::new(&who(&t, &u, &[]), &arm(), "s", 0, 1)).unwrap();
        assert!(json.get("given_name").is_none() && json.get("family_name").is_none());
        assert_eq!(json["name"], "Reader");
    }

    #[test]
    fn subjects_are_pairwise_and_stable() {
        let (user, a, b) = (
            ObjectId(Uuid::new_v4()),
            ClientId(Uuid::new_v4()),
            ClientId(Uuid::new_v4()),
        );
        assert_eq!(pairwise_subject(user, a), pairwise_subject(user, a));
        assert_ne!(pairwise_subject(user, a), pairwise_subject(user, b));
        assert_eq!(pairwise_subject(user, a).len(), 43);
    }
}
