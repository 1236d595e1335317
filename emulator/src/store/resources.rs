//! Resource groups and workspaces written through ARM.

use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::{Store, StoreResult};
use crate::domain::world::{Tags, Workspace};
use crate::domain::SubscriptionId;

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

impl Store {
    /// Creates or updates a resource group; true when it was created.
    pub fn put_resource_group(
        &self,
        sub: SubscriptionId,
        name: &str,
        location: &str,
        tags: &Tags,
    ) -> StoreResult<bool> {
        let conn = self.conn();
        let tags = serde_json::Value::Object(tags.clone()).to_string();
        let updated = conn.execute(
            "UPDATE resource_groups SET tags = ?3 WHERE subscription_id = ?1 AND name = ?2",
            params![sub.to_string(), name, tags],
        )?;
        if updated == 0 {
            conn.execute(
                "INSERT INTO resource_groups (subscription_id, name, location, tags) VALUES (?1, ?2, ?3, ?4)",
                params![sub.to_string(), name, location, tags],
            )?;
        }
        Ok(updated == 0)
    }

    /// Deletes a resource group and (by cascade) its workspaces; true when it existed.
    pub fn delete_resource_group(&self, sub: SubscriptionId, name: &str) -> StoreResult<bool> {
        let n = self.conn().execute(
            "DELETE FROM resource_groups WHERE subscription_id = ?1 AND name = ?2",
            params![sub.to_string(), name],
        )?;
        Ok(n > 0)
    }

    /// Creates or replaces a workspace; true when it was created.
    pub fn put_workspace(&self, ws: &Workspace) -> StoreResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let existed: Option<String> = tx
            .query_row(
                "SELECT workspace_id FROM workspaces WHERE subscription_id = ?1 AND resource_group = ?2 AND name = ?3",
                params![ws.subscription_id.to_string(), ws.resource_group, ws.name],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute(
            "DELETE FROM workspaces WHERE subscription_id = ?1 AND resource_group = ?2 AND name = ?3",
            params![ws.subscription_id.to_string(), ws.resource_group, ws.name],
        )?;
        tx.execute(
            "INSERT INTO workspaces (subscription_id, resource_group, name, location, friendly_name, workspace_id,
                 description, tags, sku, created, linked)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                ws.subscription_id.to_string(),
                ws.resource_group,
                ws.name,
                ws.location,
                ws.friendly_name,
                ws.workspace_id.to_string(),
                ws.description,
                serde_json::Value::Object(ws.tags.clone()).to_string(),
                ws.sku,
                ws.created,
                serde_json::Value::Object(ws.linked.clone()).to_string()
            ],
        )?;
        tx.commit()?;
        Ok(existed.is_none())
    }

    pub fn delete_workspace(&self, sub: SubscriptionId, rg: &str, name: &str) -> StoreResult<bool> {
        let n = self.conn().execute(
            "DELETE FROM workspaces WHERE subscription_id = ?1 AND resource_group = ?2 AND name = ?3",
            params![sub.to_string(), rg, name],
        )?;
        Ok(n > 0)
    }
}
