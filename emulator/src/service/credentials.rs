//! Writes to credentials without secrets: certificates on applications (also for service
//! principals created with one, as `az ad sp create-for-rbac --create-cert` does) and federated
//! identity credentials on applications and user-assigned identities.

use uuid::Uuid;

use super::directory::Credential;
use super::{ServiceError, ServiceResult};
use crate::domain::certificate::Certificate;
use crate::domain::world::{Application, FederatedCredential};
use crate::domain::{ClientId, ObjectId, TenantId};
use crate::state::AppState;

/// Adds certificates to the application `owner` (with `replace`, its other certificates go, as
/// `az ad app credential reset` without `--append` does). `NotFound` when it is not an application.
pub fn add_certificates(
    state: &AppState,
    owner: ClientId,
    certs: Vec<Certificate>,
    replace: bool,
) -> ServiceResult<()> {
    let w = state.writer();
    let world = w.world();
    if world.applications().iter().all(|a| a.client_id != owner) {
        return Err(ServiceError::NotFound);
    }
    w.store().add_certificates(owner, &certs, replace)?;
    w.update_world(|world| {
        world.change_identities(|ids| {
            let list = ids.certificates.entry(owner).or_default();
            if replace {
                list.clear();
            }
            list.extend(certs);
        })
    });
    Ok(())
}

/// Like `az ad sp create-for-rbac --create-cert`: the application named `display_name` gets the
/// certificate (its other credentials keep working), or a new application and service principal
/// is created with it and no secret. One transaction either way.
pub fn create_with_certificate(
    state: &AppState,
    display_name: &str,
    tenant: TenantId,
    cert: Certificate,
) -> ServiceResult<Credential> {
    let existing = state
        .world()
        .applications()
        .iter()
        .find(|a| a.display_name == display_name)
        .map(|a| (a.client_id, a.object_id));
    if let Some((client_id, object_id)) = existing {
        add_certificates(state, client_id, vec![cert], false)?;
        return Ok(Credential {
            client_id,
            object_id,
            created: false,
        });
    }
    let w = state.writer();
    let app = Application {
        client_id: ClientId(Uuid::new_v4()),
        object_id: ObjectId(Uuid::new_v4()),
        tenant_id: tenant,
        display_name: display_name.to_string(),
        enabled: true,
        token_lifetime_seconds: None,
        identifier_uris: vec![],
        access_token_version: 1,
        secrets: vec![],
    };
    w.store()
        .add_application_with_certificates(&app, std::slice::from_ref(&cert))?;
    let made = Credential {
        client_id: app.client_id,
        object_id: app.object_id,
        created: true,
    };
    w.update_world(|world| {
        world.push_application(app);
        world.change_identities(|ids| ids.certificates.entry(made.client_id).or_default().push(cert));
    });
    Ok(made)
}

/// Adds a federated credential to an application or user-assigned identity; `NameTaken` when
/// the owner has one of that name, `NotFound` when there is no such owner.
pub fn add_federated(state: &AppState, owner: ClientId, credential: FederatedCredential) -> ServiceResult<()> {
    let w = state.writer();
    let world = w.world();
    let is_owner = world.applications().iter().any(|a| a.client_id == owner)
        || world.identities().user_assigned.iter().any(|u| u.client_id == owner);
    if !is_owner {
        return Err(ServiceError::NotFound);
    }
    if !w.store().add_federated(owner, &credential)? {
        return Err(ServiceError::NameTaken);
    }
    w.update_world(|world| world.change_identities(|ids| ids.federated.entry(owner).or_default().push(credential)));
    Ok(())
}

/// Deletes a federated credential by name; false when there was none.
pub fn delete_federated(state: &AppState, owner: ClientId, name: &str) -> ServiceResult<bool> {
    let w = state.writer();
    if !w.store().delete_federated(owner, name)? {
        return Ok(false);
    }
    w.update_world(|world| {
        world.change_identities(|ids| {
            if let Some(list) = ids.federated.get_mut(&owner) {
                list.retain(|f| !f.name.eq_ignore_ascii_case(name));
            }
        })
    });
    Ok(true)
}
