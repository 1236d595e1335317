//! The URLs of emulated services that more than one surface hands out, built on a configured
//! origin (see [`crate::origins`]).

use crate::domain::services::{ComputeType, OnlineEndpoint, Service};

/// Scoring and swagger URIs of a web service: AKS services answer at `/api/v1/service/{name}/…`
/// (as the AKS router does), ACI services at a per-service path.
pub fn service_uris(base: &str, s: &Service) -> (String, String) {
    let prefix = match s.compute_type {
        ComputeType::Aks => format!("{base}/api/v1/service/{}", s.name),
        ComputeType::Aci => format!("{base}/aci/{}", s.name),
    };
    (format!("{prefix}/score"), format!("{prefix}/swagger.json"))
}

/// Scoring and swagger URIs of an online endpoint.
pub fn endpoint_uris(base: &str, e: &OnlineEndpoint) -> (String, String) {
    let prefix = format!("{base}/online/{}", e.name);
    (format!("{prefix}/score"), format!("{prefix}/swagger.json"))
}
