//! Web services, online endpoints, per-workspace signing keys and region outages.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use uuid::Uuid;

use super::{Store, StoreError, StoreResult, StoredKey};
use crate::domain::seed::Seed;
use crate::domain::services::{AuthMode, ComputeType, KeySlot, OnlineEndpoint, Scoring, Service, WorkspaceRef};

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// Writes the seed's services, endpoints and outages inside the caller's transaction.
pub(super) fn insert_services(tx: &Transaction<'_>, seed: &Seed) -> StoreResult<()> {
    tx.execute_batch("DELETE FROM services; DELETE FROM online_endpoints; DELETE FROM region_outages;")?;
    for service in &seed.services {
        insert_service(tx, service)?;
    }
    for endpoint in &seed.online_endpoints {
        insert_endpoint(tx, endpoint)?;
    }
    for region in &seed.unavailable_regions {
        tx.execute("INSERT OR IGNORE INTO region_outages (region) VALUES (?1)", [region])?;
    }
    Ok(())
}

/// Inserts a new service; a name already taken (by a service of any workspace) is a constraint
/// error, which [`Store::create_service`] turns into `false`.
fn insert_service(conn: &Connection, s: &Service) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO services (name, service_id, subscription_id, resource_group, workspace, compute_type,
             auth_enabled, token_auth_enabled, primary_key, secondary_key, scoring, token_lifetime_seconds, description, created, cluster_region)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            s.name, s.id.to_string(), s.workspace.subscription_id.to_string(), s.workspace.resource_group, s.workspace.workspace,
            s.compute_type.as_str(), s.auth_enabled, s.token_auth_enabled, s.primary_key, s.secondary_key,
            serde_json::to_string(&s.scoring).expect("scoring serialises"), s.token_lifetime_seconds, s.description, s.created,
            s.cluster_region
        ],
    )?;
    Ok(())
}

fn insert_endpoint(conn: &Connection, e: &OnlineEndpoint) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO online_endpoints (name, endpoint_id, subscription_id, resource_group, workspace, location,
             auth_mode, primary_key, secondary_key, deployments, scoring, description, token_lifetime_seconds, created,
             cluster_region, provenance)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            e.name,
            e.id.to_string(),
            e.workspace.subscription_id.to_string(),
            e.workspace.resource_group,
            e.workspace.workspace,
            e.location,
            e.auth_mode.as_str(),
            e.primary_key,
            e.secondary_key,
            serde_json::to_string(&e.deployments).expect("names serialise"),
            serde_json::to_string(&e.scoring).expect("scoring serialises"),
            e.description,
            e.token_lifetime_seconds,
            e.created,
            e.cluster_region,
            super::resources::provenance_json(&e.provenance)
        ],
    )?;
    Ok(())
}

/// What is scored: a web service (SDK v1) or an online endpoint (SDK v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scored {
    Service,
    Endpoint,
}

impl Scored {
    /// Its table and the column of its instance id.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Scored::Service => ("services", "service_id"),
            Scored::Endpoint => ("online_endpoints", "endpoint_id"),
        }
    }
}

/// `Ok(false)` for a uniqueness violation, so a create can answer 409 instead of failing.
fn unique_insert(result: StoreResult<()>) -> StoreResult<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

fn workspace_ref(sub: String, rg: String, ws: String) -> StoreResult<WorkspaceRef> {
    Ok(WorkspaceRef {
        subscription_id: sub.parse().map_err(|e| corrupt("subscription", e))?,
        resource_group: rg,
        workspace: ws,
    })
}

fn scoring(text: &str) -> StoreResult<Scoring> {
    serde_json::from_str(text).map_err(|e| corrupt("scoring", e))
}

impl Store {
    pub fn load_services(&self) -> StoreResult<(Vec<Service>, Vec<OnlineEndpoint>, Vec<String>)> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT name, service_id, subscription_id, resource_group, workspace, compute_type, auth_enabled,
                    token_auth_enabled, primary_key, secondary_key, scoring, token_lifetime_seconds, description, created,
                    cluster_region
             FROM services ORDER BY rowid",
        )?;
        let services = stmt
            .query_map([], |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ),
                    (r.get::<_, String>(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?),
                    (r.get::<_, String>(10)?, r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?),
                ))
            })?
            .map(|row| {
                let (
                    (name, id, sub, rg, ws),
                    (compute, auth, token, pk, sk),
                    (sc, lifetime, description, created, cluster_region),
                ) = row?;
                Ok(Service {
                    name,
                    id: id.parse().map_err(|e| corrupt("service id", e))?,
                    workspace: workspace_ref(sub, rg, ws)?,
                    compute_type: ComputeType::parse(&compute).ok_or_else(|| corrupt("compute type", &compute))?,
                    auth_enabled: auth,
                    token_auth_enabled: token,
                    primary_key: pk,
                    secondary_key: sk,
                    scoring: scoring(&sc)?,
                    token_lifetime_seconds: lifetime,
                    description,
                    created,
                    cluster_region,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut stmt = conn.prepare(
            "SELECT name, endpoint_id, subscription_id, resource_group, workspace, location, auth_mode, primary_key,
                    secondary_key, deployments, scoring, description, token_lifetime_seconds, created, cluster_region,
                    provenance
             FROM online_endpoints ORDER BY rowid",
        )?;
        let endpoints = stmt
            .query_map([], |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ),
                    (
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get::<_, String>(9)?,
                    ),
                    (
                        r.get::<_, String>(10)?,
                        r.get(11)?,
                        r.get(12)?,
                        r.get(13)?,
                        r.get(14)?,
                        r.get::<_, String>(15)?,
                    ),
                ))
            })?
            .map(|row| {
                let (
                    (name, id, sub, rg, ws),
                    (location, mode, pk, sk, deployments),
                    (sc, description, lifetime, created, cluster_region, provenance),
                ) = row?;
                Ok(OnlineEndpoint {
                    name,
                    id: id.parse().map_err(|e| corrupt("endpoint id", e))?,
                    workspace: workspace_ref(sub, rg, ws)?,
                    location,
                    auth_mode: AuthMode::parse(&mode).ok_or_else(|| corrupt("auth mode", &mode))?,
                    primary_key: pk,
                    secondary_key: sk,
                    deployments: serde_json::from_str(&deployments).map_err(|e| corrupt("deployments", e))?,
                    scoring: scoring(&sc)?,
                    description,
                    token_lifetime_seconds: lifetime,
                    created,
                    cluster_region,
                    provenance: serde_json::from_str(&provenance).map_err(|e| corrupt("endpoint provenance", e))?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut stmt = conn.prepare("SELECT region FROM region_outages ORDER BY region")?;
        let outages = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok((services, endpoints, outages))
    }

    /// Creates a service; false when the name is taken (checked by the database's uniqueness
    /// constraint, so two concurrent creates cannot both succeed).
    pub fn create_service(&self, s: &Service) -> StoreResult<bool> {
        unique_insert(insert_service(&self.conn(), s))
    }

    /// Sets one key of the service or endpoint *instance* `id` (a single-column update: concurrent
    /// regenerations of the other key are never lost); false when that instance is gone.
    pub fn set_key(&self, kind: Scored, name: &str, id: Uuid, slot: KeySlot, value: &str) -> StoreResult<bool> {
        let (table, id_column) = kind.table();
        let column = match slot {
            KeySlot::Primary => "primary_key",
            KeySlot::Secondary => "secondary_key",
        };
        let sql = format!("UPDATE {table} SET {column} = ?3 WHERE name = ?1 AND {id_column} = ?2");
        Ok(self.conn().execute(&sql, params![name, id.to_string(), value])? > 0)
    }

    /// Deletes the service or endpoint instance `id`; false when it was already gone.
    pub fn delete_scored(&self, kind: Scored, name: &str, id: Uuid) -> StoreResult<bool> {
        let (table, id_column) = kind.table();
        let sql = format!("DELETE FROM {table} WHERE name = ?1 AND {id_column} = ?2");
        Ok(self.conn().execute(&sql, params![name, id.to_string()])? > 0)
    }

    /// Creates an online endpoint; false when the name is taken.
    pub fn create_endpoint(&self, e: &OnlineEndpoint) -> StoreResult<bool> {
        unique_insert(insert_endpoint(&self.conn(), e))
    }

    /// Updates what PUT and PATCH may change on the endpoint instance `e.id` (auth mode,
    /// description); false when that instance is gone.
    pub fn update_endpoint(&self, e: &OnlineEndpoint) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "UPDATE online_endpoints SET auth_mode = ?3, description = ?4, provenance = ?5
             WHERE name = ?1 AND endpoint_id = ?2",
            params![
                e.name,
                e.id.to_string(),
                e.auth_mode.as_str(),
                e.description,
                super::resources::provenance_json(&e.provenance)
            ],
        )? > 0)
    }

    pub fn set_region_outage(&self, region: &str, down: bool) -> StoreResult<()> {
        let conn = self.conn();
        if down {
            conn.execute("INSERT OR IGNORE INTO region_outages (region) VALUES (?1)", [region])?;
        } else {
            conn.execute("DELETE FROM region_outages WHERE region = ?1", [region])?;
        }
        Ok(())
    }

    pub fn workspace_key(&self, workspace_id: Uuid) -> StoreResult<Option<StoredKey>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT kid, pkcs8_der, cert_der FROM workspace_signing_keys WHERE workspace_id = ?1",
                [workspace_id.to_string()],
                |r| super::keys::key_at(r, 0),
            )
            .optional()?)
    }

    pub fn workspace_keys(&self) -> StoreResult<Vec<(Uuid, StoredKey)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT workspace_id, kid, pkcs8_der, cert_der FROM workspace_signing_keys")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, super::keys::key_at(r, 1)?)))?;
        rows.map(|row| {
            let (id, key) = row?;
            Ok((id.parse().map_err(|e| corrupt("workspace key id", e))?, key))
        })
        .collect()
    }

    pub fn insert_workspace_key(&self, workspace_id: Uuid, key: &StoredKey) -> StoreResult<()> {
        self.conn().execute(
            "INSERT OR IGNORE INTO workspace_signing_keys (workspace_id, kid, pkcs8_der, cert_der) VALUES (?1, ?2, ?3, ?4)",
            params![workspace_id.to_string(), key.kid, key.pkcs8_der, key.cert_der],
        )?;
        Ok(())
    }
}
