//! Microsoft.Authorization role assignments at any scope: get, list (`$filter`), create, delete.

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::filter::{query_param, AssignmentFilter};
use super::{ArmResult, Ctx};
use crate::domain::ids::parse_guid;
use crate::domain::rbac::{PrincipalType, Rbac, RoleAssignment};
use crate::domain::scope::Scope;
use crate::domain::{ObjectId, World};
use crate::error::ArmError;
use crate::http::shapes::assignment::assignment_json;
use crate::service::rbac::{self as writes, AssignError};

/// A role assignment as the requested api-version shows it: the 2022-04-01 shape from
/// 2020-04-01-preview on, before that only `roleDefinitionId`, `principalId`, `principalType` and
/// `scope` (the older specs' properties). A fresh PUT's answer has `createdBy`/`updatedBy` null:
/// ARM fills them on later reads (issue 14's observation).
fn shown(ctx: &Ctx<'_>, a: &RoleAssignment, just_created: bool) -> Value {
    let mut v = assignment_json(a);
    if just_created {
        v["properties"]["createdBy"] = Value::Null;
        v["properties"]["updatedBy"] = Value::Null;
    }
    if !ctx.since("2020-04-01") {
        if let Some(p) = v["properties"].as_object_mut() {
            p.retain(|k, _| {
                matches!(
                    k.as_str(),
                    "roleDefinitionId" | "principalId" | "principalType" | "scope"
                )
            });
        }
    }
    v
}

/// Assignments at, above and below `scope`; with `atScope()` only at and above.
pub fn list(ctx: &Ctx<'_>, scope: &Scope) -> ArmResult {
    let filter = AssignmentFilter::parse(query_param(ctx.req.query_string(), "$filter").as_deref())?;
    let rbac = ctx.state().rbac();
    let wanted = |a: &RoleAssignment| {
        (scope.is_within(&a.scope) || (!filter.at_scope && a.scope.is_within(scope)))
            && filter
                .principal
                .as_deref()
                .is_none_or(|p| a.principal_id.to_string().eq_ignore_ascii_case(p))
    };
    let mut found: Vec<RoleAssignment> = rbac.assignments().filter(|a| wanted(a)).collect();
    // A stable order: outermost scope first, then by name.
    found.sort_by(|a, b| {
        (a.scope.key().len(), a.scope.key(), a.name).cmp(&(b.scope.key().len(), b.scope.key(), b.name))
    });
    let value: Vec<Value> = found.iter().map(|a| shown(ctx, a, false)).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

fn not_found(name: &str) -> ArmError {
    ArmError::generic(
        404,
        "RoleAssignmentNotFound",
        &format!("The role assignment '{name}' is not found."),
    )
}

fn assignment_name(name: &str) -> Result<Uuid, ArmError> {
    parse_guid(name).map_err(|_| {
        ArmError::bad_request(
            "InvalidRoleAssignmentId",
            format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
        )
    })
}

pub fn get(ctx: &Ctx<'_>, scope: &Scope, name: &str) -> ArmResult {
    let id = assignment_name(name)?;
    let rbac = ctx.state().rbac();
    let a = rbac
        .assignment(id)
        .filter(|a| a.scope == *scope)
        .ok_or_else(|| not_found(name))?;
    Ok(HttpResponse::Ok().json(shown(ctx, &a, false)))
}

pub async fn delete(ctx: &Ctx<'_>, scope: &Scope, name: &str) -> ArmResult {
    let id = assignment_name(name)?;
    if ctx.state().rbac().assignment(id).is_none_or(|a| a.scope != *scope) {
        return Ok(HttpResponse::NoContent().finish());
    }
    match ctx.write(move |s| writes::unassign(s, id), ArmError::internal).await? {
        Some(removed) => Ok(HttpResponse::Ok().json(shown(ctx, &removed, false))),
        None => Ok(HttpResponse::NoContent().finish()),
    }
}

#[derive(Deserialize)]
struct AssignmentBody {
    properties: AssignmentProps,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignmentProps {
    role_definition_id: String,
    principal_id: String,
    principal_type: Option<String>,
    description: Option<String>,
}

/// Creates the assignment; the same PUT again answers the existing one (200).
pub async fn put(ctx: &Ctx<'_>, scope: &Scope, name: &str) -> ArmResult {
    let id = assignment_name(name)?;
    let body: AssignmentBody = ctx.body()?;
    check_scope_exists(&ctx.world, scope)?;
    let principal = resolve_principal(&ctx.world, &body.properties)?;
    let role = role_from_id(&ctx.state().rbac(), &body.properties.role_definition_id)?;
    let now = ctx.now();
    let wanted = RoleAssignment {
        name: id,
        scope: scope.clone(),
        role_definition: role,
        principal_id: principal.0,
        principal_type: principal.1,
        description: body.properties.description,
        created_on: now.clone(),
        updated_on: now,
        created_by: Some(ctx.caller.object_id.to_string()),
    };
    let outcome = crate::service::blocking(ctx.data, move |s| Ok(writes::assign(s, wanted))).await;
    match outcome.map_err(ArmError::internal)? {
        Ok(created) => Ok(HttpResponse::Created().json(shown(ctx, &created, true))),
        Err(AssignError::NameTaken) => same_again(ctx, id, scope, role, principal.0),
        Err(e) => Err(refused(e, role, scope)),
    }
}

/// A PUT of an assignment name that exists: the same assignment again is answered as it is (200);
/// anything else would change it, which ARM does not allow.
fn same_again(ctx: &Ctx<'_>, id: Uuid, scope: &Scope, role: Uuid, principal: ObjectId) -> ArmResult {
    let rbac = ctx.state().rbac();
    let current = rbac
        .assignment(id)
        .ok_or_else(|| ArmError::internal("assignment vanished"))?;
    if current.scope == *scope && current.role_definition == role && current.principal_id == principal {
        return Ok(HttpResponse::Ok().json(shown(ctx, &current, false)));
    }
    Err(ArmError::conflict(
        "RoleAssignmentUpdateNotPermitted",
        "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
    ))
}

fn refused(e: AssignError, role: Uuid, scope: &Scope) -> ArmError {
    match e {
        AssignError::Exists => ArmError::conflict("RoleAssignmentExists", "The role assignment already exists."),
        AssignError::NotAssignable => ArmError::bad_request(
            "InvalidCreateRoleAssignmentRequest",
            format!("The role definition '{role}' is not available for assignment at scope '{scope}': the scope is outside its assignableScopes."),
        ),
        AssignError::NameTaken => ArmError::conflict("RoleAssignmentExists", "A role assignment with this name already exists."),
        AssignError::Service(e) => ArmError::internal(e),
    }
}

/// Resource groups and workspaces must exist to be assigned at ([`World::missing_scope`]).
fn check_scope_exists(world: &World, scope: &Scope) -> Result<(), ArmError> {
    world.missing_scope(scope).map_or(Ok(()), |missing| Err(missing.into()))
}

fn resolve_principal(world: &World, p: &AssignmentProps) -> Result<(ObjectId, PrincipalType), ArmError> {
    let tenant = world.default_tenant().map(|t| t.id.to_string()).unwrap_or_default();
    let missing = || {
        ArmError::bad_request("PrincipalNotFound", format!(
        "Principal {} does not exist in the directory {tenant}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
        p.principal_id.replace('-', "")))
    };
    let oid: ObjectId = p.principal_id.parse().map_err(|_| missing())?;
    let (_, actual) = world.principal(oid).ok_or_else(missing)?;
    if let Some(declared) = &p.principal_type {
        let declared_type = PrincipalType::parse(declared).ok_or_else(|| {
            ArmError::bad_request(
                "InvalidPrincipalType",
                format!("The principal type '{declared}' is not valid."),
            )
        })?;
        if declared_type != actual {
            return Err(ArmError::bad_request("UnmatchedPrincipalType", format!(
                "The PrincipalId '{}' has type '{actual:?}' , which is different from specified PrincipalType '{declared}'.",
                p.principal_id.replace('-', ""))));
        }
    }
    Ok((oid, actual))
}

fn role_from_id(rbac: &Rbac, role_definition_id: &str) -> Result<Uuid, ArmError> {
    let last = role_definition_id.rsplit('/').next().unwrap_or_default();
    parse_guid(last)
        .ok()
        .filter(|id| rbac.role(*id).is_some())
        .ok_or_else(|| super::role_definitions::role_missing(last, 400))
}
