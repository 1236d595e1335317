//! ARM's asynchronous pattern for the writes Azure runs as long-running operations, and the routes
//! that report their progress ([`crate::domain::operations`]: the write is done when the answer
//! is sent; the operation runs `serve --lro-seconds` on the emulator clock).
//!
//! What each write answers, as recorded (`openapi/fidelity/SOURCES.md`, "Long-running operations"):
//! - resource group DELETE: 202, no body, `Location: …/operationresults/{job}` (the job a base64url
//!   `{"jobId":"RESOURCEGROUPDELETIONJOB-{RG}-{REGION}","jobLocation":"{region}"}`) and `Retry-After`;
//!   polls answer 202 with both headers, then 200 with no body.
//! - workspace PUT: 202, no body, `Location` and `Azure-AsyncOperation` on
//!   `…/locations/{region}/workspaceOperationsStatus/{id}?api-version={v}&type=location|async`, no
//!   `Retry-After`; the `async` poll answers `{"status","percentComplete"}`.
//! - workspace DELETE (spec, no recording): 202, no body, `Location` (`…&type=location`) and `Retry-After`.
//! - online endpoint PUT: 201 (200 for an update) with the endpoint `Creating` (`Updating`),
//!   `Azure-AsyncOperation: …/mfeOperationsStatus/oe:{workspaceId}:{guid}`, `Location` the endpoint's
//!   own URL (create only), `x-ms-async-operation-timeout: PT30M`.
//! - online endpoint PATCH: 202, body `null`, `Location: …/mfeOperationResults/…`, the timeout.
//! - online endpoint DELETE: 202, body `null`, both `Location` (mfeOperationResults) and
//!   `Azure-AsyncOperation` (mfeOperationsStatus), the timeout.
//! - regenerateKeys: 202, body `null`, `Location` (mfeOperationResults) only.
//!
//! Not recorded, chosen and written down here: a running operation's status is `InProgress` (ARM's
//! async-operation contract); `Location` polls answer 202 while it runs and 200 when done; every
//! in-progress poll carries `Retry-After`. `Retry-After` is the whole seconds left, at least 1
//! (azure-core reads 0 as "no hint" and falls back to its own interval, 30 s by default) and at
//! most ARM's 15. The 2022 recording of a regenerateKeys poll answered 404 OperationNotFound (a
//! service fault of its day, not reproduced): the emulator answers it like any other.

use actix_web::http::header::LOCATION;
use actix_web::HttpResponse;
use base64::Engine;
use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::route::MlPoll;
use super::{ArmResult, Ctx};
use crate::clock::arm_timestamp;
use crate::domain::operations::{Change, Operation, Snapshot};
use crate::domain::scope::Scope;
use crate::domain::world::{ResourceGroup, Workspace};
use crate::error::ArmError;

const ML: &str = "Microsoft.MachineLearningServices";
/// `x-ms-async-operation-timeout` of the Azure ML front end's writes, as recorded.
const MFE_TIMEOUT: &str = "PT30M";
/// ARM's longest recorded `Retry-After` for a resource group deletion.
const MAX_RETRY_AFTER: i64 = 15;

fn now(ctx: &Ctx<'_>) -> OffsetDateTime {
    ctx.state().clock.now()
}

fn retry_after(op: &Operation, now: OffsetDateTime) -> String {
    op.remaining_seconds(now).clamp(1, MAX_RETRY_AFTER).to_string()
}

/// The `provisioningState` of `resource` now: its running operation's, else `Succeeded`.
pub fn provisioning_state(ctx: &Ctx<'_>, resource: impl FnOnce() -> String) -> &'static str {
    ctx.state()
        .lro
        .running_change(resource, now(ctx))
        .and_then(|change| change.provisioning_state())
        .unwrap_or("Succeeded")
}

/// A resource deleted by an operation still running: shown as it was, `Deleting`.
pub fn deleting(ctx: &Ctx<'_>, resource: &str) -> Option<Snapshot> {
    let op = ctx.state().lro.running_on(resource, now(ctx))?;
    (op.change == Change::Delete).then_some(op.snapshot).flatten()
}

// ---------------------------------------------------------------------------- resource groups

/// The deletion job's id as ARM spells it.
fn rg_job(rg: &ResourceGroup) -> String {
    let job = format!(
        "{{\"jobId\":\"RESOURCEGROUPDELETIONJOB-{}-{}\",\"jobLocation\":\"{}\"}}",
        rg.name.to_ascii_uppercase(),
        rg.location.to_ascii_uppercase(),
        rg.location
    );
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(job)
}

fn rg_job_url(ctx: &Ctx<'_>, sub: &str, job: &str) -> String {
    format!(
        "{}/subscriptions/{sub}/operationresults/{job}?api-version={}",
        ctx.base, ctx.api_version
    )
}

/// The 202 of a resource group DELETE (the group is already gone from the store).
pub fn rg_deleted(ctx: &Ctx<'_>, rg: ResourceGroup) -> HttpResponse {
    let job = rg_job(&rg);
    let resource = format!("/subscriptions/{}/resourceGroups/{}", rg.subscription_id, rg.name);
    let url = rg_job_url(ctx, &rg.subscription_id.to_string(), &job);
    let op = ctx.state().lro.start(
        job,
        resource,
        Change::Delete,
        Some(Snapshot::ResourceGroup(rg)),
        now(ctx),
    );
    HttpResponse::Accepted()
        .insert_header((LOCATION, url))
        .insert_header(("Retry-After", retry_after(&op, now(ctx))))
        .finish()
}

/// `GET /subscriptions/{sub}/operationresults/{job}`: 202 while the deletion runs, then 200. A
/// job the emulator no longer remembers (a restart) finished: its group was deleted when the
/// DELETE was answered.
pub fn poll_resource_group(ctx: &Ctx<'_>, sub: &str, job: &str) -> ArmResult {
    require_visibility(ctx, sub, "Microsoft.Resources/subscriptions/operationresults/read")?;
    let known_job = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(job)
        .ok()
        .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
        .is_some_and(|v| {
            v["jobId"]
                .as_str()
                .is_some_and(|j| j.starts_with("RESOURCEGROUPDELETIONJOB-"))
        });
    match ctx.state().lro.get(job) {
        Some(op) if !op.done(now(ctx)) => Ok(HttpResponse::Accepted()
            .insert_header((LOCATION, rg_job_url(ctx, sub, job)))
            .insert_header(("Retry-After", retry_after(&op, now(ctx))))
            .finish()),
        Some(_) => Ok(HttpResponse::Ok().finish()),
        None if known_job => Ok(HttpResponse::Ok().finish()),
        None => Err(ArmError::operation_not_found(job)),
    }
}

// ---------------------------------------------------------------------------------- workspaces

fn workspace_ops_url(ctx: &Ctx<'_>, sub: &str, location: &str, id: &str, kind: &str) -> String {
    format!(
        "{}/subscriptions/{sub}/providers/{ML}/locations/{location}/workspaceOperationsStatus/{id}?api-version={}&type={kind}",
        ctx.base, ctx.api_version
    )
}

fn workspace_op(ctx: &Ctx<'_>, w: &Workspace, change: Change, snapshot: Option<Snapshot>) -> Operation {
    // A random 32-byte id, base64url, as recorded (`YXLMHteRlDq5CVSo2p7PczIZova8TgDNklHd2mL1DvQ`).
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode([Uuid::new_v4().into_bytes(), Uuid::new_v4().into_bytes()].concat());
    ctx.state()
        .lro
        .start(id, super::workspaces::ws_id(w), change, snapshot, now(ctx))
}

/// The 202 of a workspace PUT (create or replace).
pub fn workspace_written(ctx: &Ctx<'_>, w: &Workspace, change: Change) -> HttpResponse {
    let op = workspace_op(ctx, w, change, None);
    let sub = w.subscription_id.to_string();
    HttpResponse::Accepted()
        .insert_header((LOCATION, workspace_ops_url(ctx, &sub, &w.location, &op.id, "location")))
        .insert_header((
            "Azure-AsyncOperation",
            workspace_ops_url(ctx, &sub, &w.location, &op.id, "async"),
        ))
        .finish()
}

/// The 202 of a workspace DELETE (the workspace is already gone from the store).
pub fn workspace_deleted(ctx: &Ctx<'_>, w: Workspace) -> HttpResponse {
    let (sub, location) = (w.subscription_id.to_string(), w.location.clone());
    let op = workspace_op(ctx, &w, Change::Delete, Some(Snapshot::Workspace(w.clone())));
    HttpResponse::Accepted()
        .insert_header((LOCATION, workspace_ops_url(ctx, &sub, &location, &op.id, "location")))
        .insert_header(("Retry-After", retry_after(&op, now(ctx))))
        .finish()
}

// --------------------------------------------------------------------------- online endpoints

/// The polling URLs of an Azure ML front-end operation.
pub struct MfeOperation {
    pub status_url: String,
    pub result_url: String,
}

/// The id of an endpoint's PUT operations: the same for every PUT of one endpoint instance, so
/// the endpoint's `AzureAsyncOperationUri` always names its last PUT.
fn endpoint_put_id(workspace_id: Uuid, endpoint: Uuid) -> String {
    format!("oe:{workspace_id}:{endpoint}")
}

fn mfe_url(ctx: &Ctx<'_>, sub: &str, location: &str, poll: MlPoll, id: &str) -> String {
    format!(
        "{}/subscriptions/{sub}/providers/{ML}/locations/{location}/{}/{id}?api-version={}",
        ctx.base,
        poll.segment(),
        ctx.api_version
    )
}

/// Where `AzureAsyncOperationUri` of an endpoint points: its (last) PUT's status.
pub fn endpoint_async_uri(ctx: &Ctx<'_>, e: &crate::domain::services::OnlineEndpoint, workspace_id: Uuid) -> String {
    let sub = e.workspace.subscription_id.to_string();
    let id = endpoint_put_id(workspace_id, e.id);
    mfe_url(ctx, &sub, &e.location, MlPoll::MfeStatus, &id)
}

/// Starts an operation on endpoint `e` of the workspace `workspace_id`.
pub fn endpoint_operation(
    ctx: &Ctx<'_>,
    e: &crate::domain::services::OnlineEndpoint,
    workspace_id: Uuid,
    change: Change,
) -> MfeOperation {
    let id = match change {
        Change::Create | Change::Update if ctx.req.method() == actix_web::http::Method::PUT => {
            endpoint_put_id(workspace_id, e.id)
        }
        _ => format!("oe:{workspace_id}:{}", Uuid::new_v4()),
    };
    let snapshot = (change == Change::Delete).then(|| Snapshot::Endpoint(e.clone()));
    let resource = super::online_endpoints::endpoint_id(e);
    let op = ctx.state().lro.start(id, resource, change, snapshot, now(ctx));
    let sub = e.workspace.subscription_id.to_string();
    MfeOperation {
        status_url: mfe_url(ctx, &sub, &e.location, MlPoll::MfeStatus, &op.id),
        result_url: mfe_url(ctx, &sub, &e.location, MlPoll::MfeResult, &op.id),
    }
}

/// The front end's 202: body `null` (4 bytes, JSON), `Location` on the operation's result,
/// `Azure-AsyncOperation` on its status when `with_status`, and the timeout unless `without_timeout`.
pub fn mfe_accepted(op: &MfeOperation, with_status: bool, with_timeout: bool) -> HttpResponse {
    let mut b = HttpResponse::Accepted();
    b.insert_header((LOCATION, op.result_url.clone()));
    if with_status {
        b.insert_header(("Azure-AsyncOperation", op.status_url.clone()));
    }
    if with_timeout {
        b.insert_header(MFE_TIMEOUT_HEADER);
    }
    b.content_type("application/json").body("null")
}

/// The timeout header of the front end's writes.
pub const MFE_TIMEOUT_HEADER: (&str, &str) = ("x-ms-async-operation-timeout", MFE_TIMEOUT);

// ------------------------------------------------------------------------------------- polls

fn require_visibility(ctx: &Ctx<'_>, sub: &str, action: &str) -> Result<(), ArmError> {
    let scope = Scope::parse(&format!("/subscriptions/{sub}")).map_err(|_| ArmError::subscription_not_found(sub))?;
    ctx.require_access_within(action, &scope)
}

/// The operation status body: `{id, name, startTime, endTime, percentComplete, status}` for the
/// front end's operations (recorded), `{status, percentComplete}` for workspaces' (recorded).
fn status_body(op: &Operation, now: OffsetDateTime, id_path: Option<&str>) -> Value {
    let done = op.done(now);
    let status = if done { "Succeeded" } else { "InProgress" };
    let Some(path) = id_path else {
        return json!({"status": status, "percentComplete": op.percent(now)});
    };
    let mut body = json!({
        "id": path,
        "name": op.id,
        "startTime": arm_timestamp(op.started),
        "percentComplete": op.percent(now),
        "status": status,
    });
    if done {
        body["endTime"] = json!(arm_timestamp(op.completes));
    }
    body
}

/// `GET …/providers/Microsoft.MachineLearningServices/locations/{location}/{poll}/{id}`.
pub fn poll_ml(ctx: &Ctx<'_>, sub: &str, location: &str, poll: MlPoll, id: &str) -> ArmResult {
    require_visibility(ctx, sub, &format!("{ML}/locations/{}/read", poll.segment()))?;
    let now = now(ctx);
    let op = ctx
        .state()
        .lro
        .get(id)
        .ok_or_else(|| ArmError::operation_not_found(id))?;
    let done = op.done(now);
    let path = format!(
        "/subscriptions/{sub}/providers/{ML}/locations/{location}/{}/{id}",
        poll.segment()
    );
    let location_poll = match poll {
        MlPoll::MfeResult => true,
        MlPoll::MfeStatus => false,
        MlPoll::WorkspaceStatus => query_type(ctx) == Some("location"),
    };
    let mut builder = if location_poll && !done {
        let mut b = HttpResponse::Accepted();
        b.insert_header((LOCATION, format!("{}{path}?{}", ctx.base, ctx.req.query_string())));
        b
    } else {
        HttpResponse::Ok()
    };
    if !done {
        builder.insert_header(("Retry-After", retry_after(&op, now)));
    }
    Ok(match poll {
        MlPoll::WorkspaceStatus if location_poll => builder.finish(),
        MlPoll::WorkspaceStatus => builder.json(status_body(&op, now, None)),
        MlPoll::MfeResult if !done => builder.finish(),
        MlPoll::MfeStatus | MlPoll::MfeResult => builder.json(status_body(&op, now, Some(&path))),
    })
}

/// The `type` query parameter of a workspace operation URL (`location` or `async`).
fn query_type<'q>(ctx: &'q Ctx<'_>) -> Option<&'q str> {
    ctx.req
        .query_string()
        .split('&')
        .find_map(|kv| kv.strip_prefix("type="))
}
