//! Seeding the world from fixtures and reading it back into the in-memory index.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Store, StoreError, StoreResult};
use crate::domain::secret::SecretHash;
use crate::domain::seed::Seed;
use crate::domain::world::{
    Application, ClientSecret, Deployments, Directory, ResourceGroup, SignIn, Subscription, Tags, Tenant, User,
    UserState, Workspace,
};
use crate::domain::ClientId;
use crate::domain::World;

/// True when no world has been written yet: no tenant.
fn no_world(conn: &Connection) -> StoreResult<bool> {
    let any: Option<String> = conn
        .query_row("SELECT id FROM tenants LIMIT 1", [], |r| r.get(0))
        .optional()?;
    Ok(any.is_none())
}

impl Store {
    /// True when no world has been written yet (a fresh data dir).
    pub fn is_empty(&self) -> StoreResult<bool> {
        no_world(&self.conn())
    }

    /// Replaces the whole world with `seed`, in one transaction: either the new world is complete
    /// or the old one is untouched.
    pub fn replace_world(&self, seed: &Seed) -> StoreResult<()> {
        let mut conn = self.conn();
        // A large world's inserts land all over its indexes: a page cache that holds them saves
        // re-reading pages for every row. Back to the default once written.
        let big = seed.role_assignments.len() + seed.users.len() > 10_000;
        if !big {
            return Self::write_world(&mut conn, seed);
        }
        conn.pragma_update(None, "cache_size", -65_536)?;
        // Into an empty file, a rollback journal writes each page once, straight into the
        // database (the journal keeps only the few pages there were), where WAL writes every page
        // to the log and then again into the database at the checkpoint that follows. Either is
        // one atomic transaction; back to WAL once written.
        let rollback = Self::is_empty_file(&conn)
            && conn
                .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get::<_, String>(0))
                .is_ok_and(|mode| mode.eq_ignore_ascii_case("delete"));
        let written = Self::write_world(&mut conn, seed);
        let back = match rollback {
            true => conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
                .map(drop),
            false => Ok(()),
        };
        conn.pragma_update(None, "cache_size", -2_000)?;
        written.and(back.map_err(StoreError::from))
    }

    /// A database file (not in memory) with no world in it yet.
    fn is_empty_file(conn: &Connection) -> bool {
        conn.path().is_some_and(|p| !p.is_empty()) && no_world(conn).unwrap_or(false)
    }

    fn write_world(conn: &mut Connection, seed: &Seed) -> StoreResult<()> {
        let tx = conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM services; DELETE FROM online_endpoints; DELETE FROM workspaces; DELETE FROM resource_groups; DELETE FROM subscriptions;
             DELETE FROM group_members; DELETE FROM groups;
             DELETE FROM client_secrets; DELETE FROM applications; DELETE FROM users;
             DELETE FROM tenant_domains; DELETE FROM tenants;",
        )?;
        insert_world(&tx, seed)?;
        super::rbac::insert_rbac(&tx, seed)?;
        super::services::insert_services(&tx, seed)?;
        super::seed::record(&tx, seed)?;
        super::identities::insert_identities(&tx, &seed.identities)?;
        tx.commit()?;
        Ok(())
    }

    pub fn load_world(&self) -> StoreResult<World> {
        let (directory, subscriptions, resource_groups, workspaces) = {
            let conn = self.conn();
            (
                Directory::new(
                    tenants(&conn)?,
                    users(&conn)?,
                    applications(&conn)?,
                    super::directory::groups(&conn)?,
                ),
                subscriptions(&conn)?,
                resource_groups(&conn)?,
                workspaces(&conn)?,
            )
        };
        let (services, endpoints, outages) = self.load_services()?;
        let identities = self.load_identities()?;
        Ok(World::new(
            directory,
            subscriptions,
            resource_groups,
            workspaces,
            Deployments::new(services, endpoints, outages),
        )
        .with_identities(identities))
    }
}

fn bad(what: &str) -> impl Fn(uuid::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn insert_world(tx: &Transaction<'_>, seed: &Seed) -> StoreResult<()> {
    for (i, t) in seed.tenants.iter().enumerate() {
        tx.execute(
            "INSERT INTO tenants (id, display_name, token_lifetime_seconds, position) VALUES (?1, ?2, ?3, ?4)",
            params![t.id.to_string(), t.display_name, t.token_lifetime_seconds, i],
        )?;
        for (j, d) in t.domains.iter().enumerate() {
            tx.execute(
                "INSERT INTO tenant_domains (domain, tenant_id, position) VALUES (?1, ?2, ?3)",
                params![d, t.id.to_string(), j],
            )?;
        }
    }
    for u in &seed.users {
        super::directory::insert_user(tx, u)?;
    }
    for (i, a) in seed.applications.iter().enumerate() {
        insert_application(tx, a, i as i64)?;
    }
    for (i, g) in seed.groups.iter().enumerate() {
        super::directory::insert_group(tx, g, i as i64)?;
    }
    for s in &seed.subscriptions {
        tx.execute(
            "INSERT INTO subscriptions (id, tenant_id, display_name) VALUES (?1, ?2, ?3)",
            params![s.id.to_string(), s.tenant_id.to_string(), s.display_name],
        )?;
    }
    for rg in &seed.resource_groups {
        super::resources::upsert_resource_group(tx, rg)?;
    }
    for ws in &seed.workspaces {
        super::resources::upsert_workspace(tx, ws)?;
    }
    Ok(())
}

/// One application (service principal) and its hashed secrets.
pub(super) fn insert_application(conn: &Connection, a: &Application, position: i64) -> StoreResult<()> {
    let json = |v: &Vec<String>| serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()));
    conn.execute(
        "INSERT INTO applications (client_id, object_id, tenant_id, display_name, enabled,
             token_lifetime_seconds, identifier_uris, access_token_version, position,
             public_client, redirect_uris, spa_redirect_uris)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            a.client_id.to_string(),
            a.object_id.to_string(),
            a.tenant_id.to_string(),
            a.display_name,
            a.enabled,
            a.token_lifetime_seconds,
            json(&a.identifier_uris)?,
            a.access_token_version,
            position,
            a.sign_in.public_client,
            json(&a.sign_in.redirect_uris)?,
            json(&a.sign_in.spa_redirect_uris)?,
        ],
    )?;
    for s in &a.secrets {
        insert_secret(conn, a.client_id, s)?;
    }
    Ok(())
}

fn insert_secret(conn: &Connection, client_id: ClientId, s: &ClientSecret) -> StoreResult<()> {
    let expires = s.expires.and_then(|e| e.format(&Rfc3339).ok());
    conn.execute(
        "INSERT INTO client_secrets (key_id, client_id, display_name, hint, salt, hash, expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            s.key_id.to_string(),
            client_id.to_string(),
            s.display_name,
            s.hint,
            &s.hash.salt[..],
            &s.hash.hash[..],
            expires
        ],
    )?;
    Ok(())
}

impl Store {
    /// Adds a secret to an existing application.
    pub fn add_secret(&self, client_id: ClientId, secret: &ClientSecret) -> StoreResult<()> {
        insert_secret(&self.conn(), client_id, secret)
    }

    /// Adds a service principal created at run time (after those of the world file), in one
    /// transaction with its secrets.
    pub fn add_application(&self, a: &Application) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let next: i64 = tx.query_row("SELECT COALESCE(MAX(position), -1) + 1 FROM applications", [], |r| {
            r.get(0)
        })?;
        insert_application(&tx, a, next)?;
        tx.commit()?;
        Ok(())
    }
}

fn tenants(conn: &Connection) -> StoreResult<Vec<Tenant>> {
    let mut stmt = conn.prepare("SELECT id, display_name, token_lifetime_seconds FROM tenants ORDER BY position")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, display_name, token_lifetime_seconds) = row?;
        let mut dom =
            conn.prepare_cached("SELECT domain FROM tenant_domains WHERE tenant_id = ?1 ORDER BY position")?;
        let domains = dom
            .query_map([&id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        out.push(Tenant {
            id: id.parse().map_err(bad("tenant id"))?,
            display_name,
            domains,
            token_lifetime_seconds,
        });
    }
    Ok(out)
}

fn users(conn: &Connection) -> StoreResult<Vec<User>> {
    let mut stmt = conn.prepare(
        "SELECT object_id, tenant_id, upn, display_name, password_salt, password_hash, enabled,
                locked, password_expired, mfa_required FROM users ORDER BY rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, Vec<u8>>(5)?,
                r.get(6)?,
            ),
            UserState {
                locked: r.get(7)?,
                password_expired: r.get(8)?,
                mfa_required: r.get(9)?,
            },
        ))
    })?;
    rows.map(|row| {
        let ((oid, tid, upn, display_name, salt, hash, enabled), state) = row?;
        Ok(User {
            object_id: oid.parse().map_err(bad("user object id"))?,
            tenant_id: tid.parse().map_err(bad("user tenant id"))?,
            upn,
            display_name,
            password: SecretHash::from_parts(&salt, &hash)
                .ok_or_else(|| StoreError::Corrupt("password hash length".into()))?,
            enabled,
            state,
        })
    })
    .collect()
}

fn applications(conn: &Connection) -> StoreResult<Vec<Application>> {
    let mut stmt = conn.prepare(
        "SELECT client_id, object_id, tenant_id, display_name, enabled, token_lifetime_seconds,
                identifier_uris, access_token_version, public_client, redirect_uris, spa_redirect_uris
         FROM applications ORDER BY position",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get::<_, String>(6)?,
                r.get(7)?,
            ),
            (r.get(8)?, r.get::<_, String>(9)?, r.get::<_, String>(10)?),
        ))
    })?;
    let list = |text: &str, what: &str| -> StoreResult<Vec<String>> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
    };
    let mut out = Vec::new();
    for row in rows {
        let ((cid, oid, tid, display_name, enabled, lifetime, uris, version), (public_client, redirects, spa)) = row?;
        let identifier_uris = list(&uris, "identifier_uris")?;
        let sign_in = SignIn {
            public_client,
            redirect_uris: list(&redirects, "redirect_uris")?,
            spa_redirect_uris: list(&spa, "spa_redirect_uris")?,
        };
        out.push(Application {
            secrets: secrets(conn, &cid)?,
            client_id: cid.parse().map_err(bad("client id"))?,
            object_id: oid.parse().map_err(bad("object id"))?,
            tenant_id: tid.parse().map_err(bad("tenant id"))?,
            display_name,
            enabled,
            token_lifetime_seconds: lifetime,
            identifier_uris,
            access_token_version: version,
            sign_in,
        });
    }
    Ok(out)
}

fn secrets(conn: &Connection, client_id: &str) -> StoreResult<Vec<ClientSecret>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key_id, display_name, hint, salt, hash, expires FROM client_secrets WHERE client_id = ?1 ORDER BY rowid",
    )?;
    let rows = stmt.query_map([client_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get::<_, Vec<u8>>(3)?,
            r.get::<_, Vec<u8>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    rows.map(|row| {
        let (key_id, display_name, hint, salt, hash, expires) = row?;
        Ok(ClientSecret {
            key_id: key_id.parse().map_err(bad("secret key id"))?,
            display_name,
            hint,
            hash: SecretHash::from_parts(&salt, &hash)
                .ok_or_else(|| StoreError::Corrupt("secret hash length".into()))?,
            expires: expires
                .map(|e| OffsetDateTime::parse(&e, &Rfc3339))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("secret expiry: {e}")))?,
        })
    })
    .collect()
}

fn subscriptions(conn: &Connection) -> StoreResult<Vec<Subscription>> {
    let mut stmt = conn.prepare("SELECT id, tenant_id, display_name FROM subscriptions ORDER BY rowid")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?;
    rows.map(|row| {
        let (id, tid, display_name) = row?;
        Ok(Subscription {
            id: id.parse().map_err(bad("subscription id"))?,
            tenant_id: tid.parse().map_err(bad("subscription tenant"))?,
            display_name,
        })
    })
    .collect()
}

fn json_map(text: &str, what: &str) -> StoreResult<Tags> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn resource_groups(conn: &Connection) -> StoreResult<Vec<ResourceGroup>> {
    let mut stmt = conn.prepare("SELECT subscription_id, name, location, tags FROM resource_groups ORDER BY rowid")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
    })?;
    rows.map(|row| {
        let (sub, name, location, tags) = row?;
        Ok(ResourceGroup {
            subscription_id: sub.parse().map_err(bad("resource group subscription"))?,
            name,
            location,
            tags: json_map(&tags, "resource group tags")?,
        })
    })
    .collect()
}

fn workspaces(conn: &Connection) -> StoreResult<Vec<Workspace>> {
    let mut stmt = conn.prepare(
        "SELECT subscription_id, resource_group, name, location, friendly_name, workspace_id,
                description, tags, sku, created, linked, provenance FROM workspaces ORDER BY rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, String>(5)?,
            ),
            (
                r.get(6)?,
                r.get::<_, String>(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get::<_, String>(10)?,
                r.get::<_, String>(11)?,
            ),
        ))
    })?;
    rows.map(|row| {
        let (
            (sub, resource_group, name, location, friendly_name, wid),
            (description, tags, sku, created, linked, provenance),
        ) = row?;
        Ok(Workspace {
            subscription_id: sub.parse().map_err(bad("workspace subscription"))?,
            resource_group,
            name,
            location,
            friendly_name,
            workspace_id: wid.parse().map_err(bad("workspace id"))?,
            description,
            tags: json_map(&tags, "workspace tags")?,
            sku,
            created,
            linked: json_map(&linked, "workspace links")?,
            provenance: serde_json::from_str(&provenance)
                .map_err(|e| StoreError::Corrupt(format!("workspace provenance: {e}")))?,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::WorldSpec;

    #[test]
    fn default_world_round_trips_through_sqlite() {
        let store = Store::open_in_memory().unwrap();
        assert!(store.is_empty().unwrap());
        let spec = WorldSpec::default_world();
        store.replace_world(&spec.seed().unwrap()).unwrap();
        let world = store.load_world().unwrap();
        assert_eq!(world.tenants().len(), spec.tenants.len());
        let app = world.application(spec.applications[0].client_id).unwrap();
        assert_eq!(app.display_name, "ml-auth");
        assert!(app.secrets[0].hash.matches(&spec.applications[0].secrets[0].value));
        assert!(world.tenant_by_domain("CONTOSO.onmicrosoft.com").is_some());
        // Managed identities are service principals of the world: the compute's system-assigned
        // identity, the user-assigned one, and the workspace's and endpoints' derived ones.
        use crate::fixtures::defaults::{COMPUTE_IDENTITY, UAMI_IDENTITY};
        for (client, principal) in [COMPUTE_IDENTITY, UAMI_IDENTITY] {
            let sp = world.application(client.parse().unwrap()).unwrap();
            assert_eq!(sp.object_id.to_string(), principal);
            assert!(world.principal(principal.parse().unwrap()).is_some());
        }
        let ids = world.identities();
        let compute = ids.hosts[0].resource_id();
        let (system, user) = ids.of_host(&compute);
        assert_eq!(
            system.unwrap().service_principal.client_id.to_string(),
            COMPUTE_IDENTITY.0
        );
        assert_eq!(user.len(), 1);
        assert_eq!(ids.managed.len(), 2 + 1 + spec.online_endpoints.len());
        assert_eq!(ids.federated_of(spec.applications[0].client_id).len(), 1);
        // Replacing again leaves exactly one copy.
        store.replace_world(&spec.seed().unwrap()).unwrap();
        assert_eq!(
            store.load_world().unwrap().applications().len(),
            spec.applications.len()
        );
    }
}
