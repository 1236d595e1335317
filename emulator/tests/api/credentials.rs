//! Client assertions: certificate-signed JWTs (RS256 + `x5t`, padded or not, PS256 + `x5t#S256`,
//! with or without `x5c`) and every check with its AADSTS code; workload identity federation
//! against the emulator's own test issuers; the control API for both.

use azureml_emulator::domain::certificate::{first_certificate_der, new_self_signed};
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha1::Digest;

use crate::helpers::*;
use crate::world::WorldBuilder;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CERT_APP: &str = "aaaaaaaa-0000-4000-8000-0000000000c1";
const OTHER_APP: &str = "aaaaaaaa-0000-4000-8000-0000000000c2";

/// A key pair and its self-signed certificate.
struct Pair {
    key: String,
    cert: String,
    der: Vec<u8>,
}

fn pair() -> Pair {
    let (key, cert) = new_self_signed("test", 30).unwrap();
    let der = first_certificate_der(&cert).unwrap();
    Pair { key, cert, der }
}

/// How an assertion names its certificate.
#[derive(Clone, Copy)]
enum Named {
    /// msal Python: RS256, `x5t` base64url SHA-1 with `=` padding.
    Sha1Padded,
    /// msal-node: RS256, `x5t` without padding.
    Sha1,
    /// @azure/identity: PS256, `x5t#S256`.
    Sha256,
}

fn sign(p: &Pair, named: Named, x5c: bool, claims: &Value) -> String {
    let (alg, sha1, sha256) = match named {
        Named::Sha1Padded => (
            Algorithm::RS256,
            Some(URL_SAFE.encode(sha1::Sha1::digest(&p.der))),
            None,
        ),
        Named::Sha1 => (
            Algorithm::RS256,
            Some(URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&p.der))),
            None,
        ),
        Named::Sha256 => (
            Algorithm::PS256,
            None,
            Some(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&p.der))),
        ),
    };
    let mut header = Header::new(alg);
    header.x5t = sha1;
    header.x5t_s256 = sha256;
    if x5c {
        header.x5c = Some(vec![STANDARD.encode(&p.der)]);
    }
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let der = rsa::RsaPrivateKey::from_pkcs8_pem(&p.key)
        .unwrap()
        .to_pkcs1_der()
        .unwrap();
    encode(&header, claims, &EncodingKey::from_rsa_der(der.as_bytes())).unwrap()
}

struct Bench {
    app: TestApp,
    pair: Pair,
    other: Pair,
}

/// The default world plus `cert-app` (a certificate, no secret) and `other-app` (another one).
fn bench() -> Bench {
    let (pair, other) = (pair(), pair());
    let mut w = WorldBuilder::default_world();
    w.service_principal_with("cert-app", CERT_APP, None);
    w.service_principal_with("other-app", OTHER_APP, None);
    w.certificate("cert-app", &pair.cert, None);
    w.certificate("other-app", &other.cert, None);
    w.assign("cert-app", "Reader", &ws_path(WS));
    Bench {
        app: TestApp::with_spec(w.build()),
        pair,
        other,
    }
}

impl Bench {
    fn endpoint(&self, v2: bool) -> String {
        let path = if v2 { "oauth2/v2.0/token" } else { "oauth2/token" };
        format!("{}/{TENANT}/{path}", self.app.url)
    }

    fn claims(&self, aud: &str) -> Value {
        let now = self.app.running.clock().now().unix_timestamp();
        json!({"aud": aud, "iss": CERT_APP, "sub": CERT_APP, "exp": now + 600, "nbf": now, "iat": now,
               "jti": uuid::Uuid::new_v4().to_string()})
    }

    fn present(&self, assertion: &str, v2: bool, resource: &str) -> Reply {
        let (key, value) = if v2 {
            ("scope", format!("{resource}/.default"))
        } else {
            ("resource", resource.to_string())
        };
        let path = if v2 { "oauth2/v2.0/token" } else { "oauth2/token" };
        self.app.post_form(
            &format!("/{TENANT}/{path}"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CERT_APP),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
                (key, &value),
            ],
        )
    }
}

#[test]
fn certificate_assertions_of_every_sdk_shape_get_tokens() {
    let b = bench();
    for (named, x5c) in [
        (Named::Sha1Padded, false),
        (Named::Sha1, true),
        (Named::Sha256, false),
        (Named::Sha256, true),
    ] {
        let a = sign(&b.pair, named, x5c, &b.claims(&b.endpoint(true)));
        let r = b.present(&a, true, "https://management.azure.com");
        assert_eq!(r.status, 200, "{}", r.body);
        let c = claims(r.body["access_token"].as_str().unwrap());
        assert_eq!(
            (c["appid"].as_str(), c["appidacr"].as_str()),
            (Some(CERT_APP), Some("2"))
        );
    }
    // v1 endpoint, v1 audience; the audience may name the tenant by domain or use /adfs.
    let a = sign(&b.pair, Named::Sha1Padded, false, &b.claims(&b.endpoint(false)));
    assert_eq!(b.present(&a, false, ARM).status, 200);
    for aud in [
        format!("{}/adfs/{DOMAIN}/oauth2/v2.0/token", b.app.url),
        format!("{}/common/oauth2/token", b.app.url),
    ] {
        let a = sign(&b.pair, Named::Sha1, false, &b.claims(&aud));
        assert_eq!(b.present(&a, true, "https://management.azure.com").status, 200, "{aud}");
    }
    // The token opens ARM for the role the certificate's principal holds.
    let a = sign(&b.pair, Named::Sha1, false, &b.claims(&b.endpoint(false)));
    let token = b.present(&a, false, ARM).body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        b.app
            .arm("GET", &v(&ws_path(WS), "2024-10-01"), Some(&token), None)
            .status,
        200
    );
}

#[test]
fn every_certificate_check_has_its_aadsts_code() {
    let b = bench();
    let res = "https://management.azure.com";
    let v2 = b.endpoint(true);
    // Replay: the same assertion for the same resource is refused; another resource is not
    // (msal-node reuses its assertion for ten minutes across scopes).
    let a = sign(&b.pair, Named::Sha256, false, &b.claims(&v2));
    assert_eq!(b.present(&a, true, res).status, 200);
    assert_aad_error(&b.present(&a, true, res), 401, "invalid_client", 50013);
    assert_eq!(b.present(&a, true, "https://ml.azure.com").status, 200);
    // Wrong audience: another endpoint, another origin, another tenant.
    for aud in [
        format!("{}/{TENANT}/oauth2/v2.0/authorize", b.app.url),
        format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"),
        format!("{}/{}/oauth2/v2.0/token", b.app.url, uuid::Uuid::new_v4()),
    ] {
        let a = sign(&b.pair, Named::Sha1, false, &b.claims(&aud));
        assert_aad_error(&b.present(&a, true, res), 401, "invalid_client", 700023);
    }
    // sub is not the client id.
    let mut c = b.claims(&v2);
    c["sub"] = json!(OTHER_APP);
    assert_aad_error(
        &b.present(&sign(&b.pair, Named::Sha1, false, &c), true, res),
        401,
        "invalid_client",
        700021,
    );
    // The certificate of another application, and a certificate registered nowhere.
    let e = assert_aad_error(
        &b.present(&sign(&b.other, Named::Sha1, false, &b.claims(&v2)), true, res),
        401,
        "invalid_client",
        700027,
    );
    assert!(e["error_description"]
        .as_str()
        .unwrap()
        .contains("The key was not found"));
    assert_aad_error(
        &b.present(&sign(&pair(), Named::Sha256, true, &b.claims(&v2)), true, res),
        401,
        "invalid_client",
        700027,
    );
    // Signed with another key under this certificate's thumbprint.
    let forged = sign(
        &Pair {
            key: b.other.key.clone(),
            cert: String::new(),
            der: b.pair.der.clone(),
        },
        Named::Sha1,
        false,
        &b.claims(&v2),
    );
    let e = assert_aad_error(&b.present(&forged, true, res), 401, "invalid_client", 700027);
    assert!(e["error_description"]
        .as_str()
        .unwrap()
        .contains("did not match the expected signature"));
    // Expired or not yet valid, beyond five minutes of skew; within it, accepted. The clock
    // stands still meanwhile: these sit one second past the allowed skew.
    let clock = b.app.running.clock();
    clock.freeze();
    let now = clock.now().unix_timestamp();
    for (nbf, exp, ok) in [
        (now - 1000, now - 301, false),
        (now + 301, now + 900, false),
        (now - 900, now - 200, true),
        (now + 200, now + 900, true),
    ] {
        let mut c = b.claims(&v2);
        c["nbf"] = json!(nbf);
        c["exp"] = json!(exp);
        let r = b.present(&sign(&b.pair, Named::Sha1, false, &c), true, res);
        if ok {
            assert_eq!(r.status, 200, "{}", r.body);
        } else {
            assert_aad_error(&r, 401, "invalid_client", 700024);
        }
    }
    clock.resume();
    // Not a JWT; a secret beside the assertion.
    assert_aad_error(&b.present("not-a-jwt", true, res), 401, "invalid_client", 50027);
    let a = sign(&b.pair, Named::Sha1, false, &b.claims(&v2));
    let both = b.app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CERT_APP),
            ("client_secret", "s"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
            ("scope", "https://management.azure.com/.default"),
        ],
    );
    assert_aad_error(&both, 401, "invalid_client", 7000218);
    // The certificate's own expiry, on the emulator clock.
    b.app.running.clock().advance(time::Duration::days(31)).unwrap();
    let e = assert_aad_error(
        &b.present(&sign(&b.pair, Named::Sha1, false, &b.claims(&v2)), true, res),
        401,
        "invalid_client",
        700027,
    );
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("The key used is expired."),
        "{e}"
    );
}

#[test]
fn a_registration_ending_early_expires_the_certificate_on_the_clock() {
    let p = pair();
    let mut w = WorldBuilder::default_world();
    w.service_principal_with("cert-app", CERT_APP, None);
    w.certificate("cert-app", &p.cert, Some("2024-06-01T00:00:00Z"));
    let app = TestApp::with_spec(w.build());
    let now = app.running.clock().now().unix_timestamp();
    let c = json!({"aud": format!("{}/{TENANT}/oauth2/v2.0/token", app.url), "iss": CERT_APP, "sub": CERT_APP,
                   "exp": now + 600, "jti": "j1"});
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CERT_APP),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &sign(&p, Named::Sha1, false, &c)),
            ("scope", "https://ml.azure.com/.default"),
        ],
    );
    let e = assert_aad_error(&r, 401, "invalid_client", 700027);
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("End=06/01/2024 00:00:00"),
        "{e}"
    );
}

// --- workload identity federation ---------------------------------------------------------

fn subject_token(app: &TestApp, issuer: &str, body: Value) -> String {
    let r = app.post_json(&format!("/_emulator/issuers/{issuer}/token"), body);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

fn exchange(app: &TestApp, client: &str, assertion: &str) -> Reply {
    app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
            ("scope", "https://management.azure.com/.default"),
        ],
    )
}

#[test]
fn federated_credentials_match_issuer_subject_and_audience() {
    let mut w = WorldBuilder::default_world();
    w.federated(
        "ml-auth",
        "k8s",
        "test:aks-cluster",
        "system:serviceaccount:ml:runner",
        &["api://AzureADTokenExchange", "custom"],
    );
    w.federated(
        "ml-auth",
        "external",
        "https://token.actions.githubusercontent.com",
        "repo:contoso/ml:ref:refs/heads/main",
        &[],
    );
    w.federated(
        UAMI,
        "uami-gh",
        "test:github-actions",
        "repo:contoso/infra:environment:prod",
        &[],
    );
    let app = TestApp::with_spec(w.build());
    // The default world's credential: GitHub Actions, contoso/ml, main. With a trailing newline,
    // as azure-identity reads the token file.
    let gh = subject_token(&app, "github-actions", json!({}));
    let c = claims(&gh);
    assert_eq!(
        (c["repository"].as_str(), c["ref"].as_str()),
        (Some("contoso/ml"), Some("refs/heads/main"))
    );
    assert_eq!(c["iss"], format!("{}/_emulator/issuers/github-actions", app.url));
    let r = exchange(&app, CLIENT, &format!("{gh}\n"));
    assert_eq!(r.status, 200, "{}", r.body);
    let t = claims(r.body["access_token"].as_str().unwrap());
    assert_eq!(
        (t["oid"].as_str(), t["appidacr"].as_str()),
        (Some(SP_OBJECT), Some("2"))
    );
    // Federated tokens are not single-use (projected tokens are presented until they expire).
    assert_eq!(exchange(&app, CLIENT, &gh).status, 200);
    // A user-assigned identity federates too, and gets its own principal.
    let prod = subject_token(
        &app,
        "github-actions",
        json!({"sub": "repo:contoso/infra:environment:prod"}),
    );
    let r = exchange(&app, UAMI_IDENTITY.0, &prod);
    assert_eq!(
        claims(r.body["access_token"].as_str().unwrap())["oid"],
        UAMI_IDENTITY.1,
        "{}",
        r.body
    );
    // Subject, audience mismatches: 70021 quoting all three; another subject's credential on
    // another owner does not count.
    let e = assert_aad_error(&exchange(&app, CLIENT, &prod), 400, "invalid_request", 70021);
    assert!(e["error_description"]
        .as_str()
        .unwrap()
        .contains("Assertion Subject: 'repo:contoso/infra:environment:prod'"));
    let other_aud = subject_token(&app, "github-actions", json!({"aud": "api://other"}));
    assert_aad_error(&exchange(&app, CLIENT, &other_aud), 400, "invalid_request", 70021);
    let k8s = subject_token(
        &app,
        "aks-cluster",
        json!({"sub": "system:serviceaccount:ml:runner", "aud": "custom"}),
    );
    assert_eq!(exchange(&app, CLIENT, &k8s).status, 200);
    // An issuer no credential names; an issuer that cannot be reached offline.
    let stranger = subject_token(&app, "stranger", json!({"sub": "x"}));
    assert_aad_error(&exchange(&app, CLIENT, &stranger), 401, "invalid_client", 700211);
    let external = forge_claims(&gh, json!({"iss": "https://token.actions.githubusercontent.com"}));
    assert_aad_error(&exchange(&app, CLIENT, &external), 401, "invalid_client", 50166);
    // Tampered claims break the issuer's signature.
    let tampered = forge_claims(
        &gh,
        json!({"sub": "repo:contoso/ml:ref:refs/heads/main", "repository": "evil/ml"}),
    );
    assert_aad_error(&exchange(&app, CLIENT, &tampered), 401, "invalid_client", 700027);
    // Expired on the emulator clock (past the five-minute skew).
    let short = subject_token(&app, "github-actions", json!({"lifetime_seconds": 60}));
    app.running.clock().advance(time::Duration::seconds(400)).unwrap();
    assert_aad_error(&exchange(&app, CLIENT, &short), 401, "invalid_client", 700024);
    // The issuer rotates its key: tokens of the old key are refused, new ones work.
    let before = subject_token(&app, "github-actions", json!({}));
    assert_eq!(
        app.post_json("/_emulator/issuers/github-actions/rotate", json!({}))
            .status,
        200
    );
    assert_aad_error(&exchange(&app, CLIENT, &before), 401, "invalid_client", 700027);
    assert_eq!(
        exchange(&app, CLIENT, &subject_token(&app, "github-actions", json!({}))).status,
        200
    );
}

/// The token with some claims replaced, signature kept.
fn forge_claims(token: &str, changes: Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut c: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    for (k, val) in changes.as_object().unwrap() {
        c[k] = val.clone();
    }
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(c.to_string()), parts[2])
}

#[test]
fn issuers_publish_discovery_and_keys_and_credentials_are_managed_through_the_control_api() {
    let app = TestApp::spawn();
    let d = app.get("/_emulator/issuers/github-actions/.well-known/openid-configuration");
    assert_eq!(d.status, 200);
    let iss = format!("{}/_emulator/issuers/github-actions", app.url);
    assert_eq!(
        (d.body["issuer"].as_str(), d.body["jwks_uri"].as_str()),
        (Some(iss.as_str()), Some(&*format!("{iss}/.well-known/jwks")))
    );
    let jwks = app.get("/_emulator/issuers/github-actions/.well-known/jwks");
    let kid = jwks.body["keys"][0]["kid"].as_str().unwrap().to_string();
    assert_eq!(
        segment(&subject_token(&app, "github-actions", json!({})), 0)["kid"],
        kid
    );
    assert_eq!(
        app.post_json("/_emulator/issuers/bad%2Fname/token", json!({})).status,
        404
    );
    assert_eq!(
        app.post_json("/_emulator/issuers/k8s/token", json!({})).status,
        400,
        "sub is required"
    );
    // Federated credentials: create (a test issuer URL is kept by name), list, conflict, delete.
    let path = format!("/_emulator/applications/{ADMIN_CLIENT}/federated-credentials");
    let body = json!({"name": "ci", "issuer": iss, "subject": "repo:contoso/admin:ref:refs/heads/main"});
    assert_eq!(app.post_json(&path, body.clone()).status, 201);
    assert_eq!(app.post_json(&path, body).status, 409);
    let listed = app.get(&path);
    assert_eq!(
        listed.body["value"][0]["audiences"],
        json!(["api://AzureADTokenExchange"])
    );
    let t = subject_token(
        &app,
        "github-actions",
        json!({"sub": "repo:contoso/admin:ref:refs/heads/main"}),
    );
    assert_eq!(exchange(&app, ADMIN_CLIENT, &t).status, 200);
    let del = app.agent.delete(format!("{}{path}/ci", app.url)).call().unwrap();
    assert_eq!(del.status().as_u16(), 204);
    assert_aad_error(&exchange(&app, ADMIN_CLIENT, &t), 401, "invalid_client", 700211);
    // Certificates: added to an application; a bad PEM is a 400.
    let p = pair();
    let added = app.post_json(
        &format!("/_emulator/applications/{ADMIN_CLIENT}/certificates"),
        json!({"pem": p.cert}),
    );
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["keyCredential"]["type"], "AsymmetricX509Cert");
    assert_eq!(
        app.post_json(
            &format!("/_emulator/applications/{ADMIN_CLIENT}/certificates"),
            json!({"pem": "x"})
        )
        .status,
        400
    );
    let now = app.running.clock().now().unix_timestamp();
    let c = json!({"aud": format!("{}/{TENANT}/oauth2/v2.0/token", app.url), "iss": ADMIN_CLIENT, "sub": ADMIN_CLIENT, "exp": now + 600, "jti": "a"});
    let r = app.post_form(
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_CLIENT),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &sign(&p, Named::Sha256, false, &c)),
            ("scope", "https://ml.azure.com/.default"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let shown = app.get(&format!("/_emulator/service-principals/{ADMIN_CLIENT}"));
    assert_eq!(shown.body["keyCredentials"].as_array().unwrap().len(), 1);
}
