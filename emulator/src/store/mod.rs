//! Persistence: SQLite through rusqlite, embedded migrations, one repository module per aggregate.
//! SQL stays in this folder; callers get domain types.

mod directory;
mod fixtures;
mod grant_state;
mod identities;
mod keys;
mod lifecycle;
mod rbac;
mod resources;
mod seed;
mod services;
mod world;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

pub use grant_state::{GrantKey, NewGrant, StoredGrant, Take};
pub use identities::Replay;
pub use keys::{PastKey, StoredKey};
pub use seed::SeedRecord;
pub use services::Scored;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot create the database file {path}: {source}")]
    File { path: String, source: std::io::Error },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database's file name in the data dir.
pub const DB_FILE: &str = "emulator.sqlite3";

/// Whether the data dir `dir` holds a database already (a start there is a restart).
pub fn exists_in(dir: &Path) -> bool {
    dir.join(DB_FILE).exists()
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/0001_world.sql")),
        M::up(include_str!("../../migrations/0002_rbac.sql")),
        M::up(include_str!("../../migrations/0003_services.sql")),
        M::up(include_str!("../../migrations/0004_grant_state.sql")),
        M::up(include_str!("../../migrations/0005_seed.sql")),
        M::up(include_str!("../../migrations/0006_users_groups.sql")),
        M::up(include_str!("../../migrations/0007_credentials_identities.sql")),
        M::up(include_str!("../../migrations/0008_faults_keys.sql")),
        M::up(include_str!("../../migrations/0009_wire_fidelity.sql")),
        M::up(include_str!("../../migrations/0010_fixtures.sql")),
        M::up(include_str!("../../migrations/0011_grant_state_writes.sql")),
    ])
}

/// The database handle. Writes are rare (reset, admin changes), so one connection behind a mutex
/// is plenty; hot paths read the in-memory [`crate::domain::World`] instead.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database file in `dir`, in WAL mode, migrated to the latest schema.
    /// The file is created owner-only (0600) first: SQLite gives its `-wal` and `-shm` files the
    /// database file's mode, and the database holds signing keys and service keys.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        let path = dir.join(DB_FILE);
        crate::datadir::create_private(&path).map_err(|source| StoreError::File {
            path: path.display().to_string(),
            source,
        })?;
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Checkpoints every 10,000 WAL pages (40 MiB) instead of SQLite's 1,000: every refresh
        // token or code issued is a commit, and a checkpoint copies each page it wrote (and syncs
        // the files); further apart, a page written by many commits is copied once. Refresh-token
        // redemptions per CPU-second: +10 %. A clean shutdown still checkpoints and removes the
        // WAL; after a kill the next open reads it back (tens of milliseconds at the most).
        conn.pragma_update(None, "wal_autocheckpoint", 10000)?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> StoreResult<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> StoreResult<Self> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations().to_latest(&mut conn)?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back), so carry on.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }
}
