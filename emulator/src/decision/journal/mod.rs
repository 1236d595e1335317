//! The decision journal: one entry per token issued or refused by the Entra ID surface, per
//! authenticated (or refused) request on ARM, model management and scoring, and per fault that
//! fired — with the principal, the credential kind, the action and scope, the decision and its
//! reason in words. Bounded (the oldest entries go first; the size is configurable, `serve
//! --journal-size`), filterable, clearable and streamable (server-sent events through
//! [`Journal::subscribe`]); `serve --journal off` records nothing. Never holds a secret or a whole
//! token (a token shows as its `uti`/`jti` and a short hash, [`token_hash`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

mod entry;
pub use entry::{token_hash, EntryView, Field, JournalEntry, Stamp, TokenHash};

/// Entries kept by default.
pub const DEFAULT_CAPACITY: usize = 1000;
/// Largest `--journal-size` accepted.
pub const MAX_CAPACITY: usize = 1_000_000;

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
            [
                Field::Principal,
                Field::PrincipalName,
                Field::PrincipalDisplayName,
                Field::AppId,
            ]
            .into_iter()
            .any(|f| e.get(f).is_some_and(|v| v.eq_ignore_ascii_case(p)))
        });
        eq(&self.decision, e.decision)
            && eq(&self.surface, e.surface.as_ref())
            && eq(&self.kind, e.kind)
            && principal
            && self.since.is_none_or(|s| e.id > s)
    }
}

/// How many parts the journal is kept in. Each thread records into the part its id picks, so
/// two worker threads seldom share a lock or an entry's memory: on two cores a single ring cost
/// a tenth of ARM's and scoring's throughput, bouncing between the cores' caches.
const SHARDS: usize = 4; // [`Journal::shard`] picks one by two bits.

type Ring = VecDeque<Arc<JournalEntry>>;

/// A value alone on its cache lines, so that writing it does not take the line from a core
/// reading its neighbours (two lines: adjacent-line prefetch pairs them).
#[repr(align(128))]
struct Alone<T>(T);

/// The journal of one emulator. Each part keeps up to `capacity` entries, oldest first; readers
/// see the newest `capacity` of all of them. Memory holds at most `SHARDS` × `capacity`
/// entries (as many as threads record into parts, usually the worker count).
pub struct Journal {
    shards: [Alone<Mutex<Ring>>; SHARDS],
    /// The next entry's id, taken under its part's lock, so ids increase within each part.
    next_id: Alone<AtomicU64>,
    capacity: AtomicUsize,
    enabled: AtomicBool,
    live: tokio::sync::broadcast::Sender<Arc<JournalEntry>>,
    /// Live readers now subscribed: with none, recording skips the broadcast channel's lock.
    followers: Arc<AtomicUsize>,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        let (live, _) = tokio::sync::broadcast::channel(1024);
        Journal {
            shards: std::array::from_fn(|_| Alone(Mutex::new(VecDeque::new()))),
            next_id: Alone(AtomicU64::new(1)),
            capacity: AtomicUsize::new(capacity.clamp(1, MAX_CAPACITY)),
            enabled: AtomicBool::new(true),
            live,
            followers: Arc::new(AtomicUsize::new(0)),
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
        for Alone(shard) in &self.shards {
            let mut ring = lock(shard);
            let excess = ring.len().saturating_sub(capacity);
            ring.drain(..excess);
        }
    }

    /// Records one entry, which `fill` writes (starting with [`JournalEntry::begin`]); its `id` is
    /// assigned here. The entry is written in place under its part's lock, which only the
    /// recording thread takes but for a reader's copy: when the part is full its oldest entry
    /// makes room and lends its buffer to the new one, so recording allocates nothing once the
    /// journal has filled. Live readers are handed the entry.
    pub fn record(&self, fill: impl FnOnce(&mut JournalEntry)) {
        if !self.enabled() {
            return;
        }
        let followed = self.followers.load(Ordering::Relaxed) > 0;
        let live = {
            let mut ring = lock(self.shard());
            let oldest = if ring.len() >= self.capacity() {
                ring.pop_front()
            } else {
                None
            };
            // A live reader may still hold the oldest entry: then it is left to them.
            let mut slot = oldest
                .filter(|e| Arc::strong_count(e) == 1)
                .unwrap_or_else(|| Arc::new(JournalEntry::blank()));
            if let Some(entry) = Arc::get_mut(&mut slot) {
                fill(entry);
                entry.id = self.next_id.0.fetch_add(1, Ordering::Relaxed);
            }
            let live = followed.then(|| slot.clone());
            ring.push_back(slot);
            live
        };
        if let Some(entry) = live {
            // No receiver is fine: the last follower just left.
            let _ = self.live.send(entry);
        }
    }

    /// The part the calling thread records into.
    fn shard(&self) -> &Mutex<Ring> {
        use std::hash::{Hash, Hasher};
        let mut hasher = Spread(0);
        std::thread::current().id().hash(&mut hasher);
        // The top two bits: Fibonacci hashing puts consecutive thread ids in different parts.
        &self.shards[(hasher.finish() >> 62) as usize].0
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.select(&Filter::default())
    }

    /// The entries `filter` matches, oldest first (the newest `limit` of them).
    pub fn select(&self, filter: &Filter) -> Vec<JournalEntry> {
        let mut kept: Vec<Arc<JournalEntry>> = Vec::new();
        for Alone(shard) in &self.shards {
            kept.extend(lock(shard).iter().cloned());
        }
        kept.sort_unstable_by_key(|e| e.id);
        let newest = kept.len().saturating_sub(self.capacity());
        let mut out: Vec<JournalEntry> = kept[newest..]
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
        for Alone(shard) in &self.shards {
            lock(shard).clear();
        }
    }

    /// Entries recorded from now on, for live readers (server-sent events). A reader that falls
    /// more than 1024 entries behind skips ahead.
    pub fn subscribe(&self) -> Follower {
        let rx = self.live.subscribe();
        self.followers.fetch_add(1, Ordering::Relaxed);
        Follower {
            rx,
            followers: self.followers.clone(),
        }
    }
}

/// Spreads a thread id (a counter) over the parts: Fibonacci hashing.
struct Spread(u64);

impl std::hash::Hasher for Spread {
    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|b| self.write_u64(u64::from(*b)));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn lock(shard: &Mutex<Ring>) -> std::sync::MutexGuard<'_, Ring> {
    shard.lock().unwrap_or_else(|e| e.into_inner())
}

/// A live reader of the journal ([`Journal::subscribe`]); counted while it lives.
pub struct Follower {
    rx: tokio::sync::broadcast::Receiver<Arc<JournalEntry>>,
    followers: Arc<AtomicUsize>,
}

impl Follower {
    /// The next entry recorded (see [`tokio::sync::broadcast::Receiver::recv`]).
    pub async fn recv(&mut self) -> Result<Arc<JournalEntry>, tokio::sync::broadcast::error::RecvError> {
        self.rx.recv().await
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.followers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::http::surface::{RequestInfo, Surface};
    use uuid::Uuid;

    fn record(j: &Journal, surface: Surface, allowed: bool) {
        let info = RequestInfo {
            id: Uuid::new_v4(),
            surface,
        };
        j.record(|e| {
            e.begin(info, ("GET", "/x"), &Clock::system(), "token", allowed);
            e.set(Field::Reason, "r");
        });
    }

    #[test]
    fn bounded_filtered_cleared_and_off() {
        let j = Journal::new(3);
        for i in 0..5 {
            record(&j, if i % 2 == 0 { Surface::Aad } else { Surface::Arm }, i != 3);
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
        record(&j, Surface::Aad, true);
        assert!(j.entries().is_empty());
    }

    #[test]
    fn threads_record_in_parts_and_readers_see_the_newest_overall() {
        let j = Journal::new(50);
        std::thread::scope(|s| {
            for t in 0..6 {
                let j = &j;
                s.spawn(move || {
                    for _ in 0..40 {
                        record(j, if t % 2 == 0 { Surface::Arm } else { Surface::Scoring }, true);
                    }
                });
            }
        });
        let ids: Vec<u64> = j.entries().iter().map(|e| e.id).collect();
        assert_eq!(ids, (191..=240).collect::<Vec<_>>(), "the newest 50 of 240, in order");
        j.set_capacity(7);
        assert_eq!(
            j.entries().iter().map(|e| e.id).collect::<Vec<_>>(),
            (234..=240).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_reused_entry_keeps_nothing_of_the_one_before() {
        let j = Journal::new(1);
        let info = RequestInfo {
            id: Uuid::new_v4(),
            surface: Surface::Arm,
        };
        j.record(|e| {
            e.begin(info, ("GET", "/first"), &Clock::system(), "authorization", true);
            e.set(Field::Principal, "p");
            e.principal_kind = Some("user");
            e.set(Field::TokenHash, "abc");
            e.set(Field::Fault, "f1");
            e.set(Field::Reason, "first");
        });
        j.record(|e| {
            e.begin(info, ("POST", "/second"), &Clock::system(), "token", false);
            e.set(Field::Reason, "second");
        });
        let json = serde_json::to_value(j.entries()).unwrap();
        let e = &json[0];
        assert_eq!((e["id"].as_u64(), e["route"].as_str()), (Some(2), Some("POST /second")));
        assert!(e["principal"].is_null() && e.get("principal_kind").is_none(), "{e}");
        assert!(e.get("token_hash").is_none() && e.get("fault").is_none(), "{e}");
        assert_eq!(
            (e["decision"].as_str(), e["reason"].as_str()),
            (Some("deny"), Some("second"))
        );
    }

    #[tokio::test]
    async fn followers_get_each_entry_and_are_counted_while_they_live() {
        let j = Journal::new(10);
        record(&j, Surface::Aad, true);
        let mut follower = j.subscribe();
        assert_eq!(j.followers.load(Ordering::Relaxed), 1);
        record(&j, Surface::Arm, false);
        let got = follower.recv().await.unwrap();
        assert_eq!((got.id, got.decision), (2, "deny"));
        drop(follower);
        assert_eq!(j.followers.load(Ordering::Relaxed), 0);
        record(&j, Surface::Arm, true);
        assert_eq!(j.entries().len(), 3);
    }
}
