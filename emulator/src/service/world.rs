//! Whole-world writes: back to the world loaded at start.

use super::ServiceResult;
use crate::domain::rbac::Rbac;
use crate::state::AppState;
use crate::store::StoreError;

/// Back to the world loaded at start: the database in one transaction, then the index, RBAC, the
/// token caches, the fault rules and the settings.
pub fn reset(state: &AppState) -> ServiceResult<()> {
    let w = state.writer();
    let seed = state.spec.seed().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    w.store().replace_world(&seed)?;
    let world = w.store().load_world()?;
    let (roles, assignments) = w.store().load_rbac()?;
    *w.rbac() = Rbac::new(roles, assignments);
    state.publish_world(world);
    state.tokens.clear();
    state.aml_tokens.clear();
    state.sessions.clear();
    // Run-time fault rules and settings go too; the fixtures' come back.
    let now = state.clock.now();
    state
        .faults
        .reset(&state.spec.faults, now)
        .map_err(StoreError::Corrupt)?;
    state
        .settings
        .reset(&state.spec.settings)
        .map_err(StoreError::Corrupt)?;
    Ok(())
}
