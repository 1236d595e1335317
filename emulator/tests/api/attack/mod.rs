//! The JWT attack matrix, black-box against the HTTP API: every forged, foreign, tampered or
//! misaddressed token against the four validators — ARM, model management, Entra scoring
//! (`ep-aad`) and Azure ML scoring (`aks-service-1` and `ep-amltoken`) — each run **cold** (the
//! genuine token of the validator never presented yet) and **warm** (after the genuine token was
//! accepted once, so whatever a validator caches is populated). Zero accepted: every attempt must
//! get the surface's own 401 (ARM `{"error":{code}}` with the expected code and challenge, model
//! management `{code,statusCode,message,details}` with ARM's code, scoring `{"message"}` with
//! `WWW-Authenticate: Bearer`).
//!
//! The matrix is data: [`cases::catalogue`] lists the cases (forgeries in `cases`, genuine tokens
//! out of place in `foreign`), [`Surface`] the validators, and each test runs one surface and
//! reports every failing (phase, case) at once. `host` covers the token endpoint and URL
//! reflection under spoofed Host headers; `key_holder` the checks only a signing-key holder reaches.

mod cases;
mod foreign;
mod forge;
mod host;
mod key_holder;

use serde_json::{json, Value};

use self::forge::{FetchTrap, Jwt, OwnKey};
use crate::helpers::*;

pub const FABRIKAM: &str = "22222222-2222-4333-8444-555555555555";
pub const FABRIKAM_CLIENT: &str = "aaaaaaaa-0000-4000-8000-0000000000fb";
pub const FABRIKAM_SECRET: &str = "s";

/// The default world plus a second tenant with an application of its own, a second token-auth
/// AKS service and a second AMLToken endpoint (so "a token of another service" exists).
pub fn attack_world() -> azureml_emulator::fixtures::WorldSpec {
    let mut w = crate::world::WorldBuilder::default_world();
    w.tenant(FABRIKAM, "fabrikam.onmicrosoft.com");
    let fabrikam = w.service_principal_with("fabrikam-app", FABRIKAM_CLIENT, Some("fabrikam.onmicrosoft.com"));
    assert_eq!(fabrikam.secret, FABRIKAM_SECRET);
    w.aks_service("aks-other", true);
    w.online_endpoint("ep-amltoken-other", "AMLToken");
    w.build()
}

/// The validators under attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    /// `GET` of the default workspace.
    Arm,
    /// `GET /modelmanagement/v1.0{workspace}/services`.
    ModelManagement,
    /// `POST /online/ep-aad/score` (AADToken endpoint) with an `https://ml.azure.com` token.
    EntraScoring,
    /// `POST /api/v1/service/aks-service-1/score` with the service's Azure ML token.
    AmlService,
    /// `POST /online/ep-amltoken/score` with the endpoint's Azure ML token.
    AmlEndpoint,
}

impl Surface {
    /// The kind of token this surface accepts.
    pub fn genuine_kind(self) -> Kind {
        match self {
            Surface::Arm | Surface::ModelManagement => Kind::Arm,
            Surface::EntraScoring => Kind::Ml,
            Surface::AmlService => Kind::AksService,
            Surface::AmlEndpoint => Kind::AmlEndpoint,
        }
    }

    pub fn is_arm_like(self) -> bool {
        matches!(self, Surface::Arm | Surface::ModelManagement)
    }

    /// The method and path of the request that presents a token to this surface.
    pub fn request(self) -> (&'static str, String) {
        match self {
            Surface::Arm => ("GET", v(&ws_path(WS), "2024-04-01")),
            Surface::ModelManagement => ("GET", format!("/modelmanagement/v1.0{}/services", ws_path(WS))),
            Surface::EntraScoring => ("POST", "/online/ep-aad/score".into()),
            Surface::AmlService => ("POST", "/api/v1/service/aks-service-1/score".into()),
            Surface::AmlEndpoint => ("POST", "/online/ep-amltoken/score".into()),
        }
    }
}

/// Kinds of genuine token the emulator issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Entra, audience `https://management.azure.com/`, of `ml-auth`.
    Arm,
    /// Entra, audience `https://ml.azure.com`, of `ml-auth` (allowed to score `ep-aad`).
    Ml,
    /// Entra, audience `https://graph.microsoft.com`.
    Graph,
    /// Entra, audience the emulator's own origin (valid on ARM by design, not for scoring).
    OwnOrigin,
    /// Entra ARM token of an application of another tenant.
    OtherTenantArm,
    /// Entra `https://ml.azure.com` token of an application of another tenant.
    OtherTenantMl,
    /// Azure ML token of `aks-service-1`.
    AksService,
    /// Azure ML token of the second AKS service, `aks-other`.
    OtherAksService,
    /// Azure ML token of `ep-amltoken`.
    AmlEndpoint,
    /// Azure ML token of the second AMLToken endpoint.
    OtherAmlEndpoint,
}

/// Which ARM code an ARM or model-management refusal must carry (scoring only answers 401).
#[derive(Clone, Copy, Debug)]
pub enum Why {
    Invalid,
    Audience,
    Tenant,
    Expired,
}

impl Why {
    fn code(self) -> &'static str {
        match self {
            Why::Invalid => "InvalidAuthenticationToken",
            Why::Audience => "InvalidAuthenticationTokenAudience",
            Why::Tenant => "InvalidAuthenticationTokenTenant",
            Why::Expired => "ExpiredAuthenticationToken",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Cold,
    Warm,
}

/// One emulator set up to attack one surface.
pub struct Bench {
    pub app: TestApp,
    /// A second emulator: its genuine tokens must not open the first.
    pub other: TestApp,
    pub surface: Surface,
    /// The genuine token of this surface: never presented before the warm phase.
    pub genuine: Jwt,
    /// Another genuine token of the same kind, never presented at all.
    pub sibling: Jwt,
    /// The emulator's published Entra signing key (JWK).
    pub published: Value,
    /// The kid of a key of this emulator that does not sign this surface's tokens.
    pub other_kid: String,
    pub own: OwnKey,
    pub trap: FetchTrap,
    /// `ml-admin`'s ARM token, for setup calls only (never forged around).
    admin: String,
    admin_other: String,
}

impl Bench {
    pub fn new(surface: Surface) -> Bench {
        let app = TestApp::with_spec(attack_world());
        let other = TestApp::spawn();
        let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
        let admin_other = other.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
        let own = OwnKey::generate();
        let trap = FetchTrap::start(json!({"keys": [own.jwk.clone()]}));
        let published = app.get("/common/discovery/keys").body["keys"][0].clone();
        let genuine = Jwt::parse(&mint_from(&app, &admin, surface.genuine_kind()));
        // Azure ML tokens carry no unique id: two minted in one second are the same token, so the
        // sibling is minted a second later (another `exp`).
        app.running.clock().advance(time::Duration::seconds(1)).unwrap();
        let sibling = Jwt::parse(&mint_from(&app, &admin, surface.genuine_kind()));
        let other_kid = match surface {
            Surface::AmlService | Surface::AmlEndpoint => published["kid"].clone(),
            _ => Jwt::parse(&mint_from(&app, &admin, Kind::AksService)).header["kid"].clone(),
        };
        Bench {
            other_kid: other_kid.as_str().unwrap_or_default().to_string(),
            genuine,
            sibling,
            app,
            other,
            surface,
            published,
            own,
            trap,
            admin,
            admin_other,
        }
    }

    /// A fresh genuine token of `kind` from this emulator (minting presents nothing to the
    /// surface under attack; the Azure ML ones are fetched with `ml-admin`'s ARM token).
    pub fn mint(&self, kind: Kind) -> String {
        mint_from(&self.app, &self.admin, kind)
    }

    /// A genuine token of `kind` from the other emulator.
    pub fn mint_elsewhere(&self, kind: Kind) -> String {
        mint_from(&self.other, &self.admin_other, kind)
    }

    /// Presents `authorization` (a whole header value) to the surface, with extra headers.
    pub fn present_raw(&self, authorization: &str, headers: &[(&str, &str)]) -> Reply {
        let (method, path) = self.surface.request();
        send(&self.app, method, &path, authorization, headers)
    }

    pub fn present(&self, token: &str) -> Reply {
        self.present_raw(&format!("Bearer {token}"), &[])
    }

    /// Scores `path` (a scoring path other than the surface's) with `token`.
    pub fn score_at(&self, path: &str, token: &str) -> Reply {
        send(&self.app, "POST", path, &format!("Bearer {token}"), &[])
    }

    /// Moves the emulator clock through the control API.
    pub fn advance_clock(&self, seconds: i64) {
        let r = self
            .app
            .post_json("/_emulator/clock", json!({"advance_seconds": seconds}));
        assert_eq!(r.status, 200, "clock moves: {}", r.body);
    }

    /// The admin's ARM token, for setup calls in custom cases.
    pub fn admin(&self) -> &str {
        &self.admin
    }
}

/// One request with an `Authorization` value and extra headers; POSTs carry `{}`.
pub fn send(app: &TestApp, method: &str, path: &str, authorization: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", app.url))
        .header("Content-Type", "application/json");
    if !authorization.is_empty() {
        request = request.header("Authorization", authorization);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = if method == "POST" { "{}" } else { "" };
    read_reply(app.agent.run(request.body(body.to_string()).expect("request builds")))
}

fn mint_from(app: &TestApp, admin: &str, kind: Kind) -> String {
    let entra = |tenant: &str, client: &str, secret: &str, scope: &str| {
        let r = app.post_form(
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client),
                ("client_secret", secret),
                ("scope", scope),
            ],
        );
        assert_eq!(r.status, 200, "token for {scope}: {}", r.body);
        r.body["access_token"].as_str().expect("access_token").to_string()
    };
    let aml = |method: &str, path: String| {
        let r = app.arm(method, &path, Some(admin), None);
        assert_eq!(r.status, 200, "Azure ML token from {path}: {}", r.body);
        r.body["accessToken"].as_str().expect("accessToken").to_string()
    };
    let service = |name: &str| format!("/modelmanagement/v1.0{}/services/{name}/token", ws_path(WS));
    let endpoint = |name: &str| v(&format!("{}/onlineEndpoints/{name}/token", ws_path(WS)), "2024-04-01");
    match kind {
        Kind::Arm => entra(TENANT, CLIENT, SECRET, "https://management.azure.com//.default"),
        Kind::Ml => entra(TENANT, CLIENT, SECRET, "https://ml.azure.com/.default"),
        Kind::Graph => entra(TENANT, CLIENT, SECRET, "https://graph.microsoft.com/.default"),
        Kind::OwnOrigin => entra(TENANT, CLIENT, SECRET, &format!("{}/.default", app.url)),
        Kind::OtherTenantArm => entra(
            FABRIKAM,
            FABRIKAM_CLIENT,
            FABRIKAM_SECRET,
            "https://management.azure.com//.default",
        ),
        Kind::OtherTenantMl => entra(
            FABRIKAM,
            FABRIKAM_CLIENT,
            FABRIKAM_SECRET,
            "https://ml.azure.com/.default",
        ),
        Kind::AksService => aml("POST", service("aks-service-1")),
        Kind::OtherAksService => aml("POST", service("aks-other")),
        Kind::AmlEndpoint => aml("POST", endpoint("ep-amltoken")),
        Kind::OtherAmlEndpoint => aml("POST", endpoint("ep-amltoken-other")),
    }
}

/// Whether `reply` is the surface's refusal for a case whose ARM code should be `why`.
fn judge(surface: Surface, why: Why, reply: &Reply, also: &[u16]) -> Result<(), String> {
    let challenge = reply
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if also.contains(&reply.status) {
        return Ok(());
    }
    if reply.status < 300 {
        return Err(format!("ACCEPTED ({})", reply.status));
    }
    let body: String = reply.body.to_string().chars().take(200).collect();
    let shown = format!("got {} {body}", reply.status);
    if reply.status != 401 {
        return Err(format!("wrong status: {shown}"));
    }
    let ok = match surface {
        Surface::Arm => reply.body["error"]["code"] == why.code() && challenge.contains("error=\"invalid_token\""),
        Surface::ModelManagement => {
            reply.body["code"] == why.code()
                && reply.body["statusCode"] == 401
                && reply.body["message"].as_str().is_some_and(|m| !m.is_empty())
                && reply.body["details"].is_array()
                && challenge.contains("error=\"invalid_token\"")
        }
        _ => reply.body["message"].as_str().is_some_and(|m| !m.is_empty()) && challenge.starts_with("Bearer"),
    };
    if ok {
        Ok(())
    } else {
        let want = if surface.is_arm_like() { why.code() } else { "a message" };
        Err(format!(
            "401 without the surface's shape (want {want}, challenge '{challenge}'): {shown}"
        ))
    }
}

/// Runs the whole catalogue against `surface`, cold then warm, and fails listing every
/// (phase, case) that was not refused as the surface must.
fn run_matrix(surface: Surface) {
    let bench = Bench::new(surface);
    let catalogue = cases::catalogue(&bench);
    assert!(catalogue.len() > 100, "the catalogue is complete");
    let mut failures = Vec::new();
    for phase in [Phase::Cold, Phase::Warm] {
        if phase == Phase::Warm {
            let r = bench.present(&bench.genuine.raw());
            assert_eq!(
                r.status, 200,
                "{surface:?}: the genuine token opens the surface: {}",
                r.body
            );
        }
        for case in &catalogue {
            let outcome = (case.run)(&bench, phase).and_then(|reply| judge(surface, case.why, &reply, case.also));
            if let Err(e) = outcome {
                failures.push(format!("{surface:?} {phase:?} [{}]: {e}", case.name));
            }
        }
    }
    if bench.trap.hits() > 0 {
        failures.push(format!(
            "{surface:?}: the validator fetched a jku/x5u URL ({} connections to the trap)",
            bench.trap.hits()
        ));
    }
    let after = bench.present(&bench.genuine.raw());
    assert_eq!(
        after.status, 200,
        "{surface:?}: the genuine token still opens the surface"
    );
    assert!(
        failures.is_empty(),
        "{} of {} attempts against {surface:?} were not refused with its 401:\n{}",
        failures.len(),
        catalogue.len() * 2,
        failures.join("\n")
    );
}

#[test]
fn arm_refuses_every_forged_or_foreign_token() {
    run_matrix(Surface::Arm);
}

#[test]
fn model_management_refuses_every_forged_or_foreign_token() {
    run_matrix(Surface::ModelManagement);
}

#[test]
fn entra_scoring_refuses_every_forged_or_foreign_token() {
    run_matrix(Surface::EntraScoring);
}

#[test]
fn aml_service_scoring_refuses_every_forged_or_foreign_token() {
    run_matrix(Surface::AmlService);
}

#[test]
fn aml_endpoint_scoring_refuses_every_forged_or_foreign_token() {
    run_matrix(Surface::AmlEndpoint);
}
