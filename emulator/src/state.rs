//! Shared application state handed to every handler (`web::Data<AppState>`). One per emulator:
//! nothing here is global, so several emulators run side by side in one process.

use std::sync::{Arc, RwLock};

use crate::authority::KeySet;
use crate::clock::Clock;
use crate::domain::World;
use crate::fixtures::WorldSpec;
use crate::info::ReadyInfo;
use crate::store::{Store, StoreResult};

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
    world: RwLock<Arc<World>>,
}

impl AppState {
    pub fn new(
        clock: Clock,
        store: Store,
        keys: KeySet,
        spec: WorldSpec,
        info: ReadyInfo,
        admin_key: Option<String>,
    ) -> StoreResult<Self> {
        let world = RwLock::new(Arc::new(store.load_world()?));
        Ok(AppState {
            clock,
            store,
            keys,
            spec,
            info,
            admin_key,
            world,
        })
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
        self.store.replace_world(&self.spec)?;
        self.reload_world()
    }
}
