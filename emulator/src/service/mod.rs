//! The service layer: every write to the world goes through here, in one order — the database
//! (one transaction or a single-row statement, committed before anything else changes), then the
//! in-memory index (the part that changed, never a reload of the whole world), then the caches.
//! A [`Writer`] serializes writers, so the index always matches the last committed write.
//! Callers on the async workers run these functions through [`blocking`]: SQLite writes and key
//! generation never block a worker.

pub mod credentials;
pub mod deployments;
pub mod directory;
pub mod groups;
pub mod identities;
pub mod keys;
pub mod lifecycle;
pub mod rbac;
pub mod resources;
pub mod users;
pub mod world;

use std::sync::MutexGuard;

use actix_web::web::Data;

use crate::domain::rbac::Rbac;
use crate::domain::World;
use crate::state::AppState;
use crate::store::{Store, StoreError};

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The thing to change does not exist (or was deleted concurrently).
    #[error("not found")]
    NotFound,
    /// A create whose name is taken.
    #[error("the name is taken")]
    NameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An Azure ML token could not be minted (its key could not be made or stored).
    #[error(transparent)]
    Mint(#[from] crate::authority::aml::MintError),
    #[error("the write was cancelled: {0}")]
    Canceled(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Exclusive write access to one emulator's state, held for a whole write.
pub struct Writer<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) _lock: MutexGuard<'a, ()>,
}

impl Writer<'_> {
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The current world, to check against before writing.
    pub fn world(&self) -> std::sync::Arc<World> {
        self.state.world()
    }

    /// Publishes a changed copy of the world (after the database committed the change). The copy
    /// shares every part `change` does not touch.
    pub fn update_world(&self, change: impl FnOnce(&mut World)) {
        let mut world = World::clone(&self.state.world());
        change(&mut world);
        self.state.publish_world(world);
    }

    /// Changes RBAC in place (after the database committed the change).
    pub fn rbac(&self) -> std::sync::RwLockWriteGuard<'_, Rbac> {
        self.state.rbac_mut(&self._lock)
    }
}

/// Runs `f` on the blocking pool and waits for it without blocking the async worker.
pub async fn blocking<T, F>(state: &Data<AppState>, f: F) -> ServiceResult<T>
where
    T: Send + 'static,
    F: FnOnce(&AppState) -> ServiceResult<T> + Send + 'static,
{
    let state = state.clone();
    actix_web::web::block(move || f(&state))
        .await
        .map_err(|e| ServiceError::Canceled(e.to_string()))?
}

/// [`blocking`], with failures rendered by the caller's surface: the emulator's own failures
/// (store, cancellation, key generation) through `internal` (a 500 whose cause goes to the log),
/// the others (not found, name taken) through `refused`.
pub async fn run<T, E, F>(
    state: &Data<AppState>,
    f: F,
    internal: fn(ServiceError) -> E,
    refused: impl FnOnce(ServiceError) -> E,
) -> Result<T, E>
where
    T: Send + 'static,
    F: FnOnce(&AppState) -> ServiceResult<T> + Send + 'static,
{
    match blocking(state, f).await {
        Ok(v) => Ok(v),
        Err(e @ (ServiceError::Store(_) | ServiceError::Canceled(_) | ServiceError::Mint(_))) => Err(internal(e)),
        Err(e) => Err(refused(e)),
    }
}
