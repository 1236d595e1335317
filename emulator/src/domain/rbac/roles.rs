//! Role definitions: built-in ones with their real GUIDs and permission lists, and the wildcard
//! matching of actions.

use serde::Serialize;
use uuid::Uuid;

#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
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

    /// The `notActions` pattern that takes `action` away in a permission whose `actions` grant it,
    /// when no other permission of the role grants it: why the role does not allow it.
    pub fn excluded_by(&self, action: &str) -> Option<&str> {
        if self.allows(action) {
            return None;
        }
        self.permissions
            .iter()
            .filter(|p| p.actions.iter().any(|a| wildcard_match(a, action)))
            .find_map(|p| p.not_actions.iter().find(|n| wildcard_match(n, action)))
            .map(String::as_str)
    }
}

/// `Microsoft.Foo/*/read` style patterns: `*` matches any run of characters (including `/`),
/// compared case-insensitively.
///
/// The pattern's literal ends (before its first `*`, after its last) are compared with the
/// text's ends first: most patterns a request is judged against (a role's `notActions`) fail
/// there at a byte or two, where the general walk below would go through the common
/// `Microsoft.` first.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    // The last bytes alone reject most (`…/write` against `…/read`).
    if let (Some(&pl), Some(&tl)) = (p.last(), t.last()) {
        if pl != b'*' && !pl.eq_ignore_ascii_case(&tl) {
            return false;
        }
    }
    // `find` and `rfind` of one byte are memchr searches.
    let Some(first) = pattern.find('*') else {
        return p.eq_ignore_ascii_case(t);
    };
    let last = pattern.rfind('*').unwrap_or(first);
    let (head, tail) = (&p[..first], &p[last + 1..]);
    if t.len() < head.len() + tail.len()
        || !t[t.len() - tail.len()..].eq_ignore_ascii_case(tail)
        || !t[..head.len()].eq_ignore_ascii_case(head)
    {
        return false;
    }
    // One run of stars between the ends (`*`, `Microsoft.Foo/*`, `*/read`) matches whatever
    // lies between them.
    p[first..=last].iter().all(|&c| c == b'*') || walk(p, t)
}

/// The general match: `*` backtracks to the last star seen.
fn walk(p: &[u8], t: &[u8]) -> bool {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// [`wildcard_match`] without its quick rejections, for the property test.
    pub(crate) fn plain_match(pattern: &str, text: &str) -> bool {
        walk(pattern.as_bytes(), text.as_bytes())
    }

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
