//! Credential lifecycle at run time: client secrets added (two or more valid at once, as during a
//! rotation), expired and deleted; users and service principals disabled and enabled; token
//! lifetimes of applications, web services and online endpoints. Each takes effect on the next
//! request: the database first, then the changed part of the world.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::domain::secret::{hint, SecretHash};
use crate::domain::world::ClientSecret;
use crate::domain::{ClientId, ObjectId};
use crate::state::AppState;

/// A new secret: its record and its value (shown once).
#[derive(Debug)]
pub struct NewSecret {
    pub secret: ClientSecret,
    pub value: String,
}

/// A fresh random secret value in Azure's style (40 characters of letters, digits, `~`, `.`, `_`, `-`).
pub fn random_secret() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-";
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Adds a secret to the application (its other secrets keep working).
pub fn add_secret(
    state: &AppState,
    client_id: ClientId,
    display_name: String,
    value: Option<String>,
    expires: Option<OffsetDateTime>,
) -> ServiceResult<NewSecret> {
    let value = value.unwrap_or_else(random_secret);
    let secret = ClientSecret {
        key_id: Uuid::new_v4(),
        display_name,
        hint: hint(&value),
        hash: SecretHash::new(&value),
        expires,
    };
    let w = state.writer();
    if w.world().application(client_id).is_none() {
        return Err(ServiceError::NotFound);
    }
    w.store().add_secret(client_id, &secret)?;
    w.update_world(|world| {
        world.add_secret(client_id, secret.clone());
    });
    Ok(NewSecret { secret, value })
}

/// Sets when a secret expires (`None`: never); expiring it "now" makes the next token request
/// with it fail with AADSTS7000222.
pub fn set_secret_expiry(
    state: &AppState,
    client_id: ClientId,
    key_id: Uuid,
    expires: Option<OffsetDateTime>,
) -> ServiceResult<()> {
    let w = state.writer();
    let text = expires.and_then(|e| e.format(&Rfc3339).ok());
    if !w.store().set_secret_expiry(client_id, key_id, text.as_deref())? {
        return Err(ServiceError::NotFound);
    }
    w.update_world(|world| {
        world.update_application(client_id, |app| {
            for s in app.secrets.iter_mut().filter(|s| s.key_id == key_id) {
                s.expires = expires;
            }
        });
    });
    Ok(())
}

/// Deletes a secret: the next token request with it fails with AADSTS7000215.
pub fn delete_secret(state: &AppState, client_id: ClientId, key_id: Uuid) -> ServiceResult<()> {
    let w = state.writer();
    if !w.store().delete_secret(client_id, key_id)? {
        return Err(ServiceError::NotFound);
    }
    w.update_world(|world| {
        world.update_application(client_id, |app| app.secrets.retain(|s| s.key_id != key_id));
    });
    Ok(())
}

/// Who `enable`/`disable` act on.
#[derive(Clone, Copy, Debug)]
pub enum PrincipalRef {
    Application(ClientId),
    User(ObjectId),
}

/// Disables (AADSTS7000112 for an application, AADSTS50057 for a user) or enables a principal.
pub fn set_enabled(state: &AppState, who: PrincipalRef, enabled: bool) -> ServiceResult<()> {
    let w = state.writer();
    let done = match who {
        PrincipalRef::Application(id) => w.store().set_application_enabled(id, enabled)?,
        PrincipalRef::User(oid) => w.store().set_user_enabled(oid, enabled)?,
    };
    if !done {
        return Err(ServiceError::NotFound);
    }
    w.update_world(|world| match who {
        PrincipalRef::Application(id) => {
            world.update_application(id, |a| a.enabled = enabled);
        }
        PrincipalRef::User(oid) => {
            world.update_user(oid, |u| u.enabled = enabled);
        }
    });
    Ok(())
}

/// An application's access-token lifetime (none: the tenant's, else Entra ID's default).
pub fn set_application_lifetime(state: &AppState, client_id: ClientId, seconds: Option<u32>) -> ServiceResult<()> {
    let w = state.writer();
    if !w.store().set_application_lifetime(client_id, seconds)? {
        return Err(ServiceError::NotFound);
    }
    w.update_world(|world| {
        world.update_application(client_id, |a| a.token_lifetime_seconds = seconds);
    });
    Ok(())
}

/// A web service's or online endpoint's Azure ML token lifetime (none: an hour).
pub fn set_deployment_lifetime(state: &AppState, name: &str, seconds: Option<u32>) -> ServiceResult<()> {
    let w = state.writer();
    let world = w.world();
    let service = world.service(name).cloned();
    let endpoint = world.online_endpoint(name).cloned();
    let id = service
        .as_ref()
        .map(|s| s.id)
        .or(endpoint.as_ref().map(|e| e.id))
        .ok_or(ServiceError::NotFound)?;
    if !w.store().set_deployment_lifetime(name, id, seconds)? {
        return Err(ServiceError::NotFound);
    }
    w.update_world(|world| {
        if let Some(mut s) = service {
            s.token_lifetime_seconds = seconds;
            world.put_service(s);
        }
        if let Some(mut e) = endpoint {
            e.token_lifetime_seconds = seconds;
            world.put_endpoint(e);
        }
    });
    Ok(())
}
