//! Certificates, federated identity credentials, user-assigned identities, identity hosts,
//! client-assertion replay state, test-issuer keys and the managed-identity endpoint key.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Store, StoreError, StoreResult, StoredKey};
use crate::domain::certificate::Certificate;
use crate::domain::world::{
    FederatedCredential, FederatedIssuer, HostKind, Identities, IdentityHost, Tags, UserAssignedIdentity,
};
use crate::domain::ClientId;

fn corrupt(what: &str) -> impl Fn(String) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn rfc3339(t: Option<OffsetDateTime>) -> Option<String> {
    t.and_then(|t| t.format(&Rfc3339).ok())
}

/// Seeds every section in the caller's transaction (after the tables were emptied).
pub(super) fn insert_identities(tx: &Transaction<'_>, ids: &Identities) -> StoreResult<()> {
    tx.execute_batch(
        "DELETE FROM federated_credentials; DELETE FROM app_certificates; DELETE FROM identity_hosts;
         DELETE FROM user_assigned_identities; DELETE FROM assertion_replay;",
    )?;
    for u in &ids.user_assigned {
        insert_uami(tx, u)?;
    }
    for h in &ids.hosts {
        insert_host(tx, h)?;
    }
    for (owner, certs) in &ids.certificates {
        for c in certs {
            insert_certificate(tx, *owner, c)?;
        }
    }
    for (owner, list) in &ids.federated {
        for f in list {
            insert_federated(tx, *owner, f)?;
        }
    }
    Ok(())
}

fn insert_uami(conn: &Connection, u: &UserAssignedIdentity) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO user_assigned_identities (subscription_id, resource_group, name, location, tags, client_id,
             principal_id, tenant_id, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            u.subscription_id.to_string(),
            u.resource_group,
            u.name,
            u.location,
            json(&u.tags),
            u.client_id.to_string(),
            u.principal_id.to_string(),
            u.tenant_id.to_string(),
            u.created
        ],
    )?;
    Ok(())
}

fn insert_host(conn: &Connection, h: &IdentityHost) -> StoreResult<()> {
    let workspace = match &h.kind {
        HostKind::Compute { workspace } => Some(workspace.clone()),
        HostKind::WebApp => None,
    };
    conn.execute(
        "INSERT INTO identity_hosts (subscription_id, resource_group, kind, workspace, name, location,
             system_client_id, system_principal_id, user_assigned, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            h.subscription_id.to_string(),
            h.resource_group,
            json(&h.kind),
            workspace,
            h.name,
            h.location,
            h.system.map(|s| s.0.to_string()),
            h.system.map(|s| s.1.to_string()),
            json(&h.user_assigned),
            h.created
        ],
    )?;
    Ok(())
}

fn insert_certificate(conn: &Connection, owner: ClientId, c: &Certificate) -> StoreResult<()> {
    let position: i64 = conn.query_row(
        "SELECT COALESCE(MAX(position), -1) + 1 FROM app_certificates WHERE client_id = ?1",
        [owner.to_string()],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO app_certificates (key_id, client_id, display_name, cert_der, expires, position)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            c.key_id.to_string(),
            owner.to_string(),
            c.display_name,
            c.der,
            rfc3339(Some(c.end)),
            position
        ],
    )?;
    Ok(())
}

fn insert_federated(conn: &Connection, owner: ClientId, f: &FederatedCredential) -> StoreResult<()> {
    let (issuer, test) = match &f.issuer {
        FederatedIssuer::Url(u) => (Some(u.as_str()), None),
        FederatedIssuer::Test(n) => (None, Some(n.as_str())),
    };
    let position: i64 = conn.query_row(
        "SELECT COALESCE(MAX(position), -1) + 1 FROM federated_credentials WHERE owner_client_id = ?1",
        [owner.to_string()],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO federated_credentials (owner_client_id, name, issuer, test_issuer, subject, audiences,
             description, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            owner.to_string(),
            f.name,
            issuer,
            test,
            f.subject,
            json(&f.audiences),
            f.description,
            position
        ],
    )?;
    Ok(())
}

/// Loads every section (the index is built by the world).
pub(super) fn load_identities(conn: &Connection) -> StoreResult<Identities> {
    let mut uamis = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT subscription_id, resource_group, name, location, tags, client_id, principal_id, tenant_id, created
         FROM user_assigned_identities ORDER BY rowid",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let guid = |i: usize| -> StoreResult<uuid::Uuid> {
            r.get::<_, String>(i)?
                .parse()
                .map_err(|e: uuid::Error| corrupt("identity id")(e.to_string()))
        };
        uamis.push(UserAssignedIdentity {
            subscription_id: crate::domain::SubscriptionId(guid(0)?),
            resource_group: r.get(1)?,
            name: r.get(2)?,
            location: r.get(3)?,
            tags: serde_json::from_str::<Tags>(&r.get::<_, String>(4)?).map_err(|e| corrupt("tags")(e.to_string()))?,
            client_id: ClientId(guid(5)?),
            principal_id: crate::domain::ObjectId(guid(6)?),
            tenant_id: crate::domain::TenantId(guid(7)?),
            created: r.get(8)?,
        });
    }
    let mut hosts = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT subscription_id, resource_group, kind, name, location, system_client_id, system_principal_id,
                user_assigned, created FROM identity_hosts ORDER BY rowid",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let guid = |s: String| s.parse::<uuid::Uuid>().map_err(|e| corrupt("host id")(e.to_string()));
        let system = match (r.get::<_, Option<String>>(5)?, r.get::<_, Option<String>>(6)?) {
            (Some(c), Some(p)) => Some((ClientId(guid(c)?), crate::domain::ObjectId(guid(p)?))),
            _ => None,
        };
        hosts.push(IdentityHost {
            subscription_id: crate::domain::SubscriptionId(guid(r.get(0)?)?),
            resource_group: r.get(1)?,
            kind: serde_json::from_str(&r.get::<_, String>(2)?).map_err(|e| corrupt("host kind")(e.to_string()))?,
            name: r.get(3)?,
            location: r.get(4)?,
            system,
            user_assigned: serde_json::from_str(&r.get::<_, String>(7)?)
                .map_err(|e| corrupt("host identities")(e.to_string()))?,
            created: r.get(8)?,
        });
    }
    let mut certificates: HashMap<ClientId, Vec<Certificate>> = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT key_id, client_id, display_name, cert_der, expires FROM app_certificates ORDER BY client_id, position",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let expires = r
            .get::<_, Option<String>>(4)?
            .map(|e| OffsetDateTime::parse(&e, &Rfc3339))
            .transpose()
            .map_err(|e| corrupt("certificate expiry")(e.to_string()))?;
        let mut cert = Certificate::from_der(&r.get::<_, Vec<u8>>(3)?, &r.get::<_, String>(2)?, expires)
            .map_err(|e| corrupt("certificate")(e.to_string()))?;
        cert.key_id = r
            .get::<_, String>(0)?
            .parse()
            .map_err(|e: uuid::Error| corrupt("certificate key id")(e.to_string()))?;
        let owner: ClientId = r
            .get::<_, String>(1)?
            .parse()
            .map_err(|e: uuid::Error| corrupt("certificate owner")(e.to_string()))?;
        certificates.entry(owner).or_default().push(cert);
    }
    let mut federated: HashMap<ClientId, Vec<FederatedCredential>> = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT owner_client_id, name, issuer, test_issuer, subject, audiences, description
         FROM federated_credentials ORDER BY owner_client_id, position",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let issuer = match (r.get::<_, Option<String>>(2)?, r.get::<_, Option<String>>(3)?) {
            (Some(u), _) => FederatedIssuer::Url(u),
            (None, Some(n)) => FederatedIssuer::Test(n),
            (None, None) => return Err(StoreError::Corrupt("federated credential without issuer".into())),
        };
        let owner: ClientId = r
            .get::<_, String>(0)?
            .parse()
            .map_err(|e: uuid::Error| corrupt("federated credential owner")(e.to_string()))?;
        federated.entry(owner).or_default().push(FederatedCredential {
            name: r.get(1)?,
            issuer,
            subject: r.get(4)?,
            audiences: serde_json::from_str(&r.get::<_, String>(5)?)
                .map_err(|e| corrupt("audiences")(e.to_string()))?,
            description: r.get(6)?,
        });
    }
    Ok(Identities::new(uamis, hosts, certificates, federated))
}

/// What a replay check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// First presentation: recorded until it expires.
    Fresh,
    /// Presented before and not yet expired.
    Replayed,
}

impl Store {
    pub fn load_identities(&self) -> StoreResult<Identities> {
        load_identities(&self.conn())
    }

    /// Adds certificates to an application; with `replace`, its other certificates go (in the
    /// same transaction).
    pub fn add_certificates(&self, owner: ClientId, certs: &[Certificate], replace: bool) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if replace {
            tx.execute("DELETE FROM app_certificates WHERE client_id = ?1", [owner.to_string()])?;
        }
        for c in certs {
            insert_certificate(&tx, owner, c)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds a federated credential; false when the owner has one of that name.
    pub fn add_federated(&self, owner: ClientId, f: &FederatedCredential) -> StoreResult<bool> {
        let conn = self.conn();
        match insert_federated(&conn, owner, f) {
            Ok(()) => Ok(true),
            Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes a federated credential; false when there was none of that name.
    pub fn delete_federated(&self, owner: ClientId, name: &str) -> StoreResult<bool> {
        let n = self.conn().execute(
            "DELETE FROM federated_credentials WHERE owner_client_id = ?1 AND name = ?2",
            params![owner.to_string(), name],
        )?;
        Ok(n > 0)
    }

    /// Creates a user-assigned identity, or updates its tags; true when it was created.
    pub fn put_user_assigned_identity(&self, u: &UserAssignedIdentity) -> StoreResult<bool> {
        let conn = self.conn();
        let updated = conn.execute(
            "UPDATE user_assigned_identities SET tags = ?4
             WHERE subscription_id = ?1 AND resource_group = ?2 AND name = ?3",
            params![u.subscription_id.to_string(), u.resource_group, u.name, json(&u.tags)],
        )?;
        if updated == 0 {
            insert_uami(&conn, u)?;
        }
        Ok(updated == 0)
    }

    /// Deletes a user-assigned identity (and its federated credentials); false when absent.
    pub fn delete_user_assigned_identity(&self, u: &UserAssignedIdentity) -> StoreResult<bool> {
        let n = self.conn().execute(
            "DELETE FROM user_assigned_identities WHERE client_id = ?1",
            [u.client_id.to_string()],
        )?;
        Ok(n > 0)
    }

    /// Records a certificate assertion's `jti` for `client` and `resource` until `expires_at`
    /// (unix seconds on the emulator clock), unless it is already recorded and unexpired. Expired
    /// entries are purged on the way. One statement each, so two racing presentations of one
    /// assertion cannot both be fresh.
    pub fn record_assertion(
        &self,
        client: ClientId,
        jti: &str,
        resource: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<Replay> {
        let conn = self.conn();
        conn.execute("DELETE FROM assertion_replay WHERE expires_at <= ?1", [now])?;
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO assertion_replay (client_id, jti, resource, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![client.to_string(), jti, resource, expires_at],
        )?;
        Ok(if inserted == 1 { Replay::Fresh } else { Replay::Replayed })
    }

    pub fn test_issuer_keys(&self) -> StoreResult<Vec<(String, StoredKey)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name, kid, pkcs8_der, cert_der FROM test_issuer_keys")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                StoredKey {
                    kid: r.get(1)?,
                    pkcs8_der: r.get(2)?,
                    cert_der: r.get(3)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores (or, for a rotation, replaces) a test issuer's key.
    pub fn put_test_issuer_key(&self, name: &str, key: &StoredKey, created: &str) -> StoreResult<()> {
        self.conn().execute(
            "INSERT INTO test_issuer_keys (name, kid, pkcs8_der, cert_der, created) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (name) DO UPDATE SET kid = ?2, pkcs8_der = ?3, cert_der = ?4, created = ?5",
            params![name, key.kid, key.pkcs8_der, key.cert_der, created],
        )?;
        Ok(())
    }

    /// A named secret of this emulator, made by `make` and stored on first use.
    pub fn emulator_secret(&self, name: &str, make: impl FnOnce() -> Vec<u8>) -> StoreResult<Vec<u8>> {
        let conn = self.conn();
        let found: Option<Vec<u8>> = conn
            .query_row("SELECT value FROM emulator_secrets WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(v) = found {
            return Ok(v);
        }
        let value = make();
        conn.execute(
            "INSERT OR IGNORE INTO emulator_secrets (name, value) VALUES (?1, ?2)",
            params![name, value],
        )?;
        Ok(
            conn.query_row("SELECT value FROM emulator_secrets WHERE name = ?1", [name], |r| {
                r.get(0)
            })?,
        )
    }
}

impl Store {
    /// A new application (service principal) with certificates and no secret, in one
    /// transaction (`create-for-rbac --create-cert`).
    pub fn add_application_with_certificates(
        &self,
        app: &crate::domain::world::Application,
        certs: &[Certificate],
    ) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let next: i64 = tx.query_row("SELECT COALESCE(MAX(position), -1) + 1 FROM applications", [], |r| {
            r.get(0)
        })?;
        super::world::insert_application(&tx, app, next)?;
        for c in certs {
            insert_certificate(&tx, app.client_id, c)?;
        }
        tx.commit()?;
        Ok(())
    }
}
