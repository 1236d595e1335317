//! Microsoft.Authorization role definitions: built-in ones (read only) and custom ones (create,
//! replace, delete), readable by any signed-in principal of the tenant.

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};

use super::context::created_or_ok;
use super::filter::{query_param, DefinitionFilter};
use super::{ArmResult, Ctx};
use crate::domain::ids::parse_guid;
use crate::domain::rbac::{Permission, RoleDefinition, RoleType};
use crate::domain::scope::Scope;
use crate::error::ArmError;
use crate::http::shapes::assignment::definition_id;
use crate::service::rbac::{self as writes, RoleError};

fn definition_json(scope: &Scope, r: &RoleDefinition) -> Value {
    json!({
        "properties": {
            "roleName": r.name,
            "type": r.role_type,
            "description": r.description,
            "assignableScopes": r.assignable_scopes,
            "permissions": r.permissions,
            "createdOn": crate::fixtures::FIXTURE_TIME,
            "updatedOn": crate::fixtures::FIXTURE_TIME,
            "createdBy": null,
            "updatedBy": null
        },
        "id": definition_id(scope, r.id),
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": r.id
    })
}

/// `RoleDefinitionDoesNotExist` with `status` (404 on reads, 400 when a write names it).
pub(super) fn role_missing(id: &str, status: u16) -> ArmError {
    ArmError::generic(
        status,
        "RoleDefinitionDoesNotExist",
        &format!("The specified role definition with ID '{id}' does not exist."),
    )
}

pub fn list(ctx: &Ctx<'_>, scope: &Scope) -> ArmResult {
    let filter = DefinitionFilter::parse(query_param(ctx.req.query_string(), "$filter").as_deref())?;
    let rbac = ctx.state().rbac();
    let mut roles: Vec<&RoleDefinition> = rbac
        .roles()
        .filter(|r| {
            filter
                .role_name
                .as_deref()
                .is_none_or(|n| r.name.eq_ignore_ascii_case(n))
        })
        .filter(|r| {
            filter
                .role_type
                .as_deref()
                .is_none_or(|t| format!("{:?}", r.role_type).eq_ignore_ascii_case(t))
        })
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    let value: Vec<Value> = roles.into_iter().map(|r| definition_json(scope, r)).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

/// A role by id; not a GUID reads as no such role.
pub fn get(ctx: &Ctx<'_>, scope: &Scope, id: &str) -> ArmResult {
    let rbac = ctx.state().rbac();
    let role = parse_guid(id)
        .ok()
        .and_then(|g| rbac.role(g))
        .ok_or_else(|| role_missing(id, 404))?;
    Ok(HttpResponse::Ok().json(definition_json(scope, role)))
}

fn role_refused(e: RoleError, deleting: bool) -> ArmError {
    match e {
        RoleError::BuiltIn if deleting => ArmError::bad_request(
            "RoleDefinitionIsBuiltIn",
            "Built-in role definitions cannot be deleted.",
        ),
        RoleError::BuiltIn => ArmError::bad_request(
            "RoleDefinitionIsBuiltIn",
            "Built-in role definitions cannot be modified.",
        ),
        RoleError::NameTaken => ArmError::conflict(
            "RoleDefinitionWithSameNameExists",
            "A custom role with the same name already exists in this directory. Use a different name.",
        ),
        RoleError::HasAssignments => ArmError::conflict(
            "RoleDefinitionHasAssignments",
            "There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).",
        ),
        RoleError::Service(e) => ArmError::internal(e),
    }
}

pub async fn delete(ctx: &Ctx<'_>, scope: &Scope, id: &str) -> ArmResult {
    let guid = parse_guid(id).map_err(|_| role_missing(id, 400))?;
    let outcome = crate::service::blocking(ctx.data, move |s| Ok(writes::delete_role(s, guid)))
        .await
        .map_err(ArmError::internal)?;
    match outcome.map_err(|e| role_refused(e, true))? {
        Some(removed) => Ok(HttpResponse::Ok().json(definition_json(scope, &removed))),
        None => Ok(HttpResponse::NoContent().finish()),
    }
}

#[derive(Deserialize)]
struct DefinitionBody {
    properties: DefinitionProps,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DefinitionProps {
    role_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    permissions: Vec<Permission>,
    #[serde(default)]
    assignable_scopes: Vec<String>,
}

pub async fn put(ctx: &Ctx<'_>, scope: &Scope, id: &str) -> ArmResult {
    let guid = parse_guid(id).map_err(|_| role_missing(id, 400))?;
    let p = ctx.body::<DefinitionBody>()?.properties;
    for s in &p.assignable_scopes {
        Scope::parse(s).map_err(|e| ArmError::bad_request("InvalidAssignableScope", e.to_string()))?;
    }
    if p.assignable_scopes.is_empty() {
        return Err(ArmError::bad_request(
            "InvalidAssignableScope",
            "A custom role needs at least one assignable scope.",
        ));
    }
    let role = RoleDefinition {
        id: guid,
        name: p.role_name,
        description: p.description,
        role_type: RoleType::CustomRole,
        permissions: p.permissions,
        assignable_scopes: p.assignable_scopes,
    };
    let json = definition_json(scope, &role);
    let now = ctx.now();
    let outcome = crate::service::blocking(ctx.data, move |s| Ok(writes::put_role(s, role, &now)))
        .await
        .map_err(ArmError::internal)?;
    Ok(created_or_ok(outcome.map_err(|e| role_refused(e, false))?, &json))
}
