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

/// A key a rotation replaced: still verifying until `retired` is set.
#[derive(Debug)]
pub struct PastKey {
    pub key: StoredKey,
    /// For workspace keys: the workspace.
    pub workspace_id: Option<uuid::Uuid>,
    /// RFC 3339, when retired (no longer published).
    pub retired: Option<String>,
}

fn stored(r: &rusqlite::Row<'_>, from: usize) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        kid: r.get(from)?,
        pkcs8_der: r.get(from + 1)?,
        cert_der: r.get(from + 2)?,
    })
}

impl Store {
    /// Authority keys that no longer sign, newest first: published ones (`retired` none) and
    /// retired ones.
    pub fn past_signing_keys(&self) -> StoreResult<Vec<PastKey>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT kid, pkcs8_der, cert_der, retired FROM signing_keys WHERE active = 0 ORDER BY created DESC, rowid DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PastKey {
                key: stored(r, 0)?,
                workspace_id: None,
                retired: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Makes `key` the one active authority key, in one transaction: the others stay published.
    pub fn rotate_signing_key(&self, key: &StoredKey, created: &str) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("UPDATE signing_keys SET active = 0 WHERE active = 1", [])?;
        tx.execute(
            "INSERT INTO signing_keys (kid, pkcs8_der, cert_der, created, active) VALUES (?1, ?2, ?3, ?4, 1)",
            params![key.kid, key.pkcs8_der, key.cert_der, created],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Retires a published authority key that no longer signs; false when `kid` is no such key.
    pub fn retire_signing_key(&self, kid: &str, at: &str) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "UPDATE signing_keys SET retired = ?2 WHERE kid = ?1 AND active = 0 AND retired IS NULL",
            params![kid, at],
        )? > 0)
    }

    /// Workspace keys a rotation replaced, newest first.
    pub fn past_workspace_keys(&self) -> StoreResult<Vec<PastKey>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT kid, pkcs8_der, cert_der, retired, workspace_id FROM workspace_key_history ORDER BY rotated DESC, rowid DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((stored(r, 0)?, r.get::<_, Option<String>>(3)?, r.get::<_, String>(4)?))
        })?;
        rows.map(|row| {
            let (key, retired, ws) = row?;
            let workspace_id = ws
                .parse()
                .map_err(|e| super::StoreError::Corrupt(format!("workspace key history: {e}")))?;
            Ok(PastKey {
                key,
                workspace_id: Some(workspace_id),
                retired,
            })
        })
        .collect()
    }

    /// Makes `key` the workspace's signing key in one transaction; its current key moves to the
    /// history, still verifying. False when the workspace has no key yet.
    pub fn rotate_workspace_key(&self, workspace_id: uuid::Uuid, key: &StoredKey, at: &str) -> StoreResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let moved = tx.execute(
            "INSERT INTO workspace_key_history (kid, workspace_id, pkcs8_der, cert_der, rotated)
             SELECT kid, workspace_id, pkcs8_der, cert_der, ?2 FROM workspace_signing_keys WHERE workspace_id = ?1",
            params![workspace_id.to_string(), at],
        )?;
        if moved == 0 {
            return Ok(false);
        }
        tx.execute(
            "UPDATE workspace_signing_keys SET kid = ?2, pkcs8_der = ?3, cert_der = ?4 WHERE workspace_id = ?1",
            params![workspace_id.to_string(), key.kid, key.pkcs8_der, key.cert_der],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Retires a workspace key a rotation replaced; false when `kid` is no such key.
    pub fn retire_workspace_key(&self, kid: &str, at: &str) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "UPDATE workspace_key_history SET retired = ?2 WHERE kid = ?1 AND retired IS NULL",
            params![kid, at],
        )? > 0)
    }
}
