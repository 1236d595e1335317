//! Writes to ARM resources: resource groups and workspaces.

use super::ServiceResult;
use crate::domain::world::{ResourceGroup, Workspace};
use crate::domain::SubscriptionId;
use crate::state::AppState;

/// Creates or updates a resource group; true when it was created.
pub fn put_resource_group(state: &AppState, rg: ResourceGroup) -> ServiceResult<bool> {
    let w = state.writer();
    let created = w.store().put_resource_group(&rg)?;
    w.update_world(|world| world.put_resource_group(rg));
    Ok(created)
}

/// Deletes a resource group with its workspaces, services and endpoints; false when it did not exist.
pub fn delete_resource_group(state: &AppState, sub: SubscriptionId, name: &str) -> ServiceResult<bool> {
    let w = state.writer();
    if !w.store().delete_resource_group(sub, name)? {
        return Ok(false);
    }
    w.update_world(|world| world.remove_resource_group(sub, name));
    state.aml_tokens.clear();
    Ok(true)
}

/// Creates or updates a workspace; true when it was created.
pub fn put_workspace(state: &AppState, ws: Workspace) -> ServiceResult<bool> {
    let w = state.writer();
    let created = w.store().put_workspace(&ws)?;
    w.update_world(|world| world.put_workspace(ws));
    Ok(created)
}

/// Deletes a workspace with its services and endpoints; false when it did not exist.
pub fn delete_workspace(state: &AppState, sub: SubscriptionId, rg: &str, name: &str) -> ServiceResult<bool> {
    let w = state.writer();
    if !w.store().delete_workspace(sub, rg, name)? {
        return Ok(false);
    }
    w.update_world(|world| world.remove_workspace(sub, rg, name));
    state.aml_tokens.clear();
    Ok(true)
}
