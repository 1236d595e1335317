//! Wire fidelity beyond single resources: long-running operations on the clock (duration,
//! progress, who may poll, unknown operations), the role-assignment PUT answer, and the shape an
//! older api-version gets. The per-operation shapes are checked against Azure's by
//! `openapi/fidelity/check.py` in CI.

use azureml_emulator::Config;
use serde_json::json;

use crate::helpers::*;
use crate::world::WorldBuilder;

fn endpoint(name: &str) -> String {
    v(&format!("{}/onlineEndpoints/{name}", ws_path(WS)), "2022-05-01")
}

#[test]
fn operations_progress_on_the_emulator_clock_for_their_configured_duration() {
    let app = TestApp::with_config(Config {
        workers: 1,
        lro: time::Duration::seconds(30),
        ..Config::default()
    });
    let t = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let body = json!({"location": "eastus", "properties": {"authMode": "Key"}});
    let made = app.arm("PUT", &endpoint("ep-slow"), Some(&t), Some(body));
    assert_eq!(made.status, 201, "{}", made.body);
    let status_url = made.header("azure-asyncoperation").unwrap().to_string();
    let first = app.poll(&status_url, &t);
    assert_eq!(first.body["status"], "InProgress");
    // Retry-After: the seconds left, at most ARM's 15.
    assert_eq!(first.header("retry-after"), Some("15"));
    app.running.clock().advance(time::Duration::seconds(15)).unwrap();
    let half = app.poll(&status_url, &t);
    assert_eq!(
        (&half.body["status"], &half.body["percentComplete"]),
        (&json!("InProgress"), &json!(50.0))
    );
    assert_eq!(
        app.arm("GET", &endpoint("ep-slow"), Some(&t), None).body["properties"]["provisioningState"],
        "Creating"
    );
    app.running.clock().advance(time::Duration::seconds(15)).unwrap();
    assert_eq!(app.poll(&status_url, &t).body["status"], "Succeeded");
    assert_eq!(
        app.arm("GET", &endpoint("ep-slow"), Some(&t), None).body["properties"]["provisioningState"],
        "Succeeded"
    );
}

#[test]
fn zero_length_operations_are_done_at_the_first_poll() {
    let app = TestApp::with_config(Config {
        workers: 1,
        lro: time::Duration::ZERO,
        ..Config::default()
    });
    let t = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let rg = v(&rg_path(), "2021-04-01");
    let deleted = app.arm("DELETE", &rg, Some(&t), None);
    // Still ARM's 202: the first poll says done (Retry-After never below 1: azure-core reads 0 as
    // "use your own 30 s").
    assert_eq!((deleted.status, deleted.header("retry-after")), (202, Some("1")));
    assert_eq!(app.poll(deleted.header("location").unwrap(), &t).status, 200);
    assert_arm_error(&app.arm("GET", &rg, Some(&t), None), 404, "ResourceGroupNotFound");
}

#[test]
fn polls_need_a_role_in_the_subscription_and_a_known_operation() {
    let mut world = WorldBuilder::default_world();
    let stranger = world.service_principal("no-roles");
    let app = TestApp::with_spec(world.build());
    let t = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let regen = app.arm(
        "POST",
        &v(
            &format!("{}/onlineEndpoints/ep-key/regenerateKeys", ws_path(WS)),
            "2022-05-01",
        ),
        Some(&t),
        Some(json!({"keyType": "Secondary"})),
    );
    assert_eq!(regen.status, 202, "{}", regen.body);
    let url = regen.header("location").unwrap().to_string();
    let s = app.arm_token(&stranger.client_id, &stranger.secret);
    assert_arm_error(&app.poll(&url, &s), 403, "AuthorizationFailed");
    // A reader of the workspace alone may poll (some role in the subscription).
    let reader = app.arm_token(CLIENT, SECRET);
    assert_eq!(app.poll(&url, &reader).status, 202);
    // Unknown operations: the front end's 404 for Azure ML; for resource groups, a job id that
    // is not one of ARM's is unknown, while a deletion job the emulator forgot (a restart) finished.
    let ml = format!(
        "/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/eastus/mfeOperationsStatus/oe:x:y"
    );
    let r = app.arm("GET", &v(&ml, "2022-05-01"), Some(&t), None);
    assert_arm_error(&r, 404, "NotFound");
    assert_eq!(r.body["error"]["details"][0]["code"], "OperationNotFound");
    let arm = |job: &str| {
        app.arm(
            "GET",
            &v(&format!("/subscriptions/{SUB}/operationresults/{job}"), "2021-04-01"),
            Some(&t),
            None,
        )
    };
    assert_arm_error(&arm("not-a-job"), 404, "NotFound");
    let forgotten = base64_url(r#"{"jobId":"RESOURCEGROUPDELETIONJOB-GONE-EASTUS","jobLocation":"eastus"}"#);
    assert_eq!(arm(&forgotten).status, 200);
    // The poll routes take the api-versions of their types.
    let r = app.arm("GET", &v(&ml, "2099-01-01"), Some(&t), None);
    let m = assert_arm_error(&r, 400, "NoRegisteredProviderFound");
    assert!(m.contains("for type 'locations/mfeOperationsStatus'"), "{m}");
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn role_assignment_answers_follow_arm() {
    let app = TestApp::spawn();
    let t = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let name = uuid::Uuid::new_v4();
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{name}",
        ws_path(WS)
    );
    let body = json!({"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7", "principalId": SP_OBJECT}});
    let put = app.arm("PUT", &v(&path, "2022-04-01"), Some(&t), Some(body));
    assert_eq!(put.status, 201, "{}", put.body);
    // ARM's PUT answer has createdBy null; later reads name the creator.
    assert_eq!(put.body["properties"]["createdBy"], serde_json::Value::Null);
    let created_on = put.body["properties"]["createdOn"].as_str().unwrap();
    assert_eq!(created_on.len(), "2024-01-01T00:00:00.0000000Z".len(), "{created_on}");
    let got = app.arm("GET", &v(&path, "2022-04-01"), Some(&t), None);
    assert_eq!(got.body["properties"]["createdBy"], ADMIN_OBJECT);
    // Before 2020-04-01-preview the properties are only these four.
    let old = app.arm("GET", &v(&path, "2015-07-01"), Some(&t), None);
    let mut keys: Vec<&str> = old.body["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["principalId", "principalType", "roleDefinitionId", "scope"]);
}
