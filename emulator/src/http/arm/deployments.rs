//! Deployments of online endpoints: get and list.

use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::online_endpoints::{endpoint_id, find};
use super::route::Ws;
use super::{ArmResult, Ctx};
use crate::domain::services::OnlineEndpoint;
use crate::domain::world::Actor;
use crate::error::ArmError;

/// A managed deployment as the Azure ML front end shows it (`openapi/fidelity/shapes/deployments.get.json`,
/// the 2022-05-01 recording `Get-AzMLWorkspaceOnlineDeployment.Recording.json`): its settings and
/// probes with the service's defaults, `systemData` with `createdAt`, `createdBy`, `lastModifiedAt`.
fn deployment_json(e: &OnlineEndpoint, name: &str) -> Value {
    let probe = json!({"failureThreshold": 30, "successThreshold": 1, "timeout": "PT2S", "period": "PT10S", "initialDelay": "PT10S"});
    let created_by = e.provenance.created_by.clone().unwrap_or_else(Actor::fixtures);
    json!({
        "id": format!("{}/deployments/{name}", endpoint_id(e)),
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        "properties": {
            "description": null,
            "properties": {},
            "scaleSettings": {"scaleType": "Default"},
            "requestSettings": {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1, "maxQueueWait": "PT0.5S"},
            "appInsightsEnabled": false,
            "livenessProbe": probe,
            "readinessProbe": probe,
            "provisioningState": "Succeeded",
            "instanceType": "Standard_DS3_v2",
            "model": null,
            "endpointComputeType": "Managed"
        },
        "systemData": {"createdAt": e.created, "createdBy": created_by.name, "lastModifiedAt": e.created},
        "tags": {},
        "location": e.location,
        "kind": "Managed",
        "sku": {"name": "Default", "tier": "Standard", "capacity": 1}
    })
}

pub fn list(ctx: &Ctx<'_>, ws: &Ws, endpoint: &str) -> ArmResult {
    let e = find(ctx, ws, endpoint)?;
    let value: Vec<Value> = e.deployments.iter().map(|d| deployment_json(&e, d)).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

pub fn get(ctx: &Ctx<'_>, ws: &Ws, endpoint: &str, name: &str) -> ArmResult {
    let e = find(ctx, ws, endpoint)?;
    let d = e
        .deployments
        .iter()
        .find(|d| d.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            ArmError::resource_not_found(
                &format!(
                    "Microsoft.MachineLearningServices/workspaces/{}/onlineEndpoints/{endpoint}/deployments",
                    ws.name
                ),
                name,
                &ws.rg,
            )
        })?;
    Ok(HttpResponse::Ok().json(deployment_json(&e, d)))
}
