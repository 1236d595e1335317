//! Whole-world writes: back to the world loaded at start.

use super::ServiceResult;
use crate::state::AppState;
use crate::store::StoreError;

/// Back to the world loaded at start: the database in one transaction, then the index, RBAC, the
/// token caches, the long-running operations, the fault rules and the settings.
pub fn reset(state: &AppState) -> ServiceResult<()> {
    let w = state.writer();
    let spec = state.source.load().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let seed = spec.seed().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    w.store().replace_world(&seed)?;
    let world = w.store().load_world()?;
    *w.rbac() = w.store().load_rbac()?;
    state.publish_world(world);
    state.tokens.clear();
    state.aml_tokens.clear();
    state.sessions.clear();
    state.forget_operations();
    // Run-time fault rules and settings go too; the fixtures' come back.
    let now = state.clock.now();
    state.faults.reset(&spec.faults, now).map_err(StoreError::Corrupt)?;
    state.settings.reset(&spec.settings).map_err(StoreError::Corrupt)?;
    Ok(())
}
