//! The directory: tenants, users, and applications with their service principals.

use std::collections::HashMap;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::super::ids::{ClientId, IdMap, ObjectId, TenantId};
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
    /// `accountEnabled`: a disabled user cannot sign in (AADSTS50057).
    pub enabled: bool,
    /// Sign-in conditions the emulator can put a user in.
    #[serde(flatten)]
    pub state: UserState,
}

/// Conditions of a user account that refuse or complicate sign-in, as Entra ID reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UserState {
    /// Locked out after too many failed sign-ins: AADSTS50053.
    pub locked: bool,
    /// The password must be changed (`forceChangePasswordNextSignIn`): AADSTS50055 for ROPC.
    pub password_expired: bool,
    /// Conditional access demands multi-factor authentication: AADSTS50076 for ROPC; interactive
    /// sign-in completes it (`amr` gets `mfa`).
    pub mfa_required: bool,
}

/// A security group: members are users, service principals or other groups (nested).
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub object_id: ObjectId,
    pub tenant_id: TenantId,
    pub display_name: String,
    pub mail_nickname: String,
    pub description: Option<String>,
    /// Direct members' object ids.
    pub members: Vec<ObjectId>,
}

/// How an application signs users in: whether it may act as a public client (no credential;
/// `allowPublicClient`/`isFallbackPublicClient`) and where sign-in may return.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SignIn {
    pub public_client: bool,
    /// Redirect URIs of the web and public-client (mobile and desktop) platforms.
    pub redirect_uris: Vec<String>,
    /// Redirect URIs of the single-page-application platform (24-hour refresh tokens).
    pub spa_redirect_uris: Vec<String>,
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
    #[serde(flatten)]
    pub sign_in: SignIn,
}

impl Application {
    /// A new application registration with its service principal in `tenant`, fresh ids, enabled,
    /// v1 tokens for it as a resource, and no credentials yet: what `az ad sp create-for-rbac`
    /// makes.
    pub fn registered(display_name: &str, tenant: TenantId) -> Self {
        Application {
            client_id: ClientId(Uuid::new_v4()),
            object_id: ObjectId(Uuid::new_v4()),
            tenant_id: tenant,
            display_name: display_name.to_string(),
            enabled: true,
            token_lifetime_seconds: None,
            identifier_uris: vec![],
            access_token_version: 1,
            secrets: vec![],
            sign_in: SignIn::default(),
        }
    }
}

/// Where an object id points: a user or an application's service principal (by index).
#[derive(Clone, Copy, Debug)]
enum Entry {
    User(usize),
    Application(usize),
    Group(usize),
}

/// Tenants, users and applications, indexed for the lookups token issuance and validation make.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub applications: Vec<Application>,
    pub groups: Vec<Group>,
    tenant_by_id: IdMap<TenantId, usize>,
    tenant_by_domain: HashMap<String, usize>,
    app_by_client_id: IdMap<ClientId, usize>,
    principal_by_oid: IdMap<ObjectId, Entry>,
    user_by_upn: HashMap<String, usize>,
    /// Direct parents: the groups each object is a direct member of.
    member_of: IdMap<ObjectId, Vec<ObjectId>>,
}

impl Directory {
    pub fn new(tenants: Vec<Tenant>, users: Vec<User>, applications: Vec<Application>, groups: Vec<Group>) -> Self {
        let mut d = Directory {
            tenants,
            users,
            applications,
            groups,
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
            .chain(
                self.groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (g.object_id, Entry::Group(i))),
            )
            .collect();
        self.user_by_upn = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.upn.to_ascii_lowercase(), i))
            .collect();
        self.member_of = IdMap::default();
        for g in &self.groups {
            for m in &g.members {
                self.member_of.entry(*m).or_default().push(g.object_id);
            }
        }
    }

    pub fn tenant(&self, id: TenantId) -> Option<&Tenant> {
        self.tenant_by_id.get(&id).map(|&i| &self.tenants[i])
    }

    pub fn tenant_by_domain(&self, domain: &str) -> Option<&Tenant> {
        self.tenant_by_domain
            .get(super::folded(domain).as_ref())
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
            Entry::Application(i) => Some((self.applications[i].object_id.text(), PrincipalType::ServicePrincipal)),
            Entry::Group(i) => Some((self.groups[i].display_name.clone(), PrincipalType::Group)),
        }
    }

    pub fn user(&self, oid: ObjectId) -> Option<&User> {
        match self.principal_by_oid.get(&oid)? {
            Entry::User(i) => self.users.get(*i),
            _ => None,
        }
    }

    /// A user by UPN, case-insensitively.
    pub fn user_by_upn(&self, upn: &str) -> Option<&User> {
        self.user_by_upn
            .get(super::folded(upn).as_ref())
            .and_then(|&i| self.users.get(i))
    }

    pub fn group(&self, oid: ObjectId) -> Option<&Group> {
        match self.principal_by_oid.get(&oid)? {
            Entry::Group(i) => self.groups.get(*i),
            _ => None,
        }
    }

    /// Every group `oid` belongs to, directly or through nested groups, nearest first; each once
    /// (membership cycles are tolerated). Empty for an object in no group: one hash lookup.
    pub fn groups_of(&self, oid: ObjectId) -> Vec<ObjectId> {
        let mut found: Vec<ObjectId> = Vec::new();
        // Most principals are in no group: no walk, no allocation (every RBAC check asks).
        if !self.member_of.contains_key(&oid) {
            return found;
        }
        let mut frontier = vec![oid];
        while let Some(next) = frontier.pop() {
            for parent in self.member_of.get(&next).into_iter().flatten() {
                if *parent != oid && !found.contains(parent) {
                    found.push(*parent);
                    frontier.insert(0, *parent);
                }
            }
        }
        found
    }

    /// Replaces (by object id) or adds a user; re-indexed.
    pub fn put_user(&mut self, user: User) {
        match self.users.iter_mut().find(|u| u.object_id == user.object_id) {
            Some(existing) => *existing = user,
            None => self.users.push(user),
        }
        self.reindex();
    }

    /// Removes a user and its group memberships.
    pub fn remove_user(&mut self, oid: ObjectId) {
        self.users.retain(|u| u.object_id != oid);
        for g in &mut self.groups {
            g.members.retain(|m| *m != oid);
        }
        self.reindex();
    }

    /// Replaces (by object id) or adds a group; re-indexed.
    pub fn put_group(&mut self, group: Group) {
        match self.groups.iter_mut().find(|g| g.object_id == group.object_id) {
            Some(existing) => *existing = group,
            None => self.groups.push(group),
        }
        self.reindex();
    }

    /// Removes a group and its memberships in other groups.
    pub fn remove_group(&mut self, oid: ObjectId) {
        self.groups.retain(|g| g.object_id != oid);
        for g in &mut self.groups {
            g.members.retain(|m| *m != oid);
        }
        self.reindex();
    }

    /// The display name of a user or an application's service principal.
    pub fn display_name(&self, oid: ObjectId) -> Option<String> {
        match *self.principal_by_oid.get(&oid)? {
            Entry::User(i) => Some(self.users[i].display_name.clone()),
            Entry::Application(i) => Some(self.applications[i].display_name.clone()),
            Entry::Group(i) => Some(self.groups[i].display_name.clone()),
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

    /// Whether `oid` names a user, service principal or group.
    pub fn contains(&self, oid: ObjectId) -> bool {
        self.principal_by_oid.contains_key(&oid)
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
