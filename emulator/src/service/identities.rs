//! Writes to user-assigned managed identities (`Microsoft.ManagedIdentity/userAssignedIdentities`).

use super::ServiceResult;
use crate::domain::world::UserAssignedIdentity;
use crate::state::AppState;

/// Creates the identity (new client and principal ids are the caller's), or updates its tags;
/// true when it was created.
pub fn put_user_assigned_identity(state: &AppState, u: UserAssignedIdentity) -> ServiceResult<bool> {
    let w = state.writer();
    let created = w.store().put_user_assigned_identity(&u)?;
    w.update_world(|world| {
        world.change_identities(
            |ids| match ids.user_assigned.iter_mut().find(|x| x.client_id == u.client_id) {
                Some(existing) => existing.tags = u.tags,
                None => ids.user_assigned.push(u),
            },
        )
    });
    Ok(created)
}

/// Deletes the identity and its federated credentials; false when it was gone already. Role
/// assignments naming its principal stay, as in Azure (they show an unknown principal).
pub fn delete_user_assigned_identity(state: &AppState, u: &UserAssignedIdentity) -> ServiceResult<bool> {
    let w = state.writer();
    if !w.store().delete_user_assigned_identity(u)? {
        return Ok(false);
    }
    let client = u.client_id;
    w.update_world(|world| {
        world.change_identities(|ids| {
            ids.user_assigned.retain(|x| x.client_id != client);
            ids.federated.remove(&client);
        })
    });
    state.tokens.clear();
    Ok(true)
}
