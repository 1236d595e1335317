//! `WorldBuilder`: test worlds built in code from the default world, with fresh ids unless a test
//! names its own. No TOML concatenation; the default world's ids come from
//! `azureml_emulator::fixtures::defaults`.

use azureml_emulator::domain::{ClientId, ObjectId, SubscriptionId, TenantId};
use azureml_emulator::fixtures::{
    ApplicationSpec, CertificateSpec, EndpointSpec, FederatedCredentialSpec, GroupSpec, RoleAssignmentSpec, SecretSpec,
    ServiceSpec, TenantSpec, UserAssignedIdentitySpec, UserSpec, WebAppSpec, WorkspaceSpec, WorldSpec,
};
use uuid::Uuid;

use super::helpers::{RG, SUB, WS};

/// A service principal added to a test world.
#[derive(Clone, Debug)]
pub struct TestPrincipal {
    pub name: String,
    pub client_id: String,
    pub object_id: String,
    pub secret: String,
}

pub struct WorldBuilder {
    spec: WorldSpec,
}

impl WorldBuilder {
    /// Starts from the default world.
    pub fn default_world() -> Self {
        WorldBuilder {
            spec: WorldSpec::default_world(),
        }
    }

    /// A tenant with one verified domain; answers its id.
    pub fn tenant(&mut self, id: &str, domain: &str) -> TenantId {
        let id: TenantId = id.parse().expect("tenant id");
        self.spec.tenants.push(TenantSpec {
            id,
            display_name: domain.split('.').next().unwrap_or(domain).to_string(),
            domains: vec![domain.to_string()],
            token_lifetime_seconds: None,
        });
        id
    }

    /// A service principal named `name` with one secret `"s"`, a fresh client id and object id.
    pub fn service_principal(&mut self, name: &str) -> TestPrincipal {
        self.service_principal_with(name, &Uuid::new_v4().to_string(), None)
    }

    /// A service principal with a given client id (object id fresh), in `tenant` (domain or id;
    /// `None` is the first tenant).
    pub fn service_principal_with(&mut self, name: &str, client_id: &str, tenant: Option<&str>) -> TestPrincipal {
        let p = TestPrincipal {
            name: name.to_string(),
            client_id: client_id.to_string(),
            object_id: Uuid::new_v4().to_string(),
            secret: "s".to_string(),
        };
        self.spec.applications.push(ApplicationSpec {
            tenant: tenant.map(str::to_string),
            display_name: p.name.clone(),
            client_id: p.client_id.parse::<ClientId>().expect("client id"),
            object_id: p.object_id.parse::<ObjectId>().expect("object id"),
            enabled: true,
            token_lifetime_seconds: None,
            identifier_uris: vec![],
            access_token_version: 1,
            secrets: vec![SecretSpec {
                value: p.secret.clone(),
                display_name: String::new(),
                expires: None,
            }],
            public_client: false,
            redirect_uris: vec![],
            spa_redirect_uris: vec![],
        });
        p
    }

    /// A public client application (no secret) with these web/desktop and SPA redirect URIs.
    pub fn public_client(&mut self, name: &str, client_id: &str, redirect_uris: &[&str], spa: &[&str]) -> &mut Self {
        self.spec.applications.push(ApplicationSpec {
            tenant: None,
            display_name: name.to_string(),
            client_id: client_id.parse::<ClientId>().expect("client id"),
            object_id: ObjectId(Uuid::new_v4()),
            enabled: true,
            token_lifetime_seconds: None,
            identifier_uris: vec![],
            access_token_version: 1,
            secrets: vec![],
            public_client: true,
            redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
            spa_redirect_uris: spa.iter().map(|s| s.to_string()).collect(),
        });
        self
    }

    /// A user of the first tenant (password "Passw0rd!"), with a fresh object id; answers it.
    pub fn user(&mut self, upn: &str) -> String {
        let oid = Uuid::new_v4();
        self.spec.users.push(UserSpec {
            tenant: None,
            object_id: ObjectId(oid),
            upn: upn.to_string(),
            display_name: "Test User".into(),
            password: "Passw0rd!".into(),
            enabled: true,
            locked: false,
            password_expired: false,
            mfa_required: false,
        });
        oid.to_string()
    }

    /// A group with these members (UPNs, names or object ids); answers its object id.
    pub fn group(&mut self, name: &str, members: &[&str]) -> String {
        let oid = Uuid::new_v4();
        self.spec.groups.push(GroupSpec {
            tenant: None,
            object_id: ObjectId(oid),
            display_name: name.to_string(),
            mail_nickname: None,
            description: None,
            members: members.iter().map(|s| s.to_string()).collect(),
        });
        oid.to_string()
    }

    /// `principal` (name, UPN, client or object id) holds `role` at `scope`.
    pub fn assign(&mut self, principal: &str, role: &str, scope: &str) -> &mut Self {
        self.spec.role_assignments.push(RoleAssignmentSpec {
            principal: principal.to_string(),
            role: role.to_string(),
            scope: scope.to_string(),
            name: None,
            description: None,
        });
        self
    }

    /// Another workspace in the default resource group.
    pub fn workspace(&mut self, name: &str) -> &mut Self {
        self.spec.workspaces.push(WorkspaceSpec {
            subscription: SUB.parse::<SubscriptionId>().expect("subscription"),
            resource_group: RG.to_string(),
            name: name.to_string(),
            location: "eastus".into(),
            friendly_name: None,
            workspace_id: None,
        });
        self
    }

    /// A web service in the default workspace, echoing, with token auth or keys.
    pub fn aks_service(&mut self, name: &str, token_auth: bool) -> &mut Self {
        self.spec.services.push(ServiceSpec {
            name: name.to_string(),
            subscription: None,
            resource_group: RG.to_string(),
            workspace: WS.to_string(),
            compute_type: "AKS".into(),
            auth_enabled: Some(!token_auth),
            token_auth_enabled: token_auth,
            primary_key: None,
            secondary_key: None,
            scoring: Default::default(),
            token_lifetime_seconds: None,
            description: None,
            cluster_region: None,
        });
        self
    }

    /// An online endpoint in the default workspace (`Key`, `AMLToken` or `AADToken`).
    pub fn online_endpoint(&mut self, name: &str, auth_mode: &str) -> &mut Self {
        self.spec.online_endpoints.push(EndpointSpec {
            name: name.to_string(),
            subscription: None,
            resource_group: RG.to_string(),
            workspace: WS.to_string(),
            auth_mode: auth_mode.to_string(),
            primary_key: None,
            secondary_key: None,
            deployments: vec!["blue".into()],
            scoring: Default::default(),
            token_lifetime_seconds: None,
            description: None,
            cluster_region: None,
        });
        self
    }

    /// A public certificate (PEM) on an application, optionally ending at `expires` (RFC 3339).
    pub fn certificate(&mut self, application: &str, pem: &str, expires: Option<&str>) -> &mut Self {
        self.spec.certificates.push(CertificateSpec {
            application: application.to_string(),
            pem: pem.to_string(),
            display_name: String::new(),
            expires: expires.map(|e| {
                time::OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339).expect("RFC 3339")
            }),
        });
        self
    }

    /// A federated credential on `owner` trusting `subject` from `issuer` (`test:NAME` for one
    /// of the emulator's test issuers, else a URL), for `audiences` (default: token exchange).
    pub fn federated(&mut self, owner: &str, name: &str, issuer: &str, subject: &str, audiences: &[&str]) -> &mut Self {
        let (issuer, test_issuer) = match issuer.strip_prefix("test:") {
            Some(n) => (None, Some(n.to_string())),
            None => (Some(issuer.to_string()), None),
        };
        self.spec.federated_credentials.push(FederatedCredentialSpec {
            owner: owner.to_string(),
            name: name.to_string(),
            issuer,
            test_issuer,
            subject: subject.to_string(),
            audiences: if audiences.is_empty() {
                vec!["api://AzureADTokenExchange".into()]
            } else {
                audiences.iter().map(|a| a.to_string()).collect()
            },
            description: None,
        });
        self
    }

    /// A web app `name` with no system-assigned identity and two user-assigned ones: `ml-uami`
    /// and a new `{name}-uami`.
    pub fn two_identity_web_app(&mut self, name: &str) -> &mut Self {
        let second = format!("{name}-uami");
        self.spec.user_assigned_identities.push(UserAssignedIdentitySpec {
            subscription: None,
            resource_group: RG.to_string(),
            name: second.clone(),
            location: None,
            client_id: ClientId(Uuid::new_v4()),
            principal_id: ObjectId(Uuid::new_v4()),
        });
        self.spec.web_apps.push(WebAppSpec {
            subscription: None,
            resource_group: RG.to_string(),
            name: name.to_string(),
            location: None,
            system_assigned: false,
            client_id: None,
            principal_id: None,
            user_assigned: vec!["ml-uami".into(), second],
        });
        self
    }

    pub fn build(self) -> WorldSpec {
        self.spec.check().expect("the test world is consistent");
        self.spec
    }
}
