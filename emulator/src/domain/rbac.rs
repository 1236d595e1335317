//! Azure RBAC: role definitions (built-in, with their real GUIDs and permission lists, plus custom
//! ones), role assignments, and the allow decision.
//!
//! A request is allowed when some assignment of the caller at the request scope or an ancestor has a
//! role with a permission whose `actions` match the operation and whose `notActions` do not.
//! `notActions` subtract within one permission only; another role can grant the action back.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use super::scope::Scope;
use super::ObjectId;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}

impl Permission {
    /// True when `action` matches some `actions` entry and no `notActions` entry.
    pub fn allows(&self, action: &str) -> bool {
        self.actions.iter().any(|p| wildcard_match(p, action))
            && !self.not_actions.iter().any(|p| wildcard_match(p, action))
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub enum RoleType {
    BuiltInRole,
    CustomRole,
}

#[derive(Clone, Debug, Serialize)]
pub struct RoleDefinition {
    /// The role's GUID (the last segment of its id).
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub role_type: RoleType,
    pub permissions: Vec<Permission>,
    pub assignable_scopes: Vec<String>,
}

impl RoleDefinition {
    pub fn allows(&self, action: &str) -> bool {
        self.permissions.iter().any(|p| p.allows(action))
    }
}

/// `Microsoft.Foo/*/read` style patterns: `*` matches any run of characters (including `/`),
/// compared case-insensitively.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn builtin(id: &str, name: &str, description: &str, actions: &[&str], not_actions: &[&str]) -> RoleDefinition {
    RoleDefinition {
        id: Uuid::parse_str(id).expect("built-in role GUIDs are valid"),
        name: name.into(),
        description: description.into(),
        role_type: RoleType::BuiltInRole,
        permissions: vec![Permission {
            actions: strings(actions),
            not_actions: strings(not_actions),
            data_actions: vec![],
            not_data_actions: vec![],
        }],
        assignable_scopes: vec!["/".into()],
    }
}

const ML: &str = "Microsoft.MachineLearningServices/workspaces";

/// The built-in roles, with Azure's GUIDs, descriptions and permission lists.
pub fn builtin_roles() -> Vec<RoleDefinition> {
    let ml = |s: &str| format!("{ML}/{s}");
    let ds_actions = [ml("*/read"), ml("*/action"), ml("*/delete"), ml("*/write")];
    let ds_not = [
        ml("delete"),
        ml("write"),
        ml("computes/*/write"),
        ml("computes/*/delete"),
        ml("computes/listKeys/action"),
        ml("listKeys/action"),
        ml("hubs/write"),
        ml("hubs/delete"),
        ml("featurestores/write"),
        ml("featurestores/delete"),
    ];
    let ds_actions: Vec<&str> = ds_actions.iter().map(String::as_str).collect();
    let ds_not: Vec<&str> = ds_not.iter().map(String::as_str).collect();
    vec![
        builtin("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner",
            "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.", &["*"], &[]),
        builtin("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor",
            "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
            &["*"],
            &["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
              "Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
              "Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
              "Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/cancel/action",
              "Microsoft.Subscription/enable/action"]),
        builtin("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader",
            "View all resources, but does not allow you to make any changes.", &["*/read"], &[]),
        builtin("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator",
            "Lets you manage user access to Azure resources.", &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], &[]),
        builtin("f58310d9-a9f6-439a-9e8d-f62e7b41a168", "Role Based Access Control Administrator",
            "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
            &["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read", "Microsoft.Support/*"], &[]),
        builtin("f6c7c914-8db3-469d-8ca1-694a8f32e121", "AzureML Data Scientist",
            "Can perform all actions within an Azure Machine Learning workspace, except for creating or deleting compute resources and modifying the workspace itself.",
            &ds_actions, &ds_not),
        builtin("e503ece1-11d0-4e8e-8e2c-7a6c3bf38815", "AzureML Compute Operator",
            "Can access and perform CRUD operations on Machine Learning Services managed compute resources (including Notebook VMs).",
            &["Microsoft.MachineLearningServices/workspaces/computes/*", "Microsoft.MachineLearningServices/workspaces/notebooks/vm/*"], &[]),
    ]
}

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

/// Assignments indexed by principal, then by scope key: a decision walks the request scope's
/// ancestors (O(depth)) whatever the number of assignments elsewhere.
#[derive(Debug, Default)]
pub struct AssignmentIndex {
    by_principal: HashMap<ObjectId, HashMap<String, Vec<Uuid>>>,
}

impl AssignmentIndex {
    pub fn new<'a>(assignments: impl IntoIterator<Item = &'a RoleAssignment>) -> Self {
        let mut index = AssignmentIndex::default();
        for a in assignments {
            index.add(a);
        }
        index
    }

    /// Roles the principal holds at `scope` or above.
    pub fn roles_at<'s>(&'s self, principal: ObjectId, scope: &'s Scope) -> impl Iterator<Item = Uuid> + 's {
        let scopes = self.by_principal.get(&principal);
        scope
            .ancestor_keys()
            .into_iter()
            .filter_map(move |k| scopes.and_then(|s| s.get(k)))
            .flatten()
            .copied()
    }

    /// Whether the principal has any assignment at all (used for visibility of subscriptions).
    pub fn scopes_of(&self, principal: ObjectId) -> impl Iterator<Item = &str> {
        self.by_principal
            .get(&principal)
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_case_insensitively_across_slashes() {
        assert!(wildcard_match("*", "Microsoft.Authorization/roleAssignments/write"));
        assert!(wildcard_match(
            "*/read",
            "Microsoft.MachineLearningServices/workspaces/read"
        ));
        assert!(!wildcard_match(
            "*/read",
            "Microsoft.MachineLearningServices/workspaces/write"
        ));
        assert!(wildcard_match(
            "Microsoft.Authorization/*/Write",
            "microsoft.authorization/roleassignments/write"
        ));
        assert!(wildcard_match(
            "Microsoft.MachineLearningServices/workspaces/*/action",
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action"
        ));
        assert!(!wildcard_match(
            "Microsoft.MachineLearningServices/workspaces/*/read",
            "Microsoft.MachineLearningServices/workspaces/read"
        ));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn builtin_roles_decide_like_azure() {
        let roles: HashMap<String, RoleDefinition> = builtin_roles().into_iter().map(|r| (r.name.clone(), r)).collect();
        let ra_write = "Microsoft.Authorization/roleAssignments/write";
        let ws_write = "Microsoft.MachineLearningServices/workspaces/write";
        let ws_read = "Microsoft.MachineLearningServices/workspaces/read";
        let score = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action";
        assert!(roles["Owner"].allows(ra_write));
        assert!(!roles["Contributor"].allows(ra_write));
        assert!(roles["Contributor"].allows(ws_write));
        assert!(roles["Reader"].allows(ws_read) && !roles["Reader"].allows(ws_write));
        assert!(
            roles["User Access Administrator"].allows(ra_write) && !roles["User Access Administrator"].allows(ws_write)
        );
        assert!(roles["AzureML Data Scientist"].allows(score));
        assert!(!roles["AzureML Data Scientist"].allows(ws_write));
        assert!(
            !roles["AzureML Data Scientist"].allows(ws_read),
            "workspaces/*/read does not cover workspaces/read"
        );
        assert!(roles["AzureML Compute Operator"]
            .allows("Microsoft.MachineLearningServices/workspaces/computes/start/action"));
    }
}

/// Role definitions and assignments with the decision index, kept in step with the database.
/// Changed in place after each committed write, so a change takes effect on the next request and a
/// write costs O(1) however many assignments exist.
#[derive(Debug, Default)]
pub struct Rbac {
    roles: HashMap<Uuid, RoleDefinition>,
    assignments: HashMap<Uuid, RoleAssignment>,
    index: AssignmentIndex,
}

impl Rbac {
    pub fn new(custom_roles: Vec<RoleDefinition>, assignments: Vec<RoleAssignment>) -> Self {
        let roles = builtin_roles()
            .into_iter()
            .chain(custom_roles)
            .map(|r| (r.id, r))
            .collect();
        let index = AssignmentIndex::new(&assignments);
        let assignments = assignments.into_iter().map(|a| (a.name, a)).collect();
        Rbac {
            roles,
            assignments,
            index,
        }
    }

    /// The allow decision: some role held at `scope` or above allows `action`.
    pub fn allows(&self, principal: ObjectId, action: &str, scope: &Scope) -> bool {
        self.index
            .roles_at(principal, scope)
            .any(|id| self.roles.get(&id).is_some_and(|r| r.allows(action)))
    }

    /// True when the principal holds any assignment at or below `scope` (or above it).
    pub fn has_access_within(&self, principal: ObjectId, scope: &Scope) -> bool {
        let key = scope.key();
        self.index.scopes_of(principal).any(|s| {
            s == "/"
                || s == key
                || (s.starts_with(key) && s.as_bytes().get(key.len()) == Some(&b'/'))
                || (key.starts_with(s) && key.as_bytes().get(s.len()) == Some(&b'/'))
        })
    }

    pub fn role(&self, id: Uuid) -> Option<&RoleDefinition> {
        self.roles.get(&id)
    }

    pub fn roles(&self) -> impl Iterator<Item = &RoleDefinition> {
        self.roles.values()
    }

    pub fn role_by_name(&self, name: &str) -> Option<&RoleDefinition> {
        self.roles.values().find(|r| r.name.eq_ignore_ascii_case(name))
    }

    pub fn assignment(&self, name: Uuid) -> Option<&RoleAssignment> {
        self.assignments.get(&name)
    }

    pub fn assignments(&self) -> impl Iterator<Item = &RoleAssignment> {
        self.assignments.values()
    }

    /// The assignment giving `principal` the role at exactly `scope`, if any.
    pub fn find_assignment(&self, scope: &Scope, role: Uuid, principal: ObjectId) -> Option<&RoleAssignment> {
        self.assignments
            .values()
            .find(|a| a.principal_id == principal && a.role_definition == role && a.scope == *scope)
    }

    pub fn put_role(&mut self, role: RoleDefinition) {
        self.roles.insert(role.id, role);
    }

    pub fn remove_role(&mut self, id: Uuid) -> Option<RoleDefinition> {
        self.roles.remove(&id)
    }

    pub fn insert_assignment(&mut self, a: RoleAssignment) {
        self.index.add(&a);
        self.assignments.insert(a.name, a);
    }

    pub fn remove_assignment(&mut self, name: Uuid) -> Option<RoleAssignment> {
        let a = self.assignments.remove(&name)?;
        self.index.remove(&a);
        Some(a)
    }
}

impl AssignmentIndex {
    fn add(&mut self, a: &RoleAssignment) {
        self.by_principal
            .entry(a.principal_id)
            .or_default()
            .entry(a.scope.key().to_string())
            .or_default()
            .push(a.role_definition);
    }

    fn remove(&mut self, a: &RoleAssignment) {
        if let Some(scopes) = self.by_principal.get_mut(&a.principal_id) {
            if let Some(roles) = scopes.get_mut(a.scope.key()) {
                if let Some(pos) = roles.iter().position(|r| *r == a.role_definition) {
                    roles.swap_remove(pos);
                }
                if roles.is_empty() {
                    scopes.remove(a.scope.key());
                }
            }
            if scopes.is_empty() {
                self.by_principal.remove(&a.principal_id);
            }
        }
    }
}
