//! `grant_type=password` (v1 and v2), every refusal in AAD's shape, user realm discovery, and
//! user tokens at ARM.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use super::super::world::WorldBuilder;
use super::*;

#[test]
fn ropc_v2_returns_access_id_and_refresh_tokens_and_client_info() {
    let app = TestApp::spawn();
    let r = app.ropc("organizations", OWNER_USER.0, OWNER_USER.1);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s(&r.body, "scope"), "https://management.core.windows.net//.default");
    assert_eq!(r.body["expires_in"], 3599);
    let at = claims(s(&r.body, "access_token"));
    assert_eq!(at["aud"], "https://management.core.windows.net/");
    assert_eq!(at["tid"], TENANT);
    assert_eq!(
        (at["oid"].as_str(), at["upn"].as_str()),
        (Some(OWNER_USER.2), Some(OWNER_USER.0))
    );
    assert_eq!(
        (at["idtyp"].as_str(), at["scp"].as_str()),
        (Some("user"), Some("user_impersonation"))
    );
    assert_eq!((at["appid"].as_str(), at["appidacr"].as_str()), (Some(CLI), Some("0")));
    assert_eq!(at["amr"], json!(["pwd"]));
    assert_eq!(
        (at["given_name"].as_str(), at["family_name"].as_str()),
        (Some("Olivia"), Some("Owner"))
    );
    assert!(at.get("groups").is_none(), "the owner is in no group");
    let id = claims(s(&r.body, "id_token"));
    assert_eq!((id["aud"].as_str(), id["ver"].as_str()), (Some(CLI), Some("2.0")));
    assert_eq!(id["preferred_username"], OWNER_USER.0);
    assert_eq!(id["iss"], format!("{}/{TENANT}/v2.0", app.url));
    assert_eq!(id["sub"], at["sub"]);
    assert!(id.get("nonce").is_none());
    let info: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s(&r.body, "client_info")).unwrap()).unwrap();
    assert_eq!(info, json!({"uid": OWNER_USER.2, "utid": TENANT}));
    assert!(s(&r.body, "refresh_token").len() >= 64);
    // The user's token works at ARM as the user.
    let ws = app.arm(
        "GET",
        &v(&ws_path(WS), "2024-10-01"),
        Some(s(&r.body, "access_token")),
        None,
    );
    assert_eq!(ws.status, 200, "{}", ws.body);
}

#[test]
fn ropc_without_openid_or_offline_access_returns_the_access_token_only() {
    let app = TestApp::spawn();
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", READER_USER.0),
            ("password", READER_USER.1),
            ("scope", "https://ml.azure.com/.default"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for absent in ["refresh_token", "id_token", "client_info"] {
        assert!(r.body.get(absent).is_none(), "{absent}: {}", r.body);
    }
    assert_eq!(claims(s(&r.body, "access_token"))["aud"], "https://ml.azure.com");
}

#[test]
fn ropc_v1_is_adal_shaped() {
    let app = TestApp::spawn();
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/token"),
        &[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("resource", ARM),
            ("username", CONTRIBUTOR_USER.0),
            ("password", CONTRIBUTOR_USER.1),
            ("scope", "openid"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (s(&r.body, "resource"), s(&r.body, "scope")),
        (ARM, "user_impersonation")
    );
    assert!(r.body["expires_in"].is_string() && r.body["expires_on"].is_string());
    assert!(r.body["refresh_token"].is_string());
    let id = claims(s(&r.body, "id_token"));
    assert_eq!(
        (id["upn"].as_str(), id["tid"].as_str()),
        (Some(CONTRIBUTOR_USER.0), Some(TENANT))
    );
    assert_eq!(claims(s(&r.body, "access_token"))["aud"], ARM);
}

#[test]
fn every_password_refusal_has_its_aadsts_code() {
    let mut w = WorldBuilder::default_world();
    for upn in ["locked", "expired", "mfa", "disabled"] {
        w.user(&format!("{upn}@{DOMAIN}"));
    }
    let app = TestApp::with_spec(w.build());
    for (upn, body) in [
        ("locked", json!({"locked": true})),
        ("expired", json!({"forceChangePasswordNextSignIn": true})),
        ("mfa", json!({"mfaRequired": true})),
        ("disabled", json!({"accountEnabled": false})),
    ] {
        let r = app.send_json("PATCH", &format!("/_emulator/users/{upn}@{DOMAIN}"), Some(body));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let at = |upn: &str, pw: &str| app.ropc(TENANT, &format!("{upn}@{DOMAIN}"), pw);
    assert_aad_error(&app.ropc(TENANT, OWNER_USER.0, "wrong"), 400, "invalid_grant", 50126);
    assert_aad_error(
        &app.ropc(TENANT, &format!("nobody@{DOMAIN}"), "x"),
        400,
        "invalid_grant",
        50034,
    );
    assert_aad_error(&at("locked", "Passw0rd!"), 400, "invalid_grant", 50053);
    assert_aad_error(&at("locked", "wrong"), 400, "invalid_grant", 50053);
    assert_aad_error(&at("disabled", "Passw0rd!"), 400, "invalid_grant", 50057);
    assert_aad_error(&at("disabled", "wrong"), 400, "invalid_grant", 50126);
    let expired = assert_aad_error(&at("expired", "Passw0rd!"), 400, "invalid_grant", 50055);
    assert_eq!(expired["suberror"], "user_password_expired");
    let mfa = assert_aad_error(&at("mfa", "Passw0rd!"), 400, "invalid_grant", 50076);
    assert_eq!(mfa["suberror"], "basic_action");
    assert!(s(&mfa, "error_description")
        .contains("multi-factor authentication to access 'https://management.core.windows.net/'"));
    // A confidential client must authenticate; a public one need not.
    let confidential = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT),
            ("username", OWNER_USER.0),
            ("password", OWNER_USER.1),
            ("scope", ARM_USER_SCOPE),
        ],
    );
    assert_aad_error(&confidential, 401, "invalid_client", 7000218);
    let with_secret = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("username", OWNER_USER.0),
            ("password", OWNER_USER.1),
            ("scope", ARM_USER_SCOPE),
        ],
    );
    assert_eq!(with_secret.status, 200, "{}", with_secret.body);
    assert_eq!(claims(s(&with_secret.body, "access_token"))["appidacr"], "1");
    let missing = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", OWNER_USER.0),
            ("scope", ARM_USER_SCOPE),
        ],
    );
    assert_aad_error(&missing, 400, "invalid_request", 900144);
}

#[test]
fn users_sign_in_to_their_own_tenant_only() {
    let mut w = WorldBuilder::default_world();
    let other = "7b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e";
    w.tenant(other, "fabrikam.onmicrosoft.com");
    let app = TestApp::with_spec(w.build());
    assert_aad_error(
        &app.ropc(other, OWNER_USER.0, OWNER_USER.1),
        400,
        "invalid_grant",
        50034,
    );
    // `common` resolves to the user's home tenant.
    let r = app.ropc("common", OWNER_USER.0, OWNER_USER.1);
    assert_eq!(claims(s(&r.body, "access_token"))["tid"], TENANT);
}

#[test]
fn user_realm_discovery_for_msal_and_adal() {
    let app = TestApp::spawn();
    let msal = app.get(&format!("/common/userrealm/{}?api-version=1.0", OWNER_USER.0));
    assert_eq!(msal.status, 200);
    assert_eq!(msal.body["account_type"], "Managed");
    assert_eq!(msal.body["domain_name"], DOMAIN);
    assert_eq!(msal.body["cloud_audience_urn"], "urn:federation:MicrosoftOnline");
    let adal = app.get("/common/UserRealm/owner%40contoso.onmicrosoft.com?api-version=1.0");
    assert_eq!(
        (adal.status, adal.body["account_type"].as_str()),
        (200, Some("Managed"))
    );
    let unknown = app.get("/common/userrealm/someone@elsewhere.example?api-version=1.0");
    assert_eq!(unknown.body["account_type"], "Unknown");
}

#[test]
fn a_users_denial_at_arm_names_the_upn() {
    let app = TestApp::spawn();
    let token = app.sign_in(READER_USER);
    let r = app.arm(
        "DELETE",
        &v(&ws_path(WS), "2024-10-01"),
        Some(s(&token, "access_token")),
        None,
    );
    let message = assert_arm_error(&r, 403, "AuthorizationFailed");
    assert!(
        message.starts_with(&format!(
            "The client '{}' with object id '{}'",
            READER_USER.0, READER_USER.2
        )),
        "{message}"
    );
}

#[test]
fn user_tokens_work_at_model_management_and_aadtoken_scoring() {
    let app = TestApp::spawn();
    let ml = |user: (&str, &str, &str)| {
        let r = app.post_form(
            &format!("/{TENANT}/oauth2/v2.0/token"),
            &[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("username", user.0),
                ("password", user.1),
                ("scope", "https://ml.azure.com/.default"),
            ],
        );
        s(&r.body, "access_token").to_string()
    };
    // The owner holds the score action; the analyst reads through her groups but may not score.
    assert_eq!(
        app.score("/online/ep-aad/score", Some(&ml(OWNER_USER)), r#"{"u":1}"#)
            .body,
        json!({"u": 1})
    );
    assert_eq!(
        app.score("/online/ep-aad/score", Some(&ml(ANALYST_USER)), "{}").status,
        403
    );
    let services = format!("/modelmanagement/v1.0{}/services", ws_path(WS));
    let analyst_arm = s(&app.sign_in(ANALYST_USER), "access_token").to_string();
    assert_eq!(
        app.arm("GET", &services, Some(&analyst_arm), None).status,
        200,
        "Reader through nested groups"
    );
    let keys = app.arm(
        "POST",
        &format!("{services}/{ACI_SERVICE}/listkeys"),
        Some(&analyst_arm),
        None,
    );
    assert_eq!(keys.status, 403, "{}", keys.body);
}

/// A user's client declaring CP1 (az and azure-identity do) gets `xms_cc`, so ARM's claims
/// challenge applies to user tokens too; the challenge's claims, sent back, meet it.
#[test]
fn user_tokens_carry_cp1_and_meet_a_claims_challenge() {
    use base64::engine::general_purpose::STANDARD;
    let app = TestApp::spawn();
    let ask = |claims: &serde_json::Value| {
        let r = app.post_form(
            &format!("/{TENANT}/oauth2/v2.0/token"),
            &[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("username", OWNER_USER.0),
                ("password", OWNER_USER.1),
                ("scope", ARM_USER_SCOPE),
                ("claims", &claims.to_string()),
            ],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_string()
    };
    let capable = json!({"access_token": {"xms_cc": {"values": ["CP1"]}}});
    let old = ask(&capable);
    assert_eq!(claims(&old)["xms_cc"], json!(["CP1"]));
    assert!(claims(s(&app.sign_in(OWNER_USER), "access_token"))
        .get("xms_cc")
        .is_none());
    app.post_json("/_emulator/clock", json!({"advance_seconds": 1}));
    app.post_json(
        "/_emulator/faults",
        json!({"surface": "arm", "kind": "claims-challenge"}),
    );
    let ws = format!("{}?api-version=2024-04-01", ws_path(WS));
    let r = app.arm("GET", &ws, Some(&old), None);
    assert_arm_error(&r, 401, "InvalidAuthenticationToken");
    let header = r.headers["www-authenticate"].to_str().unwrap().to_string();
    let encoded = header.split("claims=\"").nth(1).unwrap().trim_end_matches('"');
    let mut asked: serde_json::Value = serde_json::from_slice(&STANDARD.decode(encoded).unwrap()).unwrap();
    asked["access_token"]["xms_cc"] = json!({"values": ["CP1"]});
    assert_eq!(
        app.arm("GET", &ws, Some(&ask(&asked)), None).status,
        200,
        "the challenge is met"
    );
}
