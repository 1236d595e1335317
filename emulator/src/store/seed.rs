//! The fingerprint of the fixtures that seeded the database (migration 0004).

use rusqlite::{params, OptionalExtension, Transaction};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Store, StoreResult};
use crate::fixtures::WorldSpec;

/// What seeded the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seed {
    /// [`WorldSpec::fingerprint`] of the fixtures.
    pub fixtures_sha256: String,
    /// RFC 3339.
    pub seeded_at: String,
}

/// Records `spec` as the seed, inside the transaction that writes its world.
pub(super) fn record(tx: &Transaction<'_>, spec: &WorldSpec) -> StoreResult<()> {
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "unknown".into());
    tx.execute(
        "INSERT INTO seed (id, fixtures_sha256, seeded_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET fixtures_sha256 = excluded.fixtures_sha256, seeded_at = excluded.seeded_at",
        params![spec.fingerprint, now],
    )?;
    Ok(())
}

impl Store {
    /// What seeded the database; `None` for databases seeded before seeds were recorded.
    pub fn seed(&self) -> StoreResult<Option<Seed>> {
        let conn = self.conn();
        Ok(conn
            .query_row("SELECT fixtures_sha256, seeded_at FROM seed WHERE id = 1", [], |r| {
                Ok(Seed {
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

    #[test]
    fn seeding_and_reseeding_record_the_fixtures() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.seed().unwrap(), None);
        let default = WorldSpec::default_world();
        store.replace_world(&default).unwrap();
        assert_eq!(store.seed().unwrap().unwrap().fixtures_sha256, default.fingerprint);
        let edited = WorldSpec::parse(&format!("{}\n# edited\n", crate::fixtures::DEFAULT_WORLD)).unwrap();
        assert_ne!(edited.fingerprint, default.fingerprint);
        store.replace_world(&edited).unwrap();
        assert_eq!(store.seed().unwrap().unwrap().fixtures_sha256, edited.fingerprint);
    }
}
