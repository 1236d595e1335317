//! The device authorization grant: the devicecode endpoints (v1 and v2), every poll answer,
//! approval through the control API, the verification page and auto sign-in.

use serde_json::json;

use super::*;

fn start_v2(app: &TestApp) -> Value {
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/devicecode"),
        &[("client_id", CLI), ("scope", ARM_USER_SCOPE)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn poll(app: &TestApp, device_code: &str) -> Reply {
    app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", CLI),
            ("client_info", "1"),
            ("code", device_code),
            ("device_code", device_code),
        ],
    )
}

fn decide(app: &TestApp, user_code: &str, action: &str, user: Option<&str>) -> Reply {
    app.post_json(
        &format!("/_emulator/device-codes/{user_code}"),
        json!({"action": action, "user": user}),
    )
}

#[test]
fn device_flow_v2_pending_slow_down_approved_then_redeemed_once() {
    let app = TestApp::spawn();
    let flow = start_v2(&app);
    let (dc, uc) = (s(&flow, "device_code"), s(&flow, "user_code"));
    assert_eq!(uc.len(), 9);
    assert_eq!(
        (flow["expires_in"].as_i64(), flow["interval"].as_i64()),
        (Some(900), Some(5))
    );
    assert_eq!(s(&flow, "verification_uri"), format!("{}/devicelogin", app.url));
    assert!(s(&flow, "message").contains(uc));
    assert_aad_error(&poll(&app, dc), 400, "authorization_pending", 70016);
    assert_aad_error(&poll(&app, dc), 400, "slow_down", 70016);
    app.running.clock().advance(time::Duration::seconds(5)).unwrap();
    assert_aad_error(&poll(&app, dc), 400, "authorization_pending", 70016);
    let approved = decide(&app, &uc.to_lowercase(), "approve", Some(READER_USER.0));
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(decide(&app, uc, "deny", None).status, 404, "already decided");
    let tokens = poll(&app, dc);
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    // The scope of the devicecode request is remembered (polls send none).
    assert_eq!(
        s(&tokens.body, "scope"),
        "https://management.core.windows.net//.default"
    );
    assert_eq!(claims(s(&tokens.body, "access_token"))["upn"], READER_USER.0);
    assert!(tokens.body["id_token"].is_string() && tokens.body["refresh_token"].is_string());
    assert_aad_error(&poll(&app, dc), 400, "invalid_grant", 54005);
}

#[test]
fn declined_expired_and_unknown_codes() {
    let app = TestApp::spawn();
    let declined = start_v2(&app);
    assert_eq!(decide(&app, s(&declined, "user_code"), "deny", None).status, 200);
    assert_aad_error(
        &poll(&app, s(&declined, "device_code")),
        400,
        "authorization_declined",
        70000,
    );
    let late = start_v2(&app);
    app.running.clock().advance(time::Duration::minutes(16)).unwrap();
    assert_aad_error(&poll(&app, s(&late, "device_code")), 400, "expired_token", 70019);
    assert_eq!(
        decide(&app, s(&late, "user_code"), "approve", Some(OWNER_USER.0)).status,
        404
    );
    assert_aad_error(&poll(&app, "never-issued"), 400, "bad_verification_code", 70018);
    assert_eq!(decide(&app, "NOPE12345", "approve", Some(OWNER_USER.0)).status, 404);
    let wrong = decide(
        &app,
        s(&start_v2(&app), "user_code"),
        "approve",
        Some("nobody@contoso.onmicrosoft.com"),
    );
    assert_eq!(wrong.status, 400, "{}", wrong.body);
}

#[test]
fn device_flow_v1_as_adal_polls_it() {
    let app = TestApp::spawn();
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/devicecode?api-version=1.0"),
        &[("client_id", CLI), ("resource", ARM)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["verification_url"].is_string() && r.body["expires_in"] == "900" && r.body["interval"] == "5");
    assert_eq!(
        decide(&app, s(&r.body, "user_code"), "approve", Some(OWNER_USER.2)).status,
        200
    );
    let t = app.post_form(
        &format!("/{TENANT}/oauth2/token"),
        &[
            ("grant_type", "device_code"),
            ("client_id", CLI),
            ("resource", ARM),
            ("code", s(&r.body, "device_code")),
        ],
    );
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(
        (s(&t.body, "resource"), s(&t.body, "scope")),
        (ARM, "user_impersonation")
    );
    assert_eq!(claims(s(&t.body, "access_token"))["oid"], OWNER_USER.2);
}

#[test]
fn a_confidential_client_cannot_start_a_device_flow_and_a_code_belongs_to_its_client() {
    let app = TestApp::spawn();
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/devicecode"),
        &[("client_id", CLIENT), ("scope", ARM_USER_SCOPE)],
    );
    assert_aad_error(&r, 401, "invalid_client", 7000218);
    let flow = start_v2(&app);
    let other = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "device_code"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("device_code", s(&flow, "device_code")),
        ],
    );
    assert_aad_error(&other, 400, "bad_verification_code", 70018);
}

#[test]
fn auto_sign_in_approves_on_the_first_poll() {
    let app = TestApp::spawn();
    let set = app.send_json(
        "PUT",
        "/_emulator/interactive",
        Some(json!({"auto_sign_in": CONTRIBUTOR_USER.0})),
    );
    assert_eq!(
        (set.status, set.body["auto_sign_in"].as_str()),
        (200, Some(CONTRIBUTOR_USER.0))
    );
    let tokens = poll(&app, s(&start_v2(&app), "device_code"));
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(claims(s(&tokens.body, "access_token"))["upn"], CONTRIBUTOR_USER.0);
    let off = app.send_json("PUT", "/_emulator/interactive", Some(json!({"auto_sign_in": null})));
    assert!(off.body["auto_sign_in"].is_null());
    assert_aad_error(
        &poll(&app, s(&start_v2(&app), "device_code")),
        400,
        "authorization_pending",
        70016,
    );
    let unknown = app.send_json(
        "PUT",
        "/_emulator/interactive",
        Some(json!({"auto_sign_in": "ghost@contoso.onmicrosoft.com"})),
    );
    assert_eq!(unknown.status, 400);
}

#[test]
fn the_verification_page_signs_the_user_in() {
    let app = TestApp::spawn();
    let flow = start_v2(&app);
    let (dc, uc) = (s(&flow, "device_code"), s(&flow, "user_code"));
    let page = app.raw_get(&format!("/devicelogin?otc={uc}"), None);
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .starts_with("default-src 'none'"));
    for label in [
        "<label for=\"code\">",
        "<label for=\"username\">",
        "<label for=\"password\">",
    ] {
        assert!(page.body.contains(label), "{label}");
    }
    assert!(page.body.contains(&format!("value=\"{uc}\"")));
    assert!(!page.body.contains("src="), "no external assets");
    let wrong = app.raw_post_form(
        "/devicelogin",
        &[
            ("code", uc),
            ("username", OWNER_USER.0),
            ("password", "nope"),
            ("action", "approve"),
        ],
        None,
    );
    assert!(
        wrong.body.contains("role=\"alert\"") && wrong.body.contains("AADSTS50126"),
        "{}",
        wrong.body
    );
    let bad_code = app.raw_post_form(
        "/devicelogin",
        &[
            ("code", "ZZZZZZZZZ"),
            ("username", OWNER_USER.0),
            ("password", OWNER_USER.1),
        ],
        None,
    );
    assert!(bad_code.body.contains("AADSTS70018"));
    assert_aad_error(&poll(&app, dc), 400, "authorization_pending", 70016);
    let ok = app.raw_post_form(
        "/devicelogin",
        &[
            ("code", uc),
            ("username", OWNER_USER.0),
            ("password", OWNER_USER.1),
            ("action", "approve"),
        ],
        None,
    );
    assert!(ok.body.contains("id=\"done\""), "{}", ok.body);
    app.running.clock().advance(time::Duration::seconds(5)).unwrap();
    assert_eq!(claims(s(&poll(&app, dc).body, "access_token"))["upn"], OWNER_USER.0);
}
