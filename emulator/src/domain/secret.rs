//! Client secrets and passwords are kept only as salted SHA-256 hashes and compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A salted hash of a secret. `Debug` never shows the hash material.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash {
    pub salt: [u8; 16],
    pub hash: [u8; 32],
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(<hidden>)")
    }
}

impl SecretHash {
    pub fn new(secret: &str) -> Self {
        let salt: [u8; 16] = rand::random();
        Self::with_salt(secret, salt)
    }

    pub fn with_salt(secret: &str, salt: [u8; 16]) -> Self {
        let hash = digest(&salt, secret);
        SecretHash { salt, hash }
    }

    /// Rebuilds a hash read back from storage; `None` when the stored bytes have the wrong length.
    pub fn from_parts(salt: &[u8], hash: &[u8]) -> Option<Self> {
        Some(SecretHash {
            salt: salt.try_into().ok()?,
            hash: hash.try_into().ok()?,
        })
    }

    pub fn matches(&self, candidate: &str) -> bool {
        digest(&self.salt, candidate).ct_eq(&self.hash).into()
    }
}

fn digest(salt: &[u8; 16], secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// The first three characters of a secret, as Azure shows in a credential's `hint`.
pub fn hint(secret: &str) -> String {
    secret.chars().take(3).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_only_the_same_secret() {
        let h = SecretHash::new("s3cret");
        assert!(h.matches("s3cret"));
        assert!(!h.matches("s3cret "));
        assert!(!h.matches(""));
        assert_ne!(SecretHash::new("s3cret").salt, h.salt, "salts are random");
    }
}
