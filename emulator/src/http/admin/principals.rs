//! Control-API verbs behind `azureml-emulator sp …`, `role assignment …` and `ml workspace share`:
//! they act with the emulator's authority (no RBAC), like an administrator of the tenant.

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::authorize;
use crate::domain::ids::parse_guid;
use crate::domain::rbac::{PrincipalType, RoleAssignment};
use crate::domain::scope::Scope;
use crate::domain::{ClientId, ObjectId, World};
use crate::error::AdminError;
use crate::fixtures::{ApplicationSpec, SecretSpec};
use crate::http::arm::authorization::{assignment_json, check_scope_exists};
use crate::state::{AppState, AssignError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/journal", web::get().to(journal))
        .route("/service-principals", web::post().to(create_service_principal))
        .route("/service-principals/{id}", web::get().to(show_service_principal))
        .route("/role-assignments", web::get().to(list_assignments))
        .route("/role-assignments", web::post().to(create_assignment))
        .route("/role-assignments", web::delete().to(delete_assignments));
}

fn bad(message: impl Into<String>) -> AdminError {
    AdminError::BadRequest(message.into())
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, AdminError> {
    serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON body: {e}")))
}

async fn journal(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    Ok(HttpResponse::Ok().json(json!({"rbac_mode": state.rbac_mode, "entries": state.journal.entries()})))
}

/// A user (UPN), application (display name or client id) or object id.
fn resolve_assignee(world: &World, assignee: &str) -> Result<(ObjectId, PrincipalType), AdminError> {
    let guid = parse_guid(assignee).ok();
    if let Some(u) = world
        .users
        .iter()
        .find(|u| u.upn.eq_ignore_ascii_case(assignee) || Some(u.object_id.0) == guid)
    {
        return Ok((u.object_id, PrincipalType::User));
    }
    world
        .applications
        .iter()
        .find(|a| a.display_name == assignee || Some(a.client_id.0) == guid || Some(a.object_id.0) == guid)
        .map(|a| (a.object_id, PrincipalType::ServicePrincipal))
        .ok_or_else(|| bad(format!("no user or service principal matches assignee '{assignee}'")))
}

fn resolve_role(state: &AppState, role: &str) -> Result<Uuid, AdminError> {
    let rbac = state.rbac();
    let guid = parse_guid(role).ok();
    let found = rbac
        .roles()
        .find(|r| Some(r.id) == guid || r.name.eq_ignore_ascii_case(role))
        .map(|r| r.id);
    found.ok_or_else(|| bad(format!("no role definition is named '{role}'")))
}

fn resolve_scope(state: &AppState, scope: &str) -> Result<Scope, AdminError> {
    let parsed = Scope::parse(scope).map_err(|e| bad(e.to_string()))?;
    let world = state.world();
    if let Some(sub) = parsed.subscription() {
        if sub.parse().ok().and_then(|s| world.subscription(s)).is_none() {
            return Err(bad(format!("scope '{scope}': subscription '{sub}' does not exist")));
        }
    }
    check_scope_exists(&world, &parsed).map_err(|e| bad(format!("scope '{scope}': {}", e.message)))?;
    Ok(parsed)
}

fn now(state: &AppState) -> Result<String, AdminError> {
    state
        .clock
        .now()
        .format(&Rfc3339)
        .map_err(|e| AdminError::Internal(e.to_string()))
}

fn assign(
    state: &AppState,
    principal: (ObjectId, PrincipalType),
    role: Uuid,
    scope: &Scope,
) -> Result<Value, AdminError> {
    let now = now(state)?;
    let a = RoleAssignment {
        name: Uuid::new_v4(),
        scope: scope.clone(),
        role_definition: role,
        principal_id: principal.0,
        principal_type: principal.1,
        description: None,
        created_on: now.clone(),
        updated_on: now,
        created_by: None,
    };
    match state.assign(a) {
        Ok(a) => Ok(assignment_json(&a)),
        // Like `az role assignment create`: an existing identical assignment is the answer.
        Err(AssignError::Exists) => {
            let rbac = state.rbac();
            let existing = rbac
                .find_assignment(scope, role, principal.0)
                .ok_or_else(|| AdminError::Internal("assignment vanished".into()))?;
            Ok(assignment_json(existing))
        }
        Err(AssignError::NotAssignable) => Err(bad(format!(
            "the role is not available for assignment at scope '{scope}': the scope is outside its assignableScopes"
        ))),
        Err(e) => Err(AdminError::Internal(e.to_string())),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewServicePrincipal {
    display_name: String,
    role: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

/// Like `az ad sp create-for-rbac`: a new application + service principal with one fresh secret
/// (shown only in this answer), optionally assigned a role at each scope. An existing application
/// of that name is patched instead: it gets a new secret (its others keep working). Everything is
/// checked before anything is written.
async fn create_service_principal(
    state: Data<AppState>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let body: NewServicePrincipal = parse(&body)?;
    if body.display_name.trim().is_empty() {
        return Err(bad("displayName must not be empty"));
    }
    let role = body.role.as_deref().map(|r| resolve_role(&state, r)).transpose()?;
    if role.is_some() && body.scopes.is_empty() {
        return Err(bad("a role needs at least one scope"));
    }
    let scopes = body
        .scopes
        .iter()
        .map(|s| resolve_scope(&state, s))
        .collect::<Result<Vec<_>, _>>()?;
    let world = state.world();
    let tenant = world
        .default_tenant()
        .ok_or_else(|| AdminError::Internal("no tenant".into()))?
        .id;
    let password = format!(
        "{}~{}",
        &Uuid::new_v4().simple().to_string()[..8],
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
    );
    let secret = SecretSpec {
        value: password.clone(),
        display_name: "rbac".into(),
        expires: None,
    };
    let existing = world
        .applications
        .iter()
        .find(|a| a.display_name == body.display_name)
        .map(|a| (a.client_id, a.object_id));
    drop(world);
    let internal = |e: crate::store::StoreError| AdminError::Internal(e.to_string());
    let (client_id, object_id) = match existing {
        Some((client_id, object_id)) => {
            state.store.add_secret(client_id, &secret).map_err(internal)?;
            (client_id, object_id)
        }
        None => {
            let app = ApplicationSpec {
                tenant: None,
                display_name: body.display_name.clone(),
                client_id: ClientId(Uuid::new_v4()),
                object_id: ObjectId(Uuid::new_v4()),
                enabled: true,
                token_lifetime_seconds: None,
                identifier_uris: vec![],
                access_token_version: 1,
                secrets: vec![secret],
            };
            state
                .store
                .add_application(&tenant.to_string(), &app)
                .map_err(internal)?;
            (app.client_id, app.object_id)
        }
    };
    state.reload_world().map_err(internal)?;
    let assignments = match role {
        Some(role) => scopes
            .iter()
            .map(|s| assign(&state, (object_id, PrincipalType::ServicePrincipal), role, s))
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![],
    };
    let status = if existing.is_some() {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok({ status }.json(json!({
        "appId": client_id,
        "objectId": object_id,
        "displayName": body.display_name,
        "password": password,
        "tenant": tenant,
        "roleAssignments": assignments,
    })))
}

async fn show_service_principal(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let world = state.world();
    let guid = parse_guid(&id).map_err(|_| bad(format!("'{id}' is not a GUID")))?;
    let app = world
        .applications
        .iter()
        .find(|a| a.client_id.0 == guid || a.object_id.0 == guid)
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ))
        })?;
    Ok(HttpResponse::Ok().json(json!({
        "objectId": app.object_id,
        "id": app.object_id,
        "appId": app.client_id,
        "appDisplayName": app.display_name,
        "displayName": app.display_name,
        "accountEnabled": app.enabled,
        "appOwnerOrganizationId": app.tenant_id,
        "servicePrincipalType": "Application",
        "servicePrincipalNames": [app.client_id.to_string()],
        "passwordCredentials": app.secrets.iter().map(|s| json!({
            "keyId": s.key_id, "displayName": s.display_name, "hint": s.hint,
            "endDateTime": s.expires.and_then(|e| e.format(&Rfc3339).ok()),
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignmentQuery {
    assignee: Option<String>,
    role: Option<String>,
    scope: Option<String>,
}

/// Assignments matching every given field; `scope` matches exactly (case-insensitively).
fn matching(state: &AppState, q: &AssignmentQuery) -> Result<Vec<RoleAssignment>, AdminError> {
    let principal = q
        .assignee
        .as_deref()
        .map(|a| resolve_assignee(&state.world(), a))
        .transpose()?;
    let role = q.role.as_deref().map(|r| resolve_role(state, r)).transpose()?;
    let scope = q
        .scope
        .as_deref()
        .map(|s| Scope::parse(s).map_err(|e| bad(e.to_string())))
        .transpose()?;
    let rbac = state.rbac();
    let mut found: Vec<RoleAssignment> = rbac
        .assignments()
        .filter(|a| principal.is_none_or(|p| a.principal_id == p.0))
        .filter(|a| role.is_none_or(|r| a.role_definition == r))
        .filter(|a| scope.as_ref().is_none_or(|s| a.scope == *s))
        .cloned()
        .collect();
    found.sort_by(|a, b| a.scope.key().cmp(b.scope.key()).then(a.name.cmp(&b.name)));
    Ok(found)
}

/// The query, parsed after the access check and refused in the API's own shape.
fn assignment_query(req: &HttpRequest) -> Result<AssignmentQuery, AdminError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| bad(format!("invalid query: {e}")))
}

async fn list_assignments(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let q = assignment_query(&req)?;
    let value: Vec<Value> = matching(&state, &q)?.iter().map(assignment_json).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAssignment {
    assignee: String,
    role: String,
    scope: String,
}

async fn create_assignment(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let body: NewAssignment = parse(&body)?;
    let principal = resolve_assignee(&state.world(), &body.assignee)?;
    let role = resolve_role(&state, &body.role)?;
    let scope = resolve_scope(&state, &body.scope)?;
    Ok(HttpResponse::Created().json(assign(&state, principal, role, &scope)?))
}

async fn delete_assignments(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let q = assignment_query(&req)?;
    if q.assignee.is_none() && q.role.is_none() && q.scope.is_none() {
        return Err(bad("name at least one of assignee, role, scope"));
    }
    let mut deleted = Vec::new();
    for a in matching(&state, &q)? {
        if let Some(removed) = state
            .unassign(a.name)
            .map_err(|e| AdminError::Internal(e.to_string()))?
        {
            deleted.push(assignment_json(&removed));
        }
    }
    Ok(HttpResponse::Ok().json(json!({"value": deleted})))
}
