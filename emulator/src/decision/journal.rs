//! The decision journal: one entry per authenticated (or refused) request on ARM, model
//! management and scoring, with the principal, the action and scope, the decision and its reason.
//! Bounded: the oldest entries go first. Never holds a secret or a whole token (a token shows as
//! its `uti`/`jti`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use uuid::Uuid;

use super::CredentialKind;
use crate::http::surface::Surface;

/// Entries kept by default.
pub const DEFAULT_CAPACITY: usize = 1000;

/// One request's decision.
#[derive(Clone, Debug, Serialize)]
pub struct JournalEntry {
    /// Increasing, unique within this emulator's run.
    pub id: u64,
    pub request_id: Uuid,
    /// Emulator-clock time (RFC 3339): what validators judged expiry by.
    pub time: String,
    /// Wall-clock time (RFC 3339).
    pub wall_time: String,
    pub surface: Surface,
    /// Method and path.
    pub route: String,
    /// The caller's object id, when the credential named one.
    pub principal: Option<String>,
    /// How ARM names the caller (a user's UPN, else the object id; "key holder" for keys).
    pub principal_name: Option<String>,
    pub credential: Option<CredentialKind>,
    /// The token's `uti` (Entra) or `jti` (Azure ML), never the token.
    pub token_id: Option<String>,
    pub action: Option<String>,
    pub scope: Option<String>,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// False when `--rbac log-only` let a denial through.
    pub enforced: bool,
    /// `authentication`, `authorization`, or `rbac-would-deny` (a denial log-only mode let through).
    pub kind: &'static str,
    pub reason: String,
}

/// The journal of one emulator.
pub struct Journal {
    entries: Mutex<VecDeque<JournalEntry>>,
    capacity: usize,
    next_id: AtomicU64,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Journal {
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            capacity: capacity.max(1),
            next_id: AtomicU64::new(1),
        }
    }

    /// Adds an entry (its `id` is assigned here), dropping the oldest when full.
    pub fn record(&self, mut entry: JournalEntry) {
        entry.id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}
