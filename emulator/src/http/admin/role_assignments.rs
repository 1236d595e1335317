//! `azureml-emulator role assignment …` and `ml workspace share`: list, create and delete role
//! assignments with the emulator's authority (no RBAC).

use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{authorize, bad, parse, resolve};
use crate::domain::rbac::{PrincipalType, RoleAssignment};
use crate::domain::scope::Scope;
use crate::domain::ObjectId;
use crate::error::AdminError;
use crate::http::shapes::assignment::assignment_json;
use crate::service::rbac::{self as writes, AssignError};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/role-assignments", web::get().to(list))
        .route("/role-assignments", web::post().to(create))
        .route("/role-assignments", web::delete().to(delete));
}

/// Assigns `role` at `scope`; like `az role assignment create`, an existing identical assignment
/// is the answer.
pub async fn assign(
    state: &Data<AppState>,
    principal: (ObjectId, PrincipalType),
    role: Uuid,
    scope: &Scope,
) -> Result<Value, AdminError> {
    let now = crate::clock::arm_timestamp(state.clock.now());
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
    let outcome = crate::service::blocking(state, move |s| Ok(writes::assign(s, a)))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    match outcome {
        Ok(a) => Ok(assignment_json(&a)),
        Err(AssignError::Exists) => {
            let rbac = state.rbac();
            let existing = rbac
                .find_assignment(scope, role, principal.0)
                .ok_or_else(|| AdminError::Internal("assignment vanished".into()))?;
            Ok(assignment_json(&existing))
        }
        Err(AssignError::NotAssignable) => Err(bad(format!(
            "the role is not available for assignment at scope '{scope}': the scope is outside its assignableScopes"
        ))),
        Err(e) => Err(AdminError::Internal(e.to_string())),
    }
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
        .map(|a| resolve::assignee(&state.world(), a))
        .transpose()?;
    let role = q.role.as_deref().map(|r| resolve::role(state, r)).transpose()?;
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
        .collect();
    found.sort_by(|a, b| a.scope.key().cmp(b.scope.key()).then(a.name.cmp(&b.name)));
    Ok(found)
}

/// The query, parsed after the access check and refused in the API's own shape.
fn assignment_query(req: &HttpRequest) -> Result<AssignmentQuery, AdminError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| bad(format!("invalid query: {e}")))
}

async fn list(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
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

async fn create(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let body: NewAssignment = parse(&body)?;
    let principal = resolve::assignee(&state.world(), &body.assignee)?;
    let role = resolve::role(&state, &body.role)?;
    let scope = resolve::scope(&state, &body.scope)?;
    Ok(HttpResponse::Created().json(assign(&state, principal, role, &scope).await?))
}

async fn delete(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let q = assignment_query(&req)?;
    if q.assignee.is_none() && q.role.is_none() && q.scope.is_none() {
        return Err(bad("name at least one of assignee, role, scope"));
    }
    let names: Vec<Uuid> = matching(&state, &q)?.iter().map(|a| a.name).collect();
    let removed = crate::service::blocking(&state, move |s| {
        let mut removed = Vec::new();
        for name in names {
            removed.extend(writes::unassign(s, name)?);
        }
        Ok(removed)
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    let deleted: Vec<Value> = removed.iter().map(assignment_json).collect();
    Ok(HttpResponse::Ok().json(json!({"value": deleted})))
}
