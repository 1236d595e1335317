//! OIDC discovery, instance discovery and cloud metadata.

use crate::helpers::*;

#[test]
fn v2_document_names_endpoints_on_the_requests_host() {
    let app = TestApp::spawn();
    let d = app
        .get(&format!("/{DOMAIN}/v2.0/.well-known/openid-configuration"))
        .body;
    let base = format!("{}/{TENANT}", app.url);
    assert_eq!(d["token_endpoint"], format!("{base}/oauth2/v2.0/token"));
    assert_eq!(d["authorization_endpoint"], format!("{base}/oauth2/v2.0/authorize"));
    assert_eq!(
        d["device_authorization_endpoint"],
        format!("{base}/oauth2/v2.0/devicecode")
    );
    assert_eq!(d["jwks_uri"], format!("{base}/discovery/v2.0/keys"));
    assert_eq!(d["end_session_endpoint"], format!("{base}/oauth2/v2.0/logout"));
    assert_eq!(
        app.get(&format!("/{TENANT}/.well-known/openid-configuration")).body["end_session_endpoint"],
        format!("{base}/oauth2/logout"),
        "v1 names the v1 logout"
    );
    assert_eq!(d["issuer"], format!("https://login.microsoftonline.com/{TENANT}/v2.0"));
    assert_eq!(d["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
    // Built from the Host header: reaching it as localhost yields localhost URLs.
    let mut r = app
        .agent
        .get(format!("{}/{TENANT}/v2.0/.well-known/openid-configuration", app.url))
        .header("Host", format!("localhost:{}", app.running.port))
        .call()
        .unwrap();
    let d: serde_json::Value = r.body_mut().read_json().unwrap();
    assert_eq!(
        d["token_endpoint"],
        format!("https://localhost:{}/{TENANT}/oauth2/v2.0/token", app.running.port)
    );
}

#[test]
fn v1_document_and_multi_tenant_placeholders() {
    let app = TestApp::spawn();
    let d = app.get(&format!("/{TENANT}/.well-known/openid-configuration")).body;
    assert_eq!(d["issuer"], format!("https://sts.windows.net/{TENANT}/"));
    assert_eq!(d["token_endpoint"], format!("{}/{TENANT}/oauth2/token", app.url));
    assert_eq!(d["jwks_uri"], format!("{}/common/discovery/keys", app.url));
    let c = app.get("/common/v2.0/.well-known/openid-configuration").body;
    assert_eq!(c["issuer"], "https://login.microsoftonline.com/{tenantid}/v2.0");
    assert_eq!(c["token_endpoint"], format!("{}/common/oauth2/v2.0/token", app.url));
    let o = app.get("/organizations/v2.0/.well-known/openid-configuration").body;
    assert_eq!(
        o["token_endpoint"],
        format!("{}/organizations/oauth2/v2.0/token", app.url)
    );
}

/// The documents' version-specific contents and headers, as Entra ID sends them
/// (openapi/fidelity/aad/oidc-*.json).
#[test]
fn documents_follow_entra_ids_v1_and_v2_contents_and_headers() {
    let app = TestApp::spawn();
    let v2 = app.get(&format!("/{TENANT}/v2.0/.well-known/openid-configuration"));
    assert_eq!(
        v2.body["response_types_supported"],
        serde_json::json!(["code", "id_token", "code id_token", "id_token token"])
    );
    assert_eq!(v2.body["tenant_region_scope"], "NA");
    assert_eq!(v2.body["request_uri_parameter_supported"], false);
    assert!(v2.body.get("microsoft_multi_refresh_token").is_none());
    let v1 = app.get("/common/.well-known/openid-configuration");
    assert_eq!(v1.body["scopes_supported"], serde_json::json!(["openid"]));
    assert_eq!(v1.body["microsoft_multi_refresh_token"], true);
    assert_eq!(
        v1.body["check_session_iframe"],
        format!("{}/common/oauth2/checksession", app.url)
    );
    assert_eq!(v1.body["tenant_region_scope"], serde_json::Value::Null);
    assert!(v1.body.get("request_uri_parameter_supported").is_none());
    assert!(v1.body["claims_supported"].as_array().unwrap().contains(&"amr".into()));
    assert!(!v1.body["claims_supported"]
        .as_array()
        .unwrap()
        .contains(&"preferred_username".into()));
    assert_eq!(
        app.get("/common/v2.0/.well-known/openid-configuration").body["tenant_region_scope"],
        serde_json::Value::Null
    );
    for r in [&v1, &v2, &app.get(&format!("/{TENANT}/discovery/v2.0/keys"))] {
        assert_eq!(r.headers["cache-control"], "max-age=86400, private");
        assert_eq!(r.headers["access-control-allow-origin"], "*");
        assert_eq!(r.headers["access-control-allow-methods"], "GET, OPTIONS");
        assert_eq!(r.headers["content-type"], "application/json; charset=utf-8");
        assert!(uuid::Uuid::parse_str(r.headers["x-ms-request-id"].to_str().unwrap()).is_ok());
    }
}

#[test]
fn adfs_documents_point_msal_at_the_v2_token_endpoint() {
    let app = TestApp::spawn();
    let d = app
        .get(&format!("/adfs/{TENANT}/.well-known/openid-configuration"))
        .body;
    assert_eq!(
        d["token_endpoint"],
        format!("{}/adfs/{TENANT}/oauth2/v2.0/token", app.url)
    );
    assert_eq!(
        d["authorization_endpoint"],
        format!("{}/adfs/{TENANT}/oauth2/v2.0/authorize", app.url),
        "msal sends v2 requests to whatever it finds under /adfs"
    );
    // The bare `/adfs` authority stands for the default tenant.
    let bare = app.get("/adfs/.well-known/openid-configuration");
    assert_eq!(bare.status, 200, "{}", bare.body);
    assert_eq!(
        bare.body["token_endpoint"],
        format!("{}/adfs/{TENANT}/oauth2/v2.0/token", app.url)
    );
}

#[test]
fn discovery_of_a_bad_tenant_is_invalid_tenant() {
    let app = TestApp::spawn();
    let r = app.get("/99999999-9999-4999-8999-999999999999/v2.0/.well-known/openid-configuration");
    assert_aad_error(&r, 400, "invalid_tenant", 90002);
    let r = app.get("/not_a_tenant/.well-known/openid-configuration");
    assert_aad_error(&r, 400, "invalid_tenant", 900023);
    let r = app.get("/unknown.example.org/discovery/v2.0/keys");
    assert_aad_error(&r, 400, "invalid_tenant", 90002);
}

#[test]
fn instance_discovery_points_back_at_the_emulator() {
    let app = TestApp::spawn();
    let r = app.get(&format!(
        "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://localhost/{TENANT}/oauth2/v2.0/authorize"
    ));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["tenant_discovery_endpoint"],
        format!("{}/{TENANT}/v2.0/.well-known/openid-configuration", app.url)
    );
    let host = app.url.trim_start_matches("https://");
    assert_eq!(r.body["metadata"][0]["aliases"][0], host);
    let v1 = app.get(
        "/common/discovery/instance?authorization_endpoint=https://localhost/contoso.onmicrosoft.com/oauth2/authorize",
    );
    assert_eq!(
        v1.body["tenant_discovery_endpoint"],
        format!("{}/contoso.onmicrosoft.com/.well-known/openid-configuration", app.url)
    );
}

#[test]
fn cloud_metadata_is_an_array_without_api_version_and_an_object_for_az() {
    let app = TestApp::spawn();
    let list = app.get("/metadata/endpoints").body;
    let clouds = list.as_array().expect("array for ARM_CLOUD_METADATA_URL");
    assert_eq!(
        clouds[0]["name"], "Emulator",
        "non-AzureCloud first (azure-ai-ml picks the first match)"
    );
    assert_eq!(
        clouds[1]["name"], "AzureCloud",
        "azureml-core looks AzureCloud up by name"
    );
    for c in clouds {
        assert_eq!(c["resourceManager"], format!("{}/", app.url));
        assert_eq!(c["authentication"]["loginEndpoint"], format!("{}/adfs/aad", app.url));
        assert_eq!(
            c["authentication"]["audiences"][0],
            "https://management.core.windows.net/"
        );
        assert_eq!(c["portal"], "https://portal.azure.com");
        assert_eq!(c["suffixes"]["storage"], "core.windows.net");
    }
    assert!(app.get("/metadata/endpoints?api-version=2019-05-01").body.is_array());
    assert!(
        app.get("/metadata/endpoints?api-version=latest").body.is_array(),
        "not a date: the array"
    );
    let single = app.get("/metadata/endpoints?api-version=2022-09-01").body;
    assert!(single.is_object(), "az cloud register reads one object");
    assert_eq!(single["authentication"]["loginEndpoint"], format!("{}/adfs", app.url));
    assert_eq!(single["resourceManager"], format!("{}/", app.url));
}
