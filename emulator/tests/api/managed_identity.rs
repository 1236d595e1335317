//! Managed identities: the three token endpoints on the plain-HTTP listener (IMDS, App Service
//! 2019-08-01, Azure ML 2017-09-01) with each one's errors, the tokens' claims, and the
//! identities as principals RBAC decides on (allow, then deny once the assignment is gone).

use serde_json::{json, Value};

use crate::helpers::*;
use crate::world::WorldBuilder;

/// The host's endpoints as `env --managed-identity` prints them.
fn endpoints(app: &TestApp, host: &str) -> Value {
    let r = app.get(&format!("/_emulator/managed-identities/hosts/{host}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn msi(app: &TestApp, method: &str, url: &str, headers: &[(&str, &str)], form: Option<&str>) -> Reply {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = match form {
        Some(f) => app.agent.run(
            request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(f.to_string())
                .unwrap(),
        ),
        None => app.agent.run(request.body(()).unwrap()),
    };
    read_reply(response)
}

fn compute_rid() -> String {
    format!("{}/computes/{COMPUTE}", ws_path(WS))
}

fn uami_rid() -> String {
    format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{UAMI}",
        rg_path()
    )
}

#[test]
fn imds_answers_strings_for_the_hosts_identities_and_refuses_in_its_shape() {
    let app = TestApp::spawn();
    let e = endpoints(&app, COMPUTE);
    assert_eq!(e["identities"].as_array().unwrap().len(), 2);
    assert_eq!(e["defaultEndpoint"], "azure-ml");
    let base = e["endpoints"]["imds"]["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(base.starts_with(&app.running.msi_url), "{base}");
    let url = |q: &str| format!("{base}/metadata/identity/oauth2/token?api-version=2018-02-01&{q}");
    let md = [("Metadata", "true")];
    let ok = msi(&app, "GET", &url("resource=https://management.azure.com"), &md, None);
    assert_eq!(ok.status, 200, "{}", ok.body);
    for k in [
        "access_token",
        "client_id",
        "expires_in",
        "expires_on",
        "ext_expires_in",
        "not_before",
        "resource",
        "token_type",
    ] {
        assert!(ok.body[k].is_string(), "{k} is not a string: {}", ok.body);
    }
    assert_eq!(ok.body["expires_in"], "86399");
    let c = claims(ok.body["access_token"].as_str().unwrap());
    assert_eq!(
        (c["appid"].as_str(), c["oid"].as_str()),
        (Some(COMPUTE_IDENTITY.0), Some(COMPUTE_IDENTITY.1))
    );
    assert_eq!(
        (c["idtyp"].as_str(), c["ver"].as_str(), c["appidacr"].as_str()),
        (Some("app"), Some("1.0"), Some("2"))
    );
    assert_eq!(c["aud"], "https://management.azure.com");
    assert!(c["xms_mirid"].as_str().unwrap().eq_ignore_ascii_case(&compute_rid()));
    let now = app.running.clock().now().unix_timestamp();
    assert_eq!(c["exp"].as_i64().unwrap() - now, 86_399);
    assert_eq!(segment(ok.body["access_token"].as_str().unwrap(), 0)["alg"], "RS256");
    // The user-assigned identity, by client id, object id or resource id (trailing slash too).
    for q in [
        format!("client_id={}", UAMI_IDENTITY.0),
        format!("object_id={}", UAMI_IDENTITY.1),
        format!("msi_res_id={}", uami_rid()),
    ] {
        let r = msi(
            &app,
            "GET",
            &format!("{base}/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https://ml.azure.com&{q}"),
            &md,
            None,
        );
        let c = claims(
            r.body["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("{q}: {}", r.body)),
        );
        assert_eq!(c["oid"], UAMI_IDENTITY.1);
        assert!(c["xms_mirid"].as_str().unwrap().eq_ignore_ascii_case(&uami_rid()));
    }
    let imds_error = |r: &Reply, error: &str, text: &str| {
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["error"], error, "{}", r.body);
        assert!(
            r.body["error_description"].as_str().unwrap().contains(text),
            "{}",
            r.body
        );
    };
    imds_error(
        &msi(&app, "GET", &url("resource=https://management.azure.com"), &[], None),
        "invalid_request",
        "Required metadata header not specified",
    );
    imds_error(
        &msi(
            &app,
            "GET",
            &url(&format!("resource=https://ml.azure.com&client_id={CLIENT}")),
            &md,
            None,
        ),
        "invalid_request",
        "Identity not found",
    );
    imds_error(
        &msi(&app, "GET", &url("x=y"), &md, None),
        "invalid_request",
        "'resource'",
    );
    imds_error(
        &msi(
            &app,
            "GET",
            &format!("{base}/metadata/identity/oauth2/token?resource=r"),
            &md,
            None,
        ),
        "invalid_request",
        "'api-version'",
    );
    imds_error(
        &msi(&app, "GET", &url("resource=https://unknown.example.com"), &md, None),
        "invalid_resource",
        "AADSTS500011",
    );
    let unknown_host = format!(
        "{}/hosts/not-a-host/metadata/identity/oauth2/token?api-version=2018-02-01&resource=r",
        app.running.msi_url
    );
    imds_error(
        &msi(&app, "GET", &unknown_host, &md, None),
        "invalid_request",
        "Identity not found",
    );
    let bare = format!(
        "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=r",
        app.running.msi_url
    );
    imds_error(
        &msi(&app, "GET", &bare, &md, None),
        "invalid_request",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    );
    imds_error(
        &msi(&app, "GET", &format!("{}/nowhere", app.running.msi_url), &md, None),
        "invalid_request",
        "No managed-identity endpoint",
    );
}

#[test]
fn app_service_and_azure_ml_endpoints_check_the_hosts_secret() {
    let app = TestApp::spawn();
    let e = endpoints(&app, COMPUTE);
    let (endpoint, header) = (
        e["endpoints"]["app-service"]["IDENTITY_ENDPOINT"]
            .as_str()
            .unwrap()
            .to_string(),
        e["endpoints"]["app-service"]["IDENTITY_HEADER"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let q = "?api-version=2019-08-01&resource=https://management.azure.com";
    let ok = msi(
        &app,
        "GET",
        &format!("{endpoint}{q}"),
        &[("X-IDENTITY-HEADER", &header)],
        None,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body["expires_on"].as_str().unwrap().parse::<i64>().is_ok());
    assert_eq!(ok.body["client_id"], COMPUTE_IDENTITY.0);
    let by_principal = msi(
        &app,
        "GET",
        &format!("{endpoint}{q}&principal_id={}", UAMI_IDENTITY.1),
        &[("X-IDENTITY-HEADER", &header)],
        None,
    );
    assert_eq!(by_principal.body["client_id"], UAMI_IDENTITY.0);
    let app_service_error = |r: &Reply, status: u16| {
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.body["statusCode"], status, "{}", r.body);
        assert!(r.body["message"].is_string());
    };
    app_service_error(&msi(&app, "GET", &format!("{endpoint}{q}"), &[], None), 400);
    app_service_error(
        &msi(
            &app,
            "GET",
            &format!("{endpoint}{q}"),
            &[("X-IDENTITY-HEADER", "wrong")],
            None,
        ),
        401,
    );
    app_service_error(
        &msi(
            &app,
            "GET",
            &format!("{endpoint}?api-version=2017-09-01&resource=r"),
            &[("X-IDENTITY-HEADER", &header)],
            None,
        ),
        400,
    );
    // Another host's secret does not open this one.
    let other = endpoints(&app, AAD_TOKEN_ENDPOINT)["endpoints"]["app-service"]["IDENTITY_HEADER"]
        .as_str()
        .unwrap()
        .to_string();
    app_service_error(
        &msi(
            &app,
            "GET",
            &format!("{endpoint}{q}"),
            &[("X-IDENTITY-HEADER", &other)],
            None,
        ),
        401,
    );

    let ml = &e["endpoints"]["azure-ml"];
    let (endpoint, secret) = (ml["MSI_ENDPOINT"].as_str().unwrap(), ml["MSI_SECRET"].as_str().unwrap());
    assert_eq!(ml["DEFAULT_IDENTITY_CLIENT_ID"], COMPUTE_IDENTITY.0);
    let q = "?api-version=2017-09-01&resource=https://ml.azure.com";
    let ok = msi(
        &app,
        "GET",
        &format!("{endpoint}{q}&clientid={}", UAMI_IDENTITY.0),
        &[("secret", secret)],
        None,
    );
    assert_eq!(
        (ok.status, ok.body["client_id"].as_str()),
        (200, Some(UAMI_IDENTITY.0)),
        "{}",
        ok.body
    );
    let ml_error = |r: &Reply, status: u16| {
        assert_eq!(r.status, status, "{}", r.body);
        assert!(
            r.body["error"].is_string() && r.body["error_description"].is_string(),
            "{}",
            r.body
        );
    };
    ml_error(&msi(&app, "GET", &format!("{endpoint}{q}"), &[], None), 400);
    ml_error(
        &msi(&app, "GET", &format!("{endpoint}{q}"), &[("secret", "nope")], None),
        401,
    );
    // POSTed form with Metadata: true (azureml-core's MsiAuthentication through msrestazure).
    let form = "resource=https%3A%2F%2Fmanagement.core.windows.net%2F";
    let posted = msi(&app, "POST", endpoint, &[("Metadata", "true")], Some(form));
    assert_eq!(
        (posted.status, posted.body["token_type"].as_str()),
        (200, Some("Bearer")),
        "{}",
        posted.body
    );
    assert_eq!(
        claims(posted.body["access_token"].as_str().unwrap())["aud"],
        "https://management.core.windows.net/"
    );
    ml_error(&msi(&app, "POST", endpoint, &[], Some(form)), 400);
}

#[test]
fn several_user_assigned_identities_and_none_selected_is_refused() {
    let mut w = WorldBuilder::default_world();
    w.two_identity_web_app("frontend");
    let app = TestApp::with_spec(w.build());
    let e = endpoints(&app, "frontend");
    assert_eq!(e["defaultEndpoint"], "app-service");
    let (endpoint, header) = (
        e["endpoints"]["app-service"]["IDENTITY_ENDPOINT"].as_str().unwrap(),
        e["endpoints"]["app-service"]["IDENTITY_HEADER"].as_str().unwrap(),
    );
    let r = msi(
        &app,
        "GET",
        &format!("{endpoint}?api-version=2019-08-01&resource=https://ml.azure.com"),
        &[("X-IDENTITY-HEADER", header)],
        None,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Multiple user assigned identities exist"),
        "{}",
        r.body
    );
    let r = msi(
        &app,
        "GET",
        &format!(
            "{endpoint}?api-version=2019-08-01&resource=https://ml.azure.com&mi_res_id={}",
            uami_rid()
        ),
        &[("X-IDENTITY-HEADER", header)],
        None,
    );
    assert_eq!(
        claims(r.body["access_token"].as_str().unwrap())["oid"],
        UAMI_IDENTITY.1,
        "{}",
        r.body
    );
}

fn mi_token(app: &TestApp, host: &str, resource: &str, client: Option<&str>) -> String {
    let e = endpoints(app, host);
    let base = e["endpoints"]["imds"]["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
        .as_str()
        .unwrap();
    let select = client.map(|c| format!("&client_id={c}")).unwrap_or_default();
    let url = format!("{base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={resource}{select}");
    let r = msi(app, "GET", &url, &[("Metadata", "true")], None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_string()
}

#[test]
fn a_managed_identitys_role_assignment_allows_and_its_removal_denies() {
    let app = TestApp::spawn();
    // ml-uami is Reader on the workspace: ARM reads pass, writes are 403 naming its principal.
    let token = mi_token(&app, COMPUTE, "https://management.azure.com", Some(UAMI_IDENTITY.0));
    let get = || app.arm("GET", &v(&ws_path(WS), "2024-10-01"), Some(&token), None);
    assert_eq!(get().status, 200, "{}", get().body);
    let denied = app.arm(
        "PATCH",
        &v(&ws_path(WS), "2024-10-01"),
        Some(&token),
        Some(json!({"tags": {"a": "b"}})),
    );
    assert!(assert_arm_error(&denied, 403, "AuthorizationFailed").contains(UAMI_IDENTITY.1));
    let gone = app
        .agent
        .delete(format!(
            "{}/_emulator/role-assignments?assignee={UAMI}&role=Reader",
            app.url
        ))
        .call()
        .unwrap();
    assert_eq!(gone.status().as_u16(), 200);
    assert_arm_error(&get(), 403, "AuthorizationFailed");
}

#[test]
fn an_aad_token_endpoint_is_scored_by_the_computes_identity_until_its_role_goes() {
    let app = TestApp::spawn();
    let token = mi_token(&app, COMPUTE, "https://ml.azure.com", None);
    let score = || {
        read_reply(
            app.agent
                .post(format!("{}/online/{AAD_TOKEN_ENDPOINT}/score", app.url))
                .header("Authorization", format!("Bearer {token}"))
                .send_json(json!({"data": [1]})),
        )
    };
    assert_eq!(score().status, 200, "{}", score().body);
    let gone = app
        .agent
        .delete(format!("{}/_emulator/role-assignments?assignee={COMPUTE}", app.url))
        .call()
        .unwrap();
    assert_eq!(gone.status().as_u16(), 200);
    assert_eq!(score().status, 403, "{}", score().body);
}

#[test]
fn arm_shows_real_identities_on_workspaces_endpoints_and_computes_and_manages_user_assigned_ones() {
    let app = TestApp::spawn();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let get = |path: &str, version: &str| app.arm("GET", &v(path, version), Some(&admin), None);
    // The compute: both identities.
    let c = get(&format!("{}/computes/{COMPUTE}", ws_path(WS)), "2024-10-01");
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["identity"]["type"], "SystemAssigned,UserAssigned");
    assert_eq!(c.body["identity"]["principalId"], COMPUTE_IDENTITY.1);
    let user = c.body["identity"]["userAssignedIdentities"].as_object().unwrap();
    assert_eq!(user.values().next().unwrap()["clientId"], UAMI_IDENTITY.0);
    let list = get(&format!("{}/computes", ws_path(WS)), "2024-10-01");
    assert_eq!(list.body["value"].as_array().unwrap().len(), 1);
    assert_arm_error(
        &get(&format!("{}/computes/nope", ws_path(WS)), "2024-10-01"),
        404,
        "ResourceNotFound",
    );
    // Workspace and endpoint identities are principals: role assignments may target them.
    let ws_principal = get(&ws_path(WS), "2024-10-01").body["identity"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    let ep = get(
        &format!("{}/onlineEndpoints/{AAD_TOKEN_ENDPOINT}", ws_path(WS)),
        "2024-10-01",
    );
    let ep_principal = ep.body["identity"]["principalId"].as_str().unwrap().to_string();
    assert_ne!(ws_principal, ep_principal);
    for principal in [&ws_principal, &ep_principal] {
        let shown = app.get(&format!("/_emulator/service-principals/{principal}"));
        assert_eq!(shown.body["servicePrincipalType"], "ManagedIdentity", "{}", shown.body);
        let put = app.arm("PUT", &v(&format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", ws_path(WS), uuid::Uuid::new_v4()), "2022-04-01"),
            Some(&admin), Some(json!({"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7", "principalId": principal, "principalType": "ServicePrincipal"}})));
        assert_eq!(put.status, 201, "{}", put.body);
    }
    // User-assigned identities: create, read, list, update, delete.
    let path = format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/build-agent",
        rg_path()
    );
    let created = app.arm(
        "PUT",
        &v(&path, "2023-01-31"),
        Some(&admin),
        Some(json!({"location": "eastus", "tags": {"team": "ml"}})),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let principal = created.body["properties"]["principalId"].as_str().unwrap().to_string();
    assert_eq!(created.body["properties"]["tenantId"], TENANT);
    assert_eq!(get(&path, "2023-01-31").body["properties"]["principalId"], principal);
    let again = app.arm(
        "PUT",
        &v(&path, "2023-01-31"),
        Some(&admin),
        Some(json!({"location": "eastus"})),
    );
    assert_eq!(
        (again.status, again.body["properties"]["principalId"].as_str()),
        (200, Some(principal.as_str()))
    );
    let listed = get(
        &format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
            rg_path()
        ),
        "2023-01-31",
    );
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 2, "{}", listed.body);
    let sub_list = get(
        &format!("/subscriptions/{SUB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"),
        "2023-01-31",
    );
    assert_eq!(sub_list.body["value"].as_array().unwrap().len(), 2);
    assert_arm_error(
        &app.arm(
            "PUT",
            &v(
                &format!(
                    "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x",
                    rg_path()
                ),
                "2023-01-31",
            ),
            Some(&admin),
            Some(json!({})),
        ),
        400,
        "InvalidResourceName",
    );
    assert_arm_error(
        &app.arm(
            "PUT",
            &v(&path.replace("build-agent", "no-location"), "2023-01-31"),
            Some(&admin),
            Some(json!({})),
        ),
        400,
        "LocationRequired",
    );
    // A resource provider's type: ARM's NoRegisteredProviderFound, naming the resource group's region
    // (openapi/fidelity/api-versions.json, Microsoft.ManagedIdentity).
    let m = assert_arm_error(&get(&path, "2017-01-01"), 400, "NoRegisteredProviderFound");
    assert!(
        m.contains("for type 'userAssignedIdentities'") && !m.contains("location ''"),
        "{m}"
    );
    // ml-auth is Contributor on the workspace only: not on the resource group's identities.
    let contributor = app.arm_token(CLIENT, SECRET);
    assert_arm_error(
        &app.arm(
            "PUT",
            &v(&path, "2023-01-31"),
            Some(&contributor),
            Some(json!({"location": "eastus"})),
        ),
        403,
        "AuthorizationFailed",
    );
    assert_eq!(
        app.arm("DELETE", &v(&path, "2023-01-31"), Some(&admin), None).status,
        200
    );
    assert_arm_error(&get(&path, "2023-01-31"), 404, "ResourceNotFound");
    assert_eq!(
        app.arm("DELETE", &v(&path, "2023-01-31"), Some(&admin), None).status,
        204
    );
}
