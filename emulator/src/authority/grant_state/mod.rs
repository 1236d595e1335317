//! Grant state on the emulator clock: the authorization codes, refresh tokens and device codes the
//! user grants (issue #10) hand out and accept back.
//!
//! [`GrantState`] mints the opaque values, keeps only their SHA-256 (in SQLite, so refresh
//! tokens survive restarts), and reads every expiry from the emulator [`Clock`], so moving the
//! clock expires codes and tokens at once. Its calls block on SQLite: run them off the async
//! workers (`web::block`). It is `Send + Sync` and cheap to build per call.
//!
//! Lookups tell apart what AAD tells apart: a value never issued (or purged), expired
//! (AADSTS70008 for codes, 700082 for refresh tokens), already redeemed (54005) and revoked
//! (50173).

use serde::de::DeserializeOwned;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::domain::grant::{GrantHash, GrantKind, GrantSubject};
use crate::domain::{ClientId, ObjectId};
use crate::store::{GrantKey, NewGrant, Store, StoreError, StoredGrant, Take};

/// An authorization code's life: 10 minutes (Entra ID; RFC 6749 §4.1.2 recommends at most 10).
pub const AUTHORIZATION_CODE_LIFETIME: Duration = Duration::minutes(10);
/// A refresh token's life for most clients: 90 days, sliding (each redemption returns a new one).
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::days(90);
/// A refresh token's life for single-page applications: 24 hours, not sliding.
pub const SPA_REFRESH_TOKEN_LIFETIME: Duration = Duration::hours(24);
/// A device code's life: 15 minutes (`expires_in: 900`, `v2-oauth2-device-code.md`).
pub const DEVICE_CODE_LIFETIME: Duration = Duration::minutes(15);

/// An opaque value handed to a client: 48 random bytes, base64url. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct GrantValue(String);

impl GrantValue {
    fn random() -> Self {
        let bytes: [u8; 48] = {
            let mut b = [0u8; 48];
            rand::Rng::fill(&mut rand::thread_rng(), &mut b[..]);
            b
        };
        GrantValue(base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            bytes,
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for GrantValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrantValue(<hidden>)")
    }
}

/// Which name a lookup presents: the value handed to the client, or the entry's alias (a device
/// code's user code, normalised by the caller as users may type it).
#[derive(Clone, Copy, Debug)]
pub enum GrantRef<'a> {
    Value(&'a str),
    Alias(&'a str),
}

impl GrantRef<'_> {
    fn key(self) -> GrantKey {
        match self {
            GrantRef::Value(v) => GrantKey::Value(GrantHash::of(v)),
            GrantRef::Alias(a) => GrantKey::Alias(GrantHash::of(a)),
        }
    }
}

/// What to remember for a new value.
#[derive(Debug)]
pub struct NewEntry<'a, T> {
    pub kind: GrantKind,
    pub client_id: ClientId,
    /// The signed-in user, when known (not yet for a pending device code).
    pub user_id: Option<ObjectId>,
    /// A second name for the entry (a device code's user code).
    pub alias: Option<&'a str>,
    pub lifetime: Duration,
    /// What the grant reads back (scopes, PKCE challenge, nonce…), stored as JSON.
    pub payload: &'a T,
}

/// An entry read back, with its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant<T> {
    pub kind: GrantKind,
    pub client_id: ClientId,
    pub user_id: Option<ObjectId>,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub payload: T,
}

/// An entry's state at the time of a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    /// Usable (for [`GrantState::take_once`]: redeemed by this call).
    Live(Grant<T>),
    /// Past its expiry on the clock.
    Expired(Grant<T>),
    /// A single-use value already redeemed.
    Consumed(Grant<T>),
    /// Revoked (see [`GrantState::revoke`]); reported before consumed and expired.
    Revoked(Grant<T>),
    /// Never issued, purged, or a value of another kind.
    Unknown,
}

#[derive(Debug, thiserror::Error)]
pub enum GrantStateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("grant state payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// Another usable entry has this alias: pick another user code.
    #[error("the alias names another live entry")]
    AliasInUse,
}

/// Grant state read and written on the emulator clock.
#[derive(Clone, Copy)]
pub struct GrantState<'a> {
    store: &'a Store,
    clock: &'a Clock,
}

impl<'a> GrantState<'a> {
    pub fn new(store: &'a Store, clock: &'a Clock) -> Self {
        GrantState { store, clock }
    }

    /// Mints a value, remembers `entry` under its hash until now + `lifetime`, and returns the
    /// value (the only copy: it is not stored).
    pub fn issue<T: Serialize>(&self, entry: NewEntry<'_, T>) -> Result<GrantValue, GrantStateError> {
        let value = GrantValue::random();
        let now = self.clock.unix();
        let payload = serde_json::to_string(entry.payload)?;
        let inserted = self.store.insert_grant(&NewGrant {
            kind: entry.kind,
            hash: GrantHash::of(value.as_str()),
            alias: entry.alias.map(GrantHash::of),
            client_id: entry.client_id,
            user_id: entry.user_id,
            payload: &payload,
            issued_at: now,
            expires_at: now.saturating_add(entry.lifetime.whole_seconds()),
        })?;
        if inserted {
            Ok(value)
        } else {
            Err(GrantStateError::AliasInUse)
        }
    }

    /// Reads an entry without changing it (refresh tokens: reusable; device codes: polled).
    pub fn get<T: DeserializeOwned>(&self, kind: GrantKind, by: GrantRef<'_>) -> Result<Lookup<T>, GrantStateError> {
        let stored = self.store.grant(kind, by.key())?;
        self.classify(stored)
    }

    /// Redeems a single-use value (authorization codes; approved device codes): of any number of
    /// concurrent calls, in this process or another on the same data directory, exactly one
    /// gets [`Lookup::Live`]; the others get [`Lookup::Consumed`].
    pub fn take_once<T: DeserializeOwned>(
        &self,
        kind: GrantKind,
        by: GrantRef<'_>,
    ) -> Result<Lookup<T>, GrantStateError> {
        match self.store.take_grant(kind, by.key(), self.clock.unix())? {
            Take::Taken(stored) => Ok(Lookup::Live(grant(stored)?)),
            Take::NotTaken(stored) => self.classify(stored),
        }
    }

    /// Replaces a usable entry's payload and, when given, sets its user (a device code approved
    /// or declined, or its last poll recorded). Returns `false` when no usable entry matches.
    pub fn update<T: Serialize>(
        &self,
        kind: GrantKind,
        by: GrantRef<'_>,
        user_id: Option<ObjectId>,
        payload: &T,
    ) -> Result<bool, GrantStateError> {
        let payload = serde_json::to_string(payload)?;
        Ok(self
            .store
            .update_grant(kind, by.key(), user_id, &payload, self.clock.unix())?)
    }

    /// Revokes everything issued to `subject` so far; later lookups report [`Lookup::Revoked`].
    /// Returns how many entries were revoked.
    pub fn revoke(&self, subject: GrantSubject) -> Result<usize, GrantStateError> {
        Ok(self.store.revoke_grants(subject, self.clock.unix())?)
    }

    /// Deletes entries that expired more than `grace` ago on the clock; returns how many. The
    /// grace keeps recently expired entries, so a late redemption is still told "expired"
    /// rather than "unknown".
    pub fn purge_expired(&self, grace: Duration) -> Result<usize, GrantStateError> {
        let cutoff = self.clock.unix().saturating_sub(grace.whole_seconds());
        Ok(self.store.purge_grants(cutoff)?)
    }

    fn classify<T: DeserializeOwned>(&self, stored: Option<StoredGrant>) -> Result<Lookup<T>, GrantStateError> {
        let Some(stored) = stored else {
            return Ok(Lookup::Unknown);
        };
        let now = self.clock.unix();
        let (revoked, consumed, expired) = (
            stored.revoked_at.is_some(),
            stored.consumed_at.is_some(),
            stored.expires_at <= now,
        );
        let g = grant(stored)?;
        Ok(if revoked {
            Lookup::Revoked(g)
        } else if consumed {
            Lookup::Consumed(g)
        } else if expired {
            Lookup::Expired(g)
        } else {
            Lookup::Live(g)
        })
    }
}

fn grant<T: DeserializeOwned>(stored: StoredGrant) -> Result<Grant<T>, GrantStateError> {
    let time = |t: i64| {
        OffsetDateTime::from_unix_timestamp(t).map_err(|e| StoreError::Corrupt(format!("grant state time: {e}")))
    };
    Ok(Grant {
        kind: stored.kind,
        client_id: stored.client_id,
        user_id: stored.user_id,
        issued_at: time(stored.issued_at)?,
        expires_at: time(stored.expires_at)?,
        payload: serde_json::from_str(&stored.payload)?,
    })
}

#[cfg(test)]
mod tests;
