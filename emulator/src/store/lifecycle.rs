//! Credential lifecycle at run time: client secrets expired or deleted, principals disabled and
//! enabled, token lifetimes of applications, services and endpoints. Each a single-row statement.

use rusqlite::params;
use uuid::Uuid;

use super::{Store, StoreResult};
use crate::domain::{ClientId, ObjectId};

impl Store {
    /// Sets a secret's expiry (RFC 3339, or none for never); false when it is not the client's.
    pub fn set_secret_expiry(&self, client_id: ClientId, key_id: Uuid, expires: Option<&str>) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "UPDATE client_secrets SET expires = ?3 WHERE client_id = ?1 AND key_id = ?2",
            params![client_id.to_string(), key_id.to_string(), expires],
        )? > 0)
    }

    /// Deletes a secret; false when it is not the client's.
    pub fn delete_secret(&self, client_id: ClientId, key_id: Uuid) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "DELETE FROM client_secrets WHERE client_id = ?1 AND key_id = ?2",
            params![client_id.to_string(), key_id.to_string()],
        )? > 0)
    }

    /// Enables or disables an application's service principal; false when there is none.
    pub fn set_application_enabled(&self, client_id: ClientId, enabled: bool) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "UPDATE applications SET enabled = ?2 WHERE client_id = ?1",
            params![client_id.to_string(), enabled],
        )? > 0)
    }

    /// Enables or disables a user; false when there is none.
    pub fn set_user_enabled(&self, object_id: ObjectId, enabled: bool) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "UPDATE users SET enabled = ?2 WHERE object_id = ?1",
            params![object_id.to_string(), enabled],
        )? > 0)
    }

    /// Sets an application's access-token lifetime (none: the tenant's, else Entra ID's default).
    pub fn set_application_lifetime(&self, client_id: ClientId, seconds: Option<u32>) -> StoreResult<bool> {
        Ok(self.conn().execute(
            "UPDATE applications SET token_lifetime_seconds = ?2 WHERE client_id = ?1",
            params![client_id.to_string(), seconds],
        )? > 0)
    }

    /// Sets the Azure ML token lifetime of the service or endpoint instance `id`.
    pub fn set_deployment_lifetime(&self, name: &str, id: Uuid, seconds: Option<u32>) -> StoreResult<bool> {
        let conn = self.conn();
        let services = conn.execute(
            "UPDATE services SET token_lifetime_seconds = ?3 WHERE name = ?1 AND service_id = ?2",
            params![name, id.to_string(), seconds],
        )?;
        let endpoints = conn.execute(
            "UPDATE online_endpoints SET token_lifetime_seconds = ?3 WHERE name = ?1 AND endpoint_id = ?2",
            params![name, id.to_string(), seconds],
        )?;
        Ok(services + endpoints > 0)
    }
}
