//! Verifying access tokens presented to the emulator's resource surfaces (ARM, scoring).
//!
//! Only RS256 signed by one of our published keys is accepted: `alg: none`, HMAC (the classic key
//! confusion with the RSA public key as an HMAC secret) and unknown `kid`s are refused before any
//! signature work. Time checks are not done here: callers check `exp`/`nbf` against the emulator
//! clock on every request, including cache hits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::keys::KeySet;

/// The claims the resource surfaces read.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub exp: i64,
    pub nbf: Option<i64>,
    pub oid: Option<String>,
    pub appid: Option<String>,
    pub azp: Option<String>,
    pub upn: Option<String>,
    pub unique_name: Option<String>,
    pub idtyp: Option<String>,
}

impl AccessClaims {
    /// The calling application: `appid` (v1) or `azp` (v2).
    pub fn client_id(&self) -> Option<&str> {
        self.appid.as_deref().or(self.azp.as_deref())
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is not a compact JWS with a JSON header and claims")]
    Malformed,
    #[error("the token's algorithm '{0}' is not accepted; only RS256 is")]
    Algorithm(String),
    #[error("the token was not signed by a key this authority publishes")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    Signature,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// Checks header, key and signature, and parses the claims.
pub fn verify(keys: &KeySet, token: &str) -> Result<AccessClaims, VerifyError> {
    verify_with(token, |kid| keys.find(kid).map(|k| k.verify_fn()))
}

/// The same checks with any key lookup: `find(kid)` returns a verifier for the key, if known.
pub fn verify_with<T, V>(token: &str, find: impl FnOnce(&str) -> Option<V>) -> Result<T, VerifyError>
where
    T: serde::de::DeserializeOwned,
    V: Fn(&[u8], &[u8]) -> bool,
{
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(VerifyError::Malformed);
    };
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| VerifyError::Malformed);
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| VerifyError::Malformed)?;
    if header.alg != "RS256" {
        return Err(VerifyError::Algorithm(header.alg));
    }
    let verify = header.kid.as_deref().and_then(find).ok_or(VerifyError::UnknownKey)?;
    let signed = &token[..h.len() + 1 + c.len()];
    if !verify(signed.as_bytes(), &decode(s)?) {
        return Err(VerifyError::Signature);
    }
    serde_json::from_slice(&decode(c)?).map_err(|_| VerifyError::Malformed)
}

/// A bounded cache of verified tokens keyed by SHA-256 of the token: a hit skips the RSA work but
/// not the time checks. Full means cleared (simple, and bounded); key rotation or a change to what
/// the tokens open clears it too.
pub struct TokenCache<T = AccessClaims> {
    entries: Mutex<HashMap<[u8; 32], Arc<T>>>,
    capacity: usize,
}

impl<T> TokenCache<T> {
    pub fn new(capacity: usize) -> Self {
        TokenCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The cached claims of `token`, or those `verify` returns (then cached).
    ///
    /// The key is a hash of the signature segment alone: a hit returns the claims of the token that
    /// signature was verified for, so a presenter who swaps header or claims around a known
    /// signature gains nothing beyond holding the original token. Hashing ~350 bytes instead of the
    /// whole token keeps hot routes cheap.
    pub fn get_or_verify(
        &self,
        token: &[u8],
        verify: impl FnOnce() -> Result<T, VerifyError>,
    ) -> Result<Arc<T>, VerifyError> {
        let signature = token.rsplit(|b| *b == b'.').next().unwrap_or(token);
        let digest: [u8; 32] = Sha256::digest(signature).into();
        if let Some(hit) = self.lock().get(&digest) {
            return Ok(hit.clone());
        }
        let claims = Arc::new(verify()?);
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(digest, claims.clone());
        Ok(claims)
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<T>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl TokenCache<AccessClaims> {
    /// Access tokens signed by the authority's keys.
    pub fn verify(&self, keys: &KeySet, token: &str) -> Result<Arc<AccessClaims>, VerifyError> {
        self.get_or_verify(token.as_bytes(), || verify(keys, token))
    }
}
