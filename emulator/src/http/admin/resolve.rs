//! How control-API verbs name principals, roles and scopes, as az does: a user's UPN, an
//! application's display name or client id, or an object id; a role's name or GUID; a scope that
//! exists.

use uuid::Uuid;

use super::bad;
use crate::domain::ids::parse_guid;
use crate::domain::rbac::PrincipalType;
use crate::domain::scope::Scope;
use crate::domain::{ObjectId, World};
use crate::error::AdminError;
use crate::state::AppState;

/// A user (UPN), application or managed identity (display name — a managed identity's is its
/// identity's or host's name — or client id), group (display name) or object id.
pub fn assignee(world: &World, assignee: &str) -> Result<(ObjectId, PrincipalType), AdminError> {
    let guid = parse_guid(assignee).ok();
    if let Some(u) = world
        .users()
        .iter()
        .find(|u| u.upn.eq_ignore_ascii_case(assignee) || Some(u.object_id.0) == guid)
    {
        return Ok((u.object_id, PrincipalType::User));
    }
    let managed = world.identities().managed.iter().map(|m| &m.service_principal);
    if let Some(a) = world
        .applications()
        .iter()
        .chain(managed)
        .find(|a| a.display_name == assignee || Some(a.client_id.0) == guid || Some(a.object_id.0) == guid)
    {
        return Ok((a.object_id, PrincipalType::ServicePrincipal));
    }
    world
        .groups()
        .iter()
        .find(|g| Some(g.object_id.0) == guid || g.display_name.eq_ignore_ascii_case(assignee))
        .map(|g| (g.object_id, PrincipalType::Group))
        .ok_or_else(|| {
            bad(format!(
                "no user, service principal or group matches assignee '{assignee}'"
            ))
        })
}

pub fn role(state: &AppState, role: &str) -> Result<Uuid, AdminError> {
    let rbac = state.rbac();
    let guid = parse_guid(role).ok();
    let found = rbac
        .roles()
        .find(|r| Some(r.id) == guid || r.name.eq_ignore_ascii_case(role))
        .map(|r| r.id);
    found.ok_or_else(|| bad(format!("no role definition is named '{role}'")))
}

pub fn scope(state: &AppState, scope: &str) -> Result<Scope, AdminError> {
    let parsed = Scope::parse(scope).map_err(|e| bad(e.to_string()))?;
    let world = state.world();
    if let Some(sub) = parsed.subscription() {
        if sub.parse().ok().and_then(|s| world.subscription(s)).is_none() {
            return Err(bad(format!("scope '{scope}': subscription '{sub}' does not exist")));
        }
    }
    if let Some(missing) = world.missing_scope(&parsed) {
        let said = crate::error::ArmError::from(missing).message;
        return Err(bad(format!("scope '{scope}': {said}")));
    }
    Ok(parsed)
}
