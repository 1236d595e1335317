//! Role assignments and the index decisions walk: by principal, then by scope key.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use super::super::scope::Scope;
use super::super::ObjectId;

/// The type of principal an assignment names.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub enum PrincipalType {
    User,
    Group,
    ServicePrincipal,
    ForeignGroup,
}

impl PrincipalType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "user" => Some(Self::User),
            "group" => Some(Self::Group),
            "serviceprincipal" => Some(Self::ServicePrincipal),
            "foreigngroup" => Some(Self::ForeignGroup),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RoleAssignment {
    /// The assignment's name (a GUID).
    pub name: Uuid,
    pub scope: Scope,
    pub role_definition: Uuid,
    pub principal_id: ObjectId,
    pub principal_type: PrincipalType,
    pub description: Option<String>,
    pub created_on: String,
    pub updated_on: String,
    pub created_by: Option<String>,
}

/// One held role: the role definition and the assignment that grants it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub role: Uuid,
    pub assignment: Uuid,
}

/// Assignments indexed by principal, then by scope key: a decision walks the request scope's
/// ancestors (O(depth)) whatever the number of assignments elsewhere.
#[derive(Debug, Default)]
pub struct AssignmentIndex {
    by_principal: HashMap<ObjectId, HashMap<String, Vec<Held>>>,
}

impl AssignmentIndex {
    pub fn new<'a>(assignments: impl IntoIterator<Item = &'a RoleAssignment>) -> Self {
        let mut index = AssignmentIndex::default();
        for a in assignments {
            index.add(a);
        }
        index
    }

    /// Roles the principal holds at `scope` or above, innermost scope first.
    pub fn held_at<'s>(&'s self, principal: ObjectId, scope: &'s Scope) -> impl Iterator<Item = Held> + 's {
        let scopes = self.by_principal.get(&principal);
        scope
            .ancestor_keys()
            .into_iter()
            .filter_map(move |k| scopes.and_then(|s| s.get(k)))
            .flatten()
            .copied()
    }

    /// The scope keys at which the principal holds any assignment.
    pub fn scopes_of(&self, principal: ObjectId) -> impl Iterator<Item = &str> {
        self.by_principal
            .get(&principal)
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str))
    }

    pub fn add(&mut self, a: &RoleAssignment) {
        self.by_principal
            .entry(a.principal_id)
            .or_default()
            .entry(a.scope.key().to_string())
            .or_default()
            .push(Held {
                role: a.role_definition,
                assignment: a.name,
            });
    }

    pub fn remove(&mut self, a: &RoleAssignment) {
        let Some(scopes) = self.by_principal.get_mut(&a.principal_id) else {
            return;
        };
        if let Some(held) = scopes.get_mut(a.scope.key()) {
            held.retain(|h| h.assignment != a.name);
            if held.is_empty() {
                scopes.remove(a.scope.key());
            }
        }
        if scopes.is_empty() {
            self.by_principal.remove(&a.principal_id);
        }
    }
}
