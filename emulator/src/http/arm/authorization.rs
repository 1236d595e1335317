//! Microsoft.Authorization: role definitions (built-in and custom) and role assignments at any scope.

use actix_web::http::Method;
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{ArmResult, Ctx};
use crate::domain::ids::parse_guid;
use crate::domain::rbac::{Permission, PrincipalType, Rbac, RoleAssignment, RoleDefinition, RoleType};
use crate::domain::scope::Scope;
use crate::domain::{ObjectId, World};
use crate::error::ArmError;
use crate::state::AssignError;

const PROVIDER: &str = "providers/Microsoft.Authorization";

/// Role definition ids are shown under the request's subscription, as ARM does.
fn definition_id(scope: &Scope, role: Uuid) -> String {
    match scope.subscription() {
        Some(sub) => format!("/subscriptions/{sub}/{PROVIDER}/roleDefinitions/{role}"),
        None => format!("/{PROVIDER}/roleDefinitions/{role}"),
    }
}

fn assignment_id(scope: &Scope, name: Uuid) -> String {
    let prefix = if scope.is_root() { "" } else { scope.as_str() };
    format!("{prefix}/{PROVIDER}/roleAssignments/{name}")
}

pub fn assignment_json(a: &RoleAssignment) -> Value {
    json!({
        "properties": {
            "roleDefinitionId": definition_id(&a.scope, a.role_definition),
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "scope": a.scope.as_str(),
            "condition": null,
            "conditionVersion": null,
            "createdOn": a.created_on,
            "updatedOn": a.updated_on,
            "createdBy": a.created_by,
            "updatedBy": a.created_by,
            "delegatedManagedIdentityResourceId": null,
            "description": a.description
        },
        "id": assignment_id(&a.scope, a.name),
        "type": "Microsoft.Authorization/roleAssignments",
        "name": a.name
    })
}

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

/// The `$filter` forms of role-assignment lists.
#[derive(Debug, PartialEq, Eq)]
struct AssignmentFilter {
    at_scope: bool,
    principal: Option<String>,
}

fn query_param(ctx: &Ctx<'_>, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(ctx.req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn quoted_after<'a>(clause: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = clause
        .get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .map(|_| &clause[prefix.len()..])?;
    rest.trim().strip_prefix('\'')?.split_once('\'').map(|(v, _)| v)
}

/// Parses `atScope()`, `principalId eq '…'`, `assignedTo('…')` and their `and` combinations.
fn parse_assignment_filter(filter: Option<&str>) -> Result<AssignmentFilter, ArmError> {
    let mut f = AssignmentFilter {
        at_scope: false,
        principal: None,
    };
    let Some(text) = filter.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(f);
    };
    for clause in text.split(" and ").map(str::trim) {
        if clause.eq_ignore_ascii_case("atScope()") {
            f.at_scope = true;
        } else if let Some(id) = quoted_after(clause, "principalId eq") {
            f.principal = Some(id.to_string());
        } else if let Some(id) = clause
            .strip_prefix("assignedTo(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|r| r.trim().strip_prefix('\''))
            .and_then(|r| r.strip_suffix('\''))
        {
            f.principal = Some(id.to_string());
        } else {
            return Err(ArmError::bad_request("UnsupportedFilter", format!(
                "The filter '{text}' is not supported. Supported filters are atScope(), principalId eq '{{id}}' and assignedTo('{{id}}'), alone or joined with 'and'.")));
        }
    }
    Ok(f)
}

/// Assignments at, above and below `scope`; with `atScope()` only at and above.
pub fn list_assignments(ctx: &Ctx<'_>, scope: &Scope) -> ArmResult {
    let filter = parse_assignment_filter(query_param(ctx, "$filter").as_deref())?;
    let rbac = ctx.state.rbac();
    let wanted = |a: &&RoleAssignment| {
        (scope.is_within(&a.scope) || (!filter.at_scope && a.scope.is_within(scope)))
            && filter
                .principal
                .as_deref()
                .is_none_or(|p| a.principal_id.to_string().eq_ignore_ascii_case(p))
    };
    let mut found: Vec<&RoleAssignment> = rbac.assignments().filter(wanted).collect();
    // A stable order: outermost scope first, then by name.
    found.sort_by(|a, b| {
        (a.scope.key().len(), a.scope.key(), a.name).cmp(&(b.scope.key().len(), b.scope.key(), b.name))
    });
    let value: Vec<Value> = found.into_iter().map(assignment_json).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

fn not_found(name: &str) -> ArmError {
    ArmError {
        status: 404,
        code: "RoleAssignmentNotFound",
        message: format!("The role assignment '{name}' is not found."),
        challenge: None,
    }
}

pub fn assignment(ctx: &Ctx<'_>, scope: &Scope, name: &str) -> ArmResult {
    let id = parse_guid(name).map_err(|_| {
        ArmError::bad_request(
            "InvalidRoleAssignmentId",
            format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
        )
    })?;
    match *ctx.req.method() {
        Method::GET => {
            let rbac = ctx.state.rbac();
            let a = rbac
                .assignment(id)
                .filter(|a| a.scope == *scope)
                .ok_or_else(|| not_found(name))?;
            Ok(HttpResponse::Ok().json(assignment_json(a)))
        }
        Method::DELETE => {
            if ctx.state.rbac().assignment(id).is_none_or(|a| a.scope != *scope) {
                return Ok(HttpResponse::NoContent().finish());
            }
            match ctx.state.unassign(id).map_err(ArmError::internal)? {
                Some(removed) => Ok(HttpResponse::Ok().json(assignment_json(&removed))),
                None => Ok(HttpResponse::NoContent().finish()),
            }
        }
        _ => put_assignment(ctx, scope, id),
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

fn put_assignment(ctx: &Ctx<'_>, scope: &Scope, name: Uuid) -> ArmResult {
    let body: AssignmentBody = serde_json::from_slice(ctx.body).map_err(ArmError::invalid_content)?;
    let world = ctx.state.world();
    check_scope_exists(&world, scope)?;
    let principal = resolve_principal(&world, &body.properties)?;
    let now = ctx.state.clock.now().format(&Rfc3339).map_err(ArmError::internal)?;
    let role = role_from_id(&ctx.state.rbac(), &body.properties.role_definition_id)?;
    let wanted = RoleAssignment {
        name,
        scope: scope.clone(),
        role_definition: role,
        principal_id: principal.0,
        principal_type: principal.1,
        description: body.properties.description,
        created_on: now.clone(),
        updated_on: now,
        created_by: Some(ctx.caller.object_id.to_string()),
    };
    match ctx.state.assign(wanted) {
        Ok(created) => Ok(HttpResponse::Created().json(assignment_json(&created))),
        Err(AssignError::NameTaken) => {
            let rbac = ctx.state.rbac();
            let current = rbac
                .assignment(name)
                .ok_or_else(|| ArmError::internal("assignment vanished"))?;
            if current.scope == *scope && current.role_definition == role && current.principal_id == principal.0 {
                Ok(HttpResponse::Ok().json(assignment_json(current)))
            } else {
                Err(ArmError::conflict(
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                ))
            }
        }
        Err(AssignError::Exists) => Err(ArmError::conflict(
            "RoleAssignmentExists",
            "The role assignment already exists.",
        )),
        Err(AssignError::NotAssignable) => Err(ArmError::bad_request(
            "InvalidCreateRoleAssignmentRequest",
            format!("The role definition '{role}' is not available for assignment at scope '{scope}': the scope is outside its assignableScopes."),
        )),
        Err(AssignError::Store(e)) => Err(ArmError::internal(e)),
    }
}

/// Resource groups and workspaces must exist to be assigned at; other resource types are not
/// emulated and are accepted as written.
pub fn check_scope_exists(world: &World, scope: &Scope) -> Result<(), ArmError> {
    let (Some(sub), Some(rg)) = (scope.subscription(), scope.resource_group()) else {
        return Ok(());
    };
    let Ok(sub) = sub.parse() else { return Ok(()) };
    world
        .resource_group(sub, rg)
        .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
    let parts: Vec<&str> = scope.as_str().split('/').collect();
    if let [_, _, _, _, _, _, ns, ty, name] = parts.as_slice() {
        if ns.eq_ignore_ascii_case("Microsoft.MachineLearningServices")
            && ty.eq_ignore_ascii_case("workspaces")
            && world.workspace(sub, rg, name).is_none()
        {
            return Err(ArmError::resource_not_found(
                "Microsoft.MachineLearningServices/workspaces",
                name,
                rg,
            ));
        }
    }
    Ok(())
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
        .ok_or_else(|| role_missing(last))
}

fn role_missing(id: &str) -> ArmError {
    ArmError::bad_request(
        "RoleDefinitionDoesNotExist",
        format!("The specified role definition with ID '{id}' does not exist."),
    )
}

pub fn list_definitions(ctx: &Ctx<'_>, scope: &Scope) -> ArmResult {
    let filter = query_param(ctx, "$filter");
    let filter = filter.as_deref().map(str::trim).filter(|f| !f.is_empty());
    let (by_name, by_type) = match filter {
        None => (None, None),
        Some(f) => match (quoted_after(f, "roleName eq"), quoted_after(f, "type eq")) {
            (Some(n), _) => (Some(n.to_string()), None),
            (_, Some(t)) => (None, Some(t.to_string())),
            _ => return Err(ArmError::bad_request("UnsupportedFilter", format!(
                "The filter '{f}' is not supported. Supported filters are roleName eq '{{name}}' and type eq 'BuiltInRole'|'CustomRole'."))),
        },
    };
    let rbac = ctx.state.rbac();
    let mut roles: Vec<&RoleDefinition> = rbac
        .roles()
        .filter(|r| by_name.as_deref().is_none_or(|n| r.name.eq_ignore_ascii_case(n)))
        .filter(|r| {
            by_type
                .as_deref()
                .is_none_or(|t| format!("{:?}", r.role_type).eq_ignore_ascii_case(t))
        })
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    let value: Vec<Value> = roles.into_iter().map(|r| definition_json(scope, r)).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
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
    permissions: Vec<PermissionBody>,
    #[serde(default)]
    assignable_scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PermissionBody {
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    not_actions: Vec<String>,
    #[serde(default)]
    data_actions: Vec<String>,
    #[serde(default)]
    not_data_actions: Vec<String>,
}

pub fn definition(ctx: &Ctx<'_>, scope: &Scope, id: &str) -> ArmResult {
    // Not a GUID: no such role (404 on reads, as for an unknown GUID).
    let guid = match parse_guid(id) {
        Ok(g) => g,
        Err(_) if *ctx.req.method() == Method::GET => {
            return Err(ArmError {
                status: 404,
                ..role_missing(id)
            })
        }
        Err(_) => return Err(role_missing(id)),
    };
    match *ctx.req.method() {
        Method::GET => {
            let rbac = ctx.state.rbac();
            let role = rbac.role(guid).ok_or_else(|| ArmError {
                status: 404,
                ..role_missing(id)
            })?;
            Ok(HttpResponse::Ok().json(definition_json(scope, role)))
        }
        Method::DELETE => {
            let mut rbac = ctx.state.rbac_mut();
            match rbac.role(guid) {
                None => return Ok(HttpResponse::NoContent().finish()),
                Some(r) if r.role_type == RoleType::BuiltInRole => {
                    return Err(ArmError::bad_request(
                        "RoleDefinitionIsBuiltIn",
                        "Built-in role definitions cannot be deleted.",
                    ))
                }
                Some(_) => {}
            }
            if rbac.assignments().any(|a| a.role_definition == guid) {
                return Err(ArmError::conflict(
                    "RoleDefinitionHasAssignments",
                    "There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).",
                ));
            }
            ctx.state.store.delete_role(guid).map_err(ArmError::internal)?;
            let removed = rbac.remove_role(guid).expect("checked above");
            Ok(HttpResponse::Ok().json(definition_json(scope, &removed)))
        }
        _ => put_definition(ctx, scope, guid),
    }
}

fn put_definition(ctx: &Ctx<'_>, scope: &Scope, id: Uuid) -> ArmResult {
    let body: DefinitionBody = serde_json::from_slice(ctx.body).map_err(ArmError::invalid_content)?;
    let p = body.properties;
    for s in &p.assignable_scopes {
        Scope::parse(s).map_err(|e| ArmError::bad_request("InvalidAssignableScope", e.to_string()))?;
    }
    if p.assignable_scopes.is_empty() {
        return Err(ArmError::bad_request(
            "InvalidAssignableScope",
            "A custom role needs at least one assignable scope.",
        ));
    }
    let mut rbac = ctx.state.rbac_mut();
    if rbac.role(id).is_some_and(|r| r.role_type == RoleType::BuiltInRole) {
        return Err(ArmError::bad_request(
            "RoleDefinitionIsBuiltIn",
            "Built-in role definitions cannot be modified.",
        ));
    }
    if rbac
        .roles()
        .any(|r| r.id != id && r.name.eq_ignore_ascii_case(&p.role_name))
    {
        return Err(ArmError::conflict(
            "RoleDefinitionWithSameNameExists",
            "A custom role with the same name already exists in this directory. Use a different name.",
        ));
    }
    let role = RoleDefinition {
        id,
        name: p.role_name,
        description: p.description,
        role_type: RoleType::CustomRole,
        permissions: p
            .permissions
            .into_iter()
            .map(|x| Permission {
                actions: x.actions,
                not_actions: x.not_actions,
                data_actions: x.data_actions,
                not_data_actions: x.not_data_actions,
            })
            .collect(),
        assignable_scopes: p.assignable_scopes,
    };
    let created = rbac.role(id).is_none();
    let now = ctx.state.clock.now().format(&Rfc3339).map_err(ArmError::internal)?;
    ctx.state.store.put_role(&role, &now).map_err(ArmError::internal)?;
    let json = definition_json(scope, &role);
    rbac.put_role(role);
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_filters() {
        assert_eq!(
            parse_assignment_filter(None).unwrap(),
            AssignmentFilter {
                at_scope: false,
                principal: None
            }
        );
        assert_eq!(
            parse_assignment_filter(Some("atScope()")).unwrap(),
            AssignmentFilter {
                at_scope: true,
                principal: None
            }
        );
        assert_eq!(
            parse_assignment_filter(Some("atScope() and principalId eq 'abc'")).unwrap(),
            AssignmentFilter {
                at_scope: true,
                principal: Some("abc".into())
            }
        );
        assert_eq!(
            parse_assignment_filter(Some("assignedTo('x')"))
                .unwrap()
                .principal
                .as_deref(),
            Some("x")
        );
        assert_eq!(
            parse_assignment_filter(Some("roleName eq 'x'")).unwrap_err().code,
            "UnsupportedFilter"
        );
    }
}
