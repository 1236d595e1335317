//! The permission table: every ARM operation (kind and method) with the RBAC check it makes. The
//! dispatcher asks the gate for exactly this before a handler runs.

use super::route::Kind;

/// Whether a decision is made once at the target's scope or item by item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// `action` must be allowed at the request's scope.
    AtScope(&'static str),
    /// A collection: each item is shown when `action` is allowed at the item's scope.
    PerItem(&'static str),
    /// Visible when the caller holds any role in (or above) the subscription.
    Visibility,
    /// No RBAC (the caller's own tenants).
    None,
}

/// Every ARM operation: kind, method, and the RBAC check it makes.
#[rustfmt::skip]
pub const ACTIONS: &[(Kind, &str, Check)] = &[
    (Kind::Subscriptions, "GET", Check::Visibility),
    (Kind::Subscription, "GET", Check::Visibility),
    (Kind::Tenants, "GET", Check::None),
    (Kind::ResourceGroups, "GET", Check::PerItem(RG_READ)),
    (Kind::ResourceGroup, "GET", Check::AtScope(RG_READ)),
    (Kind::ResourceGroup, "PUT", Check::AtScope("Microsoft.Resources/subscriptions/resourceGroups/write")),
    (Kind::ResourceGroup, "PATCH", Check::AtScope("Microsoft.Resources/subscriptions/resourceGroups/write")),
    (Kind::ResourceGroup, "DELETE", Check::AtScope("Microsoft.Resources/subscriptions/resourceGroups/delete")),
    (Kind::Resources, "GET", Check::PerItem(WS_READ)),
    (Kind::Workspaces, "GET", Check::PerItem(WS_READ)),
    (Kind::Workspace, "GET", Check::AtScope(WS_READ)),
    (Kind::Workspace, "PUT", Check::AtScope("Microsoft.MachineLearningServices/workspaces/write")),
    (Kind::Workspace, "PATCH", Check::AtScope("Microsoft.MachineLearningServices/workspaces/write")),
    (Kind::Workspace, "DELETE", Check::AtScope("Microsoft.MachineLearningServices/workspaces/delete")),
    (Kind::WorkspaceKeys, "POST", Check::AtScope("Microsoft.MachineLearningServices/workspaces/listKeys/action")),
    (Kind::OnlineEndpoints, "GET", Check::PerItem(EP_READ)),
    (Kind::OnlineEndpoint, "GET", Check::AtScope(EP_READ)),
    (Kind::OnlineEndpoint, "PUT", Check::AtScope("Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write")),
    (Kind::OnlineEndpoint, "PATCH", Check::AtScope("Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write")),
    (Kind::OnlineEndpoint, "DELETE", Check::AtScope("Microsoft.MachineLearningServices/workspaces/onlineEndpoints/delete")),
    (Kind::EndpointListKeys, "POST", Check::AtScope("Microsoft.MachineLearningServices/workspaces/onlineEndpoints/listKeys/action")),
    (Kind::EndpointRegenerateKeys, "POST", Check::AtScope("Microsoft.MachineLearningServices/workspaces/onlineEndpoints/regenerateKeys/action")),
    (Kind::EndpointToken, "POST", Check::AtScope("Microsoft.MachineLearningServices/workspaces/onlineEndpoints/token/action")),
    (Kind::Deployments, "GET", Check::AtScope("Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/read")),
    (Kind::Deployment, "GET", Check::AtScope("Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/read")),
    (Kind::RoleAssignments, "GET", Check::AtScope("Microsoft.Authorization/roleAssignments/read")),
    (Kind::RoleAssignment, "GET", Check::AtScope("Microsoft.Authorization/roleAssignments/read")),
    (Kind::RoleAssignment, "PUT", Check::AtScope("Microsoft.Authorization/roleAssignments/write")),
    (Kind::RoleAssignment, "DELETE", Check::AtScope("Microsoft.Authorization/roleAssignments/delete")),
    // Any signed-in principal of the tenant may read role definitions, as in Azure.
    (Kind::RoleDefinitions, "GET", Check::None),
    (Kind::RoleDefinition, "GET", Check::None),
    (Kind::RoleDefinition, "PUT", Check::AtScope("Microsoft.Authorization/roleDefinitions/write")),
    (Kind::RoleDefinition, "DELETE", Check::AtScope("Microsoft.Authorization/roleDefinitions/delete")),
    // Operation polls: callers with some role in the subscription (the handlers check).
    (Kind::OperationResult, "GET", Check::Visibility),
    (Kind::MlOperation, "GET", Check::Visibility),
    (Kind::Computes, "GET", Check::PerItem(COMPUTE_READ)),
    (Kind::Compute, "GET", Check::AtScope(COMPUTE_READ)),
    (Kind::UserAssignedIdentities, "GET", Check::PerItem(UAMI_READ)),
    (Kind::UserAssignedIdentity, "GET", Check::AtScope(UAMI_READ)),
    (Kind::UserAssignedIdentity, "PUT", Check::AtScope("Microsoft.ManagedIdentity/userAssignedIdentities/write")),
    (Kind::UserAssignedIdentity, "DELETE", Check::AtScope("Microsoft.ManagedIdentity/userAssignedIdentities/delete")),
];

/// The read action of a resource group or workspace item, for filtering collections.
pub const RG_READ: &str = "Microsoft.Resources/subscriptions/resourceGroups/read";
pub const WS_READ: &str = "Microsoft.MachineLearningServices/workspaces/read";
pub const EP_READ: &str = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read";
pub const COMPUTE_READ: &str = "Microsoft.MachineLearningServices/workspaces/computes/read";
pub const UAMI_READ: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/read";
