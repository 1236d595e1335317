//! The start-up parts of the fixture texts the emulator started with (migration 0010), so a
//! restart on unchanged fixtures need not parse them. They hold no secret.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreResult};

impl Store {
    /// Remembers the start-up part (JSON) of a fixture text, unless it is known already.
    pub fn remember_fixtures(&self, fingerprint: &str, startup: &str) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO fixtures (fingerprint, startup) VALUES (?1, ?2) ON CONFLICT (fingerprint) DO NOTHING",
            params![fingerprint, startup],
        )?;
        Ok(())
    }

    /// The start-up part (JSON) of the fixture text with this fingerprint.
    pub fn fixtures_startup(&self, fingerprint: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT startup FROM fixtures WHERE fingerprint = ?1",
                [fingerprint],
                |r| r.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_kept_once_by_fingerprint() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.fixtures_startup("f").unwrap(), None);
        store.remember_fixtures("f", "{}").unwrap();
        store.remember_fixtures("f", "[]").unwrap();
        assert_eq!(store.fixtures_startup("f").unwrap().as_deref(), Some("{}"));
    }
}
