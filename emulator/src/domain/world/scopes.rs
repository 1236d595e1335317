//! Whether a scope names resources that exist: role assignments may be made only at resource
//! groups and workspaces that do. Other resource types are not emulated and are taken as written.

use super::World;
use crate::domain::scope::Scope;

/// The first part of a scope that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MissingScope {
    /// The resource group (its name as written).
    ResourceGroup(String),
    /// An Azure ML workspace in an existing resource group.
    Workspace { resource_group: String, name: String },
}

impl World {
    /// `None` when every emulated resource the scope names exists (or it names none). A
    /// subscription id that is not a GUID is left to the caller's own checks.
    pub fn missing_scope(&self, scope: &Scope) -> Option<MissingScope> {
        let (Some(sub), Some(rg)) = (scope.subscription(), scope.resource_group()) else {
            return None;
        };
        let sub = sub.parse().ok()?;
        if self.resource_group(sub, rg).is_none() {
            return Some(MissingScope::ResourceGroup(rg.to_string()));
        }
        let parts: Vec<&str> = scope.as_str().split('/').collect();
        if let [_, _, _, _, _, _, ns, ty, name] = parts.as_slice() {
            if ns.eq_ignore_ascii_case("Microsoft.MachineLearningServices")
                && ty.eq_ignore_ascii_case("workspaces")
                && self.workspace(sub, rg, name).is_none()
            {
                return Some(MissingScope::Workspace {
                    resource_group: rg.to_string(),
                    name: name.to_string(),
                });
            }
        }
        None
    }
}
