//! Deployments of online endpoints: get and list.

use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::online_endpoints::{endpoint_id, find};
use super::route::Ws;
use super::{ArmResult, Ctx};
use crate::domain::services::OnlineEndpoint;
use crate::error::ArmError;

fn deployment_json(e: &OnlineEndpoint, name: &str) -> Value {
    json!({
        "id": format!("{}/deployments/{name}", endpoint_id(e)),
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        "location": e.location,
        "kind": "Managed",
        "tags": {},
        "sku": {"name": "Default", "capacity": 1},
        "properties": {"endpointComputeType": "Managed", "provisioningState": "Succeeded", "instanceType": "Standard_DS3_v2",
                       "model": null, "scaleSettings": {"scaleType": "Default"}, "appInsightsEnabled": false}
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
