//! Writes to users: create, change, delete, and revoke their sign-in sessions. A password reset,
//! a disabled account and an administrator's revoke-sessions revoke every refresh token, code and
//! device code issued to the user (AADSTS50173 on their next use) and end the sign-in page's
//! sessions, as Entra ID does.

use super::{ServiceError, ServiceResult};
use crate::domain::grant::GrantSubject;
use crate::domain::secret::SecretHash;
use crate::domain::world::User;
use crate::domain::ObjectId;
use crate::state::AppState;

/// Adds a user. `NameTaken` when the UPN or object id is in use.
pub fn create(state: &AppState, user: User) -> ServiceResult<User> {
    let w = state.writer();
    let world = w.world();
    if world.user_by_upn(&user.upn).is_some() || world.has_object(user.object_id) {
        return Err(ServiceError::NameTaken);
    }
    w.store().add_user(&user)?;
    w.update_world(|world| world.put_user(user.clone()));
    Ok(user)
}

/// What an update may change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub password: Option<String>,
    pub enabled: Option<bool>,
    pub password_expired: Option<bool>,
    pub locked: Option<bool>,
    pub mfa_required: Option<bool>,
}

/// Changes a user. A new password or a disabled account revokes the user's grants and sessions.
pub fn update(state: &AppState, oid: ObjectId, change: UserChange) -> ServiceResult<User> {
    let w = state.writer();
    let mut user = w.world().user(oid).cloned().ok_or(ServiceError::NotFound)?;
    let revoke = change.password.is_some() || change.enabled == Some(false);
    if let Some(name) = change.display_name {
        user.display_name = name;
    }
    if let Some(password) = change.password {
        user.password = SecretHash::new(&password);
    }
    user.enabled = change.enabled.unwrap_or(user.enabled);
    user.state.password_expired = change.password_expired.unwrap_or(user.state.password_expired);
    user.state.locked = change.locked.unwrap_or(user.state.locked);
    user.state.mfa_required = change.mfa_required.unwrap_or(user.state.mfa_required);
    if !w.store().update_user(&user)? {
        return Err(ServiceError::NotFound);
    }
    if revoke {
        revoke_grants(state, oid)?;
    }
    w.update_world(|world| world.put_user(user.clone()));
    Ok(user)
}

/// Deletes a user (and its memberships); its grants and sessions end with it.
pub fn delete(state: &AppState, oid: ObjectId) -> ServiceResult<()> {
    let w = state.writer();
    if !w.store().delete_user(oid)? {
        return Err(ServiceError::NotFound);
    }
    revoke_grants(state, oid)?;
    w.update_world(|world| world.remove_user(oid));
    Ok(())
}

/// `az ad user revoke-sign-in-sessions` / `POST /_emulator/users/{id}/revoke-sessions`: returns how
/// many refresh tokens, codes and device codes were revoked.
pub fn revoke_sessions(state: &AppState, oid: ObjectId) -> ServiceResult<usize> {
    let _w = state.writer();
    if state.world().user(oid).is_none() {
        return Err(ServiceError::NotFound);
    }
    revoke_grants(state, oid)
}

fn revoke_grants(state: &AppState, oid: ObjectId) -> ServiceResult<usize> {
    state.sessions.end_user(oid);
    state
        .grant_state()
        .revoke(GrantSubject::User(oid))
        .map_err(|e| ServiceError::Canceled(e.to_string()))
}
