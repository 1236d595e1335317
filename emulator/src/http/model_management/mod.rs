//! The model-management service (SDK v1 web services) under `/modelmanagement/v1.0/subscriptions/{s}/
//! resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}/…`: services
//! (list, get, create, delete), their keys, key regeneration with its operation, and tokens.
//! Callers present ARM tokens; nothing about a workspace is revealed to callers without a role
//! in, above or below it; each operation then checks its RBAC action at the service's scope.

mod services;

pub use crate::http::shapes::service::service_json;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use super::arm::{self, Caller};
use crate::decision::Gate;
use crate::domain::scope::Scope;
use crate::domain::services::{Service, WorkspaceRef};
use crate::domain::World;
use crate::error::MmsError;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/modelmanagement/v1.0").default_service(web::to(dispatch)));
}

type MmsResult = Result<HttpResponse, MmsError>;

pub(crate) const SERVICES_READ: &str = "Microsoft.MachineLearningServices/workspaces/services/read";

/// What a model-management path names, below a workspace.
pub(crate) enum Op {
    Services,
    Service(String),
    ServiceAction(String, String),
    Operation(String),
}

pub(crate) fn parse(path: &str) -> Option<(WorkspaceRef, Op)> {
    let rest = path.strip_prefix("/modelmanagement/v1.0/")?;
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let (head, tail) = segs.split_at_checked(8)?;
    let [s, sub, g, rg, p, ns, w, ws] = head else {
        return None;
    };
    let shape = [(s, "subscriptions"), (g, "resourceGroups"), (p, "providers")]
        .into_iter()
        .chain([(ns, "Microsoft.MachineLearningServices"), (w, "workspaces")])
        .all(|(a, b)| eq(a, b));
    if !shape {
        return None;
    }
    let workspace = WorkspaceRef {
        subscription_id: sub.parse().ok()?,
        resource_group: rg.to_string(),
        workspace: ws.to_string(),
    };
    let op = match tail {
        [s] if eq(s, "services") => Op::Services,
        [s, name] if eq(s, "services") => Op::Service(name.to_string()),
        [s, name, action] if eq(s, "services") => Op::ServiceAction(name.to_string(), action.to_ascii_lowercase()),
        [o, id] if eq(o, "operations") => Op::Operation(id.to_string()),
        _ => return None,
    };
    Some((workspace, op))
}

async fn dispatch(state: Data<AppState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let gate = Gate::new(&state, &req);
    match handle(&state, &req, &body, &gate).await {
        Ok(r) => r,
        Err(e) => e.error_response(),
    }
}

async fn handle(state: &Data<AppState>, req: &HttpRequest, body: &[u8], gate: &Gate<'_>) -> MmsResult {
    let world = state.world();
    let caller = arm::authenticate(state, &world, req, gate)?;
    let (ws, op) = parse(req.path())
        .ok_or_else(|| MmsError::new(404, "NotFound", format!("No model-management API at {}.", req.path())))?;
    let ws_scope = Scope::parse(&ws.arm_id()).map_err(|e| MmsError::bad_argument(e.to_string()))?;
    gate.require_access_within(SERVICES_READ, &ws_scope)?;
    let workspace = world
        .workspace(ws.subscription_id, &ws.resource_group, &ws.workspace)
        .ok_or_else(|| {
            MmsError::new(
                404,
                "WorkspaceNotFound",
                format!("Workspace {} not found.", ws.workspace),
            )
        })?;
    let base = state.origins.for_request(req).to_string();
    let cx = Cx {
        data: state,
        req,
        caller: &caller,
        gate,
        base: &base,
        // Canonical spelling from here on.
        ws: &WorkspaceRef {
            subscription_id: workspace.subscription_id,
            resource_group: workspace.resource_group.clone(),
            workspace: workspace.name.clone(),
        },
        region: workspace.location.clone(),
        world: world.clone(),
    };
    call(&cx, op, body).await
}

/// The one handler for the operation and the method. Writes and token requests are boxed, so
/// that their futures do not set the size of every request's (see `arm::call`).
async fn call(cx: &Cx<'_>, op: Op, body: &[u8]) -> MmsResult {
    use services as s;
    match (op, cx.req.method()) {
        (Op::Services, &Method::GET) => s::list(cx),
        (Op::Services, &Method::POST) => Box::pin(s::create(cx, body)).await,
        (Op::Service(name), &Method::GET) => s::get(cx, &name),
        (Op::Service(name), &Method::DELETE) => Box::pin(s::delete(cx, &name)).await,
        (Op::ServiceAction(name, a), &Method::POST) if a == "listkeys" => s::list_keys(cx, &name),
        (Op::ServiceAction(name, a), &Method::POST) if a == "regeneratekeys" => {
            Box::pin(s::regenerate_keys(cx, &name, body)).await
        }
        (Op::ServiceAction(name, a), &Method::POST) if a == "token" => Box::pin(s::token(cx, &name)).await,
        (Op::Operation(id), &Method::GET) => s::operation(cx, &id),
        (_, m) => Err(MmsError::new(
            405,
            "MethodNotAllowed",
            format!("{m} is not supported at {}.", cx.req.path()),
        )),
    }
}

/// What every model-management handler receives.
struct Cx<'a> {
    data: &'a Data<AppState>,
    req: &'a HttpRequest,
    caller: &'a Caller,
    gate: &'a Gate<'a>,
    base: &'a str,
    ws: &'a WorkspaceRef,
    region: String,
    world: Arc<World>,
}

impl Cx<'_> {
    /// The workspace's scope, or a service's below it.
    fn scope(&self, service: Option<&str>) -> Result<Scope, MmsError> {
        let id = match service {
            Some(name) => format!("{}/services/{name}", self.ws.arm_id()),
            None => self.ws.arm_id(),
        };
        Scope::parse(&id)
            .map_err(|_| MmsError::bad_argument(format!("Invalid service name '{}'.", service.unwrap_or_default())))
    }

    fn require(&self, action: &str, service: Option<&str>) -> Result<(), MmsError> {
        Ok(self.gate.require(action, &self.scope(service)?)?)
    }

    /// The service, when it lives in this workspace.
    fn service(&self, name: &str) -> Result<Service, MmsError> {
        self.world
            .service(name)
            .filter(|s| s.workspace == *self.ws)
            .cloned()
            .ok_or_else(|| MmsError::not_found(name))
    }

    fn base_path(&self) -> String {
        format!("{}/modelmanagement/v1.0{}", self.base, self.ws.arm_id())
    }

    /// Runs a write of the service layer off the async workers; `refused` renders the failures
    /// that are the caller's (a store failure is a 500).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AppState) -> ServiceResult<T> + Send + 'static,
        refused: impl FnOnce(ServiceError) -> MmsError,
    ) -> Result<T, MmsError> {
        crate::service::run(self.data, f, MmsError::internal, refused).await
    }
}
