//! ARM authentication: every 401 variant, with ARM's codes, messages and challenge.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use crate::helpers::*;
use crate::world::WorldBuilder;

fn challenge(r: &Reply) -> String {
    r.headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn missing_and_malformed_authorization_headers() {
    let app = TestApp::spawn();
    let path = v(&ws_path(WS), "2024-04-01");
    let r = app.arm("GET", &path, None, None);
    let m = assert_arm_error(&r, 401, "AuthenticationFailed");
    assert_eq!(m, "Authentication failed. The 'Authorization' header is missing.");
    let c = challenge(&r);
    assert!(
        c.starts_with(&format!(
            "Bearer authorization_uri=\"{}/{TENANT}\", error=\"invalid_token\"",
            app.url
        )),
        "{c}"
    );
    for header in ["Basic abc", "Bearer", "Bearer ", "token"] {
        let r = app.arm_with_header(&path, header);
        assert_arm_error(&r, 401, "AuthenticationFailedInvalidHeader");
        assert!(!challenge(&r).is_empty());
    }
    assert!(r.headers.contains_key("x-ms-request-id") && r.headers.contains_key("x-ms-correlation-request-id"));
}

fn forge(header: serde_json::Value, claims: serde_json::Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[test]
fn forged_and_foreign_tokens_are_invalid() {
    let app = TestApp::spawn();
    let path = v(&ws_path(WS), "2024-04-01");
    let real = app.arm_token(CLIENT, SECRET);
    let claims = claims(&real);
    let kid = segment(&real, 0)["kid"].clone();
    let none = forge(json!({"typ": "JWT", "alg": "none"}), claims.clone(), b"");
    // Key confusion: HS256 "signed" with the public key as the HMAC secret.
    let jwk = app.get("/common/discovery/keys").body["keys"][0].clone();
    let hs = forge(
        json!({"typ": "JWT", "alg": "HS256", "kid": kid}),
        claims.clone(),
        jwk["n"].as_str().unwrap().as_bytes(),
    );
    let unknown_kid = forge(
        json!({"typ": "JWT", "alg": "RS256", "kid": "nope"}),
        claims.clone(),
        b"sig",
    );
    let mut tampered_claims = claims.clone();
    tampered_claims["oid"] = json!(ADMIN_CLIENT);
    let parts: Vec<&str> = real.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(tampered_claims.to_string()),
        parts[2]
    );
    let other = TestApp::spawn();
    let foreign = other.arm_token(CLIENT, SECRET);
    for token in [
        none,
        hs,
        unknown_kid,
        tampered,
        "not.a.jwt".to_string(),
        "garbage".to_string(),
        foreign,
    ] {
        let r = app.arm("GET", &path, Some(&token), None);
        let m = assert_arm_error(&r, 401, "InvalidAuthenticationToken");
        assert_eq!(m, "The access token is invalid.");
        assert!(challenge(&r).contains("error=\"invalid_token\""));
    }
    assert_eq!(
        app.arm("GET", &path, Some(&real), None).status,
        200,
        "the genuine token still works"
    );
}

#[test]
fn wrong_audience_is_refused_with_the_allowed_list() {
    let app = TestApp::spawn();
    let ml = app.token_v2(CLIENT, SECRET, "https://ml.azure.com/.default").body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&ml), None);
    let m = assert_arm_error(&r, 401, "InvalidAuthenticationTokenAudience");
    assert!(
        m.starts_with("The access token has been obtained for wrong audience or resource 'https://ml.azure.com'."),
        "{m}"
    );
    assert!(m.contains("'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'"));
    // Every accepted audience works, including the emulator's own resourceManager URL (azure-ai-ml's).
    for scope in [
        "https://management.core.windows.net//.default",
        "https://management.azure.com/.default",
        &format!("{}/.default", app.url),
        &format!("{}//.default", app.url),
    ] {
        let t = app.token_v2(CLIENT, SECRET, scope).body["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&t), None).status,
            200,
            "{scope}"
        );
    }
}

#[test]
fn token_of_another_tenant_is_refused_for_this_subscription() {
    let mut world = WorldBuilder::default_world();
    world.tenant("22222222-2222-4333-8444-555555555555", "fabrikam.onmicrosoft.com");
    world.service_principal_with(
        "fabrikam-app",
        "aaaaaaaa-0000-4000-8000-000000000002",
        Some("fabrikam.onmicrosoft.com"),
    );
    let app = TestApp::with_spec(world.build());
    let t = app.arm_token_in(
        "22222222-2222-4333-8444-555555555555",
        "aaaaaaaa-0000-4000-8000-000000000002",
        "s",
    );
    let r = app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&t), None);
    let m = assert_arm_error(&r, 401, "InvalidAuthenticationTokenTenant");
    assert!(m.starts_with("The access token is from the wrong issuer 'https://sts.windows.net/22222222-2222-4333-8444-555555555555/'. It must match the tenant 'https://sts.windows.net/8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5c/' associated with this subscription."), "{m}");
    // Its own tenant's tenants list still works.
    let tenants = app.arm("GET", "/tenants?api-version=2022-12-01", Some(&t), None);
    assert_eq!(
        tenants.body["value"][0]["tenantId"],
        "22222222-2222-4333-8444-555555555555"
    );
}

#[test]
fn expired_tokens_quote_both_times_and_cached_tokens_expire_too() {
    let app = TestApp::spawn();
    let path = v(&ws_path(WS), "2024-04-01");
    app.running
        .clock()
        .set(time::macros::datetime!(2030-06-15 08:00:00 UTC))
        .unwrap();
    app.running.clock().freeze();
    let t = app.arm_token(CLIENT, SECRET);
    assert_eq!(app.arm("GET", &path, Some(&t), None).status, 200, "verified and cached");
    app.running.clock().advance(time::Duration::seconds(3598)).unwrap();
    assert_eq!(
        app.arm("GET", &path, Some(&t), None).status,
        200,
        "one second before exp"
    );
    app.running.clock().advance(time::Duration::seconds(2 * 3600)).unwrap();
    let r = app.arm("GET", &path, Some(&t), None);
    let m = assert_arm_error(&r, 401, "ExpiredAuthenticationToken");
    assert_eq!(m, "The access token expiry UTC time '6/15/2030 8:59:59 AM' is earlier than current UTC time '6/15/2030 10:59:58 AM'.");
    assert!(challenge(&r).contains("error=\"invalid_token\""));
}

#[test]
fn tokens_not_yet_valid_are_refused() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    app.running.clock().advance(time::Duration::seconds(-3600)).unwrap();
    let r = app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&t), None);
    assert_arm_error(&r, 401, "InvalidAuthenticationToken");
}

#[test]
fn api_versions_are_checked() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let m = assert_arm_error(
        &app.arm("GET", &ws_path(WS), Some(&t), None),
        400,
        "MissingApiVersionParameter",
    );
    assert_eq!(
        m,
        "The api-version query parameter (?api-version=) is required for all requests."
    );
    // Azure ML is a resource provider: ARM answers its unknown versions with
    // NoRegisteredProviderFound, naming the workspace's region (openapi/fidelity/SOURCES.md).
    for bad in ["2018-01-01", "2099-01-01", "2099-01-01-preview", "2023-02-01", "banana"] {
        let r = app.arm("GET", &v(&ws_path(WS), bad), Some(&t), None);
        let m = assert_arm_error(&r, 400, "NoRegisteredProviderFound");
        assert!(
            m.starts_with(&format!(
                "No registered resource provider found for location 'eastus' and API version '{bad}' for type 'workspaces'. The supported api-versions are '2018-03-01-preview, 2018-11-19, "
            )),
            "{m}"
        );
        assert_eq!(
            r.headers.get("x-ms-failure-cause").and_then(|h| h.to_str().ok()),
            Some("gateway")
        );
    }
    // Resource groups: ARM's own InvalidApiVersionParameter with its exact list.
    for bad in ["2023-02-01", "2016-03-30", "2021-04-01-preview"] {
        let r = app.arm(
            "GET",
            &v(&format!("/subscriptions/{SUB}/resourcegroups"), bad),
            Some(&t),
            None,
        );
        let m = assert_arm_error(&r, 400, "InvalidApiVersionParameter");
        assert!(m.starts_with(&format!("The api-version '{bad}' is invalid. The supported versions are '2025-04-01,2025-03-01,2024-10-01-preview,")), "{m}");
        assert!(m.ends_with(",2014-01-01,2013-03-01,2014-02-26,2014-04'."), "{m}");
        assert_eq!(
            r.headers.get("x-ms-failure-cause").and_then(|h| h.to_str().ok()),
            Some("gateway")
        );
    }
    // Role assignments: InvalidResourceType, 404.
    let r = app.arm(
        "GET",
        &v(
            &format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments"),
            "2020-07-01-preview",
        ),
        Some(&t),
        None,
    );
    assert_arm_error(&r, 404, "InvalidResourceType");
    // A repeated api-version is joined with ',' as ARM joins it: never a version.
    let r = app.arm(
        "GET",
        &format!("{}?api-version=2024-04-01&api-version=2024-04-01", ws_path(WS)),
        Some(&t),
        None,
    );
    let m = assert_arm_error(&r, 400, "NoRegisteredProviderFound");
    assert!(m.contains("API version '2024-04-01,2024-04-01'"), "{m}");
    for good in [
        "2020-01-01",
        "2020-06-01",
        "2022-05-01",
        "2025-04-01",
        "2024-10-01-preview",
        "2026-07-15-preview",
    ] {
        assert_eq!(
            app.arm("GET", &v(&ws_path(WS), good), Some(&t), None).status,
            200,
            "{good}"
        );
    }
}

#[test]
fn workspace_shape_follows_the_api_version() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let old = app.arm("GET", &v(&ws_path(WS), "2020-06-01"), Some(&t), None).body;
    let new = app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&t), None).body;
    assert!(old["properties"].get("tenantId").is_none() && old["properties"].get("mlFlowTrackingUri").is_none());
    assert_eq!(new["properties"]["tenantId"], TENANT);
    for w in [&old, &new] {
        assert_eq!(w["id"], ws_path(WS));
        assert_eq!(w["type"], "Microsoft.MachineLearningServices/workspaces");
        assert_eq!(w["properties"]["workspaceId"], "3c9a7d1e-2b4f-4e6a-8d0c-5f1e2a3b4c5d");
        assert_eq!(w["properties"]["discoveryUrl"], format!("{}/discovery", app.url));
        assert_eq!(w["properties"]["provisioningState"], "Succeeded");
        assert!(w["properties"]["creationTime"].is_string());
        assert!(w["properties"]["storageAccount"]
            .as_str()
            .unwrap()
            .contains("/Microsoft.Storage/storageAccounts/"));
    }
    // The requested version's schema: 2020-era without systemData; 2024-10-01-preview with the
    // 13 properties issue 14 lists and six-key systemData (fixtures: made by the emulator).
    assert!(old.get("systemData").is_none() && old["properties"].get("managedNetwork").is_none());
    let latest = app
        .arm("GET", &v(&ws_path(WS), "2024-10-01-preview"), Some(&t), None)
        .body;
    let p = &latest["properties"];
    for key in [
        "managedNetwork",
        "allowRoleAssignmentOnRG",
        "softDeleteEnabled",
        "notebookInfo",
        "linkedModelInventoryArmId",
        "ipAllowlist",
        "networkAcls",
        "serverlessComputeSettings",
        "enableSoftwareBillOfMaterials",
        "sdkTelemetryAppInsightsKey",
        "enableDataIsolation",
        "systemDatastoresAuthMode",
        "enableServiceSideCMKEncryption",
    ] {
        assert!(p.get(key).is_some(), "{key} missing: {p}");
    }
    assert_eq!(p["managedNetwork"]["isolationMode"], "Disabled");
    assert_eq!(
        latest["systemData"],
        json!({"createdAt": "2024-01-01T00:00:00.0000000Z", "createdBy": "azureml-emulator", "createdByType": "Application",
               "lastModifiedAt": "2024-01-01T00:00:00.0000000Z", "lastModifiedBy": "azureml-emulator", "lastModifiedByType": "Application"})
    );
    // 2023-10-01 has managedNetwork but not the 2024-10-01 additions.
    let mid = app.arm("GET", &v(&ws_path(WS), "2023-10-01"), Some(&t), None).body;
    assert!(mid["properties"].get("managedNetwork").is_some() && mid["properties"].get("networkAcls").is_none());
    let discovery = app.get("/discovery").body;
    assert_eq!(discovery["modelmanagement"], app.url.as_str());
    assert_eq!(discovery["api"], app.url.as_str());
}
