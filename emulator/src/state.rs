//! Shared application state handed to every handler (`web::Data<AppState>`). One per emulator:
//! nothing here is global, so several emulators run side by side in one process.

use std::sync::{Arc, RwLock};

use std::collections::VecDeque;
use std::sync::{Mutex, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;

use std::collections::HashMap;

use uuid::Uuid;

use crate::authority::aml::AmlClaims;
use crate::authority::verify::TokenCache;
use crate::authority::{KeySet, SigningKey};
use crate::clock::Clock;
use crate::domain::rbac::{Rbac, RoleAssignment};
use crate::domain::World;
use crate::fixtures::WorldSpec;
use crate::info::ReadyInfo;
use crate::store::{Store, StoreError, StoreResult};

pub struct AppState {
    /// The configured origins: every minted URL and every "this emulator" audience comes from here.
    pub origins: crate::origins::Origins,
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
    /// Verified Azure ML tokens (scoring).
    pub aml_tokens: TokenCache<AmlClaims>,
    world: RwLock<Arc<World>>,
    rbac: RwLock<Rbac>,
    /// One entry per decided request (ARM, model management, scoring).
    pub journal: crate::decision::Journal,
    /// Per-workspace signing keys of Azure ML tokens, by workspace id and by kid.
    workspace_keys: Mutex<HashMap<Uuid, Arc<SigningKey>>>,
    aml_kids: RwLock<HashMap<String, Arc<SigningKey>>>,
    /// Finished long-running operations (key regeneration), for their status routes.
    operations: Mutex<VecDeque<(Uuid, serde_json::Value)>>,
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

#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("The role assignment already exists.")]
    Exists,
    #[error("A role assignment with this name already exists.")]
    NameTaken,
    #[error("The role definition is not available for assignment at this scope (see its assignableScopes).")]
    NotAssignable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        origins: crate::origins::Origins,
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
        let mut workspace_keys = HashMap::new();
        let mut aml_kids = HashMap::new();
        for (workspace, stored) in store.workspace_keys()? {
            let key = Arc::new(SigningKey::from_stored(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?);
            aml_kids.insert(key.kid.clone(), key.clone());
            workspace_keys.insert(workspace, key);
        }
        Ok(AppState {
            aml_tokens: TokenCache::new(16_384),
            workspace_keys: Mutex::new(workspace_keys),
            aml_kids: RwLock::new(aml_kids),
            operations: Mutex::new(VecDeque::new()),
            origins,
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
            journal: crate::decision::Journal::new(crate::decision::journal::DEFAULT_CAPACITY),
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
        let assignable = rbac.role(a.role_definition).is_some_and(|r| {
            r.assignable_scopes
                .iter()
                .any(|s| crate::domain::scope::Scope::parse(s).is_ok_and(|s| a.scope.is_within(&s)))
        });
        if !assignable {
            return Err(AssignError::NotAssignable);
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

    /// The workspace's Azure ML token key, generated and persisted on first use.
    pub fn workspace_key(&self, workspace_id: Uuid) -> Result<Arc<SigningKey>, String> {
        let mut keys = self.workspace_keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = keys.get(&workspace_id) {
            return Ok(k.clone());
        }
        let stored = SigningKey::generate().map_err(|e| e.to_string())?;
        self.store
            .insert_workspace_key(workspace_id, &stored)
            .map_err(|e| e.to_string())?;
        // Another emulator on the same data dir may have won the race: use what is stored.
        let stored = self
            .store
            .workspace_key(workspace_id)
            .map_err(|e| e.to_string())?
            .unwrap_or(stored);
        let key = Arc::new(SigningKey::from_stored(&stored).map_err(|e| e.to_string())?);
        self.aml_kids
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.kid.clone(), key.clone());
        keys.insert(workspace_id, key.clone());
        Ok(key)
    }

    pub fn aml_key(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.aml_kids
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .cloned()
    }

    /// Remembers a finished operation (the last 1,000).
    pub fn record_operation(&self, id: Uuid, status: serde_json::Value) {
        let mut ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        if ops.len() == 1000 {
            ops.pop_front();
        }
        ops.push_back((id, status));
    }

    pub fn operation(&self, id: Uuid) -> Option<serde_json::Value> {
        let ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        ops.iter().find(|(i, _)| *i == id).map(|(_, v)| v.clone())
    }

    /// After a service or endpoint changed (keys, auth mode, deletion): reload the index and forget
    /// verified tokens, so nothing cached outlives what it opened.
    pub fn services_changed(&self) -> StoreResult<()> {
        self.aml_tokens.clear();
        self.reload_world()
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
        self.aml_tokens.clear();
        self.reload_world()
    }
}
