//! The in-memory index of the world: rebuilt from SQLite at start and after every committed change,
//! so token issuance and lookups never touch the database.

use std::collections::HashMap;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ids::{ClientId, ObjectId, SubscriptionId, TenantId};
use super::secret::SecretHash;
use super::services::{OnlineEndpoint, Service};

/// The default access-token lifetime AAD uses for app tokens.
pub const DEFAULT_TOKEN_LIFETIME_SECONDS: u32 = 3599;

#[derive(Clone, Debug, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    /// Verified domains; the first is the default domain.
    pub domains: Vec<String>,
    pub token_lifetime_seconds: Option<u32>,
}

impl Tenant {
    pub fn default_domain(&self) -> &str {
        self.domains.first().map(String::as_str).unwrap_or("")
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub object_id: ObjectId,
    pub tenant_id: TenantId,
    pub upn: String,
    pub display_name: String,
    #[serde(skip)]
    pub password: SecretHash,
    pub enabled: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClientSecret {
    pub key_id: Uuid,
    pub display_name: String,
    pub hint: String,
    #[serde(skip)]
    pub hash: SecretHash,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
}

/// An application registration together with its service principal in its home tenant.
#[derive(Clone, Debug, Serialize)]
pub struct Application {
    pub client_id: ClientId,
    /// The service principal's object id (the `oid` of its app tokens).
    pub object_id: ObjectId,
    pub tenant_id: TenantId,
    pub display_name: String,
    pub enabled: bool,
    pub token_lifetime_seconds: Option<u32>,
    pub identifier_uris: Vec<String>,
    /// Version of access tokens issued *for* this application as a resource (1 or 2).
    pub access_token_version: u8,
    pub secrets: Vec<ClientSecret>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub tenant_id: TenantId,
    pub display_name: String,
}

/// Free-form ARM tags.
pub type Tags = serde_json::Map<String, serde_json::Value>;

#[derive(Clone, Debug, Serialize)]
pub struct ResourceGroup {
    pub subscription_id: SubscriptionId,
    pub name: String,
    pub location: String,
    pub tags: Tags,
}

#[derive(Clone, Debug, Serialize)]
pub struct Workspace {
    pub subscription_id: SubscriptionId,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub friendly_name: String,
    pub workspace_id: Uuid,
    pub description: String,
    pub tags: Tags,
    pub sku: String,
    /// RFC 3339 creation time.
    pub created: String,
    /// Linked resource ids: `storageAccount`, `keyVault`, `applicationInsights`, `containerRegistry`.
    pub linked: Tags,
}

/// Everything the emulator knows, indexed for the lookups hot routes make.
#[derive(Debug, Default, Serialize)]
pub struct World {
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub applications: Vec<Application>,
    pub subscriptions: Vec<Subscription>,
    pub resource_groups: Vec<ResourceGroup>,
    pub workspaces: Vec<Workspace>,
    #[serde(skip)]
    tenant_by_id: HashMap<TenantId, usize>,
    #[serde(skip)]
    tenant_by_domain: HashMap<String, usize>,
    #[serde(skip)]
    app_by_client_id: HashMap<ClientId, usize>,
    pub services: Vec<Service>,
    pub online_endpoints: Vec<OnlineEndpoint>,
    /// Regions whose AzureML services are down.
    pub unavailable_regions: Vec<String>,
    #[serde(skip)]
    principal_by_oid: HashMap<ObjectId, Principal>,
    #[serde(skip)]
    service_by_name: HashMap<String, usize>,
    #[serde(skip)]
    endpoint_by_name: HashMap<String, usize>,
}

/// Where an object id points: a user or an application's service principal (by index).
#[derive(Clone, Copy, Debug)]
enum Principal {
    User(usize),
    Application(usize),
}

impl World {
    /// Builds the indexes over already-validated parts.
    pub fn new(
        tenants: Vec<Tenant>,
        users: Vec<User>,
        applications: Vec<Application>,
        subscriptions: Vec<Subscription>,
        resource_groups: Vec<ResourceGroup>,
        workspaces: Vec<Workspace>,
    ) -> Self {
        let tenant_by_id = tenants.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        let tenant_by_domain = tenants
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.domains.iter().map(move |d| (d.to_ascii_lowercase(), i)))
            .collect();
        let app_by_client_id = applications.iter().enumerate().map(|(i, a)| (a.client_id, i)).collect();
        let principal_by_oid = users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.object_id, Principal::User(i)))
            .chain(
                applications
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (a.object_id, Principal::Application(i))),
            )
            .collect();
        World {
            principal_by_oid,
            services: Vec::new(),
            online_endpoints: Vec::new(),
            unavailable_regions: Vec::new(),
            service_by_name: HashMap::new(),
            endpoint_by_name: HashMap::new(),
            tenants,
            users,
            applications,
            subscriptions,
            resource_groups,
            workspaces,
            tenant_by_id,
            tenant_by_domain,
            app_by_client_id,
        }
    }

    /// Adds the services, endpoints and region states, indexed by (case-insensitive) name.
    pub fn with_services(
        mut self,
        services: Vec<Service>,
        endpoints: Vec<OnlineEndpoint>,
        unavailable: Vec<String>,
    ) -> Self {
        self.service_by_name = services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.to_ascii_lowercase(), i))
            .collect();
        self.endpoint_by_name = endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.to_ascii_lowercase(), i))
            .collect();
        self.services = services;
        self.online_endpoints = endpoints;
        self.unavailable_regions = unavailable;
        self
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.service_by_name
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.services[i])
    }

    pub fn online_endpoint(&self, name: &str) -> Option<&OnlineEndpoint> {
        self.endpoint_by_name
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.online_endpoints[i])
    }

    pub fn region_available(&self, region: &str) -> bool {
        !self.unavailable_regions.iter().any(|r| r.eq_ignore_ascii_case(region))
    }

    pub fn tenant(&self, id: TenantId) -> Option<&Tenant> {
        self.tenant_by_id.get(&id).map(|&i| &self.tenants[i])
    }

    pub fn tenant_by_domain(&self, domain: &str) -> Option<&Tenant> {
        self.tenant_by_domain
            .get(&domain.to_ascii_lowercase())
            .map(|&i| &self.tenants[i])
    }

    /// The tenant the default world's clients use when they do not name one (`adfs`, banners).
    pub fn default_tenant(&self) -> Option<&Tenant> {
        self.tenants.first()
    }

    pub fn application(&self, client_id: ClientId) -> Option<&Application> {
        self.app_by_client_id.get(&client_id).map(|&i| &self.applications[i])
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
        self.applications.iter().find(|a| {
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
    pub fn principal(&self, oid: ObjectId) -> Option<(String, super::rbac::PrincipalType)> {
        match *self.principal_by_oid.get(&oid)? {
            Principal::User(i) => Some((self.users[i].upn.clone(), super::rbac::PrincipalType::User)),
            Principal::Application(i) => Some((
                self.applications[i].object_id.to_string(),
                super::rbac::PrincipalType::ServicePrincipal,
            )),
        }
    }

    pub fn subscriptions_of(&self, tenant: TenantId) -> impl Iterator<Item = &Subscription> {
        self.subscriptions.iter().filter(move |s| s.tenant_id == tenant)
    }
}
