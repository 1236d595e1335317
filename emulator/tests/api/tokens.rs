//! Issued tokens: response shapes, claims, signatures, lifetimes.

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::helpers::*;

#[test]
fn v2_endpoint_returns_integer_fields_and_no_scope_for_client_credentials() {
    let app = TestApp::spawn();
    let r = app.token_v2(CLIENT, SECRET, "https://management.azure.com/.default");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3599);
    assert_eq!(r.body["ext_expires_in"], 3599);
    // AAD's v2 client-credentials answer echoes no scope (openapi/fidelity/aad/token-v2-client-credentials.json).
    assert!(r.body.get("scope").is_none(), "{}", r.body);
    assert!(r.body.get("resource").is_none());
    assert_eq!(r.headers["cache-control"], "no-store, no-cache");
    assert_eq!(r.headers["pragma"], "no-cache");
    assert_eq!(r.headers["expires"], "-1");
    assert_eq!(r.headers["content-type"], "application/json; charset=utf-8");
    let request_id = r.headers["x-ms-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "{request_id}");
}

#[test]
fn v1_endpoint_returns_numbers_as_strings() {
    let app = TestApp::spawn();
    let r = app.token_v1(CLIENT, SECRET, ARM);
    assert_eq!(r.status, 200, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["expires_in"], "3599");
    assert_eq!(b["ext_expires_in"], "3599");
    assert_eq!(b["resource"], ARM);
    let on: i64 = b["expires_on"].as_str().unwrap().parse().unwrap();
    let nbf: i64 = b["not_before"].as_str().unwrap().parse().unwrap();
    // AAD back-dates not_before by five minutes: expires_on - not_before = lifetime + 300.
    assert_eq!(on - nbf, 3599 + 300);
    let c = claims(b["access_token"].as_str().unwrap());
    assert_eq!(c["exp"].as_i64().unwrap(), on);
}

#[test]
fn arm_tokens_carry_v1_claims_and_header() {
    let app = TestApp::spawn();
    let r = app.token_v2(CLIENT, SECRET, "https://management.core.windows.net//.default");
    let token = r.body["access_token"].as_str().unwrap();
    let h = segment(token, 0);
    assert_eq!(h["typ"], "JWT");
    assert_eq!(h["alg"], "RS256");
    assert_eq!(h["kid"], h["x5t"]);
    let c = claims(token);
    assert_eq!(
        c["aud"], "https://management.core.windows.net/",
        "double slash collapses to the resource"
    );
    assert_eq!(c["iss"], format!("https://sts.windows.net/{TENANT}/"));
    assert_eq!(c["idp"], format!("https://sts.windows.net/{TENANT}/"));
    assert_eq!(c["appid"], CLIENT);
    assert_eq!(c["appidacr"], "1");
    assert_eq!(c["oid"], SP_OBJECT);
    assert_eq!(c["sub"], SP_OBJECT);
    assert_eq!(c["tid"], TENANT);
    assert_eq!(c["idtyp"], "app");
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["iat"], c["nbf"]);
    for k in ["aio", "rh", "uti"] {
        assert!(c[k].as_str().is_some_and(|v| !v.is_empty()), "{k}");
    }
    assert!(c.get("azp").is_none());
}

#[test]
fn scope_without_trailing_slash_gives_audience_without_it() {
    let app = TestApp::spawn();
    let r = app.token_v2(CLIENT, SECRET, "https://management.azure.com/.default");
    assert_eq!(
        claims(r.body["access_token"].as_str().unwrap())["aud"],
        "https://management.azure.com"
    );
}

const V2_WORLD: &str = r#"
[[tenants]]
id = "11111111-2222-4333-8444-555555555555"
display_name = "Fabrikam"
domains = ["fabrikam.onmicrosoft.com"]
token_lifetime_seconds = 1800

[[applications]]
display_name = "caller"
client_id = "aaaaaaaa-0000-4000-8000-000000000001"
object_id = "bbbbbbbb-0000-4000-8000-000000000001"
token_lifetime_seconds = 600
[[applications.secrets]]
value = "caller-secret"

[[applications]]
display_name = "tenant-lifetime"
client_id = "aaaaaaaa-0000-4000-8000-000000000003"
object_id = "bbbbbbbb-0000-4000-8000-000000000003"
[[applications.secrets]]
value = "other-secret"

[[applications]]
display_name = "my-api"
client_id = "aaaaaaaa-0000-4000-8000-000000000002"
object_id = "bbbbbbbb-0000-4000-8000-000000000002"
identifier_uris = ["api://my-api"]
access_token_version = 2
"#;

#[test]
fn resources_that_accept_v2_get_v2_claims_without_x5t() {
    let app = TestApp::with_world(V2_WORLD);
    let tenant = "fabrikam.onmicrosoft.com";
    let r = app.post_form(
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "aaaaaaaa-0000-4000-8000-000000000001"),
            ("client_secret", "caller-secret"),
            ("scope", "api://my-api/.default"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["access_token"].as_str().unwrap();
    assert!(segment(token, 0).get("x5t").is_none());
    let c = claims(token);
    assert_eq!(c["ver"], "2.0");
    assert_eq!(
        c["aud"], "aaaaaaaa-0000-4000-8000-000000000002",
        "v2 audience is the API's client id"
    );
    assert_eq!(
        c["iss"],
        "https://login.microsoftonline.com/11111111-2222-4333-8444-555555555555/v2.0"
    );
    assert_eq!(c["azp"], "aaaaaaaa-0000-4000-8000-000000000001");
    assert_eq!(c["azpacr"], "1");
    assert!(c.get("appid").is_none() && c.get("appidacr").is_none() && c.get("idp").is_none());
    // The application's own lifetime wins over the tenant's.
    assert_eq!(r.body["expires_in"], 600);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600 + 300);
}

#[test]
fn tenant_lifetime_applies_when_the_application_sets_none() {
    let app = TestApp::with_world(V2_WORLD);
    let r = app.post_form(
        "/11111111-2222-4333-8444-555555555555/oauth2/v2.0/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "aaaaaaaa-0000-4000-8000-000000000003"),
            ("client_secret", "other-secret"),
            ("scope", "api://aaaaaaaa-0000-4000-8000-000000000002/.default"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["expires_in"], 1800);
}

fn verify(app: &TestApp, token: &str, jwks_path: &str, aud: &str, iss: &str) -> Value {
    let jwks = app.get(jwks_path).body;
    let kid = decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("kid published");
    let key = DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[aud]);
    v.set_issuer(&[iss]);
    decode::<Value>(token, &key, &v)
        .expect("signature and claims verify")
        .claims
}

#[test]
fn jwks_verifies_issued_tokens() {
    let app = TestApp::spawn();
    let token = app.token_v1(CLIENT, SECRET, ARM).body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let iss = format!("https://sts.windows.net/{TENANT}/");
    for path in [
        "/common/discovery/keys",
        &format!("/{TENANT}/discovery/keys"),
        &format!("/{TENANT}/discovery/v2.0/keys"),
    ] {
        let c = verify(&app, &token, path, ARM, &iss);
        assert_eq!(c["appid"], CLIENT);
    }
    // A token altered after signing does not verify.
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let forged = parts.join(".");
    let jwks = app.get("/common/discovery/keys").body;
    let k = &jwks["keys"][0];
    let key = DecodingKey::from_rsa_components(k["n"].as_str().unwrap(), k["e"].as_str().unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[ARM]);
    assert!(decode::<Value>(&forged, &key, &v).is_err());
}

#[test]
fn jwks_documents_have_the_published_shape() {
    let app = TestApp::spawn();
    let v1 = app.get("/common/discovery/keys").body;
    let k = &v1["keys"][0];
    assert_eq!(k["kty"], "RSA");
    assert_eq!(k["use"], "sig");
    assert_eq!(k["e"], "AQAB");
    assert_eq!(k["kid"], k["x5t"]);
    assert!(k["x5c"][0].as_str().unwrap().len() > 500);
    assert!(k.get("issuer").is_none(), "v1 keys carry no issuer");
    let v2 = app.get(&format!("/{DOMAIN}/discovery/v2.0/keys")).body;
    assert_eq!(
        v2["keys"][0]["issuer"],
        format!("https://login.microsoftonline.com/{TENANT}/v2.0")
    );
}

#[test]
fn every_tenant_spelling_and_the_adfs_mount_issue_tokens() {
    let app = TestApp::spawn();
    for tenant in [TENANT, DOMAIN, "common", "organizations", "CONTOSO.onmicrosoft.com"] {
        for prefix in ["", "/adfs"] {
            let r = app.post_form(
                &format!("{prefix}/{tenant}/oauth2/v2.0/token"),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", CLIENT),
                    ("client_secret", SECRET),
                    ("scope", "https://management.azure.com/.default"),
                ],
            );
            assert_eq!(r.status, 200, "{prefix}/{tenant}: {}", r.body);
            assert_eq!(claims(r.body["access_token"].as_str().unwrap())["tid"], TENANT);
        }
    }
}

#[test]
fn double_slashes_in_paths_are_collapsed() {
    let app = TestApp::spawn();
    let r = app.get(&format!("/{TENANT}//v2.0/.well-known/openid-configuration"));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.post_form(
        &format!("//{TENANT}//oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", "https://management.azure.com/.default"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn http_basic_client_authentication_is_accepted() {
    use base64::Engine;
    let app = TestApp::spawn();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{}", SECRET.replace('~', "%7E")));
    let mut response = app
        .agent
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", app.url))
        .header("Authorization", format!("Basic {basic}"))
        .send_form([
            ("grant_type", "client_credentials"),
            ("scope", "https://management.azure.com/.default"),
        ])
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.body_mut().read_json().unwrap();
    assert_eq!(claims(body["access_token"].as_str().unwrap())["appid"], CLIENT);
}

#[test]
fn a_second_secret_works_and_tokens_are_unique() {
    let app = TestApp::spawn();
    let a = app.token_v2(CLIENT, SECRET2, "https://management.azure.com/.default");
    let b = app.token_v2(CLIENT, SECRET2, "https://management.azure.com/.default");
    assert_eq!(a.status, 200);
    assert_ne!(
        a.body["access_token"], b.body["access_token"],
        "uti makes every token unique"
    );
}

#[test]
fn the_emulators_own_origin_and_ml_are_valid_resources() {
    let app = TestApp::spawn();
    let own = format!("{}/.default", app.url);
    let r = app.token_v2(CLIENT, SECRET, &own);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        claims(r.body["access_token"].as_str().unwrap())["aud"],
        app.url.as_str()
    );
    let r = app.token_v2(CLIENT, SECRET, "https://ml.azure.com/.default");
    assert_eq!(
        claims(r.body["access_token"].as_str().unwrap())["aud"],
        "https://ml.azure.com"
    );
}
