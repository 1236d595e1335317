//! Grant state: authorization codes, refresh tokens and device codes, keyed by the hash of their
//! opaque value. Times are unix seconds; the caller passes "now" from the emulator clock.
//!
//! Every statement that decides an outcome is one SQL statement (or one immediate transaction),
//! so two emulators on one data directory — two connections — cannot both redeem a code.

use rusqlite::{named_params, params, OptionalExtension, Row, TransactionBehavior};

use super::{Store, StoreError, StoreResult};
use crate::domain::grant::{GrantHash, GrantKind, GrantSubject};
use crate::domain::{ClientId, ObjectId};

/// An entry to insert.
#[derive(Debug)]
pub struct NewGrant<'a> {
    pub kind: GrantKind,
    pub hash: GrantHash,
    /// A second name for the entry (a device code's user code), unique among live entries.
    pub alias: Option<GrantHash>,
    pub client_id: ClientId,
    pub user_id: Option<ObjectId>,
    /// JSON the grant reads back; the store does not look inside.
    pub payload: &'a str,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// An entry as stored, whatever its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredGrant {
    pub kind: GrantKind,
    pub client_id: ClientId,
    pub user_id: Option<ObjectId>,
    pub payload: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Which name an entry is looked up by.
#[derive(Clone, Copy, Debug)]
pub enum GrantKey {
    /// The hash of the value handed to the client (code, refresh token, device code).
    Value(GrantHash),
    /// The hash of the entry's alias (user code).
    Alias(GrantHash),
}

impl GrantKey {
    fn column(self) -> &'static str {
        match self {
            GrantKey::Value(_) => "hash",
            GrantKey::Alias(_) => "alias_hash",
        }
    }

    fn hash(self) -> [u8; 32] {
        match self {
            GrantKey::Value(h) | GrantKey::Alias(h) => h.0,
        }
    }
}

/// The outcome of a single-use redemption.
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// This call redeemed the entry (now marked consumed).
    Taken(StoredGrant),
    /// Nothing redeemed: the entry as it stands (consumed, revoked or expired), or `None`.
    NotTaken(Option<StoredGrant>),
}

const COLUMNS: &str = "kind, client_id, user_id, payload, issued_at, expires_at, consumed_at, revoked_at";

/// "Still usable at :now": the condition every redeeming or changing statement carries.
const LIVE: &str = "consumed_at IS NULL AND revoked_at IS NULL AND expires_at > :now";

impl Store {
    /// Inserts an entry. Returns `false`, inserting nothing, when its alias names another entry
    /// that is still usable; a stale entry (expired, consumed or revoked) holding the alias is
    /// dropped first.
    pub fn insert_grant(&self, g: &NewGrant<'_>) -> StoreResult<bool> {
        // Statements are prepared once per connection (`prepare_cached`): parsing them again was
        // a tenth of a refresh-token redemption. Without an alias the INSERT is one statement,
        // atomic on its own, so it needs no transaction of its own either.
        const INSERT: &str =
            "INSERT INTO grant_state (hash, kind, alias_hash, client_id, user_id, payload, issued_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (alias_hash) DO NOTHING";
        let insert = |conn: &rusqlite::Connection| {
            conn.prepare_cached(INSERT)?.execute(params![
                g.hash.0,
                g.kind.as_str(),
                g.alias.map(|a| a.0),
                g.client_id.to_string(),
                g.user_id.map(|u| u.to_string()),
                g.payload,
                g.issued_at,
                g.expires_at,
            ])
        };
        let mut conn = self.conn();
        let Some(alias) = g.alias else {
            return Ok(insert(&conn)? == 1);
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(&format!(
            "DELETE FROM grant_state WHERE alias_hash = :alias AND NOT ({LIVE})"
        ))?
        .execute(named_params! {":alias": alias.0, ":now": g.issued_at})?;
        let inserted = insert(&tx)?;
        tx.commit()?;
        Ok(inserted == 1)
    }

    /// The entry of this kind under `key`, in whatever state; nothing is changed.
    pub fn grant(&self, kind: GrantKind, key: GrantKey) -> StoreResult<Option<StoredGrant>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM grant_state WHERE {} = ?1 AND kind = ?2",
            key.column()
        );
        self.conn()
            .prepare_cached(&sql)?
            .query_row(params![key.hash(), kind.as_str()], row)
            .optional()?
            .transpose()
    }

    /// Redeems a single-use entry: marks it consumed at `now` if it is still usable, atomically
    /// (one `UPDATE … RETURNING`), so of any number of concurrent callers exactly one gets
    /// [`Take::Taken`].
    pub fn take_grant(&self, kind: GrantKind, key: GrantKey, now: i64) -> StoreResult<Take> {
        let taken = {
            let conn = self.conn();
            let sql = format!(
                "UPDATE grant_state SET consumed_at = :now WHERE {} = :key AND kind = :kind AND {LIVE} RETURNING {COLUMNS}",
                key.column()
            );
            let mut statement = conn.prepare_cached(&sql)?;
            statement
                .query_row(
                    named_params! {":now": now, ":key": key.hash(), ":kind": kind.as_str()},
                    row,
                )
                .optional()?
                .transpose()?
        };
        match taken {
            Some(grant) => Ok(Take::Taken(grant)),
            None => Ok(Take::NotTaken(self.grant(kind, key)?)),
        }
    }

    /// Replaces a usable entry's payload (and sets its user, when given): a device code approved,
    /// declined or polled. Returns `false` when no usable entry has that key.
    pub fn update_grant(
        &self,
        kind: GrantKind,
        key: GrantKey,
        user_id: Option<ObjectId>,
        payload: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE grant_state SET payload = :payload, user_id = COALESCE(:user, user_id)
             WHERE {} = :key AND kind = :kind AND {LIVE}",
            key.column()
        );
        let changed = self.conn().execute(
            &sql,
            named_params! {
                ":payload": payload,
                ":user": user_id.map(|u| u.to_string()),
                ":key": key.hash(),
                ":kind": kind.as_str(),
                ":now": now,
            },
        )?;
        Ok(changed == 1)
    }

    /// Marks every not-yet-revoked entry of `subject` revoked at `now`; returns how many.
    pub fn revoke_grants(&self, subject: GrantSubject, now: i64) -> StoreResult<usize> {
        let (column, id) = match subject {
            GrantSubject::User(oid) => ("user_id", oid.to_string()),
            GrantSubject::Client(cid) => ("client_id", cid.to_string()),
        };
        let sql = format!("UPDATE grant_state SET revoked_at = ?1 WHERE {column} = ?2 AND revoked_at IS NULL");
        Ok(self.conn().execute(&sql, params![now, id])?)
    }

    /// Deletes every entry that expired at or before `expired_by`; returns how many.
    pub fn purge_grants(&self, expired_by: i64) -> StoreResult<usize> {
        Ok(self
            .conn()
            .execute("DELETE FROM grant_state WHERE expires_at <= ?1", [expired_by])?)
    }
}

fn row(r: &Row<'_>) -> rusqlite::Result<StoreResult<StoredGrant>> {
    let kind: String = r.get(0)?;
    let client_id: String = r.get(1)?;
    let user_id: Option<String> = r.get(2)?;
    let parsed = (|| {
        let corrupt = |what: &str| StoreError::Corrupt(format!("grant state {what}"));
        Ok(StoredGrant {
            kind: GrantKind::parse(&kind).ok_or_else(|| corrupt("kind"))?,
            client_id: client_id.parse().map_err(|_| corrupt("client id"))?,
            user_id: user_id.map(|u| u.parse().map_err(|_| corrupt("user id"))).transpose()?,
            payload: r.get(3)?,
            issued_at: r.get(4)?,
            expires_at: r.get(5)?,
            consumed_at: r.get(6)?,
            revoked_at: r.get(7)?,
        })
    })();
    Ok(parsed)
}
