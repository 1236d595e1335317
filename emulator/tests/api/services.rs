//! SDK v1 web services: the model-management API, keys, tokens, RBAC and region outages.

use serde_json::json;

use crate::helpers::*;
use crate::world::WorldBuilder;

pub fn mms(path: &str) -> String {
    format!("/modelmanagement/v1.0{}{path}", ws_path(WS))
}

impl TestApp {
    pub fn score(&self, path: &str, credential: Option<&str>, body: &str) -> Reply {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(c) = credential {
            req = req.header("Authorization", format!("Bearer {c}"));
        }
        crate::helpers::read_reply(req.send(body))
    }

    /// A token for aks-service-1 through the model-management API, as ml-auth.
    pub fn aks_token(&self) -> serde_json::Value {
        let t = self.arm_token(CLIENT, SECRET);
        let r = self.arm("POST", &mms("/services/aks-service-1/token"), Some(&t), None);
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }
}

fn assert_mms_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["code"], code, "{}", r.body);
    assert_eq!(r.body["statusCode"], status);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn service_payloads_have_every_key_the_sdk_expects() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let aci = app
        .arm(
            "GET",
            &(mms("/services/aci-service-1") + "?expand=true"),
            Some(&t),
            None,
        )
        .body;
    for k in [
        "computeType",
        "createdTime",
        "description",
        "kvTags",
        "name",
        "properties",
        "appInsightsEnabled",
        "authEnabled",
        "cname",
        "containerResourceRequirements",
        "location",
        "publicIp",
        "scoringUri",
        "sslCertificate",
        "sslEnabled",
        "sslKey",
    ] {
        assert!(aci.get(k).is_some(), "ACI payload lacks {k}");
    }
    assert_eq!(aci["computeType"], "ACI");
    assert!(aci["containerResourceRequirements"].is_object());
    assert_eq!(aci["scoringUri"], format!("{}/aci/aci-service-1/score", app.url));
    let aks = app
        .arm(
            "GET",
            &(mms("/services/aks-service-1") + "?expand=true"),
            Some(&t),
            None,
        )
        .body;
    for k in [
        "computeType",
        "createdTime",
        "description",
        "kvTags",
        "name",
        "properties",
        "appInsightsEnabled",
        "authEnabled",
        "autoScaler",
        "computeName",
        "containerResourceRequirements",
        "dataCollection",
        "maxConcurrentRequestsPerContainer",
        "maxQueueWaitMs",
        "numReplicas",
        "scoringTimeoutMs",
        "scoringUri",
        "livenessProbeRequirements",
        "aadAuthEnabled",
    ] {
        assert!(aks.get(k).is_some(), "AKS payload lacks {k}");
    }
    for k in [
        "autoScaler",
        "containerResourceRequirements",
        "livenessProbeRequirements",
        "dataCollection",
    ] {
        assert!(aks[k].is_object(), "{k} must be an object");
    }
    assert_eq!(aks["aadAuthEnabled"], true);
    assert_eq!(aks["authEnabled"], false);
    assert_eq!(
        aks["scoringUri"],
        format!("{}/api/v1/service/aks-service-1/score", app.url)
    );
    let list = app
        .arm("GET", &(mms("/services") + "?computeType=AKS"), Some(&t), None)
        .body;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert_mms_error(&app.arm("GET", &mms("/services/nope"), Some(&t), None), 404, "NotFound");
    assert_mms_error(
        &app.arm("GET", &(mms("/services") + "?computeType=VM"), Some(&t), None),
        400,
        "BadArgument",
    );
}

#[test]
fn keys_regenerate_one_at_a_time_through_an_operation() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let keys = app
        .arm("POST", &mms("/services/aci-service-1/listkeys"), Some(&t), None)
        .body;
    assert_eq!(keys, json!({"primaryKey": ACI_PRIMARY, "secondaryKey": ACI_SECONDARY}));
    assert_eq!(
        app.score("/aci/aci-service-1/score", Some(ACI_PRIMARY), r#"{"data":[1]}"#)
            .status,
        200
    );

    let r = app.arm(
        "POST",
        &mms("/services/aci-service-1/regenerateKeys"),
        Some(&t),
        Some(json!({"keyType": "Primary", "keyValue": null})),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let location = r.headers["operation-location"].to_str().unwrap().to_string();
    let op_id = location.rsplit('/').next().unwrap();
    let op = app.arm("GET", &mms(&format!("/operations/{op_id}")), Some(&t), None);
    assert_eq!(op.body["state"], "Succeeded", "the first poll already succeeds");

    let after = app
        .arm("POST", &mms("/services/aci-service-1/listkeys"), Some(&t), None)
        .body;
    assert_ne!(after["primaryKey"], ACI_PRIMARY);
    assert_eq!(after["secondaryKey"], ACI_SECONDARY, "the other key is untouched");
    assert_eq!(
        app.score("/aci/aci-service-1/score", Some(ACI_PRIMARY), "{}").status,
        401,
        "the old key stops at once"
    );
    assert_eq!(
        app.score("/aci/aci-service-1/score", Some(ACI_SECONDARY), "{}").status,
        200
    );
    assert_eq!(
        app.score("/aci/aci-service-1/score", after["primaryKey"].as_str(), "{}")
            .status,
        200
    );

    let set = app.arm(
        "POST",
        &mms("/services/aci-service-1/regenerateKeys"),
        Some(&t),
        Some(json!({"keyType": "Secondary", "keyValue": "chosen-key"})),
    );
    assert_eq!(set.status, 202);
    assert_eq!(
        app.score("/aci/aci-service-1/score", Some("chosen-key"), "{}").status,
        200
    );
    assert_mms_error(
        &app.arm(
            "POST",
            &mms("/services/aci-service-1/regenerateKeys"),
            Some(&t),
            Some(json!({"keyType": "Tertiary"})),
        ),
        400,
        "BadArgument",
    );
}

#[test]
fn tokens_open_only_their_service_and_expire_by_the_clock() {
    let app = TestApp::spawn();
    let tok = app.aks_token();
    let access = tok["accessToken"].as_str().unwrap();
    let (refresh, expiry) = (tok["refreshAfter"].as_i64().unwrap(), tok["expiryOn"].as_i64().unwrap());
    assert_eq!(tok["tokenType"], "Bearer");
    assert!(refresh < expiry, "refreshAfter comes before expiryOn");
    // 24 h, refresh after 12 h (the recorded Azure ML token; v1 by choice: authority::aml).
    let now = app.running.clock().unix();
    assert!((86_399..=86_400).contains(&(expiry - now)), "{}", expiry - now);
    assert_eq!(expiry - refresh, 43_200);
    let score = app.score(
        "/api/v1/service/aks-service-1/score",
        Some(access),
        r#"{"data":[[1,2]]}"#,
    );
    assert_eq!(score.status, 200);
    assert_eq!(score.body, json!([217.67978776218715, 224.78937091757172]));
    // Not a key for the ACI service, and not accepted for any other service.
    assert_eq!(app.score("/aci/aci-service-1/score", Some(access), "{}").status, 401);
    // Expired by the clock: 401 (never 403).
    app.running.clock().advance(time::Duration::seconds(86_401)).unwrap();
    let r = app.score("/api/v1/service/aks-service-1/score", Some(access), "{}");
    assert_eq!(r.status, 401);
    assert!(r.body["message"].as_str().unwrap().contains("expired"));
    assert_eq!(r.headers["www-authenticate"], "Bearer");
}

#[test]
fn scoring_refusals_are_401_with_a_clear_message() {
    let app = TestApp::spawn();
    for (path, credential) in [
        ("/aci/aci-service-1/score", None),
        ("/aci/aci-service-1/score", Some("wrong")),
        ("/api/v1/service/aks-service-1/score", None),
        ("/api/v1/service/aks-service-1/score", Some("not-a-token")),
        ("/api/v1/service/aks-service-1/score", Some(ACI_PRIMARY)),
    ] {
        let r = app.score(path, credential, "{}");
        assert_eq!(r.status, 401, "{path} {credential:?}: {}", r.body);
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(app.score("/aci/nope/score", Some(ACI_PRIMARY), "{}").status, 404);
    assert_eq!(
        app.score("/api/v1/service/aci-service-1/score", Some(ACI_PRIMARY), "{}")
            .status,
        404,
        "ACI services are not on the AKS router"
    );
    assert_eq!(
        app.score("/aci/aci-service-1/score", Some(ACI_PRIMARY), "not json")
            .status,
        400
    );
    let swagger = app.get("/api/v1/service/aks-service-1/swagger.json");
    assert_eq!(swagger.body["swagger"], "2.0");
}

#[test]
fn reader_gets_tokens_but_not_keys() {
    let app = TestApp::with_spec(world_with_workspace_reader());
    let t = app.arm_token("aaaaaaaa-0000-4000-8000-0000000000f1", "s");
    assert_eq!(
        app.arm("GET", &mms("/services/aks-service-1"), Some(&t), None).status,
        200
    );
    let tok = app.arm("POST", &mms("/services/aks-service-1/token"), Some(&t), None);
    assert_eq!(tok.status, 200, "read access is enough for a token: {}", tok.body);
    let keys = app.arm("POST", &mms("/services/aci-service-1/listkeys"), Some(&t), None);
    assert_mms_error(&keys, 403, "AuthorizationFailed");
    assert!(keys.body["message"]
        .as_str()
        .unwrap()
        .contains("Microsoft.MachineLearningServices/workspaces/services/aci/listkeys/action"));
    assert_mms_error(
        &app.arm(
            "POST",
            &mms("/services/aci-service-1/regenerateKeys"),
            Some(&t),
            Some(json!({"keyType": "Primary"})),
        ),
        403,
        "AuthorizationFailed",
    );
    // MMS takes ARM tokens: a missing one is ARM's 401.
    assert_mms_error(
        &app.arm("GET", &mms("/services"), None, None),
        401,
        "AuthenticationFailed",
    );
}

#[test]
fn region_outage_stops_tokens_but_not_keys() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let on = app.post_json("/_emulator/regions/eastus/outage", json!({"on": true}));
    assert_eq!(on.body["available"], false);
    let r = app.arm("POST", &mms("/services/aks-service-1/token"), Some(&t), None);
    assert_mms_error(&r, 503, "ServiceUnavailable");
    assert_eq!(
        app.score("/aci/aci-service-1/score", Some(ACI_PRIMARY), "{}").status,
        200,
        "keys keep working"
    );
    let ep = format!("{}/onlineEndpoints/ep-amltoken/token", ws_path(WS));
    assert_arm_error(
        &app.arm("POST", &v(&ep, "2024-04-01"), Some(&t), None),
        503,
        "ServiceUnavailable",
    );
    app.post_json("/_emulator/regions/eastus/outage", json!({"on": false}));
    assert_eq!(
        app.arm("POST", &mms("/services/aks-service-1/token"), Some(&t), None)
            .status,
        200
    );
    // Only region names: letters and digits.
    for bad in ["east%20us", "east-us", "%2e%2e", "eu%22west"] {
        let r = app.post_json(&format!("/_emulator/regions/{bad}/outage"), json!({"on": true}));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "InvalidRequest");
    }
    assert_eq!(app.get("/_emulator/world").body["unavailable_regions"], json!([]));
}

#[test]
fn create_and_delete_services_with_the_auth_rules() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let create = |body: serde_json::Value| app.arm("POST", &mms("/services"), Some(&t), Some(body));
    assert_mms_error(
        &create(json!({"name": "both-on", "computeType": "AKS", "authEnabled": true, "aadAuthEnabled": true})),
        400,
        "BadArgument",
    );
    assert_mms_error(
        &create(json!({"name": "aci-token", "computeType": "ACI", "aadAuthEnabled": true})),
        400,
        "BadArgument",
    );
    assert_mms_error(&create(json!({"name": "x", "computeType": "AKS"})), 400, "BadArgument");
    // Names that once reached a panic or a path of their own: empty, a parent step, a trailing slash.
    for name in ["", "../x", "x/y/", "x?y", "a b"] {
        for compute in ["ACI", "AKS"] {
            assert_mms_error(
                &create(json!({"name": name, "computeType": compute})),
                400,
                "BadArgument",
            );
        }
    }
    let made = create(json!({"name": "aks-new", "computeType": "AKS"}));
    assert_eq!(made.status, 202, "{}", made.body);
    assert!(made.headers.contains_key("operation-location"));
    assert_eq!(made.body["authEnabled"], true, "AKS has key auth by default");
    assert_mms_error(
        &create(json!({"name": "aks-new", "computeType": "AKS"})),
        409,
        "Conflict",
    );
    let keys = app.arm("POST", &mms("/services/aks-new/listkeys"), Some(&t), None).body;
    assert_eq!(
        app.score(
            "/api/v1/service/aks-new/score",
            keys["primaryKey"].as_str(),
            r#"{"x":1}"#
        )
        .body,
        json!({"x": 1})
    );
    assert_eq!(app.arm("DELETE", &mms("/services/aks-new"), Some(&t), None).status, 200);
    assert_eq!(
        app.score("/api/v1/service/aks-new/score", keys["primaryKey"].as_str(), "{}")
            .status,
        404
    );
}

#[test]
fn a_recreated_service_refuses_its_predecessors_tokens() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let create = || {
        app.arm(
            "POST",
            &mms("/services"),
            Some(&t),
            Some(json!({"name": "aks-again", "computeType": "AKS", "aadAuthEnabled": true})),
        )
    };
    assert_eq!(create().status, 202);
    let old = app.arm("POST", &mms("/services/aks-again/token"), Some(&t), None).body["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.score("/api/v1/service/aks-again/score", Some(&old), "{}").status,
        200
    );
    assert_eq!(
        app.arm("DELETE", &mms("/services/aks-again"), Some(&t), None).status,
        200
    );
    assert_eq!(create().status, 202);
    assert_eq!(
        app.score("/api/v1/service/aks-again/score", Some(&old), "{}").status,
        401,
        "same name, new service"
    );
}

#[test]
fn large_scoring_payloads_are_accepted() {
    let app = TestApp::spawn();
    let body = format!("{{\"data\": [{}]}}", vec!["1.5"; 400_000].join(","));
    assert!(body.len() > 1_000_000);
    let r = app.score("/aci/aci-service-1/score", Some(ACI_PRIMARY), &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 400_000);
}

#[test]
fn callers_without_any_role_learn_nothing_about_workspaces_or_services() {
    let mut world = WorldBuilder::default_world();
    let loner = world.service_principal("loner");
    let app = TestApp::with_spec(world.build());
    let t = app.arm_token(&loner.client_id, &loner.secret);
    let missing_ws = format!("/modelmanagement/v1.0{}/services", ws_path("nope"));
    assert_mms_error(&app.arm("GET", &missing_ws, Some(&t), None), 403, "AuthorizationFailed");
    assert_mms_error(
        &app.arm("DELETE", &mms("/services/nope"), Some(&t), None),
        403,
        "AuthorizationFailed",
    );
    assert_mms_error(
        &app.arm("POST", &mms("/services/aci-service-1/listkeys"), Some(&t), None),
        403,
        "AuthorizationFailed",
    );
    let eps = format!("{}/onlineEndpoints", ws_path(WS));
    assert_arm_error(
        &app.arm("GET", &v(&eps, "2024-04-01"), Some(&t), None),
        403,
        "AuthorizationFailed",
    );
}
