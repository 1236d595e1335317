//! The directory: tenants, users, and applications with their service principals.

use std::collections::HashMap;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::super::ids::{ClientId, ObjectId, TenantId};
use super::super::rbac::PrincipalType;
use super::super::secret::SecretHash;

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

/// Where an object id points: a user or an application's service principal (by index).
#[derive(Clone, Copy, Debug)]
enum Entry {
    User(usize),
    Application(usize),
}

/// Tenants, users and applications, indexed for the lookups token issuance and validation make.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub applications: Vec<Application>,
    tenant_by_id: HashMap<TenantId, usize>,
    tenant_by_domain: HashMap<String, usize>,
    app_by_client_id: HashMap<ClientId, usize>,
    principal_by_oid: HashMap<ObjectId, Entry>,
}

impl Directory {
    pub fn new(tenants: Vec<Tenant>, users: Vec<User>, applications: Vec<Application>) -> Self {
        let mut d = Directory {
            tenants,
            users,
            applications,
            ..Default::default()
        };
        d.reindex();
        d
    }

    /// Rebuilds the indexes: O(directory size), after a change to the directory itself.
    fn reindex(&mut self) {
        self.tenant_by_id = self.tenants.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        self.tenant_by_domain = self
            .tenants
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.domains.iter().map(move |d| (d.to_ascii_lowercase(), i)))
            .collect();
        self.app_by_client_id = self
            .applications
            .iter()
            .enumerate()
            .map(|(i, a)| (a.client_id, i))
            .collect();
        self.principal_by_oid = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.object_id, Entry::User(i)))
            .chain(
                self.applications
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (a.object_id, Entry::Application(i))),
            )
            .collect();
    }

    pub fn tenant(&self, id: TenantId) -> Option<&Tenant> {
        self.tenant_by_id.get(&id).map(|&i| &self.tenants[i])
    }

    pub fn tenant_by_domain(&self, domain: &str) -> Option<&Tenant> {
        self.tenant_by_domain
            .get(&domain.to_ascii_lowercase())
            .map(|&i| &self.tenants[i])
    }

    pub fn application(&self, client_id: ClientId) -> Option<&Application> {
        self.app_by_client_id.get(&client_id).map(|&i| &self.applications[i])
    }

    /// A user or service principal by object id: its display label for error messages
    /// (UPN for users, object id for service principals, as ARM prints them) and kind.
    pub fn principal(&self, oid: ObjectId) -> Option<(String, PrincipalType)> {
        match *self.principal_by_oid.get(&oid)? {
            Entry::User(i) => Some((self.users[i].upn.clone(), PrincipalType::User)),
            Entry::Application(i) => Some((
                self.applications[i].object_id.to_string(),
                PrincipalType::ServicePrincipal,
            )),
        }
    }

    /// The display name of a user or an application's service principal.
    pub fn display_name(&self, oid: ObjectId) -> Option<String> {
        match *self.principal_by_oid.get(&oid)? {
            Entry::User(i) => Some(self.users[i].display_name.clone()),
            Entry::Application(i) => Some(self.applications[i].display_name.clone()),
        }
    }

    /// Changes an application in place (ids stay: the indexes hold); false when there is none.
    pub fn update_application(&mut self, client_id: ClientId, change: impl FnOnce(&mut Application)) -> bool {
        match self.app_by_client_id.get(&client_id) {
            Some(&i) => {
                change(&mut self.applications[i]);
                true
            }
            None => false,
        }
    }

    /// Changes a user in place (its object id stays); false when there is none.
    pub fn update_user(&mut self, object_id: ObjectId, change: impl FnOnce(&mut User)) -> bool {
        match self.principal_by_oid.get(&object_id) {
            Some(&Entry::User(i)) => {
                change(&mut self.users[i]);
                true
            }
            _ => false,
        }
    }

    /// Adds an application (a new service principal): indexed at once.
    pub fn push_application(&mut self, app: Application) {
        let i = self.applications.len();
        self.app_by_client_id.insert(app.client_id, i);
        self.principal_by_oid.insert(app.object_id, Entry::Application(i));
        self.applications.push(app);
    }

    /// Adds a client secret to an application; false when there is no such application.
    pub fn add_secret(&mut self, client_id: ClientId, secret: ClientSecret) -> bool {
        match self.app_by_client_id.get(&client_id) {
            Some(&i) => {
                self.applications[i].secrets.push(secret);
                true
            }
            None => false,
        }
    }
}
