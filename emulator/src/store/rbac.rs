//! Custom role definitions and role assignments.

use rusqlite::{params, Connection, Transaction};
use uuid::Uuid;

use super::{Store, StoreError, StoreResult};
use crate::domain::ids::parse_guid;
use crate::domain::rbac::{
    AssignmentRow, Permission, PrincipalType, Rbac, RbacLoader, RoleAssignment, RoleDefinition, RoleType,
};
use crate::domain::scope::Scope;
use crate::domain::seed::Seed;
use crate::domain::seed::FIXTURE_TIME;
use crate::domain::ObjectId;

/// Permissions as stored (JSON), in ARM's camelCase.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredPermission {
    actions: Vec<String>,
    not_actions: Vec<String>,
    #[serde(default)]
    data_actions: Vec<String>,
    #[serde(default)]
    not_data_actions: Vec<String>,
}

impl Store {
    /// Role definitions and assignments, indexed: the assignments come from one statement, each row
    /// parsed straight into the index.
    pub fn load_rbac(&self) -> StoreResult<Rbac> {
        let conn = self.conn();
        let roles = custom_roles(&conn)?;
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM role_assignments", [], |r| r.get(0))?;
        let mut loader = Rbac::loader(roles, usize::try_from(count).unwrap_or(0));
        load_assignments(&conn, &mut loader)?;
        Ok(loader.finish())
    }

    pub fn insert_assignment(&self, a: &RoleAssignment) -> StoreResult<()> {
        insert_assignment(&self.conn(), a)
    }

    pub fn delete_assignment(&self, name: Uuid) -> StoreResult<()> {
        self.conn()
            .execute("DELETE FROM role_assignments WHERE name = ?1", [name.to_string()])?;
        Ok(())
    }

    pub fn put_role(&self, r: &RoleDefinition, now: &str) -> StoreResult<()> {
        upsert_role(&self.conn(), r, now)
    }

    pub fn delete_role(&self, id: Uuid) -> StoreResult<()> {
        self.conn()
            .execute("DELETE FROM role_definitions WHERE id = ?1", [id.to_string()])?;
        Ok(())
    }
}

/// Writes the seed's custom roles and assignments inside the caller's transaction.
pub(super) fn insert_rbac(tx: &Transaction<'_>, seed: &Seed) -> StoreResult<()> {
    tx.execute_batch("DELETE FROM role_assignments; DELETE FROM role_definitions;")?;
    for role in &seed.custom_roles {
        upsert_role(tx, role, FIXTURE_TIME)?;
    }
    for a in &seed.role_assignments {
        insert_assignment(tx, a)?;
    }
    Ok(())
}

fn upsert_role(conn: &Connection, r: &RoleDefinition, now: &str) -> StoreResult<()> {
    let permissions: Vec<StoredPermission> = r
        .permissions
        .iter()
        .map(|p| StoredPermission {
            actions: p.actions.clone(),
            not_actions: p.not_actions.clone(),
            data_actions: p.data_actions.clone(),
            not_data_actions: p.not_data_actions.clone(),
        })
        .collect();
    conn.execute(
        "INSERT INTO role_definitions (id, name, description, permissions, assignable_scopes, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT(id) DO UPDATE SET name = ?2, description = ?3, permissions = ?4, assignable_scopes = ?5, updated = ?6",
        params![
            r.id.to_string(),
            r.name,
            r.description,
            serde_json::to_string(&permissions).expect("permissions serialise"),
            serde_json::to_string(&r.assignable_scopes).expect("scopes serialise"),
            now
        ],
    )?;
    Ok(())
}

fn insert_assignment(conn: &Connection, a: &RoleAssignment) -> StoreResult<()> {
    // Cached: seeding inserts every assignment of the world through this one statement.
    conn.prepare_cached(
        "INSERT INTO role_assignments (name, scope, scope_key, role_definition_id, principal_id, principal_type,
             description, created_on, updated_on, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        a.name.to_string(),
        a.scope.as_str(),
        a.scope.key(),
        a.role_definition.to_string(),
        a.principal_id.to_string(),
        format!("{:?}", a.principal_type),
        a.description,
        a.created_on,
        a.updated_on,
        a.created_by
    ])?;
    Ok(())
}

fn corrupt(what: &str) -> impl Fn(String) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn custom_roles(conn: &Connection) -> StoreResult<Vec<RoleDefinition>> {
    let mut stmt =
        conn.prepare("SELECT id, name, description, permissions, assignable_scopes FROM role_definitions")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (id, name, description, permissions, scopes) = row?;
        let permissions: Vec<StoredPermission> =
            serde_json::from_str(&permissions).map_err(|e| corrupt("role permissions")(e.to_string()))?;
        Ok(RoleDefinition {
            id: id.parse().map_err(|e: uuid::Error| corrupt("role id")(e.to_string()))?,
            name,
            description,
            role_type: RoleType::CustomRole,
            permissions: permissions
                .into_iter()
                .map(|p| Permission {
                    actions: p.actions,
                    not_actions: p.not_actions,
                    data_actions: p.data_actions,
                    not_data_actions: p.not_data_actions,
                })
                .collect(),
            assignable_scopes: serde_json::from_str(&scopes)
                .map_err(|e| corrupt("assignable scopes")(e.to_string()))?,
        })
    })
    .collect()
}

fn load_assignments(conn: &Connection, loader: &mut RbacLoader) -> StoreResult<()> {
    let mut stmt = conn.prepare(
        "SELECT name, scope, role_definition_id, principal_id, principal_type, description, created_on, updated_on, created_by
         FROM role_assignments ORDER BY rowid",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let text = |i: usize| -> StoreResult<&str> {
            r.get_ref(i)?.as_str().map_err(|e| corrupt("assignment")(e.to_string()))
        };
        let optional = |i: usize| -> StoreResult<Option<&str>> {
            r.get_ref(i)?
                .as_str_or_null()
                .map_err(|e| corrupt("assignment")(e.to_string()))
        };
        let guid = |i: usize, what: &'static str| -> StoreResult<Uuid> {
            parse_guid(text(i)?).map_err(|e| corrupt(what)(e.to_string()))
        };
        // Checked again as the text is kept as it stands (a scope's text is its trimmed form).
        let scope = Scope::parse(text(1)?).map_err(|e| corrupt("assignment scope")(e.to_string()))?;
        let ptype = text(4)?;
        loader.push(&AssignmentRow {
            name: guid(0, "assignment name")?,
            scope: scope.as_str(),
            role_definition: guid(2, "assignment role")?,
            principal_id: ObjectId(guid(3, "assignment principal")?),
            principal_type: PrincipalType::parse(ptype).ok_or_else(|| corrupt("principal type")(ptype.to_string()))?,
            description: optional(5)?,
            created_on: text(6)?,
            updated_on: text(7)?,
            created_by: optional(8)?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{RoleAssignmentSpec, WorldSpec};
    use crate::store::Store;

    /// A world of more than 10,000 assignments, written into a new database file (through a
    /// rollback journal) and then over itself (through WAL), reads back whole each time, and
    /// leaves the file in WAL mode with no journal beside it.
    #[test]
    fn a_big_world_is_written_whole_into_a_new_file_and_over_itself() {
        let mut spec = WorldSpec::default_world();
        let principal = spec.applications[0].client_id.to_string();
        let sub = spec.subscriptions[0].id;
        let extra = 10_001;
        spec.role_assignments.extend((0..extra).map(|i| RoleAssignmentSpec {
            principal: principal.clone(),
            role: "Reader".into(),
            scope: format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa{i}"),
            name: None,
            description: None,
        }));
        let expected = spec.seed().unwrap().role_assignments.len();
        assert!(expected > extra);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for _ in 0..2 {
            store.replace_world(&spec.seed().unwrap()).unwrap();
            assert_eq!(store.load_rbac().unwrap().assignment_count(), expected);
            let mode: String = store.conn().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
            assert_eq!(mode, "wal");
            assert!(!dir.path().join(format!("{}-journal", crate::store::DB_FILE)).exists());
        }
        drop(store);
        let reopened = Store::open(dir.path()).unwrap();
        assert_eq!(reopened.load_rbac().unwrap().assignment_count(), expected);
    }
}
