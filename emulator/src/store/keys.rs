//! Persisted token-signing keys.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreResult};

/// A signing key as stored: PKCS#8 private key and its self-signed certificate (both DER).
pub struct StoredKey {
    pub kid: String,
    pub pkcs8_der: Vec<u8>,
    pub cert_der: Vec<u8>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A key from three columns of a row starting at `first`: kid, PKCS#8 DER, certificate DER.
pub(super) fn key_at(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        kid: r.get(first)?,
        pkcs8_der: r.get(first + 1)?,
        cert_der: r.get(first + 2)?,
    })
}

impl Store {
    pub fn active_signing_key(&self) -> StoreResult<Option<StoredKey>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT kid, pkcs8_der, cert_der FROM signing_keys WHERE active = 1 ORDER BY created DESC LIMIT 1",
                [],
                |r| key_at(r, 0),
            )
            .optional()?)
    }

    pub fn insert_signing_key(&self, key: &StoredKey, created: &str) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO signing_keys (kid, pkcs8_der, cert_der, created, active) VALUES (?1, ?2, ?3, ?4, 1)",
            params![key.kid, key.pkcs8_der, key.cert_der, created],
        )?;
        Ok(())
    }
}
