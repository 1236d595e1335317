//! The half of a start that comes before listening: the data dir (locked and owner-only), the
//! TLS files, the store seeded from the fixtures or checked against them, and the signing keys.
//! `seed` is this half alone, for a new data dir.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::format_description::well_known::Rfc3339;

use super::{Config, StartError, Storage};
use crate::authority::{KeyError, KeySet, SigningKey};
use crate::datadir::DataDir;
use crate::fixtures::startup::{prepare, Given, Prepared};
use crate::store::{self, Store};
use crate::tls::{self, TlsMaterial};

/// What [`open`] opened, for the listener to serve.
pub(super) struct Opened {
    pub dir: PathBuf,
    /// Holds the data dir's lock (none for in-memory storage).
    pub data_dir: Option<DataDir>,
    /// In-memory storage's TLS files, removed with it.
    pub temp: Option<tempfile::TempDir>,
    pub tls: TlsMaterial,
    pub store: Store,
    pub prepared: Prepared,
    pub keys: KeySet,
}

/// Opens what `config` names; a new data dir is seeded from the fixtures and given a signing key.
pub(super) fn open(config: &Config) -> Result<Opened, StartError> {
    let given = Given::read(config.world.as_ref(), config.fixtures.as_deref())?;
    let fresh = !matches!(&config.storage, Storage::Dir(d) if store::exists_in(d));
    // A new store needs a signing key: its prime search (tens of milliseconds) runs on another
    // core while the fixtures are parsed and written.
    let new_key = fresh.then(|| std::thread::spawn(SigningKey::generate));
    // Fixtures are checked before a new data dir is made; an existing one may hold them
    // already, parsed (see `prepare`).
    let parsed = if fresh { Some(given.parse_seeded()?) } else { None };
    // Locked and made owner-only before anything is read or written there.
    let (dir, data_dir, temp) = match &config.storage {
        Storage::Dir(d) => {
            let data_dir = DataDir::open(d)?;
            (data_dir.path().to_path_buf(), Some(data_dir), None)
        }
        Storage::InMemory => {
            let t = tempfile::Builder::new()
                .prefix("azureml-emulator-")
                .tempdir()
                .map_err(|source| dir_err(&std::env::temp_dir(), source))?;
            let path = std::path::absolute(t.path()).map_err(|source| dir_err(t.path(), source))?;
            (path, None, Some(t))
        }
    };
    // Every path handed out is absolute, so it works from any working directory.
    let user_tls = match &config.tls {
        Some((c, k)) => Some((absolute(c)?, absolute(k)?)),
        None => None,
    };
    let tls = tls::prepare(&dir, user_tls.as_ref().map(|(c, k)| (c.as_path(), k.as_path())))?;
    let store = match &config.storage {
        Storage::InMemory => Store::open_in_memory()?,
        Storage::Dir(_) => Store::open(&dir)?,
    };
    let prepared = prepare(&store, given, parsed)?;
    if prepared.fixtures_changed {
        tracing::warn!(
            data_dir = %dir.display(),
            "the fixtures differ from those that seeded this data dir; the stored world is in use. \
             To re-seed from the fixtures loaded now: POST /_emulator/reset, or delete the data dir"
        );
    }
    let keys = load_keys(&store, new_key)?;
    Ok(Opened {
        dir,
        data_dir,
        temp,
        tls,
        store,
        prepared,
        keys,
    })
}

/// Seeds a new data dir from `config`'s fixtures (the world, the signing key, the TLS
/// certificate) and closes it: what `serve` does before it listens, alone. A later start on the
/// directory is a restart. Errors: [`StartError::Seeded`] when the directory holds a database
/// already, [`StartError::SeedNeedsDir`] for in-memory storage, and what a start's first half
/// can fail with.
pub fn seed(config: &Config) -> Result<(), StartError> {
    let Storage::Dir(dir) = &config.storage else {
        return Err(StartError::SeedNeedsDir);
    };
    if store::exists_in(dir) {
        return Err(StartError::Seeded(dir.display().to_string()));
    }
    open(config).map(drop)
}

/// A signing key being generated on its own thread.
type NewKey = std::thread::JoinHandle<Result<crate::store::StoredKey, KeyError>>;

fn absolute(path: &Path) -> Result<PathBuf, StartError> {
    std::path::absolute(path).map_err(|source| dir_err(path, source))
}

fn dir_err(path: &Path, source: std::io::Error) -> StartError {
    StartError::Dir {
        path: path.display().to_string(),
        source,
    }
}

/// The active signing key from the store (on first start the one `new_key` generates, stored),
/// with the keys earlier rotations replaced: published ones, and the ids of retired ones.
fn load_keys(store: &Store, new_key: Option<NewKey>) -> Result<KeySet, StartError> {
    let stored = match store.active_signing_key()? {
        Some(k) => k,
        None => {
            let k = match new_key.map(std::thread::JoinHandle::join) {
                Some(Ok(generated)) => generated?,
                Some(Err(_)) => return Err(KeyError::Generate("the key generation thread panicked".into()).into()),
                None => SigningKey::generate()?,
            };
            let created = time::OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .expect("formattable timestamp");
            store.insert_signing_key(&k, &created)?;
            k
        }
    };
    let mut keys = KeySet::single(SigningKey::from_stored(&stored)?);
    for past in store.past_signing_keys()? {
        match past.retired {
            None => keys.published.push(Arc::new(SigningKey::from_stored(&past.key)?)),
            Some(at) => keys.retired.push((past.key.kid, at)),
        }
    }
    Ok(keys)
}
