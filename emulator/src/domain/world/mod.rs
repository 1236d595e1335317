//! The in-memory index of the world, built from SQLite at start and updated in place after every
//! committed write, so token issuance, validation and lookups never touch the database.
//!
//! A [`World`] is an immutable snapshot made of shared parts (directory, resources, deployments):
//! readers hold an `Arc<World>` for a whole request; a writer clones the snapshot (a few reference
//! counts) and changes only the part it touches, so a write costs what that part costs — a key
//! regeneration does not copy the directory, however many applications it holds.

mod deployments;
mod directory;
pub mod identities;
mod resources;
mod scopes;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

pub use deployments::Deployments;
pub use directory::{Application, ClientSecret, Directory, Group, SignIn, Tenant, User, UserState};
pub use identities::{
    FederatedCredential, FederatedIssuer, HostKind, Identities, IdentityHost, ManagedIdentity, UserAssignedIdentity,
};
pub use resources::{default_links, Actor, Provenance, ResourceGroup, Subscription, Tags, Workspace};
pub use scopes::MissingScope;

use super::ids::{ClientId, ObjectId, SubscriptionId, TenantId};
use super::rbac::PrincipalType;
use super::services::{OnlineEndpoint, Service};

/// `name` as the case-insensitive indexes file it: lower-cased, without a copy when it already is
/// (names on the request paths usually are).
pub(crate) fn folded(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(name.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// The default access-token lifetime AAD uses for app tokens.
pub const DEFAULT_TOKEN_LIFETIME_SECONDS: u32 = 3599;

/// Everything the emulator knows, indexed for the lookups hot routes make.
#[derive(Clone, Debug, Default)]
pub struct World {
    directory: Arc<Directory>,
    subscriptions: Arc<Vec<Subscription>>,
    resource_groups: Arc<Vec<ResourceGroup>>,
    workspaces: Arc<Vec<Workspace>>,
    deployments: Arc<Deployments>,
    identities: Arc<Identities>,
    /// Which published snapshot this is (see [`World::generation`]).
    generation: u64,
}

/// What `GET /_emulator/world` shows (secrets are skipped by the types themselves).
#[derive(Serialize)]
struct WorldView<'a> {
    tenants: &'a [Tenant],
    users: &'a [User],
    applications: &'a [Application],
    groups: &'a [Group],
    subscriptions: &'a [Subscription],
    resource_groups: &'a [ResourceGroup],
    workspaces: &'a [Workspace],
    services: &'a [Service],
    online_endpoints: &'a [OnlineEndpoint],
    unavailable_regions: &'a [String],
    user_assigned_identities: &'a [UserAssignedIdentity],
    identity_hosts: &'a [IdentityHost],
    managed_identities: &'a [ManagedIdentity],
    certificates: &'a HashMap<ClientId, Vec<crate::domain::certificate::Certificate>>,
    federated_credentials: &'a HashMap<ClientId, Vec<FederatedCredential>>,
}

impl Serialize for World {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WorldView {
            tenants: self.tenants(),
            users: self.users(),
            applications: self.applications(),
            groups: self.groups(),
            subscriptions: self.subscriptions(),
            resource_groups: self.resource_groups(),
            workspaces: self.workspaces(),
            services: self.services(),
            online_endpoints: self.online_endpoints(),
            unavailable_regions: self.unavailable_regions(),
            user_assigned_identities: &self.identities.user_assigned,
            identity_hosts: &self.identities.hosts,
            managed_identities: &self.identities.managed,
            certificates: &self.identities.certificates,
            federated_credentials: &self.identities.federated,
        }
        .serialize(s)
    }
}

impl World {
    pub fn new(
        directory: Directory,
        subscriptions: Vec<Subscription>,
        resource_groups: Vec<ResourceGroup>,
        workspaces: Vec<Workspace>,
        deployments: Deployments,
    ) -> Self {
        World {
            directory: Arc::new(directory),
            subscriptions: Arc::new(subscriptions),
            resource_groups: Arc::new(resource_groups),
            workspaces: Arc::new(workspaces),
            deployments: Arc::new(deployments),
            identities: Arc::default(),
            generation: 0,
        }
        .with_identities(Identities::default())
    }

    /// Which published snapshot of its emulator this is: 0 for the world loaded at start, then
    /// a number [`crate::state::AppState::publish_world`] never gives twice. What is rendered
    /// from a snapshot may be kept under it (`http/arm/body_cache.rs`).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    /// The same world with these credentials, identities and hosts (the managed-identity index
    /// is rebuilt from them and from the workspaces and endpoints).
    pub fn with_identities(mut self, identities: Identities) -> Self {
        self.identities = Arc::new(identities);
        self.reindex_identities();
        self
    }

    /// Rebuilds the managed-identity index after a change to what carries identities.
    fn reindex_identities(&mut self) {
        let (subs, ws, eps) = (
            self.subscriptions.clone(),
            self.workspaces.clone(),
            self.deployments.clone(),
        );
        Arc::make_mut(&mut self.identities).reindex(&subs, &ws, &eps.online_endpoints);
    }

    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// Changes the credentials, identities or hosts (then re-indexes the managed identities).
    pub fn change_identities(&mut self, change: impl FnOnce(&mut Identities)) {
        change(Arc::make_mut(&mut self.identities));
        self.reindex_identities();
    }

    // Reads.

    pub fn tenants(&self) -> &[Tenant] {
        &self.directory.tenants
    }

    pub fn users(&self) -> &[User] {
        &self.directory.users
    }

    pub fn applications(&self) -> &[Application] {
        &self.directory.applications
    }

    pub fn groups(&self) -> &[Group] {
        &self.directory.groups
    }

    pub fn subscriptions(&self) -> &[Subscription] {
        &self.subscriptions
    }

    pub fn resource_groups(&self) -> &[ResourceGroup] {
        &self.resource_groups
    }

    pub fn workspaces(&self) -> &[Workspace] {
        &self.workspaces
    }

    pub fn services(&self) -> &[Service] {
        &self.deployments.services
    }

    pub fn online_endpoints(&self) -> &[OnlineEndpoint] {
        &self.deployments.online_endpoints
    }

    pub fn unavailable_regions(&self) -> &[String] {
        &self.deployments.unavailable_regions
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        let d = &self.deployments;
        d.service_by_name.get(folded(name).as_ref()).map(|&i| &d.services[i])
    }

    pub fn online_endpoint(&self, name: &str) -> Option<&OnlineEndpoint> {
        let d = &self.deployments;
        d.endpoint_by_name
            .get(folded(name).as_ref())
            .map(|&i| &d.online_endpoints[i])
    }

    pub fn region_available(&self, region: &str) -> bool {
        !self
            .unavailable_regions()
            .iter()
            .any(|r| r.eq_ignore_ascii_case(region))
    }

    pub fn tenant(&self, id: TenantId) -> Option<&Tenant> {
        self.directory.tenant(id)
    }

    pub fn tenant_by_domain(&self, domain: &str) -> Option<&Tenant> {
        self.directory.tenant_by_domain(domain)
    }

    /// The tenant the default world's clients use when they do not name one (`adfs`, banners).
    pub fn default_tenant(&self) -> Option<&Tenant> {
        self.tenants().first()
    }

    /// An application's service principal, or a managed identity's (so grants, claims and RBAC
    /// treat both alike).
    pub fn application(&self, client_id: ClientId) -> Option<&Application> {
        self.directory
            .application(client_id)
            .or_else(|| self.identities.by_client(client_id).map(|m| &m.service_principal))
    }

    /// Finds an application that can serve as a token audience by one of its identifier URIs
    /// (compared without a trailing slash, case-insensitively) or `api://{client_id}`.
    pub fn resource_application(&self, tenant: TenantId, resource: &str) -> Option<&Application> {
        let wanted = resource.trim_end_matches('/');
        if let Ok(id) = wanted.trim_start_matches("api://").parse::<ClientId>() {
            if let Some(app) = self.application(id).filter(|a| a.tenant_id == tenant) {
                return Some(app);
            }
        }
        self.applications().iter().find(|a| {
            a.tenant_id == tenant
                && a.identifier_uris
                    .iter()
                    .any(|u| u.trim_end_matches('/').eq_ignore_ascii_case(wanted))
        })
    }

    pub fn subscription(&self, id: SubscriptionId) -> Option<&Subscription> {
        self.subscriptions.iter().find(|s| s.id == id)
    }

    pub fn resource_group(&self, sub: SubscriptionId, name: &str) -> Option<&ResourceGroup> {
        self.resource_groups
            .iter()
            .find(|rg| rg.subscription_id == sub && rg.name.eq_ignore_ascii_case(name))
    }

    pub fn workspace(&self, sub: SubscriptionId, rg: &str, name: &str) -> Option<&Workspace> {
        self.workspaces.iter().find(|w| {
            w.subscription_id == sub && w.resource_group.eq_ignore_ascii_case(rg) && w.name.eq_ignore_ascii_case(name)
        })
    }

    /// A user or service principal by object id: its display label for error messages
    /// (UPN for users, object id for service principals, as ARM prints them) and kind.
    pub fn principal(&self, oid: ObjectId) -> Option<(String, PrincipalType)> {
        self.directory.principal(oid).or_else(|| {
            self.identities
                .by_object(oid)
                .map(|_| (oid.text(), PrincipalType::ServicePrincipal))
        })
    }

    pub fn user(&self, oid: ObjectId) -> Option<&User> {
        self.directory.user(oid)
    }

    pub fn user_by_upn(&self, upn: &str) -> Option<&User> {
        self.directory.user_by_upn(upn)
    }

    pub fn group(&self, oid: ObjectId) -> Option<&Group> {
        self.directory.group(oid)
    }

    /// The groups `oid` belongs to, nested membership included (see [`Directory::groups_of`]).
    pub fn groups_of(&self, oid: ObjectId) -> Vec<ObjectId> {
        self.directory.groups_of(oid)
    }

    /// Whether `oid` names a user, service principal or group of this world.
    pub fn has_object(&self, oid: ObjectId) -> bool {
        self.directory.contains(oid)
    }

    /// The display name of a user or service principal.
    pub fn display_name(&self, oid: ObjectId) -> Option<String> {
        self.directory.display_name(oid)
    }

    pub fn subscriptions_of(&self, tenant: TenantId) -> impl Iterator<Item = &Subscription> {
        self.subscriptions.iter().filter(move |s| s.tenant_id == tenant)
    }

    // Writes: each changes one part of a cloned snapshot, after the database committed the change.

    pub fn push_application(&mut self, app: Application) {
        Arc::make_mut(&mut self.directory).push_application(app);
    }

    pub fn add_secret(&mut self, client_id: ClientId, secret: ClientSecret) -> bool {
        Arc::make_mut(&mut self.directory).add_secret(client_id, secret)
    }

    pub fn put_user(&mut self, user: User) {
        Arc::make_mut(&mut self.directory).put_user(user);
    }

    pub fn remove_user(&mut self, oid: ObjectId) {
        Arc::make_mut(&mut self.directory).remove_user(oid);
    }

    pub fn put_group(&mut self, group: Group) {
        Arc::make_mut(&mut self.directory).put_group(group);
    }

    pub fn remove_group(&mut self, oid: ObjectId) {
        Arc::make_mut(&mut self.directory).remove_group(oid);
    }

    /// Changes an application in place; false when there is none.
    pub fn update_application(&mut self, client_id: ClientId, change: impl FnOnce(&mut Application)) -> bool {
        Arc::make_mut(&mut self.directory).update_application(client_id, change)
    }

    /// Changes a user in place; false when there is none.
    pub fn update_user(&mut self, object_id: ObjectId, change: impl FnOnce(&mut User)) -> bool {
        Arc::make_mut(&mut self.directory).update_user(object_id, change)
    }

    /// Adds or replaces (by subscription and name) a resource group.
    pub fn put_resource_group(&mut self, rg: ResourceGroup) {
        let groups = Arc::make_mut(&mut self.resource_groups);
        match groups
            .iter_mut()
            .find(|g| g.subscription_id == rg.subscription_id && g.name.eq_ignore_ascii_case(&rg.name))
        {
            Some(existing) => *existing = rg,
            None => groups.push(rg),
        }
    }

    /// Removes a resource group and what the database removes with it: its workspaces and their
    /// services and endpoints.
    pub fn remove_resource_group(&mut self, sub: SubscriptionId, name: &str) {
        Arc::make_mut(&mut self.resource_groups)
            .retain(|g| !(g.subscription_id == sub && g.name.eq_ignore_ascii_case(name)));
        let doomed: Vec<(String, String)> = self
            .workspaces
            .iter()
            .filter(|w| w.subscription_id == sub && w.resource_group.eq_ignore_ascii_case(name))
            .map(|w| (w.resource_group.clone(), w.name.clone()))
            .collect();
        for (rg, ws) in doomed {
            self.remove_workspace(sub, &rg, &ws);
        }
        let in_group = |s: SubscriptionId, rg: &str| s == sub && rg.eq_ignore_ascii_case(name);
        self.change_identities(|ids| {
            let gone: Vec<ClientId> = ids
                .user_assigned
                .iter()
                .filter(|u| in_group(u.subscription_id, &u.resource_group))
                .map(|u| u.client_id)
                .collect();
            ids.user_assigned
                .retain(|u| !in_group(u.subscription_id, &u.resource_group));
            ids.hosts.retain(|h| !in_group(h.subscription_id, &h.resource_group));
            for client in gone {
                ids.federated.remove(&client);
            }
        });
    }

    /// Adds or replaces (by subscription, resource group and name) a workspace.
    pub fn put_workspace(&mut self, ws: Workspace) {
        let all = Arc::make_mut(&mut self.workspaces);
        match all.iter_mut().find(|w| {
            w.subscription_id == ws.subscription_id
                && w.resource_group.eq_ignore_ascii_case(&ws.resource_group)
                && w.name.eq_ignore_ascii_case(&ws.name)
        }) {
            Some(existing) => *existing = ws,
            None => all.push(ws),
        }
        self.reindex_identities();
    }

    /// Removes a workspace with its services and online endpoints.
    pub fn remove_workspace(&mut self, sub: SubscriptionId, rg: &str, name: &str) {
        let inside = |w: &super::services::WorkspaceRef| {
            w.subscription_id == sub
                && w.resource_group.eq_ignore_ascii_case(rg)
                && w.workspace.eq_ignore_ascii_case(name)
        };
        Arc::make_mut(&mut self.workspaces).retain(|w| {
            !(w.subscription_id == sub
                && w.resource_group.eq_ignore_ascii_case(rg)
                && w.name.eq_ignore_ascii_case(name))
        });
        if self.services().iter().any(|s| inside(&s.workspace))
            || self.online_endpoints().iter().any(|e| inside(&e.workspace))
        {
            let d = Arc::make_mut(&mut self.deployments);
            d.services.retain(|s| !inside(&s.workspace));
            d.online_endpoints.retain(|e| !inside(&e.workspace));
            d.reindex();
        }
        Arc::make_mut(&mut self.identities).hosts.retain(|h| {
            !(h.subscription_id == sub
                && h.resource_group.eq_ignore_ascii_case(rg)
                && matches!(&h.kind, HostKind::Compute { workspace } if workspace.eq_ignore_ascii_case(name)))
        });
        self.reindex_identities();
    }
}
