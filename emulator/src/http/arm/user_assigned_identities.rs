//! User-assigned managed identities (`Microsoft.ManagedIdentity/userAssignedIdentities`): get,
//! list by resource group or subscription, create or update (tags), delete. Each has a service
//! principal role assignments target (`properties.principalId`) and a `clientId` SDKs select it by.

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::context::created_or_ok;
use super::route::UAMI_READ;
use super::workspaces::check_tags;
use super::{ArmResult, Ctx};
use crate::domain::scope::Scope;
use crate::domain::world::{Tags, UserAssignedIdentity};
use crate::domain::{ClientId, ObjectId, SubscriptionId};
use crate::error::ArmError;
use crate::service::identities as writes;

const UAMI_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

fn uami_json(u: &UserAssignedIdentity) -> Value {
    json!({
        "id": u.resource_id(),
        "name": u.name,
        "type": UAMI_TYPE,
        "location": u.location,
        "tags": u.tags,
        "properties": {"tenantId": u.tenant_id, "principalId": u.principal_id, "clientId": u.client_id}
    })
}

fn sub_id(sub: &str) -> Result<SubscriptionId, ArmError> {
    sub.parse().map_err(|_| ArmError::subscription_not_found(sub))
}

pub fn list(ctx: &Ctx<'_>, sub: &str, rg: Option<&str>) -> ArmResult {
    let id = sub_id(sub)?;
    let scope = match rg {
        Some(rg) => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        None => format!("/subscriptions/{sub}"),
    };
    ctx.require_access_within(UAMI_READ, &Scope::parse(&scope).map_err(ArmError::internal)?)?;
    if let Some(rg) = rg {
        ctx.world
            .resource_group(id, rg)
            .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    }
    let value: Vec<Value> = ctx
        .world
        .identities()
        .user_assigned
        .iter()
        .filter(|u| u.subscription_id == id && rg.is_none_or(|rg| u.resource_group.eq_ignore_ascii_case(rg)))
        .filter(|u| Scope::parse(&u.resource_id()).is_ok_and(|s| ctx.may(UAMI_READ, &s)))
        .map(uami_json)
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

/// The identity, after its resource group (ARM reports a missing group first).
fn find(ctx: &Ctx<'_>, sub: &str, rg: &str, name: &str) -> Result<Option<UserAssignedIdentity>, ArmError> {
    let id = sub_id(sub)?;
    ctx.world
        .resource_group(id, rg)
        .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    Ok(ctx.world.identities().user_assigned_identity(id, rg, name).cloned())
}

pub fn get(ctx: &Ctx<'_>, sub: &str, rg: &str, name: &str) -> ArmResult {
    find(ctx, sub, rg, name)?
        .map(|u| HttpResponse::Ok().json(uami_json(&u)))
        .ok_or_else(|| ArmError::resource_not_found(UAMI_TYPE, name, rg))
}

#[derive(Deserialize)]
struct IdentityBody {
    location: Option<String>,
    tags: Option<Tags>,
}

/// Azure's rule for identity names: 3–128 letters, digits, `-` and `_`, starting with a letter or digit.
fn valid_name(name: &str) -> bool {
    (3..=128).contains(&name.len())
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// PUT creates (201, new client and principal ids) or updates the tags (200).
pub async fn put(ctx: &Ctx<'_>, sub: &str, rg: &str, name: &str) -> ArmResult {
    let existing = find(ctx, sub, rg, name)?;
    let body: IdentityBody = ctx.body()?;
    let tags = check_tags(body.tags)?;
    let u = match existing {
        Some(mut u) => {
            u.tags = tags.unwrap_or_default();
            u
        }
        None => new_identity(ctx, sub_id(sub)?, rg, name, body.location, tags.unwrap_or_default())?,
    };
    let json = uami_json(&u);
    let created = ctx
        .write(move |s| writes::put_user_assigned_identity(s, u), ArmError::internal)
        .await?;
    Ok(created_or_ok(created, &json))
}

fn new_identity(
    ctx: &Ctx<'_>,
    sub: SubscriptionId,
    rg: &str,
    name: &str,
    location: Option<String>,
    tags: Tags,
) -> Result<UserAssignedIdentity, ArmError> {
    if !valid_name(name) {
        return Err(ArmError::bad_request("InvalidResourceName", format!(
            "Resource name {name} is invalid. The name can contain only letters, numbers, underscores and hyphens, start with a letter or number, and be 3 to 128 characters long.")));
    }
    let location = location.ok_or_else(|| {
        ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        )
    })?;
    let group = ctx
        .world
        .resource_group(sub, rg)
        .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    let tenant = ctx
        .world
        .subscription(sub)
        .map(|s| s.tenant_id)
        .ok_or_else(|| ArmError::subscription_not_found(&sub.to_string()))?;
    Ok(UserAssignedIdentity {
        subscription_id: sub,
        resource_group: group.name.clone(),
        name: name.to_string(),
        location,
        tags,
        client_id: ClientId(Uuid::new_v4()),
        principal_id: ObjectId(Uuid::new_v4()),
        tenant_id: tenant,
        created: ctx.now(),
    })
}

pub async fn delete(ctx: &Ctx<'_>, sub: &str, rg: &str, name: &str) -> ArmResult {
    let Some(u) = find(ctx, sub, rg, name)? else {
        return Ok(HttpResponse::NoContent().finish());
    };
    ctx.write(
        move |s| writes::delete_user_assigned_identity(s, &u),
        ArmError::internal,
    )
    .await?;
    Ok(HttpResponse::Ok().finish())
}
