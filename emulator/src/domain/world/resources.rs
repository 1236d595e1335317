//! Subscriptions, resource groups and workspaces.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::super::ids::{SubscriptionId, TenantId};

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
    pub provenance: Provenance,
}

/// Who made a change, as ARM's `systemData` names them: a user's UPN (`User`) or an application's
/// client id (`Application`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub name: String,
    /// `User` or `Application`.
    pub kind: String,
}

impl Actor {
    /// What systemData says of resources the world file made: the emulator's fixtures, an
    /// application (a choice: they were created by no principal).
    pub fn fixtures() -> Actor {
        Actor {
            name: "azureml-emulator".into(),
            kind: "Application".into(),
        }
    }
}

/// ARM's `systemData` beyond the creation time: who created the resource, when and by whom it
/// last changed. Empty for resources of the world file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Actor>,
    /// ARM timestamp of the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_by: Option<Actor>,
}

impl Provenance {
    /// Made now by `actor`.
    pub fn created(actor: Actor) -> Self {
        Provenance {
            created_by: Some(actor),
            modified: None,
            modified_by: None,
        }
    }

    /// Changed at `at` by `actor`.
    pub fn modified(&mut self, actor: Actor, at: String) {
        self.modified = Some(at);
        self.modified_by = Some(actor);
    }
}

/// The storage account, key vault and Application Insights a workspace gets when its PUT names
/// none, as the portal would create them (names derived from the workspace so they are stable).
pub fn default_links(subscription: &str, resource_group: &str, workspace: &str) -> Tags {
    let hash = Sha256::digest(format!("{subscription}/{resource_group}/{workspace}").as_bytes());
    let suffix: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let base: String = workspace
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(14)
        .collect::<String>()
        .to_lowercase();
    let rg = format!("/subscriptions/{subscription}/resourceGroups/{resource_group}/providers");
    let mut links = Tags::new();
    links.insert(
        "storageAccount".into(),
        format!("{rg}/Microsoft.Storage/storageAccounts/{base}{suffix}").into(),
    );
    links.insert(
        "keyVault".into(),
        format!("{rg}/Microsoft.KeyVault/vaults/{base}{suffix}").into(),
    );
    links.insert(
        "applicationInsights".into(),
        format!("{rg}/Microsoft.insights/components/{base}{suffix}").into(),
    );
    links.insert("containerRegistry".into(), serde_json::Value::Null);
    links
}
