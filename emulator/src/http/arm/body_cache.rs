//! Rendered workspace bodies, kept for the world snapshot they were rendered from.
//!
//! A workspace's ARM body is a pure function of the world snapshot (the workspace, its
//! subscription's tenant, its identities and linked resources), of the api-version's shape group
//! ([`Era`]), of the `provisioningState` a running operation gives it, and of the origin the
//! request reached (every URL in the body starts with it). Rendering it was a fifth of an ARM
//! `GET workspace`; a hit copies the bytes instead (a few hundred instructions for ~2.5 KB).
//!
//! Entries name the snapshot by its [`World::generation`]: [`AppState::publish_world`] numbers
//! each snapshot it publishes one above the last, under the world's write lock, so a number is
//! never given twice within an emulator and no entry outlives the world it shows: a write
//! publishes a new generation and every older entry stops matching. The cache is a fixed array
//! of slots (direct-mapped by workspace), each read through `arc-swap`, so a hit takes no lock
//! and writes no shared cache line.
//!
//! [`World::generation`]: crate::domain::World::generation
//! [`AppState::publish_world`]: crate::state::AppState

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use uuid::Uuid;

/// Slots; a world with more workspaces than this shares slots (a miss renders, as before).
const SLOTS: usize = 64;

/// Which api-version shape group a body has: the number of `workspace_view.rs`'s
/// `SHAPE_GROUPS` dates the requested api-version reaches, 0 to 3.
pub(super) type Era = u8;

/// What a rendered body depends on besides the workspace itself.
#[derive(Clone, Copy)]
pub(super) struct BodyKey<'a> {
    /// [`crate::domain::World::generation`] of the snapshot rendered from.
    pub generation: u64,
    pub workspace: Uuid,
    pub era: Era,
    pub state: &'static str,
    pub base: &'a str,
}

struct Entry {
    generation: u64,
    workspace: Uuid,
    era: Era,
    state: &'static str,
    base: Box<str>,
    body: Box<[u8]>,
}

impl Entry {
    fn is(&self, key: &BodyKey<'_>) -> bool {
        self.generation == key.generation
            && self.workspace == key.workspace
            && self.era == key.era
            && self.state == key.state
            && *self.base == *key.base
    }
}

/// See the module documentation. One per emulator ([`crate::state::AppState`]).
pub struct BodyCache {
    slots: Box<[ArcSwapOption<Entry>]>,
}

impl Default for BodyCache {
    fn default() -> Self {
        BodyCache {
            slots: (0..SLOTS).map(|_| ArcSwapOption::empty()).collect(),
        }
    }
}

impl BodyCache {
    /// Appends the body for `key` to `out`: the kept copy, or what `render` writes (then kept).
    pub(super) fn write(&self, key: BodyKey<'_>, out: &mut Vec<u8>, render: impl FnOnce(&mut Vec<u8>)) {
        let slot = &self.slots[slot_of(&key)];
        if let Some(entry) = slot.load().as_ref().filter(|e| e.is(&key)) {
            out.extend_from_slice(&entry.body);
            return;
        }
        let start = out.len();
        render(out);
        slot.store(Some(Arc::new(Entry {
            generation: key.generation,
            workspace: key.workspace,
            era: key.era,
            state: key.state,
            base: key.base.into(),
            body: out[start..].into(),
        })));
    }
}

fn slot_of(key: &BodyKey<'_>) -> usize {
    let (high, low) = key.workspace.as_u64_pair();
    ((high ^ low ^ u64::from(key.era)) % SLOTS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(generation: u64, era: Era, state: &'static str, base: &'static str) -> BodyKey<'static> {
        BodyKey {
            generation,
            workspace: Uuid::from_u128(7),
            era,
            state,
            base,
        }
    }

    /// Writes through the cache and tells whether `render` ran.
    fn rendered(cache: &BodyCache, key: BodyKey<'_>, body: &[u8]) -> (bool, Vec<u8>) {
        let mut out = b"[".to_vec();
        let mut ran = false;
        cache.write(key, &mut out, |o| {
            ran = true;
            o.extend_from_slice(body);
        });
        (ran, out)
    }

    #[test]
    fn a_body_is_kept_for_its_snapshot_shape_state_and_origin_only() {
        let cache = BodyCache::default();
        let base = "https://127.0.0.1:8443";
        assert_eq!(
            rendered(&cache, key(1, 3, "Succeeded", base), b"a"),
            (true, b"[a".to_vec())
        );
        assert_eq!(
            rendered(&cache, key(1, 3, "Succeeded", base), b"x"),
            (false, b"[a".to_vec())
        );
        // Another snapshot, shape group, state or origin renders anew.
        for other in [
            key(2, 3, "Succeeded", base),
            key(2, 2, "Succeeded", base),
            key(2, 2, "Updating", base),
            key(2, 2, "Updating", "https://localhost:8443"),
        ] {
            assert_eq!(rendered(&cache, other, b"b"), (true, b"[b".to_vec()));
            assert_eq!(rendered(&cache, other, b"x"), (false, b"[b".to_vec()));
        }
    }
}
