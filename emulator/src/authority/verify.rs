//! Verifying access tokens presented to the emulator's resource surfaces (ARM, scoring).
//!
//! Only RS256 signed by one of our published keys is accepted: `alg: none`, HMAC (the classic key
//! confusion with the RSA public key as an HMAC secret), other algorithms, unknown or missing
//! `kid`s and critical header extensions (`crit`, RFC 7515 §4.1.11: none is understood here) are
//! refused before any signature work. Keys come only from this authority's own published set: an
//! embedded `jwk`, `x5c`, or a `jku`/`x5u` URL is never used (nor fetched). Time checks are not done
//! here: [`crate::decision::authn`] checks `exp`/`nbf`/lifetime on the emulator clock on every
//! request, cache hits included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use super::keys::KeySet;
use crate::domain::{ObjectId, TenantId};

/// The claims the resource surfaces read.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub exp: i64,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub oid: Option<String>,
    pub appid: Option<String>,
    pub azp: Option<String>,
    pub upn: Option<String>,
    pub unique_name: Option<String>,
    pub idtyp: Option<String>,
    /// The token's unique id: what the journal shows instead of the token.
    pub uti: Option<String>,
    /// [`crate::decision::journal::token_hash`] of the token, set once when it is verified (not a
    /// claim).
    #[serde(skip)]
    pub token_hash: String,
    /// `oid` and `tid` as GUIDs, read once when the token is verified ([`AccessClaims::read_ids`]):
    /// every request a cached token makes asks for them.
    #[serde(skip)]
    object_id: Option<ObjectId>,
    #[serde(skip)]
    tenant_id: Option<TenantId>,
}

impl AccessClaims {
    /// Reads `oid` and `tid` as GUIDs (absent or not GUIDs: none), for the accessors below.
    pub fn read_ids(&mut self) {
        self.object_id = self.oid.as_deref().and_then(|o| o.parse().ok());
        self.tenant_id = self.tid.parse().ok();
    }

    /// `oid` as a GUID, if it is one: as read at verification, else read now.
    pub fn object_id(&self) -> Option<ObjectId> {
        self.object_id
            .or_else(|| self.oid.as_deref().and_then(|o| o.parse().ok()))
    }

    /// `tid` as a GUID, if it is one: as read at verification, else read now.
    pub fn tenant_id(&self) -> Option<TenantId> {
        self.tenant_id.or_else(|| self.tid.parse().ok())
    }

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
    #[error("the token names critical header extensions ('crit') that are not understood")]
    Critical,
}

/// Longer than any token this authority mints (about 1.5 KB) by far: longer ones are refused
/// before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<serde::de::IgnoredAny>,
}

/// Checks header, key and signature, and parses the claims.
pub fn verify(keys: &KeySet, token: &str) -> Result<AccessClaims, VerifyError> {
    let mut claims: AccessClaims = verify_with(token, |kid| keys.find(kid).map(|k| k.verify_fn()))?;
    claims.read_ids();
    Ok(claims)
}

/// The same checks with any key lookup: `find(kid)` returns a verifier for the key, if known.
pub fn verify_with<T, V>(token: &str, find: impl FnOnce(&str) -> Option<V>) -> Result<T, VerifyError>
where
    T: serde::de::DeserializeOwned,
    V: Fn(&[u8], &[u8]) -> bool,
{
    if token.len() > MAX_TOKEN_BYTES {
        return Err(VerifyError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(VerifyError::Malformed);
    };
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| VerifyError::Malformed);
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| VerifyError::Malformed)?;
    if header.alg != "RS256" {
        return Err(VerifyError::Algorithm(header.alg));
    }
    if header.crit.is_some() {
        return Err(VerifyError::Critical);
    }
    let verify = header.kid.as_deref().and_then(find).ok_or(VerifyError::UnknownKey)?;
    let signed = &token[..h.len() + 1 + c.len()];
    if !verify(signed.as_bytes(), &decode(s)?) {
        return Err(VerifyError::Signature);
    }
    serde_json::from_slice(&decode(c)?).map_err(|_| VerifyError::Malformed)
}

/// A bounded cache of verified tokens keyed by the **whole** token: a hit skips the RSA work but
/// not the time checks. A token is filed under its length and last 32 bytes (part of its
/// signature) so a lookup hashes a few bytes rather than the whole kilobyte-long token, and a
/// lookup then compares the full token bytes with each token filed there: a hit proves the
/// presented token is byte for byte the one verified — any change to its header, claims or
/// signature misses and is verified from scratch. Only verified tokens are filed, so nobody can
/// crowd one place with look-alikes. Full means cleared (simple, and bounded); key rotation or a
/// change to what the tokens open clears it too.
pub struct TokenCache<T = AccessClaims> {
    entries: Mutex<Filed<T>>,
    capacity: usize,
}

/// Bytes of a token's end that file it in the cache.
const TAIL: usize = 32;

/// Where a token is filed: its length and its last [`TAIL`] bytes (fewer for shorter tokens).
type Place = (usize, [u8; TAIL]);

fn place(token: &[u8]) -> Place {
    let mut tail = [0u8; TAIL];
    let end = &token[token.len().saturating_sub(TAIL)..];
    tail[..end.len()].copy_from_slice(end);
    (token.len(), tail)
}

/// The tokens filed at one place, each with its claims.
type Shelf<T> = Vec<(Box<[u8]>, Arc<T>)>;

/// The cached tokens by place, and how many there are.
struct Filed<T> {
    /// foldhash, randomly seeded: the places are verified tokens' signature bytes, which no
    /// caller chooses (SipHash was most of a cache hit).
    places: HashMap<Place, Shelf<T>, foldhash::fast::RandomState>,
    count: usize,
}

impl<T> Filed<T> {
    fn get(&self, token: &[u8]) -> Option<&Arc<T>> {
        let filed = self.places.get(&place(token))?;
        filed.iter().find(|(t, _)| **t == *token).map(|(_, claims)| claims)
    }
}

impl<T> TokenCache<T> {
    pub fn new(capacity: usize) -> Self {
        TokenCache {
            entries: Mutex::new(Filed {
                places: HashMap::default(),
                count: 0,
            }),
            capacity,
        }
    }

    /// The cached claims of `token`, or those `verify` returns (then cached).
    pub fn get_or_verify(
        &self,
        token: &[u8],
        verify: impl FnOnce() -> Result<T, VerifyError>,
    ) -> Result<Arc<T>, VerifyError> {
        if let Some(hit) = self.lock().get(token) {
            return Ok(hit.clone());
        }
        let claims = Arc::new(verify()?);
        let mut entries = self.lock();
        if entries.get(token).is_none() {
            if entries.count >= self.capacity {
                entries.places.clear();
                entries.count = 0;
            }
            entries
                .places
                .entry(place(token))
                .or_default()
                .push((token.into(), claims.clone()));
            entries.count += 1;
        }
        Ok(claims)
    }

    pub fn clear(&self) {
        let mut entries = self.lock();
        entries.places.clear();
        entries.count = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Filed<T>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl TokenCache<AccessClaims> {
    /// Access tokens signed by the authority's keys.
    pub fn verify(&self, keys: &KeySet, token: &str) -> Result<Arc<AccessClaims>, VerifyError> {
        self.get_or_verify(token.as_bytes(), || verify(keys, token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_hits_only_the_whole_token() {
        let cache: TokenCache<u32> = TokenCache::new(2);
        let a = b"header.claims-one.same-signature-tail-of-more-than-32-bytes";
        let b = b"header.claims-two.same-signature-tail-of-more-than-32-bytes";
        assert_eq!(*cache.get_or_verify(a, || Ok(1)).unwrap(), 1);
        // Same length and tail, other claims: verified afresh, never the other token's claims.
        assert_eq!(*cache.get_or_verify(b, || Ok(2)).unwrap(), 2);
        assert_eq!(*cache.get_or_verify(a, || Err(VerifyError::Signature)).unwrap(), 1);
        assert_eq!(*cache.get_or_verify(b, || Err(VerifyError::Signature)).unwrap(), 2);
        assert!(cache.get_or_verify(b"short", || Err(VerifyError::Signature)).is_err());
        // Full: cleared, then filed again.
        assert_eq!(*cache.get_or_verify(b"short", || Ok(3)).unwrap(), 3);
        assert!(cache.get_or_verify(a, || Err(VerifyError::Signature)).is_err());
    }
}
