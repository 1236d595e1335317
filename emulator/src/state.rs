//! Shared application state handed to every handler (`web::Data<AppState>`). One per emulator:
//! nothing here is global, so several emulators run side by side in one process.
//!
//! Reads take snapshots ([`AppState::world`], [`AppState::rbac`]); every write goes through the
//! service layer ([`crate::service`]), which holds [`AppState::writer`] so the database and the
//! in-memory index change in the same order for every writer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;
use uuid::Uuid;

use crate::authority::aml::{AmlClaims, WorkspaceKeys};
use crate::authority::verify::TokenCache;
use crate::authority::{KeySet, SigningKey};
use crate::clock::Clock;
use crate::decision::Journal;
use crate::domain::operations::Operations;
use crate::domain::rbac::Rbac;
use crate::domain::World;
use crate::fixtures::startup::WorldSource;
use crate::fixtures::WorldSpec;
use crate::info::ReadyInfo;
use crate::store::{Store, StoreError, StoreResult};

pub struct AppState {
    /// The configured origins: every minted URL and every "this emulator" audience comes from here.
    pub origins: crate::origins::Origins,
    pub clock: Clock,
    pub store: Store,
    /// The authority's signing keys: swapped whole on rotation (see [`AppState::keys`]).
    keys: RwLock<Arc<KeySet>>,
    /// A key never published: what `unknown-kid` faults and forged tokens sign with. Made on
    /// first use (off the async workers).
    unpublished: Mutex<Option<Arc<SigningKey>>>,
    /// Fault rules ([`crate::faults`]).
    pub faults: crate::faults::Faults,
    /// Propagation delay, lifetime jitter, region latency ([`crate::settings`]).
    pub settings: crate::settings::Settings,
    /// Where the world loaded at start is found: `POST /_emulator/reset` returns to it.
    pub source: WorldSource,
    /// What the ready file says; `GET /_emulator/info` serves it.
    pub info: ReadyInfo,
    /// With a key set, non-loopback clients may use the control API by presenting it.
    pub admin_key: Option<String>,
    pub rbac_mode: RbacMode,
    /// Verified access tokens, so hot routes skip the RSA work on repeat tokens.
    pub tokens: TokenCache,
    /// Verified Azure ML tokens (scoring).
    pub aml_tokens: TokenCache<AmlClaims>,
    /// Per-workspace signing keys of Azure ML tokens.
    pub aml_keys: WorkspaceKeys,
    /// One entry per token issued or refused, per decided request (ARM, model management,
    /// scoring) and per fault that fired.
    pub journal: Journal,
    /// The named test OIDC issuers (workload identity federation offline).
    pub issuers: crate::authority::issuers::TestIssuers,
    /// Keys the managed-identity endpoints' host ids and secrets (generated once per data dir).
    pub msi_key: Vec<u8>,
    /// Sign-in sessions of the sign-in page (SSO cookie).
    pub sessions: crate::authority::sessions::Sessions,
    /// Device-code polls (for `slow_down`).
    pub device_polls: crate::authority::grants::device_code::DevicePolls,
    /// Auto sign-in for CI: `/authorize` and device codes complete at once as this user.
    auto_sign_in: RwLock<Option<crate::domain::ObjectId>>,
    world: RwLock<Arc<World>>,
    /// Workspace bodies rendered from the world (`http/arm/body_cache.rs`).
    pub(crate) workspace_bodies: crate::http::arm::BodyCache,
    rbac: RwLock<Rbac>,
    /// Set while role-assignment changes wait for their effective time (propagation delay).
    rbac_pending: std::sync::atomic::AtomicBool,
    /// Held by every writer for the whole write (database, then index).
    writes: Mutex<()>,
    /// Finished long-running operations (key regeneration), for their status routes.
    operations: Mutex<VecDeque<(Uuid, serde_json::Value)>>,
    /// ARM's long-running operations, progressing on the clock.
    pub lro: Operations,
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

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        origins: crate::origins::Origins,
        clock: Clock,
        store: Store,
        keys: KeySet,
        spec: &WorldSpec,
        source: WorldSource,
        info: ReadyInfo,
        admin_key: Option<String>,
        rbac_mode: RbacMode,
        lro: time::Duration,
    ) -> StoreResult<Self> {
        let world = RwLock::new(Arc::new(store.load_world()?));
        let rbac = store.load_rbac()?;
        let aml_keys = WorkspaceKeys::load(&store).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let issuers =
            crate::authority::issuers::TestIssuers::load(&store).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let msi_key = store.emulator_secret("msi", || rand::random::<[u8; 32]>().to_vec())?;
        let faults = crate::faults::Faults::new(&spec.faults, clock.now()).map_err(StoreError::Corrupt)?;
        let settings = crate::settings::Settings::new(&spec.settings).map_err(StoreError::Corrupt)?;
        Ok(AppState {
            faults,
            settings,
            unpublished: Mutex::new(None),
            aml_tokens: TokenCache::new(4096),
            aml_keys,
            operations: Mutex::new(VecDeque::new()),
            lro: Operations::new(lro),
            origins,
            clock,
            store,
            keys: RwLock::new(Arc::new(keys)),
            source,
            info,
            admin_key,
            rbac_mode,
            tokens: TokenCache::new(4096),
            world,
            workspace_bodies: Default::default(),
            rbac: RwLock::new(rbac),
            rbac_pending: std::sync::atomic::AtomicBool::new(false),
            writes: Mutex::new(()),
            journal: Journal::new(crate::decision::journal::DEFAULT_CAPACITY),
            issuers,
            msi_key,
            sessions: Default::default(),
            device_polls: Default::default(),
            auto_sign_in: RwLock::new(None),
        })
    }

    /// The authority's keys as they stand; a request holds one set for its whole life.
    pub fn keys(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the key set (after the database committed the change).
    pub(crate) fn publish_keys(&self, keys: KeySet) {
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
    }

    /// The never-published key, generated on first use. Blocking (RSA key generation): call it
    /// off the async workers, or after [`AppState::has_unpublished_key`].
    pub fn unpublished_key(&self) -> Result<Arc<SigningKey>, crate::authority::KeyError> {
        let mut slot = self.unpublished.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = slot.as_ref() {
            return Ok(k.clone());
        }
        let key = Arc::new(SigningKey::from_stored(&SigningKey::generate()?)?);
        *slot = Some(key.clone());
        Ok(key)
    }

    /// The never-published key when it was made already.
    pub fn has_unpublished_key(&self) -> Option<Arc<SigningKey>> {
        self.unpublished.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A snapshot of RBAC for one decision (held briefly: writers wait for it). Role-assignment
    /// changes whose propagation delay has passed on the emulator clock are applied first.
    pub fn rbac(&self) -> RwLockReadGuard<'_, Rbac> {
        use std::sync::atomic::Ordering;
        if self.rbac_pending.load(Ordering::Acquire) {
            let mut rbac = self.rbac.write().unwrap_or_else(|e| e.into_inner());
            let waiting = rbac.settle(self.clock.now());
            self.rbac_pending.store(waiting, Ordering::Release);
        }
        self.rbac.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Called after an RBAC write: whether changes wait for their effective time.
    pub(crate) fn note_rbac_pending(&self) {
        let waiting = self.rbac.read().unwrap_or_else(|e| e.into_inner()).has_pending();
        self.rbac_pending.store(waiting, std::sync::atomic::Ordering::Release);
    }

    /// A snapshot of the world; cheap (an `Arc` clone), consistent for the whole request.
    pub fn world(&self) -> Arc<World> {
        self.world.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The key verifying Azure ML tokens with this `kid`.
    pub fn aml_key(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.aml_keys.by_kid(kid)
    }

    /// Exclusive write access: see [`crate::service::Writer`].
    pub fn writer(&self) -> crate::service::Writer<'_> {
        crate::service::Writer {
            state: self,
            _lock: self.writes.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Publishes `world` as the next generation ([`World::generation`]).
    pub(crate) fn publish_world(&self, mut world: World) {
        let mut current = self.world.write().unwrap_or_else(|e| e.into_inner());
        world.set_generation(current.generation() + 1);
        *current = Arc::new(world);
    }

    pub(crate) fn rbac_mut(&self, _writer: &MutexGuard<'_, ()>) -> RwLockWriteGuard<'_, Rbac> {
        self.rbac.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The user interactive sign-ins complete as at once, if auto sign-in is on.
    pub fn auto_sign_in(&self) -> Option<crate::domain::ObjectId> {
        *self.auto_sign_in.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Turns auto sign-in on (as `user`) or off.
    pub fn set_auto_sign_in(&self, user: Option<crate::domain::ObjectId>) {
        *self.auto_sign_in.write().unwrap_or_else(|e| e.into_inner()) = user;
    }

    /// Grant state (codes, refresh tokens, device codes) on this emulator's clock. Blocks on
    /// SQLite: use it off the async workers.
    pub fn grant_state(&self) -> crate::authority::grant_state::GrantState<'_> {
        crate::authority::grant_state::GrantState::new(&self.store, &self.clock)
    }

    /// What grants read: the world snapshot, keys, clock, origins and grant state.
    pub fn grant_context<'a>(
        &'a self,
        world: &'a World,
        origin: &'a str,
        keys: &'a crate::authority::KeySet,
    ) -> crate::authority::grants::GrantContext<'a> {
        crate::authority::grants::GrantContext {
            world,
            keys,
            now: self.clock.now(),
            origins: &self.origins,
            origin,
            grant_state: self.grant_state(),
            device_polls: &self.device_polls,
            auto_sign_in: self.auto_sign_in(),
            issuers: &self.issuers,
            store: &self.store,
            jittered_lifetime: self.settings.jittered_lifetime(),
        }
    }

    /// Remembers a finished operation (the last 1,000).
    pub fn record_operation(&self, id: Uuid, status: serde_json::Value) {
        let mut ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        if ops.len() == 1000 {
            ops.pop_front();
        }
        ops.push_back((id, status));
    }

    /// Forgets every long-running operation, running or finished (a reset): a resource the world
    /// file has is no longer shown mid-change, and old polls answer `OperationNotFound`.
    pub fn forget_operations(&self) {
        self.lro.clear();
        self.operations.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn operation(&self, id: Uuid) -> Option<serde_json::Value> {
        let ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        ops.iter().find(|(i, _)| *i == id).map(|(_, v)| v.clone())
    }
}
