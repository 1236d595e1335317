//! Credential lifecycle at run time: every change takes effect on the next request.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::services::mms;

#[test]
fn secrets_rotate_with_two_valid_then_expire_and_go() {
    let app = TestApp::spawn();
    let added = app.post_json(
        &format!("/_emulator/service-principals/{CLIENT}/secrets"),
        json!({"displayName": "next"}),
    );
    assert_eq!(added.status, 201, "{}", added.body);
    let (new, key) = (
        added.body["secretText"].as_str().unwrap().to_string(),
        added.body["keyId"].as_str().unwrap().to_string(),
    );
    assert_eq!(app.token_v1(CLIENT, SECRET, ARM).status, 200);
    assert_eq!(app.token_v1(CLIENT, &new, ARM).status, 200, "two valid at once");
    let r = app.post_json(
        &format!("/_emulator/service-principals/{CLIENT}/secrets/{key}/expire"),
        json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_aad_error(&app.token_v1(CLIENT, &new, ARM), 401, "invalid_client", 7000222);
    assert_eq!(app.token_v1(CLIENT, SECRET, ARM).status, 200, "the other still works");
    let gone = read_reply(
        app.agent
            .delete(format!(
                "{}/_emulator/service-principals/ml-auth/secrets/{key}",
                app.url
            ))
            .call(),
    );
    assert_eq!(gone.status, 200);
    assert_aad_error(&app.token_v1(CLIENT, &new, ARM), 401, "invalid_client", 7000215);
    let again = read_reply(
        app.agent
            .delete(format!(
                "{}/_emulator/service-principals/ml-auth/secrets/{key}",
                app.url
            ))
            .call(),
    );
    assert_eq!(again.status, 404);
    // An expiry in the future, on the emulator clock.
    let soon = app.post_json(
        &format!("/_emulator/service-principals/{CLIENT}/secrets"),
        json!({"value": "soon-secret", "expires_in_seconds": 60}),
    );
    assert_eq!(app.token_v1(CLIENT, "soon-secret", ARM).status, 200, "{}", soon.body);
    app.post_json("/_emulator/clock", json!({"advance_seconds": 61}));
    assert_aad_error(
        &app.token_v1(CLIENT, "soon-secret", ARM),
        401,
        "invalid_client",
        7000222,
    );
}

#[test]
fn principals_are_disabled_and_enabled() {
    let app = TestApp::spawn();
    assert_eq!(
        app.post_json("/_emulator/principals/ml-auth/disable", json!({})).status,
        200
    );
    assert_aad_error(&app.token_v1(CLIENT, SECRET, ARM), 400, "unauthorized_client", 7000112);
    assert_eq!(
        app.post_json(&format!("/_emulator/principals/{SP_OBJECT}/enable"), json!({}))
            .status,
        200
    );
    assert_eq!(app.token_v1(CLIENT, SECRET, ARM).status, 200);
    let user = app.post_json(
        "/_emulator/principals/reader@contoso.onmicrosoft.com/disable",
        json!({}),
    );
    assert_eq!(user.status, 200, "{}", user.body);
    let world = app.get("/_emulator/world").body;
    let reader = world["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["upn"] == "reader@contoso.onmicrosoft.com")
        .unwrap()
        .clone();
    assert_eq!(reader["enabled"], false);
    assert_eq!(
        app.post_json("/_emulator/principals/nobody/disable", json!({})).status,
        400
    );
}

#[test]
fn token_lifetimes_change_per_application_and_per_service() {
    let app = TestApp::spawn();
    let r = app.post_json(
        &format!("/_emulator/service-principals/{CLIENT}/token-lifetime"),
        json!({"lifetime": "5s"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let t = app.token_v2(CLIENT, SECRET, "https://management.azure.com/.default");
    assert_eq!(t.body["expires_in"], 5);
    app.post_json(
        &format!("/_emulator/service-principals/{CLIENT}/token-lifetime"),
        json!({"seconds": null}),
    );
    assert_eq!(
        app.token_v2(CLIENT, SECRET, "https://management.azure.com/.default")
            .body["expires_in"],
        3599
    );
    assert_eq!(
        app.post_json(
            &format!("/_emulator/services/{AKS_SERVICE}/token-lifetime"),
            json!({"seconds": 30})
        )
        .status,
        200
    );
    let aml = app.aks_token();
    // The recorded AML token carries no iat; refreshAfter is half-way through the lifetime.
    assert_eq!(
        aml["expiryOn"].as_i64().unwrap() - aml["refreshAfter"].as_i64().unwrap(),
        15
    );
    assert_eq!(
        claims(aml["accessToken"].as_str().unwrap())["exp"].as_i64().unwrap(),
        aml["expiryOn"].as_i64().unwrap()
    );
    assert_eq!(
        app.post_json("/_emulator/services/nope/token-lifetime", json!({"seconds": 30}))
            .status,
        404
    );
    assert_eq!(
        app.post_json(
            &format!("/_emulator/services/{AKS_SERVICE}/token-lifetime"),
            json!({"seconds": 0})
        )
        .status,
        400
    );
}

#[test]
fn entra_like_lifetime_jitter_is_seeded() {
    let app = TestApp::spawn();
    let lifetimes = |app: &TestApp| -> Vec<i64> {
        (0..4)
            .map(|_| {
                app.token_v2(ADMIN_CLIENT, ADMIN_SECRET, "https://management.azure.com/.default")
                    .body["expires_in"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(
        app.post_json("/_emulator/settings", json!({"token_lifetime_jitter_seed": 5}))
            .status,
        200
    );
    let a = lifetimes(&app);
    assert!(a.iter().all(|l| (3600..=5400).contains(l)), "{a:?}");
    app.post_json("/_emulator/settings", json!({"token_lifetime_jitter_seed": 5}));
    assert_eq!(lifetimes(&app), a, "the same seed, the same lifetimes");
    app.post_json("/_emulator/settings", json!({"token_lifetime_jitter_off": true}));
    assert_eq!(lifetimes(&app), vec![3599; 4]);
}

#[test]
fn the_token_call_is_slower_with_region_distance() {
    let mut w = crate::world::WorldBuilder::default_world().build();
    w.services
        .iter_mut()
        .find(|s| s.name == AKS_SERVICE)
        .unwrap()
        .cluster_region = Some("westeurope".into());
    let app = TestApp::with_spec(w);
    let t = app.arm_token(CLIENT, SECRET);
    let timed = |app: &TestApp| {
        let start = Instant::now();
        assert_eq!(
            app.arm("POST", &mms(&format!("/services/{AKS_SERVICE}/token")), Some(&t), None)
                .status,
            200
        );
        start.elapsed()
    };
    // Lower bounds only: on a loaded machine an undelayed call can take as long as a delayed one,
    // but no call can finish before its added delay.
    let r = app.post_json("/_emulator/settings", json!({"region_latency_ms_per_1000km": 100}));
    assert_eq!(r.body["region_latency_ms_per_1000km"], 100.0);
    // eastus to westeurope is about 6,300 km: 630 ms at 100 ms per 1000 km.
    let far = timed(&app);
    assert!(far >= Duration::from_millis(600), "{far:?}");
    app.post_json("/_emulator/settings", json!({"region_latency_ms_per_1000km": 300}));
    let farther = timed(&app);
    assert!(farther >= Duration::from_millis(1800), "{farther:?}");
    assert_eq!(
        app.post_json("/_emulator/settings", json!({"region_latency_ms_per_1000km": -1}))
            .status,
        400
    );
}
