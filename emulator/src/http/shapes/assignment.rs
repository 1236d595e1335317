//! A role assignment's wire shape: what ARM answers and what the control API answers (one shape,
//! so a test can compare them).

use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::rbac::RoleAssignment;
use crate::domain::scope::Scope;

/// The provider segment of role assignment and definition ids.
pub const PROVIDER: &str = "providers/Microsoft.Authorization";

/// Role definition ids are shown under the request's subscription, as ARM does.
pub fn definition_id(scope: &Scope, role: Uuid) -> String {
    match scope.subscription() {
        Some(sub) => format!("/subscriptions/{sub}/{PROVIDER}/roleDefinitions/{role}"),
        None => format!("/{PROVIDER}/roleDefinitions/{role}"),
    }
}

fn assignment_id(scope: &Scope, name: Uuid) -> String {
    let prefix = if scope.is_root() { "" } else { scope.as_str() };
    format!("{prefix}/{PROVIDER}/roleAssignments/{name}")
}

/// A role assignment in the 2022-04-01 shape (also what the control API answers).
pub fn assignment_json(a: &RoleAssignment) -> Value {
    json!({
        "properties": {
            "roleDefinitionId": definition_id(&a.scope, a.role_definition),
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "scope": a.scope.as_str(),
            "condition": null,
            "conditionVersion": null,
            "createdOn": a.created_on,
            "updatedOn": a.updated_on,
            "createdBy": a.created_by,
            "updatedBy": a.created_by,
            "delegatedManagedIdentityResourceId": null,
            "description": a.description
        },
        "id": assignment_id(&a.scope, a.name),
        "type": "Microsoft.Authorization/roleAssignments",
        "name": a.name
    })
}
