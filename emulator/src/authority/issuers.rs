//! The emulator's own named test OIDC issuers, `{origin}/_emulator/issuers/{name}`: what stands in,
//! offline, for the external identity providers workload identity federation trusts (GitHub
//! Actions, Kubernetes, another cloud). Each has an RSA key (generated on first use, persisted,
//! replaced by a rotation so tokens of the old key stop verifying), an OIDC discovery document
//! and a JWKS, and mints subject tokens. `github-actions` mints GitHub's claim set.
//!
//! Federated assertions are verified against the issuer's keys as its discovery document
//! publishes them; for these issuers the lookup is in-process (no network), which is also why an
//! issuer URL that is not one of these cannot be reached (AADSTS50166).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::keys::{KeyError, SigningKey};
use crate::store::{Store, StoreError};

/// The issuer whose tokens carry GitHub Actions' claims.
pub const GITHUB_ACTIONS: &str = "github-actions";
/// The path below an origin where issuer `{name}` lives.
pub const ISSUERS_PATH: &str = "/_emulator/issuers/";
/// The audience subject tokens get unless the request names one.
pub const TOKEN_EXCHANGE_AUDIENCE_DEFAULT: &str = crate::domain::world::identities::TOKEN_EXCHANGE_AUDIENCE;
/// A subject token's lifetime unless the request names one (GitHub's last about ten minutes).
pub const DEFAULT_LIFETIME_SECONDS: i64 = 600;

#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    #[error("issuer names are 1 to 64 letters, digits, '.', '_' or '-'")]
    BadName,
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `name` can name an issuer (it becomes a URL path segment).
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The issuer URL of `name` on `origin`.
pub fn issuer_url(origin: &str, name: &str) -> String {
    format!("{}{ISSUERS_PATH}{name}", origin.trim_end_matches('/'))
}

/// The test issuer an `iss` names, when it is `{one of these origins}/_emulator/issuers/{name}`.
pub fn test_issuer_name<'a>(origins: &crate::origins::Origins, iss: &'a str) -> Option<&'a str> {
    let at = iss.find(ISSUERS_PATH)?;
    let (origin, rest) = (&iss[..at], &iss[at + ISSUERS_PATH.len()..]);
    (origins.is_own(origin) && valid_name(rest)).then_some(rest)
}

/// The issuers' keys, by lower-cased name.
pub struct TestIssuers {
    keys: RwLock<HashMap<String, Arc<SigningKey>>>,
}

impl TestIssuers {
    pub fn load(store: &Store) -> Result<Self, IssuerError> {
        let mut keys = HashMap::new();
        for (name, stored) in store.test_issuer_keys()? {
            keys.insert(name.to_ascii_lowercase(), Arc::new(SigningKey::from_stored(&stored)?));
        }
        Ok(TestIssuers {
            keys: RwLock::new(keys),
        })
    }

    /// The issuer's current key, if it has one yet.
    pub fn key(&self, name: &str) -> Option<Arc<SigningKey>> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name.to_ascii_lowercase())
            .cloned()
    }

    /// The issuer's key, made and stored on first use. Blocking (RSA generation).
    pub fn get_or_create(&self, name: &str, store: &Store, now: &str) -> Result<Arc<SigningKey>, IssuerError> {
        if !valid_name(name) {
            return Err(IssuerError::BadName);
        }
        if let Some(k) = self.key(name) {
            return Ok(k);
        }
        self.rotate(name, store, now)
    }

    /// A new key for the issuer: the old one leaves its JWKS at once, so tokens it signed no longer
    /// verify. Blocking.
    pub fn rotate(&self, name: &str, store: &Store, now: &str) -> Result<Arc<SigningKey>, IssuerError> {
        if !valid_name(name) {
            return Err(IssuerError::BadName);
        }
        let stored = SigningKey::generate()?;
        store.put_test_issuer_key(name, &stored, now)?;
        let key = Arc::new(SigningKey::from_stored(&stored)?);
        self.keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_ascii_lowercase(), key.clone());
        Ok(key)
    }
}

/// The issuer's OpenID Provider configuration (the fields GitHub's has).
pub fn discovery(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks"),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_owner",
            "run_id", "workflow", "actor", "event_name", "ref_type", "job_workflow_ref"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"],
    })
}

/// What a subject token says.
#[derive(Debug)]
pub struct SubjectToken<'a> {
    pub issuer: &'a str,
    /// The issuer's name (`github-actions` gets GitHub's claims).
    pub name: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    /// Unix seconds.
    pub now: i64,
    pub lifetime: i64,
    /// Extra claims; they win over the generated ones, except `iss`, `iat`, `nbf` and `exp`.
    pub claims: Map<String, Value>,
}

/// Signs a subject token (RS256, `kid` and `x5t` in the header, as GitHub's are).
pub fn mint(key: &SigningKey, t: &SubjectToken<'_>) -> String {
    let mut claims = Map::new();
    claims.insert("jti".into(), json!(Uuid::new_v4()));
    claims.insert("sub".into(), json!(t.sub));
    claims.insert("aud".into(), json!(t.aud));
    if t.name.eq_ignore_ascii_case(GITHUB_ACTIONS) {
        for (k, v) in github_claims(t.sub) {
            claims.insert(k.into(), v);
        }
    }
    for (k, v) in &t.claims {
        claims.insert(k.clone(), v.clone());
    }
    claims.insert("iss".into(), json!(t.issuer));
    claims.insert("iat".into(), json!(t.now));
    claims.insert("nbf".into(), json!(t.now));
    claims.insert("exp".into(), json!(t.now + t.lifetime));
    super::jwt::encode(key, true, &Value::Object(claims))
}

/// GitHub Actions' OIDC claims for a subject `repo:ORG/REPO:ref:REF` (others get the defaults of
/// a push to main).
fn github_claims(sub: &str) -> Vec<(&'static str, Value)> {
    let rest = sub.strip_prefix("repo:").unwrap_or("contoso/ml:ref:refs/heads/main");
    let (repository, context) = rest.split_once(':').unwrap_or((rest, ""));
    let git_ref = context.strip_prefix("ref:").unwrap_or("refs/heads/main");
    let owner = repository.split('/').next().unwrap_or(repository);
    let ref_type = if git_ref.starts_with("refs/tags/") {
        "tag"
    } else {
        "branch"
    };
    vec![
        ("ref", json!(git_ref)),
        ("sha", json!("8f3c2a1e5b4d4c6e9a7b0d1e2f3a4b5c6d7e8f90")),
        ("repository", json!(repository)),
        ("repository_owner", json!(owner)),
        ("repository_owner_id", json!("1000001")),
        ("repository_id", json!("2000002")),
        ("repository_visibility", json!("private")),
        ("run_id", json!("3000003")),
        ("run_number", json!("1")),
        ("run_attempt", json!("1")),
        ("actor", json!("octocat")),
        ("actor_id", json!("4000004")),
        ("workflow", json!("ci")),
        (
            "workflow_ref",
            json!(format!("{repository}/.github/workflows/ci.yml@{git_ref}")),
        ),
        (
            "job_workflow_ref",
            json!(format!("{repository}/.github/workflows/ci.yml@{git_ref}")),
        ),
        ("event_name", json!("push")),
        ("ref_type", json!(ref_type)),
        ("ref_protected", json!("false")),
        ("head_ref", json!("")),
        ("base_ref", json!("")),
        ("runner_environment", json!("github-hosted")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_urls_and_github_claims() {
        let origins = crate::origins::Origins::new("https://127.0.0.1:8443", 8443, &[]);
        let url = issuer_url("https://localhost:8443/", GITHUB_ACTIONS);
        assert_eq!(url, "https://localhost:8443/_emulator/issuers/github-actions");
        assert_eq!(test_issuer_name(&origins, &url), Some(GITHUB_ACTIONS));
        assert_eq!(
            test_issuer_name(&origins, "https://evil.example/_emulator/issuers/github-actions"),
            None
        );
        assert_eq!(
            test_issuer_name(&origins, "https://token.actions.githubusercontent.com"),
            None
        );
        assert!(!valid_name("a/b") && !valid_name("") && valid_name("k8s.cluster-1"));
        let claims: HashMap<_, _> = github_claims("repo:contoso/ml:ref:refs/tags/v1").into_iter().collect();
        assert_eq!(claims["repository"], "contoso/ml");
        assert_eq!(claims["repository_owner"], "contoso");
        assert_eq!(claims["ref"], "refs/tags/v1");
        assert_eq!(claims["ref_type"], "tag");
    }
}
