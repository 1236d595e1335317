//! How many client connections the server holds at once, and one log line when that many are open.
//!
//! Each connection costs a file descriptor. Past the process's descriptor limit (`ulimit -n`),
//! `accept` fails with "Too many open files" and the server answers no one, so the cap is set
//! below it: the limit, minus the descriptors already open, minus room for the server's own
//! (runtimes, SQLite, certificates). At the cap, actix stops accepting; further clients wait in the
//! listen backlog until a connection closes (stalled ones are cut by the request timeouts).
//!
//! The cap assumes this emulator is the process's only big user of descriptors; several emulators
//! in one process (tests) should set `Config::max_connections`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// actix-web's own per-worker default, kept as the ceiling.
const ACTIX_DEFAULT_PER_WORKER: usize = 25_000;
/// Fewer than this and the emulator is not usable anyway.
const MIN_TOTAL: usize = 8;

/// The connection cap, split across workers as actix applies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cap {
    pub per_worker: usize,
    pub total: usize,
    /// The soft descriptor limit it was derived from, if any.
    pub fd_limit: Option<u64>,
}

impl Cap {
    /// `explicit` wins; otherwise derived from the descriptor limit as the module docs say.
    pub fn new(workers: usize, explicit: Option<usize>) -> Cap {
        let workers = workers.max(1);
        let fd_limit = fd_limit();
        let wanted = match (explicit, fd_limit) {
            (Some(n), _) => n,
            (None, Some(limit)) => {
                let reserve = open_descriptors() + 24 + 4 * workers;
                usize::try_from(limit).unwrap_or(usize::MAX).saturating_sub(reserve)
            }
            (None, None) => usize::MAX,
        };
        let per_worker = (wanted.max(MIN_TOTAL) / workers).clamp(1, ACTIX_DEFAULT_PER_WORKER);
        Cap {
            per_worker,
            total: per_worker * workers,
            fd_limit,
        }
    }
}

/// The soft `RLIMIT_NOFILE`; `None` when unlimited or unknown.
#[cfg(unix)]
pub fn fd_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
pub fn fd_limit() -> Option<u64> {
    None
}

/// Descriptors open in this process now (`/dev/fd` on Linux and macOS); a guess elsewhere.
fn open_descriptors() -> usize {
    std::fs::read_dir("/dev/fd").map_or(16, |d| d.count())
}

/// Counts open connections (after the TLS handshake) and warns when the cap is reached, at most
/// once per [`WARN_EVERY`]: a server hovering at the cap logs a line, not a flood.
#[derive(Debug)]
pub struct Tracker {
    cap: Cap,
    open: AtomicUsize,
    last_warning: Mutex<Option<Instant>>,
}

/// The least time between two "connection limit reached" lines.
pub const WARN_EVERY: Duration = Duration::from_secs(60);

impl Tracker {
    pub fn new(cap: Cap) -> Arc<Self> {
        Arc::new(Tracker {
            cap,
            open: AtomicUsize::new(0),
            last_warning: Mutex::new(None),
        })
    }

    /// Call per accepted connection; the connection holds the guard until it closes.
    pub fn opened(self: &Arc<Self>) -> Open {
        let now = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        if now >= self.cap.total && self.due_for_warning() {
            let limit = self.cap.fd_limit.map_or(String::new(), |l| {
                format!(" (file-descriptor limit {l}: raise it with `ulimit -n`)")
            });
            tracing::warn!(
                "connection limit reached: {now} client connections open, the most this emulator accepts{limit}; \
                 new clients wait until one closes, and stalled ones are closed by the request timeout"
            );
        }
        Open(self.clone())
    }

    fn due_for_warning(&self) -> bool {
        let mut last = self.last_warning.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|at| at.elapsed() >= WARN_EVERY);
        if due {
            *last = Some(Instant::now());
        }
        due
    }

    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

/// One open connection; dropping it counts the connection closed.
#[derive(Debug)]
pub struct Open(Arc<Tracker>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_cap_is_split_across_workers() {
        let cap = Cap::new(4, Some(100));
        assert_eq!((cap.per_worker, cap.total), (25, 100));
        assert_eq!(Cap::new(4, Some(0)).total, 8, "never below the usable minimum");
    }

    #[test]
    fn the_derived_cap_stays_below_the_descriptor_limit() {
        let cap = Cap::new(2, None);
        if let Some(limit) = cap.fd_limit {
            assert!((cap.total as u64) < limit.max(MIN_TOTAL as u64 + 1), "{cap:?}");
        }
    }

    #[test]
    fn connections_are_counted_and_the_warning_is_not_repeated_at_once() {
        let t = Tracker::new(Cap::new(1, Some(8)));
        let mut open: Vec<Open> = (0..8).map(|_| t.opened()).collect();
        assert_eq!(t.open_connections(), 8);
        assert!(t.last_warning.lock().unwrap().is_some(), "warned at the cap");
        open.truncate(2);
        assert_eq!(t.open_connections(), 2);
        assert!(!t.due_for_warning(), "not again within a minute");
    }
}
