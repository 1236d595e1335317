//! `GET /subscriptions/{s}[/resourceGroups/{rg}]/resources[?$filter=resourceType eq '…']`: the
//! emulated resources (workspaces) the caller may read, in the generic resource shape.

use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::filter::{query_param, resource_type};
use super::route::WS_READ;
use super::workspaces::{ws_id, ws_scope, WS_TYPE};
use super::{ArmResult, Ctx};
use crate::domain::scope::Scope;
use crate::domain::world::Workspace;
use crate::error::ArmError;

pub fn list(ctx: &Ctx<'_>, sub: &str, rg: Option<&str>) -> ArmResult {
    let id = sub.parse().map_err(|_| ArmError::subscription_not_found(sub))?;
    let scope = match rg {
        Some(rg) => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        None => format!("/subscriptions/{sub}"),
    };
    ctx.require_access_within(
        "Microsoft.Resources/subscriptions/resources/read",
        &Scope::parse(&scope).map_err(ArmError::internal)?,
    )?;
    if let Some(rg) = rg {
        ctx.world
            .resource_group(id, rg)
            .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    }
    let wanted = resource_type(query_param(ctx.req.query_string(), "$filter").as_deref());
    let value: Vec<Value> = ctx
        .world
        .workspaces()
        .iter()
        .filter(|_| wanted.as_deref().is_none_or(|t| t.eq_ignore_ascii_case(WS_TYPE)))
        .filter(|w| w.subscription_id == id && rg.is_none_or(|rg| w.resource_group.eq_ignore_ascii_case(rg)))
        .filter(|w| ws_scope(w).is_ok_and(|s| ctx.may(WS_READ, &s)))
        .map(generic_json)
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

/// A workspace in the generic list's shape: ARM leaves `tags` out of untagged resources
/// (`openapi/fidelity/shapes/resources.list.json`).
fn generic_json(w: &Workspace) -> Value {
    let mut item = json!({
        "id": ws_id(w),
        "name": w.name,
        "type": WS_TYPE,
        "kind": "Default",
        "location": w.location,
        "sku": {"name": w.sku, "tier": w.sku},
        "identity": {"type": "SystemAssigned"}
    });
    if !w.tags.is_empty() {
        item["tags"] = Value::Object(w.tags.clone());
    }
    item
}
