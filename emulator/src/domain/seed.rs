//! A whole world as plain domain values: what fixtures declare and what the store seeds from
//! (`Store::replace_world`). Secrets are already hashed.

use super::rbac::{RoleAssignment, RoleDefinition};
use super::services::{OnlineEndpoint, Service};
use super::world::{Application, Identities, ResourceGroup, Subscription, Tenant, User, Workspace};

/// Creation and update time recorded for everything declared in a world file.
pub const FIXTURE_TIME: &str = "2024-01-01T00:00:00.0000000Z";

#[derive(Clone, Debug, Default)]
pub struct Seed {
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub applications: Vec<Application>,
    pub subscriptions: Vec<Subscription>,
    pub resource_groups: Vec<ResourceGroup>,
    pub workspaces: Vec<Workspace>,
    /// Custom roles only: built-in roles are part of the code.
    pub custom_roles: Vec<RoleDefinition>,
    pub role_assignments: Vec<RoleAssignment>,
    pub services: Vec<Service>,
    pub online_endpoints: Vec<OnlineEndpoint>,
    pub unavailable_regions: Vec<String>,
    /// Certificates, federated credentials, user-assigned identities and hosts (not yet indexed).
    pub identities: Identities,
    /// SHA-256 (hex) of the fixture text this world was declared in; empty for worlds built in
    /// code. Recorded with the world, so a later start can tell edited fixtures.
    pub fixtures_sha256: String,
}
