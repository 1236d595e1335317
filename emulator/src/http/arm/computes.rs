//! Azure ML computes of a workspace (`…/workspaces/{ws}/computes[/{name}]`): get and list, with
//! their managed identities. Also the `identity` block every resource with identities shows.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use serde::Serialize;
use serde_json::{json, Value};

use super::online_endpoints::workspace;
use super::route::{Ws, COMPUTE_READ};
use super::{ArmResult, Ctx};
use crate::domain::scope::Scope;
use crate::domain::world::{HostKind, IdentityHost, World};
use crate::domain::{ClientId, ObjectId, TenantId};
use crate::error::ArmError;

/// A tenant as an `identity` names it: the identity's own, or the resource's subscription's.
#[derive(Serialize)]
#[serde(untagged)]
enum TenantRef<'a> {
    Id(TenantId),
    Text(&'a str),
}

/// A user-assigned identity in `userAssignedIdentities`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    client_id: ClientId,
    principal_id: ObjectId,
}

/// The ARM `identity` of a resource, serialized with its members in the order a `Value` map
/// would give them.
#[derive(Serialize)]
pub struct Identity<'a> {
    #[serde(rename = "principalId", skip_serializing_if = "Option::is_none")]
    principal_id: Option<ObjectId>,
    #[serde(rename = "tenantId", skip_serializing_if = "Option::is_none")]
    tenant_id: Option<TenantRef<'a>>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "userAssignedIdentities", skip_serializing_if = "BTreeMap::is_empty")]
    user: BTreeMap<&'a str, UserIdentity>,
}

/// The ARM `identity` of the resource `resource_id`: `type` (`SystemAssigned`, `UserAssigned`,
/// `SystemAssigned,UserAssigned` or `None`), the system-assigned identity's `principalId` and
/// `tenantId`, and `userAssignedIdentities` by resource id with their `principalId` and `clientId`.
pub fn identity_json<'w>(world: &'w World, resource_id: &str) -> Identity<'w> {
    let (system, user) = world.identities().of_host(resource_id);
    let kind = match (system.is_some(), user.is_empty()) {
        (true, true) => "SystemAssigned",
        (true, false) => "SystemAssigned,UserAssigned",
        (false, false) => "UserAssigned",
        (false, true) => "None",
    };
    Identity {
        principal_id: system.map(|s| s.service_principal.object_id),
        tenant_id: system.map(|s| TenantRef::Id(s.service_principal.tenant_id)),
        kind,
        user: user
            .iter()
            .map(|u| {
                let sp = &u.service_principal;
                (
                    u.resource_id.as_str(),
                    UserIdentity {
                        client_id: sp.client_id,
                        principal_id: sp.object_id,
                    },
                )
            })
            .collect(),
    }
}

/// The `identity` of a workspace or online endpoint: always system-assigned, with the ids the
/// world gives it — derived the same way for one being created by this very request.
pub fn system_identity_json<'a>(world: &'a World, resource_id: &str, instance: &str, tenant: &'a str) -> Identity<'a> {
    let shown = identity_json(world, resource_id);
    if shown.kind != "None" {
        return shown;
    }
    let (_, principal) = crate::domain::world::identities::derived_identity(resource_id, instance);
    Identity {
        principal_id: Some(principal),
        tenant_id: Some(TenantRef::Text(tenant)),
        kind: "SystemAssigned",
        user: BTreeMap::new(),
    }
}

fn compute_json(world: &World, h: &IdentityHost) -> Value {
    let id = h.resource_id();
    json!({
        "id": id,
        "name": h.name,
        "type": "Microsoft.MachineLearningServices/workspaces/computes",
        "location": h.location,
        "tags": {},
        "identity": identity_json(world, &id),
        "properties": {
            "computeType": "AmlCompute",
            "computeLocation": h.location,
            "provisioningState": "Succeeded",
            "createdOn": h.created,
            "modifiedOn": h.created,
            "isAttachedCompute": false,
            "disableLocalAuth": true,
            "properties": {"vmSize": "STANDARD_DS3_V2", "vmPriority": "Dedicated",
                           "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 4, "nodeIdleTimeBeforeScaleDown": "PT120S"}},
        }
    })
}

/// The workspace's computes.
fn computes<'w>(world: &'w World, ws: &crate::domain::world::Workspace) -> impl Iterator<Item = &'w IdentityHost> + 'w {
    let (sub, rg, name) = (ws.subscription_id, ws.resource_group.clone(), ws.name.clone());
    world.identities().hosts.iter().filter(move |h| {
        h.subscription_id == sub
            && h.resource_group.eq_ignore_ascii_case(&rg)
            && matches!(&h.kind, HostKind::Compute { workspace } if workspace.eq_ignore_ascii_case(&name))
    })
}

pub fn list(ctx: &Ctx<'_>, ws: &Ws) -> ArmResult {
    ctx.require_access_within(COMPUTE_READ, &Scope::parse(&ws.id()).map_err(ArmError::internal)?)?;
    let w = workspace(ctx, ws)?;
    let value: Vec<Value> = computes(&ctx.world, &w)
        .filter(|h| Scope::parse(&h.resource_id()).is_ok_and(|s| ctx.may(COMPUTE_READ, &s)))
        .map(|h| compute_json(&ctx.world, h))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

pub fn get(ctx: &Ctx<'_>, ws: &Ws, name: &str) -> ArmResult {
    let w = workspace(ctx, ws)?;
    computes(&ctx.world, &w)
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| HttpResponse::Ok().json(compute_json(&ctx.world, h)))
        .ok_or_else(|| {
            ArmError::resource_not_found(
                &format!("Microsoft.MachineLearningServices/workspaces/{}/computes", ws.name),
                name,
                &ws.rg,
            )
        })
}
