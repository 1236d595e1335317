//! Writes to web services (SDK v1) and online endpoints (SDK v2): create, change, delete, keys,
//! and region outages. Every change names the *instance* it saw (its id), so a write racing a
//! delete fails instead of bringing the deleted one back.

use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::domain::services::{KeySlot, OnlineEndpoint, Service};
use crate::state::AppState;
use crate::store::Scored;

/// Creates a web service; `NameTaken` when one of that name exists (anywhere: AKS scoring URLs
/// name only the service).
pub fn create_service(state: &AppState, service: Service) -> ServiceResult<Service> {
    let w = state.writer();
    if !w.store().create_service(&service)? {
        return Err(ServiceError::NameTaken);
    }
    w.update_world(|world| world.put_service(service.clone()));
    Ok(service)
}

/// Deletes the service instance `id`; false when it was gone already. Tokens verified for it are
/// forgotten.
pub fn delete_service(state: &AppState, name: &str, id: Uuid) -> ServiceResult<bool> {
    let w = state.writer();
    if !w.store().delete_scored(Scored::Service, name, id)? {
        return Ok(false);
    }
    w.update_world(|world| world.remove_service(name));
    state.aml_tokens.clear();
    Ok(true)
}

/// Sets one key of the service instance `id`; answers both keys as they now are.
pub fn set_service_key(state: &AppState, name: &str, id: Uuid, slot: KeySlot, value: String) -> ServiceResult<Service> {
    let w = state.writer();
    if !w.store().set_key(Scored::Service, name, id, slot, &value)? {
        return Err(ServiceError::NotFound);
    }
    let mut service = w.world().service(name).cloned().ok_or(ServiceError::NotFound)?;
    *slot_of(&mut service.primary_key, &mut service.secondary_key, slot) = value;
    w.update_world(|world| world.put_service(service.clone()));
    Ok(service)
}

/// Creates an online endpoint; `NameTaken` when one of that name exists.
pub fn create_endpoint(state: &AppState, endpoint: OnlineEndpoint) -> ServiceResult<OnlineEndpoint> {
    let w = state.writer();
    if !w.store().create_endpoint(&endpoint)? {
        return Err(ServiceError::NameTaken);
    }
    w.update_world(|world| world.put_endpoint(endpoint.clone()));
    Ok(endpoint)
}

/// Changes an endpoint's auth mode and description (the instance `endpoint.id`).
pub fn update_endpoint(state: &AppState, endpoint: OnlineEndpoint) -> ServiceResult<OnlineEndpoint> {
    let w = state.writer();
    if !w.store().update_endpoint(&endpoint)? {
        return Err(ServiceError::NotFound);
    }
    let mut current = w
        .world()
        .online_endpoint(&endpoint.name)
        .cloned()
        .ok_or(ServiceError::NotFound)?;
    current.auth_mode = endpoint.auth_mode;
    current.description = endpoint.description;
    w.update_world(|world| world.put_endpoint(current.clone()));
    state.aml_tokens.clear();
    Ok(current)
}

/// Deletes the endpoint instance `id`; false when it was gone already.
pub fn delete_endpoint(state: &AppState, name: &str, id: Uuid) -> ServiceResult<bool> {
    let w = state.writer();
    if !w.store().delete_scored(Scored::Endpoint, name, id)? {
        return Ok(false);
    }
    w.update_world(|world| world.remove_endpoint(name));
    state.aml_tokens.clear();
    Ok(true)
}

/// Sets one key of the endpoint instance `id`; answers the endpoint as it now is.
pub fn set_endpoint_key(
    state: &AppState,
    name: &str,
    id: Uuid,
    slot: KeySlot,
    value: String,
) -> ServiceResult<OnlineEndpoint> {
    let w = state.writer();
    if !w.store().set_key(Scored::Endpoint, name, id, slot, &value)? {
        return Err(ServiceError::NotFound);
    }
    let mut endpoint = w.world().online_endpoint(name).cloned().ok_or(ServiceError::NotFound)?;
    *slot_of(&mut endpoint.primary_key, &mut endpoint.secondary_key, slot) = value;
    w.update_world(|world| world.put_endpoint(endpoint.clone()));
    Ok(endpoint)
}

fn slot_of<'k>(primary: &'k mut String, secondary: &'k mut String, slot: KeySlot) -> &'k mut String {
    match slot {
        KeySlot::Primary => primary,
        KeySlot::Secondary => secondary,
    }
}

/// Marks a region's Azure ML services down (tokens cannot be issued there) or back up.
pub fn set_region_outage(state: &AppState, region: &str, down: bool) -> ServiceResult<()> {
    let w = state.writer();
    w.store().set_region_outage(region, down)?;
    w.update_world(|world| world.set_region_outage(region, down));
    Ok(())
}
