//! The fingerprint of the fixtures that seeded the database (migration 0005).

use rusqlite::{params, OptionalExtension, Transaction};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Store, StoreResult};
use crate::domain::seed::Seed;

/// What seeded the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedRecord {
    /// [`Seed::fixtures_sha256`] of the world written (empty: unknown).
    pub fixtures_sha256: String,
    /// RFC 3339.
    pub seeded_at: String,
}

/// Records what `seed` came from, inside the transaction that writes its world.
pub(super) fn record(tx: &Transaction<'_>, seed: &Seed) -> StoreResult<()> {
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "unknown".into());
    tx.execute(
        "INSERT INTO seed (id, fixtures_sha256, seeded_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET fixtures_sha256 = excluded.fixtures_sha256, seeded_at = excluded.seeded_at",
        params![seed.fixtures_sha256, now],
    )?;
    Ok(())
}

impl Store {
    /// What seeded the database; `None` for databases seeded before seeds were recorded.
    pub fn seed_record(&self) -> StoreResult<Option<SeedRecord>> {
        let conn = self.conn();
        Ok(conn
            .query_row("SELECT fixtures_sha256, seeded_at FROM seed WHERE id = 1", [], |r| {
                Ok(SeedRecord {
                    fixtures_sha256: r.get(0)?,
                    seeded_at: r.get(1)?,
                })
            })
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fixtures::WorldSpec;

    #[test]
    fn seeding_and_reseeding_record_the_fixtures() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.seed_record().unwrap(), None);
        let default = WorldSpec::default_world();
        store.replace_world(&default.seed().unwrap()).unwrap();
        assert_eq!(
            store.seed_record().unwrap().unwrap().fixtures_sha256,
            default.fingerprint
        );
        let edited = WorldSpec::parse(&format!("{}\n# edited\n", crate::fixtures::DEFAULT_WORLD)).unwrap();
        assert_ne!(edited.fingerprint, default.fingerprint);
        store.replace_world(&edited.seed().unwrap()).unwrap();
        assert_eq!(
            store.seed_record().unwrap().unwrap().fixtures_sha256,
            edited.fingerprint
        );
    }
}
