//! Users and groups: created, changed and deleted at run time (the control API, `ad user` /
//! `ad group` verbs), and read back into the directory index.

use rusqlite::{params, Connection, Transaction};

use super::{Store, StoreError, StoreResult};
use crate::domain::world::{Group, User};
use crate::domain::ObjectId;

/// One user row (password hashed, sign-in conditions).
pub(super) fn insert_user(conn: &Connection, u: &User) -> StoreResult<()> {
    // Cached: seeding inserts every user of the world through this one statement.
    conn.prepare_cached(
        "INSERT INTO users (object_id, tenant_id, upn, display_name, password_salt, password_hash, enabled,
             locked, password_expired, mfa_required)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(user_columns(u))?;
    Ok(())
}

/// A user's columns as `?1` … `?10`: object_id, tenant_id, upn, display_name, password_salt,
/// password_hash, enabled, locked, password_expired, mfa_required.
fn user_columns(u: &User) -> impl rusqlite::Params + '_ {
    (
        u.object_id.to_string(),
        u.tenant_id.to_string(),
        u.upn.as_str(),
        u.display_name.as_str(),
        &u.password.salt[..],
        &u.password.hash[..],
        u.enabled,
        u.state.locked,
        u.state.password_expired,
        u.state.mfa_required,
    )
}

/// One group and its direct members, in order.
pub(super) fn insert_group(tx: &Transaction<'_>, g: &Group, position: i64) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO groups (object_id, tenant_id, display_name, mail_nickname, description, position)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            g.object_id.to_string(),
            g.tenant_id.to_string(),
            g.display_name,
            g.mail_nickname,
            g.description,
            position
        ],
    )?;
    for (i, m) in g.members.iter().enumerate() {
        tx.execute(
            "INSERT INTO group_members (group_id, member_id, position) VALUES (?1, ?2, ?3)",
            params![g.object_id.to_string(), m.to_string(), i as i64],
        )?;
    }
    Ok(())
}

fn corrupt(what: &'static str) -> impl Fn(uuid::Error) -> StoreError {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

/// Every group with its members, in creation order.
pub(super) fn groups(conn: &Connection) -> StoreResult<Vec<Group>> {
    let mut stmt = conn.prepare(
        "SELECT object_id, tenant_id, display_name, mail_nickname, description FROM groups ORDER BY position",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (oid, tid, display_name, mail_nickname, description) = row?;
        let mut members = conn
            .prepare_cached("SELECT member_id FROM group_members WHERE group_id = ?1 ORDER BY position, member_id")?;
        let members = members
            .query_map([&oid], |r| r.get::<_, String>(0))?
            .map(|m| m?.parse::<ObjectId>().map_err(corrupt("group member id")))
            .collect::<StoreResult<Vec<_>>>()?;
        out.push(Group {
            object_id: oid.parse().map_err(corrupt("group object id"))?,
            tenant_id: tid.parse().map_err(corrupt("group tenant id"))?,
            display_name,
            mail_nickname,
            description,
            members,
        });
    }
    Ok(out)
}

impl Store {
    /// Adds a user. Uniqueness (UPN, object id) is the table's: a duplicate is a constraint error
    /// the caller has ruled out under the writer lock.
    pub fn add_user(&self, user: &User) -> StoreResult<()> {
        insert_user(&self.conn(), user)
    }

    /// Writes a user's changeable fields (display name, password, enabled, sign-in conditions).
    /// Returns `false` when the user no longer exists.
    pub fn update_user(&self, u: &User) -> StoreResult<bool> {
        let changed = self.conn().execute(
            // The tenant (?2) and UPN (?3) do not change.
            "UPDATE users SET display_name = ?4, password_salt = ?5, password_hash = ?6, enabled = ?7,
                 locked = ?8, password_expired = ?9, mfa_required = ?10
             WHERE object_id = ?1",
            user_columns(u),
        )?;
        Ok(changed == 1)
    }

    /// Deletes a user and its group memberships, in one transaction. Role assignments naming it
    /// stay, as in Azure (they show an unknown principal).
    pub fn delete_user(&self, oid: ObjectId) -> StoreResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM group_members WHERE member_id = ?1", [oid.to_string()])?;
        let deleted = tx.execute("DELETE FROM users WHERE object_id = ?1", [oid.to_string()])?;
        tx.commit()?;
        Ok(deleted == 1)
    }

    /// Adds a group (with its members) after the existing ones.
    pub fn add_group(&self, g: &Group) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let next: i64 = tx.query_row("SELECT COALESCE(MAX(position), -1) + 1 FROM groups", [], |r| r.get(0))?;
        insert_group(&tx, g, next)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a group, its member list and its own memberships in other groups.
    pub fn delete_group(&self, oid: ObjectId) -> StoreResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM group_members WHERE member_id = ?1", [oid.to_string()])?;
        let deleted = tx.execute("DELETE FROM groups WHERE object_id = ?1", [oid.to_string()])?;
        tx.commit()?;
        Ok(deleted == 1)
    }

    /// Adds a direct member; `false` when it already was one.
    pub fn add_group_member(&self, group: ObjectId, member: ObjectId) -> StoreResult<bool> {
        let added = self.conn().execute(
            "INSERT INTO group_members (group_id, member_id, position)
             SELECT ?1, ?2, COALESCE(MAX(position), -1) + 1 FROM group_members WHERE group_id = ?1
             ON CONFLICT (group_id, member_id) DO NOTHING",
            params![group.to_string(), member.to_string()],
        )?;
        Ok(added == 1)
    }

    /// Removes a direct member; `false` when it was not one.
    pub fn remove_group_member(&self, group: ObjectId, member: ObjectId) -> StoreResult<bool> {
        let removed = self.conn().execute(
            "DELETE FROM group_members WHERE group_id = ?1 AND member_id = ?2",
            params![group.to_string(), member.to_string()],
        )?;
        Ok(removed == 1)
    }
}
