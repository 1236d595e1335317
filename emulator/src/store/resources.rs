//! Resource groups and workspaces written through ARM.

use rusqlite::{params, Connection, OptionalExtension};

use super::{Store, StoreResult};
use crate::domain::world::{Provenance, ResourceGroup, Workspace};
use crate::domain::SubscriptionId;

/// Creates or updates a resource group in the caller's transaction; true when it was created.
pub(super) fn upsert_resource_group(conn: &Connection, rg: &ResourceGroup) -> StoreResult<bool> {
    let tags = serde_json::Value::Object(rg.tags.clone()).to_string();
    let updated = conn.execute(
        "UPDATE resource_groups SET tags = ?3 WHERE subscription_id = ?1 AND name = ?2",
        params![rg.subscription_id.to_string(), rg.name, tags],
    )?;
    if updated == 0 {
        conn.execute(
            "INSERT INTO resource_groups (subscription_id, name, location, tags) VALUES (?1, ?2, ?3, ?4)",
            params![rg.subscription_id.to_string(), rg.name, rg.location, tags],
        )?;
    }
    Ok(updated == 0)
}

/// Creates or updates a workspace in place (never delete-and-insert: that would cascade to its
/// services and endpoints); true when it was created.
pub(super) fn upsert_workspace(conn: &Connection, ws: &Workspace) -> StoreResult<bool> {
    let key = params![ws.subscription_id.to_string(), ws.resource_group, ws.name];
    let existed: Option<String> = conn
        .query_row(
            "SELECT workspace_id FROM workspaces WHERE subscription_id = ?1 AND resource_group = ?2 AND name = ?3",
            key,
            |r| r.get(0),
        )
        .optional()?;
    conn.execute(
        "INSERT INTO workspaces (subscription_id, resource_group, name, location, friendly_name, workspace_id,
             description, tags, sku, created, linked, provenance)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (subscription_id, resource_group, name) DO UPDATE SET friendly_name = ?5,
             description = ?7, tags = ?8, sku = ?9, linked = ?11, provenance = ?12",
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
            serde_json::Value::Object(ws.linked.clone()).to_string(),
            provenance_json(&ws.provenance)
        ],
    )?;
    Ok(existed.is_none())
}

/// The `provenance` column's JSON.
pub(super) fn provenance_json(p: &Provenance) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "{}".into())
}

impl Store {
    /// Creates or updates a resource group; true when it was created.
    pub fn put_resource_group(&self, rg: &ResourceGroup) -> StoreResult<bool> {
        upsert_resource_group(&self.conn(), rg)
    }

    /// Deletes a resource group and (by cascade) its workspaces; true when it existed.
    pub fn delete_resource_group(&self, sub: SubscriptionId, name: &str) -> StoreResult<bool> {
        let n = self.conn().execute(
            "DELETE FROM resource_groups WHERE subscription_id = ?1 AND name = ?2",
            params![sub.to_string(), name],
        )?;
        Ok(n > 0)
    }

    /// Creates or updates a workspace; true when it was created.
    pub fn put_workspace(&self, ws: &Workspace) -> StoreResult<bool> {
        upsert_workspace(&self.conn(), ws)
    }

    pub fn delete_workspace(&self, sub: SubscriptionId, rg: &str, name: &str) -> StoreResult<bool> {
        let n = self.conn().execute(
            "DELETE FROM workspaces WHERE subscription_id = ?1 AND resource_group = ?2 AND name = ?3",
            params![sub.to_string(), rg, name],
        )?;
        Ok(n > 0)
    }
}
