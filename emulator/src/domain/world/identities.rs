//! Credentials without secrets and the identities they belong to: certificates and federated
//! identity credentials on applications (and federated credentials on user-assigned identities),
//! user-assigned managed identities (`Microsoft.ManagedIdentity/userAssignedIdentities`), the
//! hosts identities are attached to (Azure ML computes, web apps), and the index of every managed
//! identity — system-assigned ones of workspaces, online endpoints and hosts, and user-assigned
//! ones — each with the service principal role assignments target.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::super::certificate::Certificate;
use super::super::ids::{name_based, ClientId, IdMap, ObjectId, SubscriptionId, TenantId};
use super::super::services::OnlineEndpoint;
use super::directory::Application;
use super::resources::{Subscription, Tags, Workspace};

/// The audience federated credentials accept unless they name others (Entra ID's default).
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A federated identity credential: which external tokens may stand in for the owner's secret.
/// `sub` and `aud` are matched exactly (case-sensitive, as Entra ID does since 2025).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FederatedCredential {
    pub name: String,
    pub issuer: FederatedIssuer,
    pub subject: String,
    pub audiences: Vec<String>,
    pub description: Option<String>,
}

/// Who issues the external tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FederatedIssuer {
    /// An issuer URL, compared exactly with the token's `iss`.
    Url(String),
    /// One of this emulator's named test issuers (`/_emulator/issuers/{name}` on any of its
    /// origins), so the credential survives a change of port.
    Test(String),
}

/// A user-assigned managed identity: an ARM resource of its own with a service principal.
#[derive(Clone, Debug, Serialize)]
pub struct UserAssignedIdentity {
    pub subscription_id: SubscriptionId,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    pub client_id: ClientId,
    pub principal_id: ObjectId,
    pub tenant_id: TenantId,
    pub created: String,
}

impl UserAssignedIdentity {
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}

/// What runs code with identities attached, besides workspaces and online endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HostKind {
    /// An Azure ML compute (cluster or instance) of a workspace: tokens through the Azure ML
    /// 2017-09-01 endpoint (`MSI_ENDPOINT` + `MSI_SECRET`).
    Compute { workspace: String },
    /// An App Service / Functions / Container Apps app (`Microsoft.Web/sites`): tokens through the
    /// 2019-08-01 endpoint (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
    WebApp,
}

/// A compute or app with its identities: a system-assigned one (when on) and user-assigned ones
/// (by the UAMIs' resource ids).
#[derive(Clone, Debug, Serialize)]
pub struct IdentityHost {
    pub kind: HostKind,
    pub subscription_id: SubscriptionId,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    /// The system-assigned identity's ids when it is on (fixtures may fix them).
    pub system: Option<(ClientId, ObjectId)>,
    pub user_assigned: Vec<String>,
    pub created: String,
}

impl IdentityHost {
    pub fn resource_id(&self) -> String {
        let rg = format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.subscription_id, self.resource_group
        );
        match &self.kind {
            HostKind::Compute { workspace } => format!(
                "{rg}/providers/Microsoft.MachineLearningServices/workspaces/{workspace}/computes/{}",
                self.name
            ),
            HostKind::WebApp => format!("{rg}/providers/Microsoft.Web/sites/{}", self.name),
        }
    }
}

/// The ids of a system-assigned identity nobody fixed: derived from the host's resource id and
/// instance, so they are stable across restarts and resets, and a re-created resource of the same
/// name gets a new identity (as in Azure).
pub fn derived_identity(resource_id: &str, instance: &str) -> (ClientId, ObjectId) {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6d5f_1c2e_9a4b_4e7d_8c3f_2b1a_0e9d_8c7b);
    let seed = format!("{}|{instance}", resource_id.to_ascii_lowercase());
    (
        ClientId(name_based(&NAMESPACE, format!("client|{seed}").as_bytes())),
        ObjectId(name_based(&NAMESPACE, format!("principal|{seed}").as_bytes())),
    )
}

/// A managed identity as the token authority and RBAC see it.
#[derive(Clone, Debug, Serialize)]
pub struct ManagedIdentity {
    /// Its service principal (`servicePrincipalType: ManagedIdentity`): client id, object id
    /// (the `principalId`), tenant; no secrets.
    pub service_principal: Application,
    /// `xms_mirid`: the host's resource id (system-assigned) or the identity's own (user-assigned).
    pub resource_id: String,
    pub user_assigned: bool,
}

/// The identities attached to one host.
#[derive(Clone, Debug, Default)]
pub struct HostIdentities {
    pub system: Option<usize>,
    pub user: Vec<usize>,
}

/// Certificates, federated credentials, user-assigned identities and hosts, plus the derived
/// index of every managed identity. One part of the copy-on-write [`super::World`].
#[derive(Clone, Debug, Default)]
pub struct Identities {
    pub user_assigned: Vec<UserAssignedIdentity>,
    pub hosts: Vec<IdentityHost>,
    /// By owner: an application's or a user-assigned identity's client id.
    pub certificates: HashMap<ClientId, Vec<Certificate>>,
    pub federated: HashMap<ClientId, Vec<FederatedCredential>>,
    pub managed: Vec<ManagedIdentity>,
    by_client: IdMap<ClientId, usize>,
    by_object: IdMap<ObjectId, usize>,
    by_resource: HashMap<String, usize>,
    /// Host resource id (lower-case) → its identities.
    by_host: HashMap<String, HostIdentities>,
}

impl Identities {
    pub fn new(
        user_assigned: Vec<UserAssignedIdentity>,
        hosts: Vec<IdentityHost>,
        certificates: HashMap<ClientId, Vec<Certificate>>,
        federated: HashMap<ClientId, Vec<FederatedCredential>>,
    ) -> Self {
        Identities {
            user_assigned,
            hosts,
            certificates,
            federated,
            ..Default::default()
        }
    }

    /// Rebuilds the managed-identity index from the resources that carry identities: O(resources).
    pub fn reindex(&mut self, subscriptions: &[Subscription], workspaces: &[Workspace], endpoints: &[OnlineEndpoint]) {
        let tenant_of = |sub: SubscriptionId| subscriptions.iter().find(|s| s.id == sub).map(|s| s.tenant_id);
        let mut managed = Vec::new();
        let mut by_host: HashMap<String, HostIdentities> = HashMap::new();
        let push =
            |managed: &mut Vec<ManagedIdentity>, name: &str, tenant, ids: (ClientId, ObjectId), rid: String, user| {
                managed.push(ManagedIdentity {
                    service_principal: identity_principal(name, tenant, ids),
                    resource_id: rid,
                    user_assigned: user,
                });
                managed.len() - 1
            };
        for u in &self.user_assigned {
            push(
                &mut managed,
                &u.name,
                u.tenant_id,
                (u.client_id, u.principal_id),
                u.resource_id(),
                true,
            );
        }
        let uami = |managed: &[ManagedIdentity], rid: &str| {
            managed
                .iter()
                .position(|m| m.user_assigned && m.resource_id.eq_ignore_ascii_case(rid))
        };
        for w in workspaces {
            let Some(tenant) = tenant_of(w.subscription_id) else {
                continue;
            };
            let rid = workspace_id(w);
            let ids = derived_identity(&rid, &w.workspace_id.to_string());
            let i = push(&mut managed, &w.name, tenant, ids, rid.clone(), false);
            by_host.entry(rid.to_ascii_lowercase()).or_default().system = Some(i);
        }
        for e in endpoints {
            let Some(tenant) = tenant_of(e.workspace.subscription_id) else {
                continue;
            };
            let rid = format!("{}/onlineEndpoints/{}", e.workspace.arm_id(), e.name);
            let ids = derived_identity(&rid, &e.id.to_string());
            let i = push(&mut managed, &e.name, tenant, ids, rid.clone(), false);
            by_host.entry(rid.to_ascii_lowercase()).or_default().system = Some(i);
        }
        for h in &self.hosts {
            let Some(tenant) = tenant_of(h.subscription_id) else {
                continue;
            };
            let rid = h.resource_id();
            let entry = HostIdentities {
                system: h
                    .system
                    .map(|ids| push(&mut managed, &h.name, tenant, ids, rid.clone(), false)),
                user: h.user_assigned.iter().filter_map(|u| uami(&managed, u)).collect(),
            };
            by_host.insert(rid.to_ascii_lowercase(), entry);
        }
        self.by_client = managed
            .iter()
            .enumerate()
            .map(|(i, m)| (m.service_principal.client_id, i))
            .collect();
        self.by_object = managed
            .iter()
            .enumerate()
            .map(|(i, m)| (m.service_principal.object_id, i))
            .collect();
        self.by_resource = managed
            .iter()
            .enumerate()
            .filter(|(_, m)| m.user_assigned)
            .map(|(i, m)| (m.resource_id.to_ascii_lowercase(), i))
            .collect();
        self.managed = managed;
        self.by_host = by_host;
    }

    pub fn by_client(&self, client_id: ClientId) -> Option<&ManagedIdentity> {
        self.by_client.get(&client_id).map(|&i| &self.managed[i])
    }

    pub fn by_object(&self, object_id: ObjectId) -> Option<&ManagedIdentity> {
        self.by_object.get(&object_id).map(|&i| &self.managed[i])
    }

    /// A user-assigned identity by its resource id (case-insensitive).
    pub fn by_resource(&self, resource_id: &str) -> Option<&ManagedIdentity> {
        self.by_resource
            .get(super::folded(resource_id).as_ref())
            .map(|&i| &self.managed[i])
    }

    /// The identities of the host with this resource id: (system-assigned, user-assigned).
    pub fn of_host(&self, host_resource_id: &str) -> (Option<&ManagedIdentity>, Vec<&ManagedIdentity>) {
        match self.by_host.get(super::folded(host_resource_id).as_ref()) {
            Some(h) => (
                h.system.map(|i| &self.managed[i]),
                h.user.iter().map(|&i| &self.managed[i]).collect(),
            ),
            None => (None, Vec::new()),
        }
    }

    pub fn certificates_of(&self, owner: ClientId) -> &[Certificate] {
        self.certificates.get(&owner).map_or(&[], Vec::as_slice)
    }

    pub fn federated_of(&self, owner: ClientId) -> &[FederatedCredential] {
        self.federated.get(&owner).map_or(&[], Vec::as_slice)
    }

    pub fn user_assigned_identity(&self, sub: SubscriptionId, rg: &str, name: &str) -> Option<&UserAssignedIdentity> {
        self.user_assigned.iter().find(|u| {
            u.subscription_id == sub && u.resource_group.eq_ignore_ascii_case(rg) && u.name.eq_ignore_ascii_case(name)
        })
    }
}

fn workspace_id(w: &Workspace) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
        w.subscription_id, w.resource_group, w.name
    )
}

/// The service principal of a managed identity: enabled, no secrets, v1 tokens for it as a resource.
fn identity_principal(name: &str, tenant: TenantId, (client_id, object_id): (ClientId, ObjectId)) -> Application {
    Application {
        client_id,
        object_id,
        tenant_id: tenant,
        display_name: name.to_string(),
        enabled: true,
        token_lifetime_seconds: None,
        identifier_uris: vec![],
        access_token_version: 1,
        secrets: vec![],
        sign_in: Default::default(),
    }
}
