//! Faults on ARM, model management and scoring, and the kinds any surface can have (latency,
//! reset, truncated body).

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::raw;
use crate::services::mms;

fn workspace() -> String {
    v(&ws_path(WS), "2024-04-01")
}

#[test]
fn arm_throttles_with_its_headers_and_fails_in_its_shape() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    app.fault(json!({"surface": "arm", "kind": "throttle", "retry_after": 2, "when": {"count": 1}}));
    let r = app.arm("GET", &workspace(), Some(&t), None);
    let message = assert_arm_error(&r, 429, "SubscriptionRequestsThrottled");
    assert!(
        message.contains("'read'") && message.contains("'2' seconds"),
        "{message}"
    );
    assert_eq!(r.headers["retry-after"], "2");
    assert_eq!(r.headers["x-ms-ratelimit-remaining-subscription-reads"], "0");
    app.fault(json!({"surface": "arm", "kind": "throttle", "when": {"count": 1}}));
    let w = app.arm("PATCH", &workspace(), Some(&t), Some(json!({"tags": {}})));
    assert_arm_error(&w, 429, "SubscriptionRequestsThrottled");
    assert_eq!(w.headers["x-ms-ratelimit-remaining-subscription-writes"], "0");
    assert_eq!(w.headers["retry-after"], "5", "ARM's default");
    for (kind, status, code) in [
        ("server-error", 500, "InternalServerError"),
        ("unavailable", 503, "ServiceUnavailable"),
    ] {
        app.fault(json!({"surface": "arm", "kind": kind, "when": {"count": 1}}));
        assert_arm_error(&app.arm("GET", &workspace(), Some(&t), None), status, code);
    }
    assert_eq!(app.arm("GET", &workspace(), Some(&t), None).status, 200);
}

#[test]
fn a_valid_token_is_refused_as_expired_for_the_matching_principal_only() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    app.fault(json!({"surface": "arm", "kind": "expired-token", "match": {"principal": SP_OBJECT}}));
    let r = app.arm("GET", &workspace(), Some(&t), None);
    let message = assert_arm_error(&r, 401, "ExpiredAuthenticationToken");
    assert!(message.contains("is earlier than current UTC time"), "{message}");
    let challenge = r.headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(&format!("/{TENANT}\"")) && challenge.contains("invalid_token"),
        "{challenge}"
    );
    assert_eq!(app.arm("GET", &workspace(), Some(&admin), None).status, 200);
    // The same rule on model management, by client id.
    app.fault(json!({"surface": "model-management", "kind": "expired-token", "match": {"principal": CLIENT}}));
    let r = app.arm("GET", &mms("/services"), Some(&t), None);
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (401, Some("ExpiredAuthenticationToken")),
        "{}",
        r.body
    );
}

#[test]
fn model_management_token_calls_fail_by_region_and_key_listing_fails() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    app.fault(json!({"surface": "model-management", "kind": "region-outage", "match": {"region": "westeurope"}}));
    assert_eq!(
        app.arm("POST", &mms(&format!("/services/{AKS_SERVICE}/token")), Some(&t), None)
            .status,
        200,
        "eastus is up"
    );
    app.fault(json!({"surface": "model-management", "kind": "region-outage", "match": {"region": REGION}}));
    let r = app.arm("POST", &mms(&format!("/services/{AKS_SERVICE}/token")), Some(&t), None);
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (503, Some("ServiceUnavailable")),
        "{}",
        r.body
    );
    assert!(r.body["message"].as_str().unwrap().contains("region 'eastus'"));
    let keys = app.arm(
        "POST",
        &mms(&format!("/services/{ACI_SERVICE}/listkeys")),
        Some(&t),
        None,
    );
    assert_eq!(keys.status, 200, "keys still work in an outage: {}", keys.body);
    app.fault(json!({"surface": "model-management", "kind": "keys-unavailable", "when": {"count": 1}}));
    let keys = app.arm(
        "POST",
        &mms(&format!("/services/{ACI_SERVICE}/listkeys")),
        Some(&t),
        None,
    );
    assert_eq!(
        (keys.status, keys.body["code"].as_str()),
        (500, Some("InternalServerError"))
    );
    // The online endpoint token on ARM.
    app.fault(json!({"surface": "arm", "kind": "region-outage"}));
    let path = format!("{}/onlineEndpoints/{AML_TOKEN_ENDPOINT}/token", ws_path(WS));
    assert_arm_error(
        &app.arm("POST", &v(&path, "2024-10-01"), Some(&t), None),
        503,
        "ServiceUnavailable",
    );
    let reason = app.journal_of("fault").last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("outage of region eastus"), "{reason}");
}

#[test]
fn scoring_refuses_a_valid_key_throttles_and_is_unavailable() {
    let app = TestApp::spawn();
    let score = |app: &TestApp| app.score(&format!("/aci/{ACI_SERVICE}/score"), Some(ACI_PRIMARY), "{}");
    app.fault(json!({"surface": "scoring", "kind": "unauthorized", "match": {"principal": "key holder"}, "when": {"count": 1}}));
    let r = score(&app);
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    assert!(r.body["message"].is_string());
    app.fault(json!({"surface": "scoring", "kind": "throttle", "retry_after": 1, "when": {"count": 1}}));
    let r = score(&app);
    assert_eq!((r.status, r.headers["retry-after"].to_str().unwrap()), (429, "1"));
    app.fault(
        json!({"surface": "scoring", "kind": "unavailable", "match": {"service": ACI_SERVICE}, "when": {"count": 1}}),
    );
    assert_eq!(score(&app).status, 503);
    assert_eq!(score(&app).status, 200);
}

#[test]
fn latency_delays_and_the_request_proceeds() {
    let app = TestApp::spawn();
    let id = app.fault(json!({"surface": "scoring", "kind": "latency", "latency_ms": 300, "when": {"count": 1}}));
    let start = Instant::now();
    let r = app.score(&format!("/aci/{ACI_SERVICE}/score"), Some(ACI_PRIMARY), "{\"x\":1}");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!((r.status, &r.body), (200, &json!({"x": 1})));
    let fired = app.journal_of("fault");
    assert_eq!(
        (fired[0]["fault"].as_str(), fired[0]["decision"].as_str()),
        (Some(id.as_str()), Some("allow"))
    );
    assert!(fired[0]["reason"].as_str().unwrap().contains("300 ms"));
    // A range draws within it.
    app.fault(
        json!({"surface": "any", "kind": "latency", "latency_ms": 10, "latency_max_ms": 40, "when": {"seed": 9}}),
    );
    let _ = app.score(&format!("/aci/{ACI_SERVICE}/score"), Some(ACI_PRIMARY), "{}");
    let drawn = app.journal_of("fault").last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_string();
    let ms: u64 = drawn
        .split("added ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((10..=40).contains(&ms), "{drawn}");
}

fn raw_request(app: &TestApp, request: &str) -> (Vec<u8>, Option<std::io::ErrorKind>) {
    let config = raw::trusting(&app.running.info().ca_cert);
    let mut tls = raw::connect(app.running.port, &config, Duration::from_secs(10));
    raw::send(&mut tls, request.as_bytes());
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tls.read(&mut chunk) {
            Ok(0) => return (all, None),
            Ok(n) => all.extend_from_slice(&chunk[..n]),
            Err(e) => return (all, Some(e.kind())),
        }
    }
}

#[test]
fn connections_are_reset_and_bodies_cut_off() {
    let app = TestApp::spawn();
    let request = format!("GET /{TENANT}/v2.0/.well-known/openid-configuration HTTP/1.1\r\nHost: localhost\r\n\r\n");
    app.fault(
        json!({"surface": "any", "kind": "reset", "match": {"route": "*/openid-configuration"}, "when": {"count": 1}}),
    );
    let (bytes, _) = raw_request(&app, &request);
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("\r\n\r\n{"), "no body arrives: {text:?}");
    app.fault(json!({"surface": "any", "kind": "truncate", "match": {"route": "GET */openid-configuration"}, "when": {"count": 1}}));
    let (bytes, _) = raw_request(&app, &request);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head arrives");
    let declared: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("a content-length");
    assert!(
        !body.is_empty() && body.len() < declared,
        "{} of {declared} bytes",
        body.len()
    );
    assert!(serde_json::from_str::<serde_json::Value>(body).is_err());
    let whole = app.get(&format!("/{TENANT}/v2.0/.well-known/openid-configuration"));
    assert_eq!(whole.status, 200, "once each");
}

fn cp1_token(app: &TestApp, claims: &serde_json::Value) -> String {
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", "https://management.azure.com/.default"),
            ("claims", &claims.to_string()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_string()
}

#[test]
fn a_claims_challenge_for_cp1_tokens_is_met_by_a_token_with_its_claims() {
    use base64::Engine;
    let app = TestApp::spawn();
    let capable = json!({"access_token": {"xms_cc": {"values": ["CP1"]}}});
    let old = cp1_token(&app, &capable);
    assert_eq!(claims(&old)["xms_cc"], json!(["CP1"]));
    let plain = app.arm_token(CLIENT, SECRET);
    assert!(claims(&plain).get("xms_cc").is_none());
    app.post_json("/_emulator/clock", json!({"advance_seconds": 1}));
    app.fault(json!({"surface": "arm", "kind": "claims-challenge"}));
    assert_eq!(
        app.arm("GET", &workspace(), Some(&plain), None).status,
        200,
        "no CP1, no challenge"
    );
    let r = app.arm("GET", &workspace(), Some(&old), None);
    let message = assert_arm_error(&r, 401, "InvalidAuthenticationToken");
    assert!(message.starts_with("Continuous access evaluation"), "{message}");
    let header = r.headers["www-authenticate"].to_str().unwrap().to_string();
    assert!(
        header.starts_with("Bearer authorization_uri=") && header.contains("error=\"insufficient_claims\""),
        "{header}"
    );
    let encoded = header.split("claims=\"").nth(1).unwrap().trim_end_matches('"');
    let challenge: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
    assert_eq!(challenge["access_token"]["nbf"]["essential"], true);
    // A fresh CP1 token without the challenge's claims is still older than the event (back-dated nbf).
    assert_eq!(
        app.arm("GET", &workspace(), Some(&cp1_token(&app, &capable)), None)
            .status,
        401
    );
    let mut asked = challenge.clone();
    asked["access_token"]["xms_cc"] = json!({"values": ["CP1"]});
    let fresh = cp1_token(&app, &asked);
    assert_eq!(
        app.arm("GET", &workspace(), Some(&fresh), None).status,
        200,
        "the challenge is met"
    );
}

#[test]
fn a_rule_on_the_path_alone_still_names_the_caller_in_the_journal() {
    // No rule reads the credential, so the layer reads it only once this one has fired.
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let id =
        app.fault(json!({"surface": "arm", "kind": "unavailable", "match": {"workspace": WS}, "when": {"count": 1}}));
    assert_arm_error(&app.arm("GET", &workspace(), Some(&t), None), 503, "ServiceUnavailable");
    assert_eq!(app.arm("GET", &workspace(), Some(&t), None).status, 200);
    let fired = app.journal_of("fault");
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (
            fired[0]["fault"].as_str(),
            fired[0]["principal"].as_str(),
            fired[0]["app_id"].as_str()
        ),
        (Some(id.as_str()), Some(SP_OBJECT), Some(CLIENT)),
        "{}",
        fired[0]
    );
}
