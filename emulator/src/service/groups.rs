//! Writes to groups: create, delete, and add or remove direct members (users, service principals,
//! other groups). Role decisions see a change on the next request.

use super::{ServiceError, ServiceResult};
use crate::domain::world::Group;
use crate::domain::ObjectId;
use crate::state::AppState;

/// Adds a group. `NameTaken` when its display name or object id is in use.
pub fn create(state: &AppState, group: Group) -> ServiceResult<Group> {
    let w = state.writer();
    let world = w.world();
    let clash = world
        .groups()
        .iter()
        .any(|g| g.display_name.eq_ignore_ascii_case(&group.display_name));
    if clash || world.has_object(group.object_id) {
        return Err(ServiceError::NameTaken);
    }
    w.store().add_group(&group)?;
    w.update_world(|world| world.put_group(group.clone()));
    Ok(group)
}

/// Deletes a group; its members lose its roles at once.
pub fn delete(state: &AppState, oid: ObjectId) -> ServiceResult<()> {
    let w = state.writer();
    if !w.store().delete_group(oid)? {
        return Err(ServiceError::NotFound);
    }
    w.update_world(|world| world.remove_group(oid));
    Ok(())
}

/// Adds a direct member (which must exist and not be the group itself); `false` when it already
/// was one.
pub fn add_member(state: &AppState, group: ObjectId, member: ObjectId) -> ServiceResult<bool> {
    let w = state.writer();
    let world = w.world();
    let mut g = world.group(group).cloned().ok_or(ServiceError::NotFound)?;
    if member == group || !world.has_object(member) {
        return Err(ServiceError::NotFound);
    }
    if !w.store().add_group_member(group, member)? {
        return Ok(false);
    }
    g.members.push(member);
    w.update_world(|world| world.put_group(g));
    Ok(true)
}

/// Removes a direct member; `false` when it was not one.
pub fn remove_member(state: &AppState, group: ObjectId, member: ObjectId) -> ServiceResult<bool> {
    let w = state.writer();
    let mut g = w.world().group(group).cloned().ok_or(ServiceError::NotFound)?;
    if !w.store().remove_group_member(group, member)? {
        return Ok(false);
    }
    g.members.retain(|m| *m != member);
    w.update_world(|world| world.put_group(g));
    Ok(true)
}
