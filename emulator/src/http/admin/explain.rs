//! `POST /_emulator/explain {"principal", "action", "scope"}`: what-if. Answers the same
//! [`crate::domain::rbac::Decision`] the gate enforces (through [`crate::decision::gate::decide`],
//! with the same subjects), plus every assignment of the principal with the role's `actions` and
//! `notActions` and whether it applies at the scope and grants the action.

use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{authorize, bad, parse, resolve};
use crate::decision::gate::{decide, subjects};
use crate::domain::rbac::Rbac;
use crate::domain::scope::Scope;
use crate::domain::ObjectId;
use crate::error::AdminError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/explain", web::post().to(explain));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Question {
    /// A user's UPN, a service principal's name or client id, or an object id.
    principal: String,
    action: String,
    scope: String,
}

/// Every assignment the principal holds (itself or through its groups), with whether it applies at
/// `scope` and what its role says about `action`; ordered by scope.
fn held_assignments(rbac: &Rbac, who: &[ObjectId], action: &str, scope: &Scope) -> Vec<Value> {
    let mut held: Vec<Value> = rbac
        .assignments()
        .filter(|a| who.contains(&a.principal_id))
        .map(|a| {
            let role = rbac.role(a.role_definition);
            json!({
                "assignment": a.name,
                "held_by": a.principal_id,
                "role": role.map(|r| r.name.clone()),
                "role_id": a.role_definition,
                "scope": a.scope.to_string(),
                "applies_at_scope": scope.is_within(&a.scope),
                "grants_action": role.is_some_and(|r| r.allows(action)),
                "excluded_by": role.and_then(|r| r.excluded_by(action)),
                "actions": role.map(|r| r.permissions.iter().flat_map(|p| p.actions.clone()).collect::<Vec<_>>()),
                "not_actions": role.map(|r| r.permissions.iter().flat_map(|p| p.not_actions.clone()).collect::<Vec<_>>()),
            })
        })
        .collect();
    held.sort_by_key(|v| v["scope"].as_str().map(str::to_string));
    held
}

async fn explain(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let q: Question = parse(&body)?;
    if q.action.is_empty() || q.action.len() > 512 {
        return Err(bad("action: 1 to 512 characters"));
    }
    let world = state.world();
    let (oid, kind) = resolve::assignee(&world, &q.principal)?;
    let scope = Scope::parse(&q.scope).map_err(|e| bad(e.to_string()))?;
    let who = subjects(&state, oid);
    let decision = decide(&state, &who, &q.action, &scope);
    let held = held_assignments(&state.rbac(), &who, &q.action, &scope);
    let (name, _) = world.principal(oid).unwrap_or_else(|| (oid.to_string(), kind));
    Ok(HttpResponse::Ok().json(json!({
        "allowed": decision.allowed,
        "reason": decision.reason().to_string(),
        "matched": decision.matched,
        "principal": {"object_id": oid, "name": name, "display_name": world.display_name(oid), "kind": kind},
        "action": q.action,
        "scope": scope.to_string(),
        "rbac_mode": state.rbac_mode,
        "assignments": held,
    })))
}
