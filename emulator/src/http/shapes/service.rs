//! The web-service payload azureml-core reads.

use serde_json::{json, Value};

use crate::domain::services::{ComputeType, Service};

/// The service as `GET services/{name}?expand=true` returns it: every key azureml-core's payload
/// check expects is present, and nested objects are objects, never null. `imageDetails` is left
/// out: azureml-core deserializes it as an image whenever the key is present.
pub fn service_json(base: &str, s: &Service) -> Value {
    let (scoring, swagger) = crate::http::urls::service_uris(base, s);
    let mut v = json!({
        "id": s.name,
        "name": s.name,
        "description": s.description,
        "kvTags": {},
        "properties": {},
        "computeType": s.compute_type.as_str(),
        "createdTime": s.created,
        "updatedTime": s.created,
        "createdBy": null,
        "state": "Healthy",
        "error": null,
        "imageId": null,
        "models": [],
        "environmentImageRequest": null,
        "deploymentStatus": {"runningReplicas": 1, "desiredReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "error": null},
        "appInsightsEnabled": false,
        "authEnabled": s.auth_enabled,
        "aadAuthEnabled": s.token_auth_enabled,
        "scoringUri": scoring,
        "swaggerUri": swagger,
    });
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), compute_specific(s.compute_type)) {
        obj.extend(more);
    }
    v
}

/// The keys only ACI or only AKS services have.
fn compute_specific(compute: ComputeType) -> Value {
    match compute {
        ComputeType::Aci => json!({
            "containerResourceRequirements": {"cpu": 0.1, "memoryInGB": 0.5},
            "location": null,
            "publicIp": null,
            "publicFqdn": null,
            "cname": null,
            "sslCertificate": null,
            "sslEnabled": false,
            "sslKey": null,
            "dataCollection": {"eventHubEnabled": false, "storageEnabled": false},
        }),
        ComputeType::Aks => json!({
            "computeName": "aks-compute",
            "namespace": "azureml-emulator",
            "isDefault": null,
            "trafficPercentile": null,
            "type": "Realtime",
            "containerResourceRequirements": {"cpu": 0.1, "cpuLimit": null, "memoryInGB": 0.5, "memoryInGBLimit": null, "gpu": 0},
            "autoScaler": {"autoscaleEnabled": true, "maxReplicas": 10, "minReplicas": 1, "refreshPeriodInSeconds": 1, "targetUtilization": 70},
            "dataCollection": {"eventHubEnabled": false, "storageEnabled": false},
            "livenessProbeRequirements": {"periodSeconds": 10, "initialDelaySeconds": 310, "timeoutSeconds": 2, "failureThreshold": 3, "successThreshold": 1},
            "maxConcurrentRequestsPerContainer": 1,
            "maxQueueWaitMs": 500,
            "numReplicas": null,
            "scoringTimeoutMs": 60000,
        }),
    }
}
