//! Every AADSTS failure of the token endpoints, in AAD's shape and status.

use crate::helpers::*;

const ARM_SCOPE: &str = "https://management.azure.com/.default";

#[test]
fn wrong_secret_is_7000215_invalid_client_401() {
    let app = TestApp::spawn();
    let b = assert_aad_error(&app.token_v2(CLIENT, "nope", ARM_SCOPE), 401, "invalid_client", 7000215);
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .contains(&format!("app '{CLIENT}'")));
    assert_aad_error(&app.token_v1(CLIENT, "nope", ARM), 401, "invalid_client", 7000215);
}

#[test]
fn expired_secret_is_7000222() {
    let app = TestApp::spawn();
    assert_aad_error(
        &app.token_v2(EXPIRED_CLIENT, EXPIRED_SECRET, ARM_SCOPE),
        401,
        "invalid_client",
        7000222,
    );
}

#[test]
fn secret_expiry_follows_the_emulator_clock() {
    let world = r#"
        [[tenants]]
        id = "11111111-2222-4333-8444-555555555555"
        display_name = "T"
        [[applications]]
        display_name = "soon"
        client_id = "aaaaaaaa-0000-4000-8000-000000000001"
        object_id = "bbbbbbbb-0000-4000-8000-000000000001"
        [[applications.secrets]]
        value = "short-lived"
        expires = "2099-01-01T00:00:00Z"
    "#;
    let app = TestApp::with_world(world);
    let path = "/11111111-2222-4333-8444-555555555555/oauth2/v2.0/token";
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "aaaaaaaa-0000-4000-8000-000000000001"),
        ("client_secret", "short-lived"),
        ("scope", ARM_SCOPE),
    ];
    assert_eq!(app.post_form(path, &form).status, 200);
    app.running
        .clock()
        .set(time::macros::datetime!(2099-01-01 00:00:01 UTC))
        .unwrap();
    assert_aad_error(&app.post_form(path, &form), 401, "invalid_client", 7000222);
}

#[test]
fn unknown_client_is_700016() {
    let app = TestApp::spawn();
    let other = "00000000-1111-4222-8333-444444444444";
    let b = assert_aad_error(
        &app.token_v2(other, SECRET, ARM_SCOPE),
        400,
        "unauthorized_client",
        700016,
    );
    let d = b["error_description"].as_str().unwrap();
    assert!(
        d.contains(&format!(
            "Application with identifier '{other}' was not found in the directory '{TENANT}'"
        )),
        "{d}"
    );
    assert_aad_error(
        &app.token_v2("not-a-guid", SECRET, ARM_SCOPE),
        400,
        "unauthorized_client",
        700016,
    );
}

#[test]
fn client_of_another_tenant_is_unknown_here() {
    let world = r#"
        [[tenants]]
        id = "11111111-2222-4333-8444-555555555555"
        display_name = "Home"
        [[tenants]]
        id = "22222222-2222-4333-8444-555555555555"
        display_name = "Other"
        [[applications]]
        display_name = "home-app"
        client_id = "aaaaaaaa-0000-4000-8000-000000000001"
        object_id = "bbbbbbbb-0000-4000-8000-000000000001"
        [[applications.secrets]]
        value = "s"
    "#;
    let app = TestApp::with_world(world);
    let r = app.post_form(
        "/22222222-2222-4333-8444-555555555555/oauth2/v2.0/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "aaaaaaaa-0000-4000-8000-000000000001"),
            ("client_secret", "s"),
            ("scope", ARM_SCOPE),
        ],
    );
    assert_aad_error(&r, 400, "unauthorized_client", 700016);
}

#[test]
fn disabled_service_principal_is_7000112() {
    let app = TestApp::spawn();
    let b = assert_aad_error(
        &app.token_v2(DISABLED_CLIENT, DISABLED_SECRET, ARM_SCOPE),
        400,
        "unauthorized_client",
        7000112,
    );
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .contains("(ml-auth-disabled) is disabled"));
}

#[test]
fn unknown_and_malformed_tenants() {
    let app = TestApp::spawn();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
        ("scope", ARM_SCOPE),
    ];
    let unknown = "99999999-9999-4999-8999-999999999999";
    let b = assert_aad_error(
        &app.post_form(&format!("/{unknown}/oauth2/v2.0/token"), &form),
        400,
        "invalid_request",
        90002,
    );
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .contains(&format!("Tenant '{unknown}' not found")));
    assert_aad_error(
        &app.post_form("/nowhere.example.com/oauth2/v2.0/token", &form),
        400,
        "invalid_request",
        90002,
    );
    let b = assert_aad_error(
        &app.post_form("/my_tenant/oauth2/v2.0/token", &form),
        400,
        "invalid_request",
        900023,
    );
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .contains("'my_tenant' is neither a valid DNS name"));
}

#[test]
fn missing_parameters_are_900144() {
    let app = TestApp::spawn();
    let path = format!("/{TENANT}/oauth2/v2.0/token");
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("client_id", CLIENT), ("client_secret", SECRET), ("scope", ARM_SCOPE)],
            "grant_type",
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", SECRET),
                ("scope", ARM_SCOPE),
            ],
            "client_id",
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
            ],
            "scope",
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
                ("scope", ""),
            ],
            "scope",
        ),
    ];
    for (form, missing) in cases {
        let b = assert_aad_error(&app.post_form(&path, form), 400, "invalid_request", 900144);
        assert!(
            b["error_description"]
                .as_str()
                .unwrap()
                .contains(&format!("parameter: '{missing}'")),
            "{b}"
        );
    }
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
    );
    let b = assert_aad_error(&r, 400, "invalid_request", 900144);
    assert!(b["error_description"].as_str().unwrap().contains("'resource'"));
}

#[test]
fn a_body_that_is_not_a_form_reads_as_missing_grant_type() {
    let app = TestApp::spawn();
    let r = app.post_json(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        serde_json::json!({"grant_type": "client_credentials"}),
    );
    assert_aad_error(&r, 400, "invalid_request", 900144);
}

#[test]
fn missing_secret_is_7000218() {
    let app = TestApp::spawn();
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("scope", ARM_SCOPE),
        ],
    );
    assert_aad_error(&r, 401, "invalid_client", 7000218);
}

#[test]
fn unsupported_grant_type_is_70003() {
    let app = TestApp::spawn();
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "magic"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", ARM_SCOPE),
        ],
    );
    let b = assert_aad_error(&r, 400, "unsupported_grant_type", 70003);
    assert!(b["error_description"].as_str().unwrap().contains("'magic'"));
}

#[test]
fn invalid_scopes_are_70011() {
    let app = TestApp::spawn();
    for scope in [
        "https://management.azure.com/",
        "openid",
        "https://management.azure.com/.default https://ml.azure.com/.default",
        "/.default",
    ] {
        let b = assert_aad_error(&app.token_v2(CLIENT, SECRET, scope), 400, "invalid_scope", 70011);
        assert!(
            b["error_description"]
                .as_str()
                .unwrap()
                .contains(&format!("The scope {scope} is not valid")),
            "{b}"
        );
    }
}

#[test]
fn unknown_resources_are_500011() {
    let app = TestApp::spawn();
    let b = assert_aad_error(
        &app.token_v2(CLIENT, SECRET, "https://unknown.example.com/.default"),
        400,
        "invalid_resource",
        500011,
    );
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .contains("resource principal named https://unknown.example.com was not found in the tenant named Contoso"));
    assert_aad_error(
        &app.token_v1(CLIENT, SECRET, "https://unknown.example.com/"),
        400,
        "invalid_resource",
        500011,
    );
}

#[test]
fn resource_parameter_on_v2_is_901002() {
    let app = TestApp::spawn();
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", ARM_SCOPE),
            ("resource", ARM),
        ],
    );
    assert_aad_error(&r, 400, "invalid_request", 901002);
}

#[test]
fn correlation_id_is_echoed_and_timestamp_follows_the_clock() {
    let app = TestApp::spawn();
    app.running
        .clock()
        .set(time::macros::datetime!(2031-02-03 04:05:06 UTC))
        .unwrap();
    let corr = "0f0e0d0c-0b0a-4909-8807-060504030201";
    let mut response = app
        .agent
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", app.url))
        .header("client-request-id", corr)
        .send_form([
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", "bad"),
            ("scope", ARM_SCOPE),
        ])
        .unwrap();
    assert_eq!(response.status(), 401);
    let b: serde_json::Value = response.body_mut().read_json().unwrap();
    assert_eq!(b["correlation_id"], corr);
    assert_eq!(b["timestamp"], "2031-02-03 04:05:06Z");
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .ends_with("Timestamp: 2031-02-03 04:05:06Z"));
}

/// Unknown Entra ID routes answer in the token endpoint's JSON shape and name the route.
#[test]
fn unknown_aad_routes_answer_in_the_aad_shape_naming_the_route() {
    let app = TestApp::spawn();
    for (method, path) in [
        ("GET", format!("/{TENANT}/oauth2/v2.0/nope")),
        ("POST", format!("/{TENANT}/oauth2/v3.0/token")),
        ("GET", "/common/discovery/nope".to_string()),
    ] {
        let r = app.arm(method, &path, None, None);
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        assert_eq!(r.body["error"], "invalid_request", "{}", r.body);
        assert_eq!(r.body["error_codes"], serde_json::json!([90100]));
        let description = r.body["error_description"].as_str().unwrap();
        assert!(description.starts_with("AADSTS90100: "), "{description}");
        assert!(description.contains(&format!("{method} {path}")), "{description}");
        assert!(r.body["correlation_id"].as_str().is_some_and(|c| c.len() == 36));
    }
}
