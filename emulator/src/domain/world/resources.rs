//! Subscriptions, resource groups and workspaces.

use serde::Serialize;
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
