//! SDK v1 web services (ACI and AKS) and SDK v2 online endpoints: their auth modes and what
//! scoring them returns.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::SubscriptionId;

/// Where a v1 web service runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComputeType {
    #[serde(rename = "ACI")]
    Aci,
    #[serde(rename = "AKS")]
    Aks,
}

impl ComputeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ComputeType::Aci => "ACI",
            ComputeType::Aks => "AKS",
        }
    }

    /// The lower-case segment of its RBAC actions (`…/services/aks/listkeys/action`).
    pub fn action_segment(self) -> &'static str {
        match self {
            ComputeType::Aci => "aci",
            ComputeType::Aks => "aks",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "ACI" => Some(ComputeType::Aci),
            "AKS" => Some(ComputeType::Aks),
            _ => None,
        }
    }
}

/// What a scoring request gets back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Scoring {
    /// The request body, unchanged.
    #[default]
    Echo,
    /// A fixed JSON document.
    Static { body: serde_json::Value },
}

/// The workspace a service or endpoint lives in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkspaceRef {
    pub subscription_id: SubscriptionId,
    pub resource_group: String,
    pub workspace: String,
}

impl WorkspaceRef {
    pub fn arm_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
            self.subscription_id, self.resource_group, self.workspace
        )
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Service {
    pub name: String,
    pub id: Uuid,
    pub workspace: WorkspaceRef,
    pub compute_type: ComputeType,
    /// Key auth.
    pub auth_enabled: bool,
    /// AML token auth (`aadAuthEnabled` on the wire; AKS only, never together with keys).
    pub token_auth_enabled: bool,
    #[serde(skip)]
    pub primary_key: String,
    #[serde(skip)]
    pub secondary_key: String,
    pub scoring: Scoring,
    pub token_lifetime_seconds: Option<u32>,
    pub description: Option<String>,
    pub created: String,
    /// The region of the cluster it runs on; none means the workspace's.
    pub cluster_region: Option<String>,
}

/// Why a service definition is refused, in the words the service API uses.
pub fn check_service_auth(compute: ComputeType, key: bool, token: bool) -> Result<(), &'static str> {
    match (compute, key, token) {
        (ComputeType::Aci, _, true) => {
            Err("Token auth is not supported for ACI services; only AKS services support token authentication.")
        }
        (_, true, true) => Err("Key auth and token auth cannot both be enabled for a service. Disable one of them."),
        _ => Ok(()),
    }
}

/// Online-endpoint auth modes, spelled as ARM spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMode {
    Key,
    #[serde(rename = "AMLToken")]
    AmlToken,
    #[serde(rename = "AADToken")]
    AadToken,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Key => "Key",
            AuthMode::AmlToken => "AMLToken",
            AuthMode::AadToken => "AADToken",
        }
    }

    /// Case-insensitive, as azure-ai-ml compares them.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "key" => Some(AuthMode::Key),
            "amltoken" => Some(AuthMode::AmlToken),
            "aadtoken" => Some(AuthMode::AadToken),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct OnlineEndpoint {
    pub name: String,
    pub id: Uuid,
    pub workspace: WorkspaceRef,
    pub location: String,
    pub auth_mode: AuthMode,
    #[serde(skip)]
    pub primary_key: String,
    #[serde(skip)]
    pub secondary_key: String,
    pub deployments: Vec<String>,
    pub scoring: Scoring,
    pub description: Option<String>,
    pub token_lifetime_seconds: Option<u32>,
    pub created: String,
    /// The region of the cluster it runs on; none means the workspace's.
    pub cluster_region: Option<String>,
    pub provenance: crate::domain::world::Provenance,
}

/// An Azure region's programmatic name: letters and digits only (`eastus`, `westeurope`,
/// `southcentralus2`), at most 40 characters.
pub fn is_region_name(s: &str) -> bool {
    (1..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Which of a service's or endpoint's two keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySlot {
    Primary,
    Secondary,
}

impl KeySlot {
    /// `Primary` or `Secondary`, case-insensitively, as the APIs' `keyType` spells it.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "primary" => Some(KeySlot::Primary),
            "secondary" => Some(KeySlot::Secondary),
            _ => None,
        }
    }
}

/// A fresh endpoint or service key: 32 random bytes, base64 (as Azure's look).
pub fn new_key() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_rules() {
        assert!(check_service_auth(ComputeType::Aks, true, false).is_ok());
        assert!(check_service_auth(ComputeType::Aks, false, true).is_ok());
        assert!(check_service_auth(ComputeType::Aks, true, true).is_err());
        assert!(check_service_auth(ComputeType::Aci, false, true).is_err());
        assert!(check_service_auth(ComputeType::Aci, false, false).is_ok());
        assert_eq!(AuthMode::parse("amltoken"), Some(AuthMode::AmlToken));
        assert_ne!(new_key(), new_key());
        let static_scoring: Scoring = serde_json::from_str(r#"{"kind":"static","body":[1,2]}"#).unwrap();
        assert_eq!(
            static_scoring,
            Scoring::Static {
                body: serde_json::json!([1, 2])
            }
        );
    }
}
