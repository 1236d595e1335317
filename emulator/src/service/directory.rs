//! Writes to the directory: service principals created at run time and their secrets.

use super::ServiceResult;
use crate::domain::world::{Application, ClientSecret};
use crate::domain::{ClientId, ObjectId, TenantId};
use crate::state::AppState;

/// What `create_or_add_secret` did.
#[derive(Debug)]
pub struct Credential {
    pub client_id: ClientId,
    pub object_id: ObjectId,
    /// True when a new application was created; false when one of that name got another secret.
    pub created: bool,
}

/// Like `az ad sp create-for-rbac`: the application named `display_name` gets `secret` (its other
/// secrets keep working), or a new application and service principal of that name is created in
/// `tenant` with it. Serialized with every other write, so two concurrent calls with one name
/// create one application.
pub fn create_or_add_secret(
    state: &AppState,
    display_name: &str,
    tenant: TenantId,
    secret: ClientSecret,
) -> ServiceResult<Credential> {
    let w = state.writer();
    let existing = w
        .world()
        .applications()
        .iter()
        .find(|a| a.display_name == display_name)
        .map(|a| (a.client_id, a.object_id));
    if let Some((client_id, object_id)) = existing {
        w.store().add_secret(client_id, &secret)?;
        w.update_world(|world| {
            world.add_secret(client_id, secret);
        });
        return Ok(Credential {
            client_id,
            object_id,
            created: false,
        });
    }
    let app = Application {
        secrets: vec![secret],
        ..Application::registered(display_name, tenant)
    };
    w.store().add_application(&app)?;
    let created = Credential {
        client_id: app.client_id,
        object_id: app.object_id,
        created: true,
    };
    w.update_world(|world| world.push_application(app));
    Ok(created)
}
