//! The decision journal: one entry per token issued or refused by the Entra ID surface, per
//! authenticated (or refused) request on ARM, model management and scoring, and per fault that
//! fired — with the principal, the credential kind, the action and scope, the decision and its
//! reason in words. Bounded (the oldest entries go first; the size is configurable, `serve
//! --journal-size`), filterable, clearable and streamable (server-sent events through
//! [`Journal::subscribe`]); `serve --journal off` records nothing. Never holds a secret or a whole
//! token (a token shows as its `uti`/`jti` and a short hash, [`token_hash`]).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use super::CredentialKind;
use crate::http::surface::{RequestInfo, Surface};

/// What the journal shows of a token: the first 12 hex digits of its SHA-256, so a test can tell
/// which of its tokens an entry is about (`printf %s "$TOKEN" | sha256sum | cut -c1-12`) while the
/// journal never holds one.
pub fn token_hash(token: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token);
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Entries kept by default.
pub const DEFAULT_CAPACITY: usize = 1000;
/// Largest `--journal-size` accepted.
pub const MAX_CAPACITY: usize = 1_000_000;

/// One request's decision.
#[derive(Clone, Debug, Serialize)]
pub struct JournalEntry {
    /// Increasing, unique within this emulator's run.
    pub id: u64,
    pub request_id: Uuid,
    /// Emulator-clock time (RFC 3339): what validators judged expiry by.
    pub time: Stamp,
    /// Wall-clock time (RFC 3339).
    pub wall_time: Stamp,
    pub surface: Surface,
    /// Method and path.
    pub route: String,
    /// The caller's object id, when the credential named one.
    pub principal: Option<String>,
    /// How ARM names the caller (a user's UPN, else the object id; "key holder" for keys).
    pub principal_name: Option<String>,
    /// The user's or application's display name, when the world knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_display_name: Option<String>,
    /// `user`, `service-principal` or `key-holder`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_kind: Option<&'static str>,
    /// The calling application's client id (`appid`/`azp`, or the token request's `client_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    pub credential: Option<CredentialKind>,
    /// The token's `uti` (Entra) or `jti` (Azure ML), never the token.
    pub token_id: Option<String>,
    /// The presented or issued token's [`token_hash`] (Azure ML tokens carry no id claim).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
    pub action: Option<String>,
    pub scope: Option<String>,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// False when `--rbac log-only` let a denial through.
    pub enforced: bool,
    /// `authentication`, `authorization`, `rbac-would-deny` (a denial log-only mode let through),
    /// `token` (the Entra ID surface issued or refused a token) or `fault` (a fault rule fired).
    pub kind: &'static str,
    pub reason: Cow<'static, str>,
    /// The fault rule that fired (kind `fault`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

impl JournalEntry {
    /// An entry for the request `info` at emulator time `now`; the caller fills in the principal,
    /// credential, action and scope it knows.
    pub fn new(
        info: RequestInfo,
        route: String,
        now: OffsetDateTime,
        kind: &'static str,
        allowed: bool,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        JournalEntry {
            id: 0,
            request_id: info.id,
            time: Stamp(now),
            wall_time: Stamp(OffsetDateTime::now_utc()),
            surface: info.surface,
            route,
            principal: None,
            principal_name: None,
            principal_display_name: None,
            principal_kind: None,
            app_id: None,
            credential: None,
            token_id: None,
            token_hash: None,
            action: None,
            scope: None,
            decision: if allowed { "allow" } else { "deny" },
            enforced: true,
            kind,
            reason: reason.into(),
            fault: None,
        }
    }
}

/// A time the journal shows in RFC 3339, formatted only when the entry is read: recording an
/// entry is on every request's path, reading one is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp(pub OffsetDateTime);

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.format(&Rfc3339).unwrap_or_default())
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Which entries a reader wants (`GET /_emulator/journal?decision=&principal=&surface=&kind=&since=&limit=`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// `allow` or `deny`.
    pub decision: Option<String>,
    /// An object id, UPN, display name or client id (case-insensitive).
    pub principal: Option<String>,
    /// A surface name (`aad`, `arm`, `model-management`, `scoring`).
    pub surface: Option<String>,
    /// An entry kind (`token`, `authentication`, `authorization`, `rbac-would-deny`, `fault`).
    pub kind: Option<String>,
    /// Only entries with a larger id.
    pub since: Option<u64>,
    /// At most this many (the newest).
    pub limit: Option<usize>,
}

impl Filter {
    pub fn matches(&self, e: &JournalEntry) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have));
        let principal = self.principal.as_deref().is_none_or(|p| {
            [&e.principal, &e.principal_name, &e.principal_display_name, &e.app_id]
                .iter()
                .any(|v| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(p)))
        });
        eq(&self.decision, e.decision)
            && eq(&self.surface, e.surface.as_ref())
            && eq(&self.kind, e.kind)
            && principal
            && self.since.is_none_or(|s| e.id > s)
    }
}

/// The journal of one emulator.
pub struct Journal {
    entries: Mutex<VecDeque<Arc<JournalEntry>>>,
    capacity: AtomicUsize,
    enabled: AtomicBool,
    next_id: AtomicU64,
    live: tokio::sync::broadcast::Sender<Arc<JournalEntry>>,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        let (live, _) = tokio::sync::broadcast::channel(1024);
        Journal {
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            capacity: AtomicUsize::new(capacity.clamp(1, MAX_CAPACITY)),
            enabled: AtomicBool::new(true),
            next_id: AtomicU64::new(1),
            live,
        }
    }

    /// False with `serve --journal off`: nothing is recorded, and callers may skip building entries.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::Relaxed)
    }

    /// Changes how many entries are kept (1 to [`MAX_CAPACITY`]); the oldest go first.
    pub fn set_capacity(&self, capacity: usize) {
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        self.capacity.store(capacity, Ordering::Relaxed);
        let mut entries = self.lock();
        while entries.len() > capacity {
            entries.pop_front();
        }
    }

    /// Adds an entry (its `id` is assigned here), dropping the oldest when full, and hands it to
    /// live readers.
    pub fn record(&self, mut entry: JournalEntry) {
        if !self.enabled() {
            return;
        }
        entry.id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(entry);
        {
            let mut entries = self.lock();
            if entries.len() >= self.capacity() {
                entries.pop_front();
            }
            entries.push_back(entry.clone());
        }
        // No receiver is fine: nobody is following.
        let _ = self.live.send(entry);
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.select(&Filter::default())
    }

    /// The entries `filter` matches, oldest first (the newest `limit` of them).
    pub fn select(&self, filter: &Filter) -> Vec<JournalEntry> {
        let entries = self.lock();
        let mut out: Vec<JournalEntry> = entries
            .iter()
            .filter(|e| filter.matches(e))
            .map(|e| JournalEntry::clone(e))
            .collect();
        if let Some(limit) = filter.limit {
            let skip = out.len().saturating_sub(limit);
            out.drain(..skip);
        }
        out
    }

    /// Forgets every entry (ids keep increasing).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Entries recorded from now on, for live readers (server-sent events). A reader that falls
    /// more than 1024 entries behind skips ahead.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<JournalEntry>> {
        self.live.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<JournalEntry>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(surface: Surface, allowed: bool) -> JournalEntry {
        let info = RequestInfo {
            id: Uuid::new_v4(),
            surface,
        };
        JournalEntry::new(info, "GET /x".into(), OffsetDateTime::now_utc(), "token", allowed, "r")
    }

    #[test]
    fn bounded_filtered_cleared_and_off() {
        let j = Journal::new(3);
        for i in 0..5 {
            j.record(entry(if i % 2 == 0 { Surface::Aad } else { Surface::Arm }, i != 3));
        }
        let all = j.entries();
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 4, 5]);
        let deny = Filter {
            decision: Some("deny".into()),
            ..Filter::default()
        };
        assert_eq!(j.select(&deny).len(), 1);
        let aad = Filter {
            surface: Some("aad".into()),
            limit: Some(1),
            ..Filter::default()
        };
        assert_eq!(j.select(&aad).iter().map(|e| e.id).collect::<Vec<_>>(), vec![5]);
        j.set_capacity(1);
        assert_eq!(j.entries().len(), 1);
        j.clear();
        assert!(j.entries().is_empty());
        j.set_enabled(false);
        j.record(entry(Surface::Aad, true));
        assert!(j.entries().is_empty());
    }
}
