//! SDK v2 online endpoints: ARM operations, key regeneration rule, AML and Entra token scoring.

use serde_json::json;

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
    // What azure-ai-ml sends: the current key as keyValue.
    assert_eq!(regen(json!({"keyType": "Primary", "keyValue": EP_PRIMARY})).status, 200);
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
    assert!(tok.body["refreshAfterTimeUtc"].as_i64().unwrap() < tok.body["expiryTimeUtc"].as_i64().unwrap());
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
    assert_eq!(made.status, 201, "{}", made.body);
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
    let switched = app.arm(
        "PATCH",
        &path,
        Some(&t),
        Some(json!({"properties": {"authMode": "AMLToken"}})),
    );
    assert_eq!(switched.body["properties"]["authMode"], "AMLToken");
    assert_eq!(
        app.score("/online/ep-new/score", Some(&key), "{}").status,
        401,
        "keys stop when the mode changes"
    );
    assert_eq!(app.arm("DELETE", &path, Some(&t), None).status, 200);
    assert_eq!(app.arm("DELETE", &path, Some(&t), None).status, 204);
    assert_eq!(app.score("/online/ep-new/score", Some(&key), "{}").status, 404);
}
