//! SDK v2 online endpoints: ARM operations, key regeneration rule, AML and Entra token scoring.

use serde_json::{json, Value};

use crate::helpers::*;

const EP_PRIMARY: &str = "ep-key-primary-dev-key-000000000000000000000=";

fn ep(name: &str) -> String {
    format!("{}/onlineEndpoints/{name}", ws_path(WS))
}

#[test]
fn endpoints_list_get_and_deployments() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let list = app
        .arm(
            "GET",
            &v(&format!("{}/onlineEndpoints", ws_path(WS)), "2022-02-01-preview"),
            Some(&t),
            None,
        )
        .body;
    let names: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["ep-key", "ep-amltoken", "ep-aad"]);
    let e = app.arm("GET", &v(&ep("ep-aad"), "2024-04-01"), Some(&t), None).body;
    assert_eq!(e["properties"]["authMode"], "AADToken");
    assert_eq!(
        e["properties"]["scoringUri"],
        format!("{}/online/ep-aad/score", app.url)
    );
    assert_eq!(e["properties"]["keys"], serde_json::Value::Null);
    let d = app
        .arm(
            "GET",
            &v(&format!("{}/deployments", ep("ep-aad")), "2022-02-01-preview"),
            Some(&t),
            None,
        )
        .body;
    assert_eq!(d["value"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.arm(
            "GET",
            &v(&format!("{}/deployments/green", ep("ep-aad")), "2024-04-01"),
            Some(&t),
            None
        )
        .status,
        200
    );
    assert_arm_error(
        &app.arm("GET", &v(&ep("nope"), "2024-04-01"), Some(&t), None),
        404,
        "ResourceNotFound",
    );
    let missing_ws = format!("{}/onlineEndpoints/x", ws_path("nope"));
    assert_arm_error(
        &app.arm("GET", &v(&missing_ws, "2024-04-01"), Some(&t), None),
        403,
        "AuthorizationFailed",
    );
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    assert_arm_error(
        &app.arm("GET", &v(&missing_ws, "2024-04-01"), Some(&admin), None),
        404,
        "ParentResourceNotFound",
    );
}

#[test]
fn regenerate_rule_current_or_absent_value_means_new_key() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let keys = |app: &TestApp| {
        app.arm(
            "POST",
            &v(&format!("{}/listKeys", ep("ep-key")), "2024-04-01"),
            Some(&t),
            None,
        )
        .body
    };
    assert_eq!(keys(&app)["primaryKey"], EP_PRIMARY);
    let regen = |body: serde_json::Value| {
        app.arm(
            "POST",
            &v(&format!("{}/regenerateKeys", ep("ep-key")), "2022-02-01-preview"),
            Some(&t),
            Some(body),
        )
    };
    // What azure-ai-ml sends: the current key as keyValue. A long-running operation (recorded:
    // 202, body null, Location on mfeOperationResults only); the key changes at once.
    let accepted = regen(json!({"keyType": "Primary", "keyValue": EP_PRIMARY}));
    assert_eq!(accepted.status, 202);
    assert_eq!(accepted.header("content-length"), Some("4"), "the body is null");
    assert!(accepted.header("azure-asyncoperation").is_none());
    assert!(accepted.header("x-ms-async-operation-timeout").is_none());
    let result_url = accepted.header("location").unwrap().to_string();
    assert!(
        result_url.contains("/providers/Microsoft.MachineLearningServices/locations/eastus/mfeOperationResults/oe:"),
        "{result_url}"
    );
    assert_eq!(app.poll(&result_url, &t).status, 202);
    app.finish_operations();
    let done = app.poll(&result_url, &t);
    assert_eq!((done.status, &done.body["status"]), (200, &json!("Succeeded")));
    let after = keys(&app)["primaryKey"].as_str().unwrap().to_string();
    assert_ne!(after, EP_PRIMARY, "the current key as keyValue still regenerates");
    assert_eq!(app.score("/online/ep-key/score", Some(EP_PRIMARY), "{}").status, 401);
    assert_eq!(
        app.score("/online/ep-key/score", Some(&after), r#"{"a":1}"#).body,
        json!({"a": 1})
    );
    regen(json!({"keyType": "Secondary"}));
    regen(json!({"keyType": "Primary", "keyValue": "my-own-key"}));
    assert_eq!(keys(&app)["primaryKey"], "my-own-key");
    assert_arm_error(&regen(json!({"keyType": "Both"})), 400, "BadRequest");
    let wrong = app.arm(
        "POST",
        &v(&format!("{}/listKeys", ep("ep-aad")), "2024-04-01"),
        Some(&t),
        None,
    );
    assert_arm_error(&wrong, 400, "BadRequest");
}

#[test]
fn aml_token_endpoint_scoring() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let tok = app.arm(
        "POST",
        &v(&format!("{}/token", ep("ep-amltoken")), "2024-04-01"),
        Some(&t),
        None,
    );
    assert_eq!(tok.status, 200, "{}", tok.body);
    let access = tok.body["accessToken"].as_str().unwrap();
    // Azure's 24 h / 12 h exactly (Get-AzMLWorkspaceOnlineEndpointToken.Recording.json), on the
    // emulator clock, and the recorded claim shape.
    let now = app.running.clock().unix();
    let expiry = tok.body["expiryTimeUtc"].as_i64().unwrap();
    assert!((86_399..=86_400).contains(&(expiry - now)), "{}", expiry - now);
    assert_eq!(expiry - tok.body["refreshAfterTimeUtc"].as_i64().unwrap(), 43_200);
    let c = claims(access);
    assert_eq!(
        (c["iss"].as_str(), c["aud"].as_str()),
        (Some("azureml"), Some("azureml"))
    );
    assert_eq!(c["endpointName"], "ep-amltoken");
    assert_eq!(c["canRefresh"], "False");
    assert_eq!(
        c["actions"],
        "[\"Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action\"]"
    );
    assert!(c.get("iat").is_none() && c.get("nbf").is_none());
    assert_eq!(
        app.score("/online/ep-amltoken/score", Some(access), r#"{"q":2}"#).body,
        json!({"q": 2})
    );
    assert_eq!(app.score("/online/ep-key/score", Some(access), "{}").status, 401);
    let svc = app.aks_token();
    assert_eq!(
        app.score("/online/ep-amltoken/score", svc["accessToken"].as_str(), "{}")
            .status,
        401,
        "a service token does not open an endpoint"
    );
    assert_arm_error(
        &app.arm(
            "POST",
            &v(&format!("{}/token", ep("ep-key")), "2024-04-01"),
            Some(&t),
            None,
        ),
        400,
        "BadRequest",
    );
}

#[test]
fn aad_token_endpoint_scoring_needs_the_right_audience_and_role() {
    let app = TestApp::with_spec(world_with_workspace_reader());
    let ml = |client: &str, secret: &str| {
        app.token_v2(client, secret, "https://ml.azure.com/.default").body["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let token = ml(CLIENT, SECRET);
    assert_eq!(
        app.score("/online/ep-aad/score", Some(&token), r#"{"z":3}"#).body,
        json!({"z": 3})
    );
    let arm = app.arm_token(CLIENT, SECRET);
    assert_eq!(
        app.score("/online/ep-aad/score", Some(&arm), "{}").status,
        401,
        "an ARM token is the wrong audience"
    );
    let reader = ml("aaaaaaaa-0000-4000-8000-0000000000f1", "s");
    let r = app.score("/online/ep-aad/score", Some(&reader), "{}");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("onlineEndpoints/score/action"));
    // Deployment header: a known one is fine, an unknown one is 404.
    let mut ok = app
        .agent
        .post(format!("{}/online/ep-aad/score", app.url))
        .header("Authorization", format!("Bearer {token}"))
        .header("azureml-model-deployment", "green")
        .send("{}")
        .unwrap();
    assert_eq!(ok.status(), 200);
    let _ = ok.body_mut().read_to_string();
    let missing = app
        .agent
        .post(format!("{}/online/ep-aad/score", app.url))
        .header("Authorization", format!("Bearer {token}"))
        .header("azureml-model-deployment", "purple")
        .send("{}")
        .unwrap();
    assert_eq!(missing.status(), 404);
    app.running.clock().advance(time::Duration::hours(2)).unwrap();
    assert_eq!(
        app.score("/online/ep-aad/score", Some(&token), "{}").status,
        401,
        "expired Entra token"
    );
}

#[test]
fn endpoint_create_update_delete() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let path = v(&ep("ep-new"), "2024-04-01");
    assert_arm_error(
        &app.arm(
            "PUT",
            &path,
            Some(&t),
            Some(json!({"location": "eastus", "properties": {}})),
        ),
        400,
        "BadRequest",
    );
    assert_arm_error(
        &app.arm(
            "PUT",
            &path,
            Some(&t),
            Some(json!({"properties": {"authMode": "Magic"}})),
        ),
        400,
        "BadRequest",
    );
    let made = app.arm(
        "PUT",
        &path,
        Some(&t),
        Some(json!({"location": "eastus", "properties": {"authMode": "Key"}})),
    );
    // The 2022-05-01 recording: 201, the endpoint Creating with null scoring URIs,
    // Azure-AsyncOperation on mfeOperationsStatus, Location = the endpoint itself, a 30-minute timeout.
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["properties"]["provisioningState"], "Creating");
    assert_eq!(made.body["properties"]["scoringUri"], Value::Null);
    assert!(made.body["properties"].get("keys").is_none());
    assert_eq!(made.body["properties"]["compute"], Value::Null);
    assert_eq!(made.header("location"), Some(format!("{}{path}", app.url).as_str()));
    assert_eq!(made.header("x-ms-async-operation-timeout"), Some("PT30M"));
    let status_url = made.header("azure-asyncoperation").unwrap().to_string();
    assert_eq!(
        made.body["properties"]["properties"]["AzureAsyncOperationUri"],
        status_url.as_str()
    );
    assert_eq!(
        made.body["properties"]["properties"]["azureml.onlineendpointid"],
        ep("ep-new").to_ascii_lowercase()
    );
    let running = app.poll(&status_url, &t);
    assert_eq!((running.status, &running.body["status"]), (200, &json!("InProgress")));
    assert!(running.body.get("endTime").is_none());
    app.finish_operations();
    let done = app.poll(&status_url, &t).body;
    assert_eq!(
        (&done["status"], &done["percentComplete"]),
        (&json!("Succeeded"), &json!(100.0))
    );
    assert!(done["endTime"].is_string() && done["startTime"].is_string());
    let got = app.arm("GET", &path, Some(&t), None).body;
    assert_eq!(got["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        got["properties"]["scoringUri"],
        format!("{}/online/ep-new/score", app.url)
    );
    let keys = app
        .arm(
            "POST",
            &v(&format!("{}/listKeys", ep("ep-new")), "2024-04-01"),
            Some(&t),
            None,
        )
        .body;
    let key = keys["primaryKey"].as_str().unwrap().to_string();
    assert_eq!(app.score("/online/ep-new/score", Some(&key), "{}").status, 200);
    // PATCH: 202, body null, Location on mfeOperationResults, the timeout; Updating until done.
    let switched = app.arm(
        "PATCH",
        &path,
        Some(&t),
        Some(json!({"properties": {"authMode": "AMLToken"}})),
    );
    assert_eq!(switched.status, 202);
    assert_eq!(switched.header("x-ms-async-operation-timeout"), Some("PT30M"));
    assert!(switched.header("location").unwrap().contains("/mfeOperationResults/"));
    let updating = app.arm("GET", &path, Some(&t), None).body;
    assert_eq!(updating["properties"]["provisioningState"], "Updating");
    assert_eq!(updating["properties"]["authMode"], "AMLToken");
    assert_eq!(
        app.score("/online/ep-new/score", Some(&key), "{}").status,
        401,
        "keys stop when the mode changes"
    );
    app.finish_operations();
    // DELETE: 202, body null, Location (results) and Azure-AsyncOperation (status), the timeout.
    let deleted = app.arm("DELETE", &path, Some(&t), None);
    assert_eq!(deleted.status, 202);
    assert!(deleted.header("location").unwrap().contains("/mfeOperationResults/"));
    assert!(deleted
        .header("azure-asyncoperation")
        .unwrap()
        .contains("/mfeOperationsStatus/"));
    assert_eq!(
        app.arm("GET", &path, Some(&t), None).body["properties"]["provisioningState"],
        "Deleting"
    );
    assert_eq!(app.arm("DELETE", &path, Some(&t), None).status, 204);
    assert_eq!(app.score("/online/ep-new/score", Some(&key), "{}").status, 404);
    app.finish_operations();
    assert_arm_error(&app.arm("GET", &path, Some(&t), None), 404, "ResourceNotFound");
    // An operation the service does not know: the front end's 404 (recorded).
    let unknown = status_url.replacen("/mfeOperationsStatus/oe:", "/mfeOperationsStatus/oe:0", 1);
    let r = app.poll(&unknown, &t);
    assert_arm_error(&r, 404, "NotFound");
    assert_eq!(r.body["error"]["details"][0]["code"], "OperationNotFound");
}
