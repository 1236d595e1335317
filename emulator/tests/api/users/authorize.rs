//! `/authorize` and the sign-in page: response modes, PKCE (S256, plain, missing, wrong), code
//! replay and expiry, redirect URI rules (loopback ports), `prompt`, the SSO session, logout,
//! cancel, auto sign-in, v1 and the `/adfs/aad` mount.

use serde_json::json;

use super::*;

fn authorize_path(tenant: &str, extra: &[(&str, &str)]) -> String {
    let mut q = vec![
        ("client_id", CLI),
        ("response_type", "code"),
        ("redirect_uri", "http://localhost:53125"),
        ("scope", ARM_USER_SCOPE),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        q.retain(|(name, _)| name != k);
        q.push((k, v));
    }
    format!(
        "/{tenant}/oauth2/v2.0/authorize?{}",
        serde_urlencoded::to_string(q).unwrap()
    )
}

/// The form fields of the GET's query plus the typed credentials.
fn sign_in_form<'a>(path: &'a str, user: (&'a str, &'a str)) -> Vec<(String, String)> {
    let query = path.split_once('?').unwrap().1;
    let mut form: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    form.push(("username".into(), user.0.into()));
    form.push(("password".into(), user.1.into()));
    form.push(("login".into(), "1".into()));
    form
}

fn post_sign_in(app: &TestApp, path: &str, user: (&str, &str)) -> Raw {
    let form = sign_in_form(path, user);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.raw_post_form(path.split_once('?').unwrap().0, &pairs, None)
}

fn redeem(app: &TestApp, code: &str, redirect: &str, verifier: Option<&str>) -> Reply {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", CLI),
        ("code", code),
        ("redirect_uri", redirect),
        ("scope", ARM_USER_SCOPE),
        ("client_info", "1"),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    app.post_form(&format!("/{TENANT}/oauth2/v2.0/token"), &form)
}

#[test]
fn the_sign_in_page_is_plain_accessible_html() {
    let app = TestApp::spawn();
    let page = app.raw_get(&authorize_path("organizations", &[("login_hint", READER_USER.0)]), None);
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    for needle in [
        "<label for=\"username\">",
        "<label for=\"password\">",
        "id=\"submit\"",
        "Pick an account",
        &format!("value=\"{}\"", READER_USER.0),
        "Microsoft Azure CLI",
        "lang=\"en\"",
    ] {
        assert!(page.body.contains(needle), "{needle}");
    }
    for user in [OWNER_USER.0, CONTRIBUTOR_USER.0, ANALYST_USER.0] {
        assert!(page.body.contains(user), "the picker lists {user}");
    }
    assert!(
        !page.body.contains("src=") && !page.body.contains("<link"),
        "no external assets"
    );
    let wrong = post_sign_in(
        &app,
        &authorize_path(TENANT, &[("response_mode", "form_post")]),
        (OWNER_USER.0, "bad"),
    );
    assert_eq!(wrong.status, 200);
    assert!(wrong.body.contains("role=\"alert\"") && wrong.body.contains("AADSTS50126"));
}

#[test]
fn form_post_code_with_pkce_s256_and_nonce_then_replay_is_refused() {
    let app = TestApp::spawn();
    let path = authorize_path(TENANT, &[("response_mode", "form_post")]);
    let posted = post_sign_in(&app, &path, (OWNER_USER.0, OWNER_USER.1));
    assert_eq!(posted.status, 200);
    assert!(
        posted.body.contains("action=\"http://localhost:53125\"") && posted.body.contains("document.forms[0].submit()")
    );
    assert_eq!(posted.hidden("state").as_deref(), Some("st-1"));
    assert!(posted.hidden("session_state").is_some() && posted.session_cookie().is_some());
    let code = posted.hidden("code").unwrap();
    let tokens = redeem(&app, &code, "http://localhost:53125", Some(VERIFIER));
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let id = claims(s(&tokens.body, "id_token"));
    assert_eq!((id["nonce"].as_str(), id["aud"].as_str()), (Some("n-1"), Some(CLI)));
    assert_eq!(claims(s(&tokens.body, "access_token"))["upn"], OWNER_USER.0);
    assert!(tokens.body["refresh_token"].is_string());
    assert_aad_error(
        &redeem(&app, &code, "http://localhost:53125", Some(VERIFIER)),
        400,
        "invalid_grant",
        54005,
    );
}

#[test]
fn pkce_failures_redirect_mismatch_and_expiry() {
    let app = TestApp::spawn();
    let code = |extra: &[(&str, &str)]| {
        let mut e = vec![("prompt", "login"), ("response_mode", "form_post")];
        e.extend_from_slice(extra);
        post_sign_in(&app, &authorize_path(TENANT, &e), (OWNER_USER.0, OWNER_USER.1))
            .hidden("code")
            .unwrap()
    };
    let redirect = "http://localhost:53125";
    assert_aad_error(
        &redeem(&app, &code(&[]), redirect, Some("wrong-verifier")),
        400,
        "invalid_grant",
        501481,
    );
    assert_aad_error(&redeem(&app, &code(&[]), redirect, None), 400, "invalid_grant", 50148);
    assert_aad_error(
        &redeem(&app, &code(&[]), "http://localhost:9", Some(VERIFIER)),
        400,
        "invalid_request",
        50011,
    );
    let plain = code(&[
        ("code_challenge", "plain-verifier-of-forty-three-characters-xx"),
        ("code_challenge_method", "plain"),
    ]);
    assert_eq!(
        redeem(
            &app,
            &plain,
            redirect,
            Some("plain-verifier-of-forty-three-characters-xx")
        )
        .status,
        200
    );
    let late = code(&[]);
    app.running.clock().advance(time::Duration::minutes(11)).unwrap();
    assert_aad_error(
        &redeem(&app, &late, redirect, Some(VERIFIER)),
        400,
        "invalid_grant",
        70008,
    );
    assert_aad_error(
        &redeem(&app, "forged", redirect, Some(VERIFIER)),
        400,
        "invalid_grant",
        9002313,
    );
}

#[test]
fn query_and_fragment_modes_and_loopback_redirects() {
    let app = TestApp::spawn();
    let query = post_sign_in(
        &app,
        &authorize_path(TENANT, &[("redirect_uri", "http://localhost:8400")]),
        (OWNER_USER.0, OWNER_USER.1),
    );
    assert_eq!(query.status, 302);
    assert!(query
        .header("location")
        .unwrap()
        .starts_with("http://localhost:8400?code="));
    let p = query.location_params();
    assert_eq!(p["state"], "st-1");
    assert_eq!(
        redeem(&app, &p["code"], "http://localhost:8400", Some(VERIFIER)).status,
        200
    );
    let fragment = post_sign_in(
        &app,
        &authorize_path(TENANT, &[("response_mode", "fragment")]),
        (OWNER_USER.0, OWNER_USER.1),
    );
    assert!(fragment
        .header("location")
        .unwrap()
        .starts_with("http://localhost:53125#code="));
    // No state sent (@azure/identity for Node): none returned.
    let stateless = app.raw_get(&authorize_path(TENANT, &[("state", "")]), None);
    assert_eq!(stateless.status, 200);
    // An unregistered redirect URI is refused on a page, never redirected to.
    for bad in [
        "https://evil.example/cb",
        "http://localhost:53125/other",
        "http://127.0.0.1:8400",
    ] {
        let page = app.raw_get(&authorize_path(TENANT, &[("redirect_uri", bad)]), None);
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.body.contains("AADSTS50011") && page.header("location").is_none());
    }
    let unknown_client = app.raw_get(
        &authorize_path(TENANT, &[("client_id", "11111111-2222-3333-4444-555555555555")]),
        None,
    );
    assert!(unknown_client.status == 400 && unknown_client.body.contains("AADSTS700016"));
    let token = app.raw_get(&authorize_path(TENANT, &[("response_type", "token")]), None);
    assert_eq!(token.location_params()["error"], "unsupported_response_type");
}

#[test]
fn sso_session_prompt_cancel_and_logout() {
    let app = TestApp::spawn();
    let none = app.raw_get(&authorize_path(TENANT, &[("prompt", "none")]), None);
    assert_eq!(none.status, 302);
    let p = none.location_params();
    assert_eq!((p["error"].as_str(), p["state"].as_str()), ("login_required", "st-1"));
    assert!(p["error_description"].starts_with("AADSTS50058: "));
    let first = post_sign_in(
        &app,
        &authorize_path(TENANT, &[]),
        (CONTRIBUTOR_USER.0, CONTRIBUTOR_USER.1),
    );
    let cookie = first.session_cookie().unwrap();
    // A second sign-in skips the password.
    let again = app.raw_get(&authorize_path(TENANT, &[]), Some(&cookie));
    assert_eq!(again.status, 302, "{}", again.body);
    let code = again.location_params()["code"].clone();
    assert_eq!(
        claims(s(
            &redeem(&app, &code, "http://localhost:53125", Some(VERIFIER)).body,
            "access_token"
        ))["upn"],
        CONTRIBUTOR_USER.0
    );
    assert_eq!(
        app.raw_get(&authorize_path(TENANT, &[("prompt", "none")]), Some(&cookie))
            .status,
        302
    );
    // prompt=select_account shows the page, with "continue as".
    let pick = app.raw_get(&authorize_path(TENANT, &[("prompt", "select_account")]), Some(&cookie));
    assert!(pick.status == 200 && pick.body.contains("id=\"continue\""));
    let cancel = app.raw_post_form(
        &format!("/{TENANT}/oauth2/v2.0/authorize"),
        &[
            ("client_id", CLI),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:1"),
            ("scope", ARM_USER_SCOPE),
            ("state", "s"),
            ("cancel", "1"),
        ],
        None,
    );
    assert_eq!(cancel.location_params()["error"], "access_denied");
    let out = app.raw_get(
        &format!("/{TENANT}/oauth2/v2.0/logout?post_logout_redirect_uri=http://localhost:3000"),
        Some(&cookie),
    );
    assert_eq!(
        (out.status, out.header("location")),
        (302, Some("http://localhost:3000"))
    );
    let after = app.raw_get(&authorize_path(TENANT, &[("prompt", "none")]), Some(&cookie));
    assert_eq!(after.location_params()["error"], "login_required");
    let nowhere = app.raw_get(
        &format!("/{TENANT}/oauth2/v2.0/logout?post_logout_redirect_uri=https://evil.example"),
        None,
    );
    assert_eq!(nowhere.status, 200, "an unregistered URI is not redirected to");
}

#[test]
fn auto_sign_in_still_answers_through_the_response_mode_and_pkce() {
    let app = TestApp::spawn();
    app.send_json(
        "PUT",
        "/_emulator/interactive",
        Some(json!({"auto_sign_in": ANALYST_USER.2})),
    );
    let r = app.raw_get(&authorize_path(TENANT, &[("response_mode", "form_post")]), None);
    assert_eq!(r.status, 200);
    let code = r.hidden("code").expect("the form post page at once");
    assert_aad_error(
        &redeem(&app, &code, "http://localhost:53125", None),
        400,
        "invalid_grant",
        50148,
    );
    let r = app.raw_get(&authorize_path(TENANT, &[]), None);
    let tokens = redeem(
        &app,
        &r.location_params()["code"],
        "http://localhost:53125",
        Some(VERIFIER),
    );
    let at = claims(s(&tokens.body, "access_token"));
    assert_eq!(at["upn"], ANALYST_USER.0);
    assert_eq!(
        at["groups"],
        json!([TEAM_GROUP, READERS_GROUP]),
        "nested groups, nearest first"
    );
}

#[test]
fn v1_authorize_and_the_adfs_aad_mount() {
    let app = TestApp::spawn();
    let doc = app.get("/adfs/aad/organizations/.well-known/openid-configuration");
    assert_eq!(doc.status, 200, "{}", doc.body);
    assert_eq!(
        s(&doc.body, "authorization_endpoint"),
        format!("{}/adfs/aad/organizations/oauth2/v2.0/authorize", app.url)
    );
    let v1 = format!(
        "/adfs/aad/{TENANT}/oauth2/authorize?client_id={CLI}&response_type=code&redirect_uri=http://localhost:1&resource={ARM}"
    );
    let posted = post_sign_in(&app, &v1, (OWNER_USER.0, OWNER_USER.1));
    let code = posted.location_params()["code"].clone();
    let t = app.post_form(
        &format!("/adfs/aad/{TENANT}/oauth2/token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLI),
            ("code", &code),
            ("redirect_uri", "http://localhost:1"),
            ("resource", ARM),
        ],
    );
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(s(&t.body, "resource"), ARM);
}

#[test]
fn spa_refresh_tokens_end_a_day_after_sign_in_and_interactive_sign_in_completes_mfa() {
    let spa_client = "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f";
    let mut w = super::super::world::WorldBuilder::default_world();
    w.public_client("spa", spa_client, &[], &["https://spa.example/app"]);
    let mfa_user = format!("mfa@{DOMAIN}");
    w.user(&mfa_user);
    let app = TestApp::with_spec(w.build());
    app.send_json(
        "PATCH",
        &format!("/_emulator/users/{mfa_user}"),
        Some(json!({"mfaRequired": true})),
    );
    let path = authorize_path(
        TENANT,
        &[("client_id", spa_client), ("redirect_uri", "https://spa.example/app")],
    );
    let posted = post_sign_in(&app, &path, (&mfa_user, "Passw0rd!"));
    let code = posted.location_params()["code"].clone();
    let redeem_spa = |form: &[(&str, &str)]| app.post_form(&format!("/{TENANT}/oauth2/v2.0/token"), form);
    let tokens = redeem_spa(&[
        ("grant_type", "authorization_code"),
        ("client_id", spa_client),
        ("code", &code),
        ("redirect_uri", "https://spa.example/app"),
        ("code_verifier", VERIFIER),
        ("scope", ARM_USER_SCOPE),
    ]);
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(
        claims(s(&tokens.body, "access_token"))["amr"],
        json!(["pwd", "mfa"]),
        "the page completes MFA"
    );
    let refresh = |rt: &str| {
        redeem_spa(&[
            ("grant_type", "refresh_token"),
            ("client_id", spa_client),
            ("refresh_token", rt),
            ("scope", ARM_USER_SCOPE),
        ])
    };
    app.running.clock().advance(time::Duration::hours(20)).unwrap();
    let renewed = refresh(s(&tokens.body, "refresh_token"));
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    app.running.clock().advance(time::Duration::hours(5)).unwrap();
    // Not sliding: the renewed token ends with the first one, a day after sign-in.
    assert_aad_error(
        &refresh(s(&renewed.body, "refresh_token")),
        400,
        "invalid_grant",
        700082,
    );
}
