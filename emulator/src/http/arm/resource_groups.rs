//! Resource groups: get, list, create or update (PUT replaces tags, PATCH keeps what it does not
//! name), delete (with the workspaces, services and endpoints in them).

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};

use super::context::created_or_ok;
use super::operations;
use super::route::RG_READ;
use super::{ArmResult, Ctx};
use crate::domain::operations::Snapshot;
use crate::domain::scope::Scope;
use crate::domain::world::{ResourceGroup, Tags};
use crate::domain::SubscriptionId;
use crate::error::ArmError;
use crate::service::resources;

/// The dispatcher checked that the subscription exists.
fn sub_id(sub: &str) -> Result<SubscriptionId, ArmError> {
    sub.parse().map_err(|_| ArmError::subscription_not_found(sub))
}

pub(super) fn rg_scope(rg: &ResourceGroup) -> Result<Scope, ArmError> {
    Scope::parse(&format!(
        "/subscriptions/{}/resourceGroups/{}",
        rg.subscription_id, rg.name
    ))
    .map_err(|_| ArmError::resource_group_not_found(&rg.name))
}

fn rg_json(rg: &ResourceGroup) -> Value {
    rg_json_in(rg, "Succeeded")
}

fn rg_json_in(rg: &ResourceGroup, state: &str) -> Value {
    let mut v = json!({
        "id": format!("/subscriptions/{}/resourceGroups/{}", rg.subscription_id, rg.name),
        "name": rg.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": rg.location,
        "properties": {"provisioningState": state}
    });
    // ARM leaves `tags` out when there are none (the SDKs then read None).
    if !rg.tags.is_empty() {
        v["tags"] = Value::Object(rg.tags.clone());
    }
    v
}

pub fn list(ctx: &Ctx<'_>, sub: &str) -> ArmResult {
    let id = sub_id(sub)?;
    let scope = Scope::parse(&format!("/subscriptions/{sub}")).map_err(ArmError::internal)?;
    ctx.require_access_within(RG_READ, &scope)?;
    let value: Vec<Value> = ctx
        .world
        .resource_groups()
        .iter()
        .filter(|rg| rg.subscription_id == id && rg_scope(rg).is_ok_and(|s| ctx.may(RG_READ, &s)))
        .map(rg_json)
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

/// The group; one being deleted is shown `Deleting` until its deletion completes.
pub fn get(ctx: &Ctx<'_>, sub: &str, rg: &str) -> ArmResult {
    if let Some(g) = ctx.world.resource_group(sub_id(sub)?, rg) {
        return Ok(HttpResponse::Ok().json(rg_json(g)));
    }
    match operations::deleting(ctx, &format!("/subscriptions/{sub}/resourceGroups/{rg}")) {
        Some(Snapshot::ResourceGroup(g)) => Ok(HttpResponse::Ok().json(rg_json_in(&g, "Deleting"))),
        _ => Err(ArmError::resource_group_not_found(rg)),
    }
}

#[derive(Deserialize)]
struct RgBody {
    location: Option<String>,
    tags: Option<Tags>,
}

/// PUT creates or updates; PATCH only updates. The location cannot change.
pub async fn put(ctx: &Ctx<'_>, sub: &str, rg: &str) -> ArmResult {
    let id = sub_id(sub)?;
    let body: RgBody = ctx.body()?;
    check_name(rg)?;
    let tags = super::workspaces::check_tags(body.tags)?;
    let existing = ctx.world.resource_group(id, rg).cloned();
    let group = match existing {
        Some(e) => updated(
            e,
            body.location,
            tags,
            ctx.req.method() == actix_web::http::Method::PATCH,
        )?,
        None if ctx.req.method() == actix_web::http::Method::PATCH => {
            return Err(ArmError::resource_group_not_found(rg))
        }
        None => ResourceGroup {
            subscription_id: id,
            name: rg.to_string(),
            location: body.location.ok_or_else(|| {
                ArmError::bad_request(
                    "LocationRequired",
                    "The location property is required for this definition.",
                )
            })?,
            tags: tags.unwrap_or_default(),
        },
    };
    let json = rg_json(&group);
    let created = ctx
        .write(move |s| resources::put_resource_group(s, group), ArmError::internal)
        .await?;
    Ok(created_or_ok(created, &json))
}

/// An existing group after PUT (replaces tags: absent means none) or PATCH (keeps what it does
/// not name); its location cannot change.
fn updated(
    e: ResourceGroup,
    location: Option<String>,
    tags: Option<Tags>,
    patch: bool,
) -> Result<ResourceGroup, ArmError> {
    if let Some(l) = location.filter(|l| !l.eq_ignore_ascii_case(&e.location)) {
        return Err(ArmError::conflict(
            "InvalidResourceGroupLocation",
            format!(
                "Invalid resource group location '{l}'. The Resource group already exists in location '{}'.",
                e.location
            ),
        ));
    }
    Ok(ResourceGroup {
        tags: tags.or_else(|| patch.then(|| e.tags.clone())).unwrap_or_default(),
        ..e
    })
}

/// Azure's rule: 1–90 letters, digits, `-`, `_`, `.`, `(`, `)`, not ending in `.`.
fn check_name(rg: &str) -> Result<(), ArmError> {
    let bad: String = rg
        .chars()
        .filter(|c| !(c.is_alphanumeric() || "-_.()".contains(*c)))
        .collect();
    if (1..=90).contains(&rg.chars().count()) && bad.is_empty() && !rg.ends_with('.') {
        return Ok(());
    }
    Err(ArmError::bad_request("InvalidResourceGroup", format!(
        "The provided resource group name '{rg}' has these invalid characters: '{bad}'. The name can only be a letter, digit, '-', '.', '(', ')' or '_', 1 to 90 characters long, and cannot end in '.'.")))
}

/// ARM's long-running deletion: 202 with `Location` on `operationresults` and `Retry-After`
/// (the group, its workspaces, services and endpoints are gone at once; the operation runs on the
/// clock). A group that does not exist is ARM's 404 ResourceGroupNotFound (the spec declares no 204).
pub async fn delete(ctx: &Ctx<'_>, sub: &str, rg: &str) -> ArmResult {
    let id = sub_id(sub)?;
    let group = ctx
        .world
        .resource_group(id, rg)
        .cloned()
        .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    let name = group.name.clone();
    ctx.write(
        move |s| resources::delete_resource_group(s, id, &name),
        ArmError::internal,
    )
    .await?;
    Ok(operations::rg_deleted(ctx, group))
}
