//! Faults on the Entra ID surface: the token endpoints and the key sets.

use serde_json::json;

use super::{client_credentials, token_path};
use crate::helpers::*;

#[test]
fn client_credentials_are_throttled_with_aads_429_then_served() {
    let app = TestApp::spawn();
    let id = app.fault(json!({"surface": "aad", "kind": "throttle", "when": {"count": 2}}));
    for _ in 0..2 {
        let r = app.post_form(&token_path(), &client_credentials());
        assert_eq!(r.status, 429);
        assert_eq!(r.headers["retry-after"], "60");
        assert_eq!(r.body, json!("Too Many Requests"), "AAD's plain-text body");
        assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    }
    assert_eq!(app.post_form(&token_path(), &client_credentials()).status, 200);
    let fired = app.journal_of("fault");
    assert_eq!(fired.len(), 2, "{fired:#?}");
    assert!(fired
        .iter()
        .all(|e| e["fault"] == id.as_str() && e["surface"] == "aad" && e["decision"] == "deny"));
    assert!(
        fired[0]["reason"].as_str().unwrap().contains("429 with Retry-After 60"),
        "{}",
        fired[0]["reason"]
    );
    assert_eq!(app.get("/_emulator/faults").body["faults"][0]["remaining"], 0);
    // The discovery document is not a token request: untouched by an `aad` rule without a route.
    app.fault(json!({"surface": "aad", "kind": "throttle"}));
    assert_eq!(
        app.get(&format!("/{TENANT}/v2.0/.well-known/openid-configuration"))
            .status,
        200
    );
}

#[test]
fn user_flows_are_throttled_with_aadsts50196_and_grant_and_principal_match() {
    let app = TestApp::spawn();
    app.fault(json!({"surface": "aad", "kind": "throttle", "retry_after": 3, "match": {"grant": "password"}}));
    let r = app.post_form(
        &token_path(),
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT),
            ("username", "reader@contoso.onmicrosoft.com"),
            ("password", "x"),
            ("scope", "https://management.azure.com/.default"),
        ],
    );
    assert_aad_error(&r, 400, "invalid_grant", 50196);
    assert_eq!(r.headers["retry-after"], "3");
    assert_eq!(
        app.post_form(&token_path(), &client_credentials()).status,
        200,
        "another grant"
    );
    // A principal matcher: only ml-admin is refused.
    app.fault(json!({"surface": "aad", "kind": "invalid-client", "match": {"principal": "ml-admin"}}));
    assert_eq!(app.post_form(&token_path(), &client_credentials()).status, 200);
    let admin = app.token_v2(ADMIN_CLIENT, ADMIN_SECRET, "https://management.azure.com/.default");
    assert_aad_error(&admin, 401, "invalid_client", 7000215);
}

#[test]
fn every_aadsts_kind_answers_in_aads_shape() {
    let app = TestApp::spawn();
    for (kind, status, error, code) in [
        ("invalid-client", 401, "invalid_client", 7000215),
        ("expired-secret", 401, "invalid_client", 7000222),
        ("disabled-client", 400, "unauthorized_client", 7000112),
        ("mfa-required", 400, "invalid_grant", 50076),
        ("account-locked", 400, "invalid_grant", 50053),
        ("account-disabled", 400, "invalid_grant", 50057),
        ("unavailable", 503, "temporarily_unavailable", 90033),
        ("server-error", 500, "server_error", 50000),
    ] {
        app.fault(json!({"surface": "aad", "kind": kind, "when": {"count": 1}}));
        let r = app.post_form(&token_path(), &client_credentials());
        assert_aad_error(&r, status, error, code);
        assert!(
            r.headers.get("retry-after").is_none(),
            "{kind}: no Retry-After unless asked"
        );
        assert_eq!(
            app.post_form(&token_path(), &client_credentials()).status,
            200,
            "{kind}: once"
        );
    }
    app.fault(json!({"surface": "aad", "kind": "server-error", "retry_after": 7, "when": {"count": 1}}));
    let r = app.post_form(&token_path(), &client_credentials());
    assert_aad_error(&r, 500, "server_error", 50000);
    assert_eq!(r.headers["retry-after"], "7");
    let tokens = app.journal_of("token");
    assert!(
        tokens.iter().all(|e| e["decision"] == "allow"),
        "refused by faults, not by the grant"
    );
}

#[test]
fn the_key_set_can_be_unavailable_or_miss_the_signing_key() {
    let app = TestApp::spawn();
    let keys = format!("/{TENANT}/discovery/v2.0/keys");
    let full = app.get(&keys).body;
    let kid = full["keys"][0]["kid"].clone();
    app.fault(json!({"surface": "jwks", "kind": "unavailable", "when": {"count": 1}}));
    let r = app.get(&keys);
    assert_aad_error(&r, 503, "temporarily_unavailable", 90033);
    app.fault(json!({"surface": "jwks", "kind": "missing-key", "when": {"count": 1}}));
    let r = app.get(&keys);
    assert_eq!(r.status, 200);
    assert!(
        r.body["keys"].as_array().unwrap().iter().all(|k| k["kid"] != kid),
        "{}",
        r.body
    );
    assert_eq!(app.get(&keys).body, full, "once");
}

#[test]
fn tokens_signed_with_an_unpublished_key_fail_validation() {
    let app = TestApp::spawn();
    let published: Vec<String> = app.get(&format!("/{TENANT}/discovery/keys")).body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    app.fault(json!({"surface": "aad", "kind": "unknown-kid", "when": {"count": 1}}));
    let r = app.token_v1(CLIENT, SECRET, ARM);
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["access_token"].as_str().unwrap();
    let kid = segment(token, 0)["kid"].as_str().unwrap().to_string();
    assert!(!published.contains(&kid), "the kid is not published");
    let arm = app.arm("GET", &v("/subscriptions", "2022-12-01"), Some(token), None);
    assert_arm_error(&arm, 401, "InvalidAuthenticationToken");
    let good = app.arm_token(CLIENT, SECRET);
    assert_eq!(
        app.arm("GET", &v("/subscriptions", "2022-12-01"), Some(&good), None)
            .status,
        200
    );
}
