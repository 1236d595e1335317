//! Long-running operations: what ARM's asynchronous pattern reports while a write "runs".
//!
//! The write itself is done (and durable) when the 202/201 is sent; the operation is how long
//! Azure would take, on the emulator clock: until it completes, polls of its status say it is
//! in progress and the resource's `provisioningState` says `Creating`, `Updating` or `Deleting`
//! (a deleted resource is still shown, `Deleting`, from the snapshot kept here). Operations live
//! in memory, most recent [`CAPACITY`] kept (finished ones are forgotten first); a poll of an
//! operation the emulator no longer knows (after a restart) is answered by the route as Azure
//! answers an unknown one.

use std::collections::VecDeque;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use super::services::OnlineEndpoint;
use super::world::{ResourceGroup, Workspace};

/// How many operations are remembered.
pub const CAPACITY: usize = 4096;

/// What the operation does to its resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Delete,
    /// Key regeneration: the resource itself stays `Succeeded`.
    RegenerateKeys,
}

impl Change {
    /// The resource's `provisioningState` while the operation runs.
    pub fn provisioning_state(self) -> Option<&'static str> {
        match self {
            Change::Create => Some("Creating"),
            Change::Update => Some("Updating"),
            Change::Delete => Some("Deleting"),
            Change::RegenerateKeys => None,
        }
    }
}

/// A deleted resource as it was, shown `Deleting` until its operation completes.
#[derive(Clone, Debug)]
pub enum Snapshot {
    ResourceGroup(ResourceGroup),
    Workspace(Workspace),
    Endpoint(OnlineEndpoint),
}

#[derive(Clone, Debug)]
pub struct Operation {
    /// The id its polling URLs carry (opaque to clients).
    pub id: String,
    /// The ARM id of the resource, compared case-insensitively.
    pub resource: String,
    pub change: Change,
    pub started: OffsetDateTime,
    pub completes: OffsetDateTime,
    pub snapshot: Option<Snapshot>,
}

impl Operation {
    pub fn done(&self, now: OffsetDateTime) -> bool {
        now >= self.completes
    }

    /// Share of the duration elapsed at `now`, 0–100.
    pub fn percent(&self, now: OffsetDateTime) -> f64 {
        let total = (self.completes - self.started).as_seconds_f64();
        if total <= 0.0 || self.done(now) {
            return 100.0;
        }
        ((now - self.started).as_seconds_f64() / total * 100.0)
            .clamp(0.0, 99.0)
            .floor()
    }

    /// Whole seconds left at `now` (0 once done).
    pub fn remaining_seconds(&self, now: OffsetDateTime) -> i64 {
        let left = (self.completes - now).as_seconds_f64();
        if left <= 0.0 {
            0
        } else {
            left.ceil() as i64
        }
    }
}

/// The operations of one emulator.
pub struct Operations {
    duration: Duration,
    ops: Mutex<VecDeque<Operation>>,
}

impl Operations {
    /// Operations that take `duration` of emulator time.
    pub fn new(duration: Duration) -> Self {
        Operations {
            duration,
            ops: Mutex::new(VecDeque::new()),
        }
    }

    pub fn duration(&self) -> Duration {
        self.duration
    }

    fn ops(&self) -> std::sync::MutexGuard<'_, VecDeque<Operation>> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an operation at `now`; one with the same id (ARM reuses a resource group's deletion
    /// job id) is replaced. Forgets the oldest finished operation (else the oldest) past capacity.
    pub fn start(
        &self,
        id: String,
        resource: String,
        change: Change,
        snapshot: Option<Snapshot>,
        now: OffsetDateTime,
    ) -> Operation {
        let op = Operation {
            id,
            resource,
            change,
            started: now,
            completes: now + self.duration,
            snapshot,
        };
        let mut ops = self.ops();
        ops.retain(|o| o.id != op.id);
        if ops.len() >= CAPACITY {
            let victim = ops.iter().position(|o| o.done(now)).unwrap_or(0);
            ops.remove(victim);
        }
        ops.push_back(op.clone());
        op
    }

    /// Forgets every operation, running or finished (a reset: the world they changed is gone).
    pub fn clear(&self) {
        self.ops().clear();
    }

    pub fn get(&self, id: &str) -> Option<Operation> {
        self.ops().iter().find(|o| o.id == id).cloned()
    }

    /// The change of the latest operation still running at `now` on the resource `resource()`
    /// names. The id is asked for only while some operation runs: every GET shows a provisioning
    /// state, and formatting the id for an empty list was most of a workspace GET's lookup.
    pub fn running_change(&self, resource: impl FnOnce() -> String, now: OffsetDateTime) -> Option<Change> {
        let ops = self.ops();
        if ops.iter().all(|o| o.done(now)) {
            return None;
        }
        latest_running(&ops, &resource(), now).map(|o| o.change)
    }

    /// The latest operation on `resource` still running at `now`.
    pub fn running_on(&self, resource: &str, now: OffsetDateTime) -> Option<Operation> {
        latest_running(&self.ops(), resource, now).cloned()
    }
}

fn latest_running<'a>(ops: &'a VecDeque<Operation>, resource: &str, now: OffsetDateTime) -> Option<&'a Operation> {
    ops.iter()
        .rev()
        .find(|o| !o.done(now) && o.resource.eq_ignore_ascii_case(resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_on_the_clock_and_capacity() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let ops = Operations::new(Duration::seconds(10));
        let op = ops.start("a".into(), "/x/R".into(), Change::Create, None, t0);
        assert!(!op.done(t0) && op.done(t0 + Duration::seconds(10)));
        assert_eq!(op.percent(t0 + Duration::seconds(5)), 50.0);
        assert_eq!(op.remaining_seconds(t0 + Duration::milliseconds(500)), 10);
        assert_eq!(ops.running_on("/X/r", t0).map(|o| o.id), Some("a".into()));
        assert!(ops.running_on("/x/r", t0 + Duration::seconds(11)).is_none());
        // Same id: replaced.
        ops.start("a".into(), "/x/r".into(), Change::Delete, None, t0);
        assert_eq!(ops.get("a").unwrap().change, Change::Delete);
        for i in 0..CAPACITY {
            ops.start(
                format!("n{i}"),
                "/y".into(),
                Change::Update,
                None,
                t0 + Duration::seconds(100),
            );
        }
        // The finished "a" went first; the oldest running ones after.
        assert!(ops.get("a").is_none());
        assert_eq!(ops.ops().len(), CAPACITY);
        let zero = Operations::new(Duration::ZERO);
        let op = zero.start("z".into(), "/z".into(), Change::Delete, None, t0);
        assert!(op.done(t0));
        assert_eq!(op.percent(t0), 100.0);
    }
}
