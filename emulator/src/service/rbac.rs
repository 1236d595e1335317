//! Writes to RBAC: role assignments and custom role definitions. Checks run against the index
//! while the writer is held, so they cannot race another write; readers are blocked only for the
//! in-memory change, never for the database write.

use uuid::Uuid;

use super::ServiceError;
use crate::domain::rbac::{RoleAssignment, RoleDefinition, RoleType};
use crate::domain::scope::Scope;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("The role assignment already exists.")]
    Exists,
    #[error("A role assignment with this name already exists.")]
    NameTaken,
    #[error("The role definition is not available for assignment at this scope (see its assignableScopes).")]
    NotAssignable,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for AssignError {
    fn from(e: crate::store::StoreError) -> Self {
        AssignError::Service(e.into())
    }
}

/// Adds an assignment. Refuses duplicates the way ARM does: the same name (`NameTaken`, with the
/// existing one available through [`crate::domain::rbac::Rbac::assignment`]) or the same
/// principal, role and scope (`Exists`), and roles not assignable at the scope.
pub fn assign(state: &AppState, a: RoleAssignment) -> Result<RoleAssignment, AssignError> {
    let w = state.writer();
    {
        let rbac = state.rbac();
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
                .any(|s| Scope::parse(s).is_ok_and(|s| a.scope.is_within(&s)))
        });
        if !assignable {
            return Err(AssignError::NotAssignable);
        }
    }
    w.store().insert_assignment(&a)?;
    match propagation(state) {
        Some(at) => w.rbac().insert_assignment_at(a.clone(), at),
        None => w.rbac().insert_assignment(a.clone()),
    }
    state.note_rbac_pending();
    Ok(a)
}

/// Removes an assignment; `None` when there was none of that name.
pub fn unassign(state: &AppState, name: Uuid) -> Result<Option<RoleAssignment>, ServiceError> {
    let w = state.writer();
    if state.rbac().assignment(name).is_none() {
        return Ok(None);
    }
    w.store().delete_assignment(name)?;
    let removed = match propagation(state) {
        Some(at) => w.rbac().remove_assignment_at(name, at),
        None => w.rbac().remove_assignment(name),
    };
    state.note_rbac_pending();
    Ok(removed)
}

/// When a change made now takes effect, with a propagation delay set; none for at once.
fn propagation(state: &AppState) -> Option<time::OffsetDateTime> {
    let delay = state.settings.propagation_seconds();
    (delay > 0).then(|| state.clock.now() + time::Duration::seconds(i64::try_from(delay).unwrap_or(i64::MAX)))
}

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("Built-in role definitions cannot be modified or deleted.")]
    BuiltIn,
    #[error("A custom role with the same name already exists in this directory.")]
    NameTaken,
    #[error("There are existing role assignments referencing the role.")]
    HasAssignments,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for RoleError {
    fn from(e: crate::store::StoreError) -> Self {
        RoleError::Service(e.into())
    }
}

/// Creates or replaces a custom role; true when it was created.
pub fn put_role(state: &AppState, role: RoleDefinition, now: &str) -> Result<bool, RoleError> {
    let w = state.writer();
    let created = {
        let rbac = state.rbac();
        if rbac.role(role.id).is_some_and(|r| r.role_type == RoleType::BuiltInRole) {
            return Err(RoleError::BuiltIn);
        }
        if rbac
            .roles()
            .any(|r| r.id != role.id && r.name.eq_ignore_ascii_case(&role.name))
        {
            return Err(RoleError::NameTaken);
        }
        rbac.role(role.id).is_none()
    };
    w.store().put_role(&role, now)?;
    w.rbac().put_role(role);
    Ok(created)
}

/// Deletes a custom role that no assignment references; `None` when there was none.
pub fn delete_role(state: &AppState, id: Uuid) -> Result<Option<RoleDefinition>, RoleError> {
    let w = state.writer();
    {
        let rbac = state.rbac();
        match rbac.role(id) {
            None => return Ok(None),
            Some(r) if r.role_type == RoleType::BuiltInRole => return Err(RoleError::BuiltIn),
            Some(_) => {}
        }
        if rbac.role_in_use(id) {
            return Err(RoleError::HasAssignments);
        }
    }
    w.store().delete_role(id)?;
    let removed = w.rbac().remove_role(id);
    Ok(removed)
}
