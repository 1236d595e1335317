//! Body limits. Scoring bodies: 16 MiB at most, refused in the scoring shape beyond that, echoed intact, and held
//! within one memory budget: a request finding the budget spent waits for room. Other surfaces
//! refuse oversized bodies in their own shapes.

use std::time::{Duration, Instant};

use azureml_emulator::Config;
use serde_json::json;

use crate::helpers::*;
use crate::raw;

const ACI_KEY: &str = "aci-service-1-primary-dev-key-00000000000000=";

#[test]
fn a_large_body_is_echoed_intact() {
    let app = TestApp::spawn();
    let payload = format!("{{\"data\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let mut response = app
        .agent
        .post(format!("{}/aci/aci-service-1/score", app.url))
        .header("Authorization", format!("Bearer {ACI_KEY}"))
        .header("Content-Type", "application/json")
        .send(payload.as_bytes())
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed = response
        .body_mut()
        .with_config()
        .limit(8 * 1024 * 1024)
        .read_to_vec()
        .unwrap();
    assert!(
        echoed == payload.as_bytes(),
        "echo differs ({} bytes back)",
        echoed.len()
    );
}

#[test]
fn a_body_over_16_mib_is_413_in_the_scoring_shape_before_it_is_read() {
    let app = TestApp::spawn();
    let config = raw::trusting(&app.running.info().ca_cert);
    let mut tls = raw::connect(app.running.port, &config, Duration::from_secs(20));
    let head = format!(
        "POST /online/ep-key/score HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        16 * 1024 * 1024 + 1
    );
    raw::send(&mut tls, head.as_bytes());
    let reply = raw::read_until_closed(&mut tls);
    assert_eq!(reply.status, 413, "{}", reply.head);
    assert!(
        reply.body["message"].as_str().unwrap().contains("16 MiB"),
        "{}",
        reply.body
    );
}

/// Four stalled 16 MiB reservations spend the whole budget: a fifth request waits until they are
/// cut by the request timeout, and is then served.
#[test]
fn a_request_waits_for_room_in_the_scoring_body_budget() {
    let timeout = Duration::from_secs(2);
    let app = TestApp::with_config(Config {
        workers: 2,
        request_timeout: timeout,
        ..Config::default()
    });
    let config = raw::trusting(&app.running.info().ca_cert);
    let head = format!(
        "POST /aci/aci-service-1/score HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        16 * 1024 * 1024
    );
    let stalled_at = Instant::now();
    let mut stalled: Vec<_> = (0..4)
        .map(|_| {
            let mut tls = raw::connect(app.running.port, &config, Duration::from_secs(20));
            raw::send(&mut tls, head.as_bytes());
            tls
        })
        .collect();
    // Let the four reach the budget first.
    std::thread::sleep(Duration::from_millis(300));

    let mut fifth = raw::connect(app.running.port, &config, Duration::from_secs(20));
    let body = "{\"n\": 5}";
    raw::send(
        &mut fifth,
        format!(
            "POST /aci/aci-service-1/score HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ACI_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let reply = raw::read_until_closed(&mut fifth);
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert_eq!(reply.body, serde_json::json!({"n": 5}));
    assert!(
        stalled_at.elapsed() >= timeout,
        "served before the stalled reservations were released"
    );
    for tls in stalled.iter_mut() {
        assert_eq!(raw::read_until_closed(tls).status, 408);
    }
}

/// Every surface refuses an oversized body with 413 in its own error shape, and nothing is written.
#[test]
fn oversized_bodies_are_413_in_each_surfaces_shape() {
    let app = TestApp::spawn();
    let t = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let big = "x".repeat(3 * 1024 * 1024);
    let rg = v(&format!("/subscriptions/{SUB}/resourceGroups/rg-big"), "2024-11-01");
    let arm = app.arm(
        "PUT",
        &rg,
        Some(&t),
        Some(json!({"location": "eastus", "tags": {"k": big}})),
    );
    assert_arm_error(&arm, 413, "RequestEntityTooLarge");
    let mms = app.arm(
        "POST",
        &format!("/modelmanagement/v1.0/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}/services"),
        Some(&t),
        Some(json!({"name": "big-one", "computeType": "ACI", "description": big})),
    );
    assert_eq!(mms.status, 413, "{}", mms.body);
    assert_eq!(mms.body["code"], "RequestEntityTooLarge");
    assert_eq!(mms.body["statusCode"], 413);
    let aad = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", &big),
        ],
    );
    assert_eq!(aad.status, 413, "{}", aad.body);
    assert_eq!(aad.body["error"], "invalid_request");
    assert_eq!(aad.body["error_codes"], json!([90100]));
    let admin = app.post_json("/_emulator/clock", json!({"advance_seconds": 1, "pad": big}));
    assert_eq!(admin.status, 413, "{}", admin.body);
    assert_eq!(admin.body["error"]["code"], "RequestEntityTooLarge");
    // Nothing was written by any of them.
    assert_eq!(app.arm("GET", &rg, Some(&t), None).status, 404);
    assert_eq!(app.get("/_emulator/clock").body["offset_seconds"], 0);
    let svc = format!("/modelmanagement/v1.0/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}/services/big-one");
    assert_eq!(app.arm("GET", &svc, Some(&t), None).status, 404);
}
