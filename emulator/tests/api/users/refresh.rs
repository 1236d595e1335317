//! `grant_type=refresh_token`: issuance, MRRT, sliding 90-day life, the old token staying valid,
//! and every refusal (expired, revoked three ways, other client, empty, unknown).

use serde_json::json;

use super::super::world::WorldBuilder;
use super::*;

const OTHER_PUBLIC: &str = "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b";

#[test]
fn a_refresh_token_buys_tokens_for_any_resource_and_a_new_refresh_token() {
    let app = TestApp::spawn();
    let first = app.sign_in(OWNER_USER);
    let rt = s(&first, "refresh_token");
    let ml = app.refresh(rt, "https://ml.azure.com/.default offline_access openid profile");
    assert_eq!(ml.status, 200, "{}", ml.body);
    let at = claims(s(&ml.body, "access_token"));
    assert_eq!(
        (at["aud"].as_str(), at["oid"].as_str()),
        (Some("https://ml.azure.com"), Some(OWNER_USER.2))
    );
    assert_eq!(s(&ml.body, "scope"), "https://ml.azure.com/.default");
    let rt2 = s(&ml.body, "refresh_token");
    assert_ne!(rt2, rt, "each redemption returns a new refresh token");
    assert!(ml.body["id_token"].is_string() && ml.body["client_info"].is_string());
    // The old one is not revoked by the new one, as in Entra ID.
    assert_eq!(app.refresh(rt, ARM_USER_SCOPE).status, 200);
    // v1 (adal): resource=, and the scope remembered when none is sent.
    let v1 = app.post_form(
        &format!("/{TENANT}/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("resource", ARM),
            ("refresh_token", rt2),
        ],
    );
    assert_eq!(v1.status, 200, "{}", v1.body);
    assert_eq!(
        (s(&v1.body, "resource"), s(&v1.body, "scope")),
        (ARM, "user_impersonation")
    );
}

#[test]
fn refresh_tokens_slide_for_ninety_days_on_the_clock() {
    let app = TestApp::spawn();
    let rt = s(&app.sign_in(OWNER_USER), "refresh_token").to_string();
    app.running.clock().advance(time::Duration::days(60)).unwrap();
    let renewed = app.refresh(&rt, ARM_USER_SCOPE);
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let rt2 = s(&renewed.body, "refresh_token").to_string();
    app.running.clock().advance(time::Duration::days(31)).unwrap();
    let expired = assert_aad_error(&app.refresh(&rt, ARM_USER_SCOPE), 400, "invalid_grant", 700082);
    assert!(s(&expired, "error_description").contains("The refresh token has expired due to inactivity"));
    assert_eq!(
        app.refresh(&rt2, ARM_USER_SCOPE).status,
        200,
        "the renewed token lives 90 days from its issue"
    );
}

#[test]
fn revocation_by_admin_password_reset_and_disabling() {
    let app = TestApp::spawn();
    for how in ["revoke", "password", "disable"] {
        let rt = s(&app.sign_in(CONTRIBUTOR_USER), "refresh_token").to_string();
        let user = format!("/_emulator/users/{}", CONTRIBUTOR_USER.0);
        let r = match how {
            "revoke" => app.post_json(&format!("{user}/revoke-sessions"), json!({})),
            "password" => app.send_json("PATCH", &user, Some(json!({"password": CONTRIBUTOR_USER.1}))),
            _ => app.send_json("PATCH", &user, Some(json!({"accountEnabled": false}))),
        };
        assert_eq!(r.status, 200, "{how}: {}", r.body);
        let refused = assert_aad_error(&app.refresh(&rt, ARM_USER_SCOPE), 400, "invalid_grant", 50173);
        assert!(s(&refused, "error_description").contains("revoked"), "{how}");
        app.send_json("PATCH", &user, Some(json!({"accountEnabled": true})));
    }
    // A new sign-in after revocation works again.
    assert_eq!(
        app.refresh(s(&app.sign_in(CONTRIBUTOR_USER), "refresh_token"), ARM_USER_SCOPE)
            .status,
        200
    );
}

#[test]
fn a_refresh_token_is_bound_to_its_client() {
    let mut w = WorldBuilder::default_world();
    w.public_client("other-cli", OTHER_PUBLIC, &["http://localhost"], &[]);
    let app = TestApp::with_spec(w.build());
    let rt = s(&app.sign_in(OWNER_USER), "refresh_token").to_string();
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", OTHER_PUBLIC),
            ("refresh_token", &rt),
            ("scope", ARM_USER_SCOPE),
        ],
    );
    assert_aad_error(&r, 400, "invalid_grant", 700003);
}

#[test]
fn empty_and_unknown_refresh_tokens_are_refused() {
    let app = TestApp::spawn();
    // adal's empty refresh before falling back to client credentials.
    let empty = app.post_form(
        &format!("/{TENANT}/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("scope", "openid"),
            ("client_id", CLIENT),
            ("resource", ARM),
            ("refresh_token", ""),
        ],
    );
    assert_aad_error(&empty, 401, "invalid_client", 7000218);
    let empty_public = app.post_form(
        &format!("/{TENANT}/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("resource", ARM),
            ("refresh_token", ""),
        ],
    );
    assert_aad_error(&empty_public, 400, "invalid_request", 900144);
    assert_aad_error(
        &app.refresh("not-a-refresh-token", ARM_USER_SCOPE),
        400,
        "invalid_grant",
        9002313,
    );
    // A device code or authorization code is not a refresh token.
    let dc = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/devicecode"),
        &[("client_id", CLI), ("scope", ARM_USER_SCOPE)],
    );
    assert_aad_error(
        &app.refresh(s(&dc.body, "device_code"), ARM_USER_SCOPE),
        400,
        "invalid_grant",
        9002313,
    );
}
