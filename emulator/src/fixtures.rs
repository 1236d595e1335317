//! World files (TOML): parsed, validated, and turned into rows for the store.
//!
//! `fixtures/default.toml` documents the schema; it is also compiled into the binary so
//! `serve` works from any directory.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::domain::ids::parse_guid;
use crate::domain::rbac::{PrincipalType, RoleAssignment};
use crate::domain::scope::Scope;
use crate::domain::services::{check_service_auth, AuthMode, ComputeType, Scoring};
use crate::domain::{ClientId, ObjectId, SubscriptionId, TenantId};

/// Creation and update time recorded for everything declared in a world file.
pub const FIXTURE_TIME: &str = "2024-01-01T00:00:00.0000000Z";

/// The world `serve` starts with unless `--fixtures` names another file.
pub const DEFAULT_WORLD: &str = include_str!("../../fixtures/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read fixtures file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("fixtures are not valid TOML for the world schema: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("fixtures are inconsistent: {0}")]
    Invalid(String),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    #[serde(default)]
    pub tenants: Vec<TenantSpec>,
    #[serde(default)]
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub applications: Vec<ApplicationSpec>,
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionSpec>,
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroupSpec>,
    #[serde(default)]
    pub workspaces: Vec<WorkspaceSpec>,
    #[serde(default)]
    pub role_definitions: Vec<RoleDefinitionSpec>,
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignmentSpec>,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    pub online_endpoints: Vec<EndpointSpec>,
    /// Regions whose AzureML services are down (tokens cannot be issued there; keys keep working).
    #[serde(default)]
    pub unavailable_regions: Vec<String>,
    /// SHA-256 (hex) of the text this world was parsed from; recorded when it seeds a database.
    #[serde(skip)]
    pub fingerprint: String,
}

/// An SDK v1 web service. Key auth defaults to on for AKS (off for ACI), token auth to off; keys
/// default to fresh random ones.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    pub subscription: Option<SubscriptionId>,
    pub resource_group: String,
    pub workspace: String,
    pub compute_type: String,
    pub auth_enabled: Option<bool>,
    #[serde(default)]
    pub token_auth_enabled: bool,
    pub primary_key: Option<String>,
    pub secondary_key: Option<String>,
    #[serde(default)]
    pub scoring: Scoring,
    pub token_lifetime_seconds: Option<u32>,
    pub description: Option<String>,
}

/// An SDK v2 online endpoint.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub name: String,
    pub subscription: Option<SubscriptionId>,
    pub resource_group: String,
    pub workspace: String,
    pub auth_mode: String,
    pub primary_key: Option<String>,
    pub secondary_key: Option<String>,
    #[serde(default = "default_deployments")]
    pub deployments: Vec<String>,
    #[serde(default)]
    pub scoring: Scoring,
    pub token_lifetime_seconds: Option<u32>,
    pub description: Option<String>,
}

fn default_deployments() -> Vec<String> {
    vec!["blue".into()]
}

/// A custom role. Built-in roles (Owner, Contributor, Reader, …) need no declaration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDefinitionSpec {
    pub id: uuid::Uuid,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
    #[serde(default = "root_scope")]
    pub assignable_scopes: Vec<String>,
}

fn root_scope() -> Vec<String> {
    vec!["/".into()]
}

/// `principal`: a user's UPN, an application's display name or client id, or an object id.
/// `role`: a role name or GUID. `name`: the assignment's GUID (derived from the rest when absent).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignmentSpec {
    pub principal: String,
    pub role: String,
    pub scope: String,
    pub name: Option<uuid::Uuid>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    pub id: TenantId,
    pub display_name: String,
    #[serde(default)]
    pub domains: Vec<String>,
    pub token_lifetime_seconds: Option<u32>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub tenant: Option<String>,
    pub object_id: ObjectId,
    pub upn: String,
    pub display_name: String,
    pub password: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSpec {
    pub tenant: Option<String>,
    pub display_name: String,
    pub client_id: ClientId,
    pub object_id: ObjectId,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub token_lifetime_seconds: Option<u32>,
    #[serde(default)]
    pub identifier_uris: Vec<String>,
    #[serde(default = "v1")]
    pub access_token_version: u8,
    #[serde(default)]
    pub secrets: Vec<SecretSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    pub value: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    pub id: SubscriptionId,
    pub display_name: String,
    pub tenant: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceGroupSpec {
    pub subscription: SubscriptionId,
    pub name: String,
    pub location: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSpec {
    pub subscription: SubscriptionId,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub friendly_name: Option<String>,
    pub workspace_id: Option<uuid::Uuid>,
}

fn yes() -> bool {
    true
}

fn v1() -> u8 {
    1
}

impl WorldSpec {
    pub fn from_file(path: &Path) -> Result<Self, FixtureError> {
        let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn default_world() -> Self {
        Self::parse(DEFAULT_WORLD).expect("the compiled-in default world is valid")
    }

    /// Parses and checks cross-references, so a bad file fails at start with a clear message.
    pub fn parse(text: &str) -> Result<Self, FixtureError> {
        let mut spec: WorldSpec = toml::from_str(text)?;
        spec.validate()?;
        spec.fingerprint = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(spec)
    }

    /// Resolves an optional tenant reference (id or domain) to a tenant id; absent means the first tenant.
    pub fn tenant_ref(&self, reference: Option<&str>) -> Result<TenantId, FixtureError> {
        let found = match reference {
            None => self.tenants.first(),
            Some(r) => self.tenants.iter().find(|t| {
                parse_guid(r).map(TenantId).ok() == Some(t.id) || t.domains.iter().any(|d| d.eq_ignore_ascii_case(r))
            }),
        };
        found
            .map(|t| t.id)
            .ok_or_else(|| FixtureError::Invalid(format!("unknown tenant {:?}", reference.unwrap_or("(first)"))))
    }

    fn validate(&self) -> Result<(), FixtureError> {
        let invalid = |m: String| Err(FixtureError::Invalid(m));
        if self.tenants.is_empty() {
            return invalid("at least one [[tenants]] entry is required".into());
        }
        unique(self.tenants.iter().map(|t| t.id.to_string()), "tenant id")?;
        unique(
            self.tenants
                .iter()
                .flat_map(|t| t.domains.iter().map(|d| d.to_ascii_lowercase())),
            "tenant domain",
        )?;
        unique(self.users.iter().map(|u| u.upn.to_ascii_lowercase()), "user upn")?;
        unique(
            self.users
                .iter()
                .map(|u| u.object_id.to_string())
                .chain(self.applications.iter().map(|a| a.object_id.to_string())),
            "object id",
        )?;
        unique(
            self.applications.iter().map(|a| a.client_id.to_string()),
            "application client_id",
        )?;
        unique(self.subscriptions.iter().map(|s| s.id.to_string()), "subscription id")?;
        for u in &self.users {
            self.tenant_ref(u.tenant.as_deref())?;
        }
        for a in &self.applications {
            self.tenant_ref(a.tenant.as_deref())?;
            if !matches!(a.access_token_version, 1 | 2) {
                return invalid(format!(
                    "application {}: access_token_version must be 1 or 2",
                    a.display_name
                ));
            }
            if a.secrets.iter().any(|s| s.value.is_empty()) {
                return invalid(format!("application {}: a secret value is empty", a.display_name));
            }
        }
        for s in &self.subscriptions {
            self.tenant_ref(s.tenant.as_deref())?;
        }
        for rg in &self.resource_groups {
            if !self.subscriptions.iter().any(|s| s.id == rg.subscription) {
                return invalid(format!(
                    "resource group {}: unknown subscription {}",
                    rg.name, rg.subscription
                ));
            }
        }
        for ws in &self.workspaces {
            let has_rg = self
                .resource_groups
                .iter()
                .any(|rg| rg.subscription == ws.subscription && rg.name.eq_ignore_ascii_case(&ws.resource_group));
            if !has_rg {
                return invalid(format!(
                    "workspace {}: unknown resource group {} in subscription {}",
                    ws.name, ws.resource_group, ws.subscription
                ));
            }
        }
        for r in &self.role_definitions {
            if crate::domain::rbac::builtin_roles()
                .iter()
                .any(|b| b.id == r.id || b.name.eq_ignore_ascii_case(&r.name))
            {
                return invalid(format!("role definition {}: clashes with a built-in role", r.name));
            }
            for s in &r.assignable_scopes {
                Scope::parse(s).map_err(|e| FixtureError::Invalid(format!("role definition {}: {e}", r.name)))?;
            }
        }
        unique(
            self.role_definitions.iter().map(|r| r.id.to_string()),
            "role definition id",
        )?;
        unique(
            self.services.iter().map(|x| x.name.to_ascii_lowercase()),
            "service name (service names are unique across the emulator)",
        )?;
        unique(
            self.online_endpoints.iter().map(|x| x.name.to_ascii_lowercase()),
            "online endpoint name",
        )?;
        for sv in &self.services {
            self.workspace_of(sv.subscription, &sv.resource_group, &sv.workspace)?;
            let compute = ComputeType::parse(&sv.compute_type).ok_or_else(|| {
                FixtureError::Invalid(format!("service {}: compute_type must be ACI or AKS", sv.name))
            })?;
            let key = sv
                .auth_enabled
                .unwrap_or(compute == ComputeType::Aks && !sv.token_auth_enabled);
            check_service_auth(compute, key, sv.token_auth_enabled)
                .map_err(|m| FixtureError::Invalid(format!("service {}: {m}", sv.name)))?;
        }
        for ep in &self.online_endpoints {
            self.workspace_of(ep.subscription, &ep.resource_group, &ep.workspace)?;
            AuthMode::parse(&ep.auth_mode).ok_or_else(|| {
                FixtureError::Invalid(format!(
                    "online endpoint {}: auth_mode must be Key, AMLToken or AADToken",
                    ep.name
                ))
            })?;
        }
        let resolved = self.resolve_assignments()?;
        let mut seen = HashSet::new();
        for (a, r) in self.role_assignments.iter().zip(&resolved) {
            if !seen.insert((r.scope.key().to_string(), r.role_definition, r.principal_id)) {
                return invalid(format!(
                    "duplicate role assignment of {} to {} at {}",
                    a.role, a.principal, a.scope
                ));
            }
        }
        unique(resolved.iter().map(|a| a.name.to_string()), "role assignment name")?;
        Ok(())
    }

    /// Resolves every declared assignment (principal, role, scope), in order.
    pub fn resolve_assignments(&self) -> Result<Vec<RoleAssignment>, FixtureError> {
        let index = self.principal_index();
        self.role_assignments
            .iter()
            .map(|a| self.resolve_assignment(&index, a))
            .collect()
    }

    fn resolve_assignment(
        &self,
        index: &HashMap<String, (ObjectId, PrincipalType)>,
        a: &RoleAssignmentSpec,
    ) -> Result<RoleAssignment, FixtureError> {
        let invalid = |m: String| {
            FixtureError::Invalid(format!(
                "role assignment {} / {} / {}: {m}",
                a.principal, a.role, a.scope
            ))
        };
        let scope = Scope::parse(&a.scope).map_err(|e| invalid(e.to_string()))?;
        let (principal_id, principal_type) =
            Self::principal(index, &a.principal).ok_or_else(|| invalid("unknown principal".into()))?;
        let role_definition = self.role_id(&a.role).ok_or_else(|| invalid("unknown role".into()))?;
        let name = a.name.unwrap_or_else(|| {
            let seed = format!("{}|{}|{}", scope.key(), role_definition, principal_id);
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, seed.as_bytes())
        });
        Ok(RoleAssignment {
            name,
            scope,
            role_definition,
            principal_id,
            principal_type,
            description: a.description.clone(),
            created_on: FIXTURE_TIME.into(),
            updated_on: FIXTURE_TIME.into(),
            created_by: None,
        })
    }

    /// Lookups for resolving many role assignments at once.
    fn principal_index(&self) -> HashMap<String, (ObjectId, PrincipalType)> {
        let mut index = HashMap::new();
        for a in &self.applications {
            let p = (a.object_id, PrincipalType::ServicePrincipal);
            index.insert(a.display_name.clone(), p);
            index.insert(a.client_id.to_string(), p);
            index.insert(a.object_id.to_string(), p);
        }
        // Users win over applications on a shared key, as they are looked up first.
        for u in &self.users {
            let p = (u.object_id, PrincipalType::User);
            index.insert(u.upn.to_ascii_lowercase(), p);
            index.insert(u.object_id.to_string(), p);
        }
        index
    }

    fn principal(
        index: &HashMap<String, (ObjectId, PrincipalType)>,
        reference: &str,
    ) -> Option<(ObjectId, PrincipalType)> {
        let key = match parse_guid(reference) {
            Ok(g) => g.hyphenated().to_string(),
            Err(_) => reference.to_string(),
        };
        index
            .get(&key)
            .or_else(|| index.get(&reference.to_ascii_lowercase()))
            .copied()
    }

    fn role_id(&self, reference: &str) -> Option<uuid::Uuid> {
        let by_id = parse_guid(reference).ok();
        crate::domain::rbac::builtin_roles()
            .into_iter()
            .map(|r| (r.id, r.name))
            .chain(self.role_definitions.iter().map(|r| (r.id, r.name.clone())))
            .find(|(id, name)| Some(*id) == by_id || name.eq_ignore_ascii_case(reference))
            .map(|(id, _)| id)
    }

    /// The workspace a service or endpoint names (subscription defaults to the first one).
    pub fn workspace_of(
        &self,
        subscription: Option<SubscriptionId>,
        resource_group: &str,
        workspace: &str,
    ) -> Result<&WorkspaceSpec, FixtureError> {
        let sub = subscription.or(self.subscriptions.first().map(|s| s.id));
        self.workspaces
            .iter()
            .find(|w| {
                Some(w.subscription) == sub
                    && w.resource_group.eq_ignore_ascii_case(resource_group)
                    && w.name.eq_ignore_ascii_case(workspace)
            })
            .ok_or_else(|| FixtureError::Invalid(format!("unknown workspace {resource_group}/{workspace}")))
    }

    /// The first application: the "default service principal" printed at start and exported by `env`.
    pub fn default_service_principal(&self) -> Option<(&ApplicationSpec, &SecretSpec)> {
        let app = self.applications.first()?;
        Some((app, app.secrets.first()?))
    }
}

fn unique(items: impl Iterator<Item = String>, what: &str) -> Result<(), FixtureError> {
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert(item.clone()) {
            return Err(FixtureError::Invalid(format!("duplicate {what} {item}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_world_parses_and_names_the_documented_principal() {
        let spec = WorldSpec::default_world();
        let (app, secret) = spec.default_service_principal().unwrap();
        assert_eq!(app.display_name, "ml-auth");
        assert!(!secret.value.is_empty());
        assert_eq!(spec.workspaces[0].name, "ml-example");
        assert_eq!(spec.users.len(), 3);
    }

    #[test]
    fn unknown_keys_and_dangling_references_are_rejected() {
        assert!(matches!(
            WorldSpec::parse("[[tenants]]\nid='x'"),
            Err(FixtureError::Parse(_))
        ));
        let dangling = r#"
            [[tenants]]
            id = "8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5c"
            display_name = "T"
            [[resource_groups]]
            subscription = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
            name = "rg"
            location = "eastus"
        "#;
        let err = WorldSpec::parse(dangling).unwrap_err().to_string();
        assert!(err.contains("unknown subscription"), "{err}");
        assert!(WorldSpec::parse("").unwrap_err().to_string().contains("at least one"));
    }
}
