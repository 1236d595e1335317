//! Shared application state handed to every handler (`web::Data<AppState>`). One per emulator:
//! nothing here is global, so several emulators run side by side in one process.

use std::sync::{Arc, RwLock};

use std::collections::VecDeque;
use std::sync::{Mutex, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;

use crate::authority::verify::TokenCache;
use crate::authority::KeySet;
use crate::clock::Clock;
use crate::domain::rbac::{Rbac, RoleAssignment};
use crate::domain::World;
use crate::fixtures::WorldSpec;
use crate::info::ReadyInfo;
use crate::store::{Store, StoreError, StoreResult};

pub struct AppState {
    pub clock: Clock,
    pub store: Store,
    pub keys: KeySet,
    /// The world loaded at start: `POST /_emulator/reset` returns to it.
    pub spec: WorldSpec,
    /// What the ready file says; `GET /_emulator/info` serves it.
    pub info: ReadyInfo,
    /// With a key set, non-loopback clients may use the control API by presenting it.
    pub admin_key: Option<String>,
    pub rbac_mode: RbacMode,
    /// Verified access tokens, so hot routes skip the RSA work on repeat tokens.
    pub tokens: TokenCache,
    world: RwLock<Arc<World>>,
    rbac: RwLock<Rbac>,
    journal: Mutex<VecDeque<JournalEntry>>,
}

/// Whether RBAC denials are enforced or only recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RbacMode {
    #[default]
    Enforce,
    /// Allow everything, but journal what would have been denied.
    LogOnly,
}

/// A decision worth recording: in log-only mode, each request that enforcement would have denied.
#[derive(Clone, Debug, Serialize)]
pub struct JournalEntry {
    pub time: String,
    pub kind: &'static str,
    pub principal: String,
    pub action: String,
    pub scope: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("The role assignment already exists.")]
    Exists,
    #[error("A role assignment with this name already exists.")]
    NameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Entries kept in the journal; the oldest go first.
const JOURNAL_CAPACITY: usize = 1000;

impl AppState {
    pub fn new(
        clock: Clock,
        store: Store,
        keys: KeySet,
        spec: WorldSpec,
        info: ReadyInfo,
        admin_key: Option<String>,
        rbac_mode: RbacMode,
    ) -> StoreResult<Self> {
        let world = RwLock::new(Arc::new(store.load_world()?));
        let (roles, assignments) = store.load_rbac()?;
        Ok(AppState {
            clock,
            store,
            keys,
            spec,
            info,
            admin_key,
            rbac_mode,
            tokens: TokenCache::new(16_384),
            world,
            rbac: RwLock::new(Rbac::new(roles, assignments)),
            journal: Mutex::new(VecDeque::new()),
        })
    }

    pub fn rbac(&self) -> RwLockReadGuard<'_, Rbac> {
        self.rbac.read().unwrap_or_else(|e| e.into_inner())
    }

    /// For writers: change the database first, then this, while holding the guard, so readers
    /// never see a change the database does not have.
    pub fn rbac_mut(&self) -> RwLockWriteGuard<'_, Rbac> {
        self.rbac.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an assignment: database first, then the index. Refuses duplicates the way ARM does.
    pub fn assign(&self, a: RoleAssignment) -> Result<RoleAssignment, AssignError> {
        let mut rbac = self.rbac_mut();
        if rbac.assignment(a.name).is_some() {
            return Err(AssignError::NameTaken);
        }
        if rbac
            .find_assignment(&a.scope, a.role_definition, a.principal_id)
            .is_some()
        {
            return Err(AssignError::Exists);
        }
        self.store.insert_assignment(&a)?;
        rbac.insert_assignment(a.clone());
        Ok(a)
    }

    /// Removes an assignment; `None` when there was none of that name.
    pub fn unassign(&self, name: uuid::Uuid) -> StoreResult<Option<RoleAssignment>> {
        let mut rbac = self.rbac_mut();
        if rbac.assignment(name).is_none() {
            return Ok(None);
        }
        self.store.delete_assignment(name)?;
        Ok(rbac.remove_assignment(name))
    }

    pub fn record(&self, entry: JournalEntry) {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        if journal.len() == JOURNAL_CAPACITY {
            journal.pop_front();
        }
        journal.push_back(entry);
    }

    pub fn journal(&self) -> Vec<JournalEntry> {
        self.journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// A snapshot of the world; cheap (an `Arc` clone), consistent for the whole request.
    pub fn world(&self) -> Arc<World> {
        self.world.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rebuilds the in-memory index from the database after a committed change.
    pub fn reload_world(&self) -> StoreResult<()> {
        let fresh = Arc::new(self.store.load_world()?);
        *self.world.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    /// Back to the world loaded at start: the database first (one transaction), then the index.
    pub fn reset(&self) -> StoreResult<()> {
        let mut rbac = self.rbac_mut();
        self.store.replace_world(&self.spec)?;
        let (roles, assignments) = self.store.load_rbac()?;
        *rbac = Rbac::new(roles, assignments);
        self.tokens.clear();
        self.reload_world()
    }
}
