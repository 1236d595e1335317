//! What a request is, as far as fault rules match on it. Gathered once per request, only while
//! some rule is in the table: the path (surface, route, workspace, service, tenant), the token
//! request's form on the token endpoints (grant, client, user), and the bearer token's claims
//! elsewhere. The claims are read **without** verifying the token: they only choose which fault
//! fires, never what a request may do (authentication still runs on every request a fault lets
//! through).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use super::rule::{FaultSurface, Kind, RuleSpec};
use super::Rule;
use crate::domain::rbac::wildcard_match;
use crate::domain::services::WorkspaceRef;
use crate::domain::World;
use crate::http::surface::Surface;

/// The claims of a bearer token that rules look at (read unverified).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TokenFacts {
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    pub oid: Option<String>,
    pub tid: Option<String>,
    pub appid: Option<String>,
    pub azp: Option<String>,
    pub upn: Option<String>,
    /// Client capabilities (`["CP1"]` for continuous access evaluation).
    #[serde(default)]
    pub xms_cc: Vec<String>,
}

impl TokenFacts {
    /// The claims of a compact JWS, unverified; none for keys and anything else.
    pub fn read(token: &[u8]) -> Option<Self> {
        if token.len() > crate::authority::verify::MAX_TOKEN_BYTES {
            return None;
        }
        let text = std::str::from_utf8(token).ok()?;
        let mut parts = text.split('.');
        let (_, claims) = (parts.next()?, parts.next()?);
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()
    }

    pub fn has_cp1(&self) -> bool {
        self.xms_cc.iter().any(|c| c.eq_ignore_ascii_case("cp1"))
    }
}

/// The `kid` of a compact JWS's header, unverified.
pub fn header_kid(token: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(token).ok()?;
    let header = URL_SAFE_NO_PAD.decode(text.split('.').next()?).ok()?;
    serde_json::from_slice::<serde_json::Value>(&header).ok()?["kid"]
        .as_str()
        .map(str::to_string)
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub struct Facts {
    pub surface: Surface,
    /// `…/discovery[/v2.0]/keys`.
    pub jwks: bool,
    /// `…/oauth2[/v2.0]/token`.
    pub token_endpoint: bool,
    /// An Azure ML token call (model management `services/{name}/token`, ARM `onlineEndpoints/{name}/token`).
    pub aml_token_call: bool,
    /// A key listing (model management `listkeys`, ARM `listKeys`).
    pub listkeys_call: bool,
    pub method: String,
    pub path: String,
    pub grant: Option<String>,
    /// Every name the caller goes by: client id, object id, UPN, display name, `key holder`.
    pub identities: Vec<String>,
    pub tenant: Option<String>,
    pub workspace: Option<String>,
    pub service: Option<String>,
    pub region: Option<String>,
    pub token: Option<TokenFacts>,
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Facts {
    /// What the path and method tell, before any body or credential is read.
    pub fn from_path(surface: Surface, method: &str, path: &str, world: &World) -> Self {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let last = segments.last().copied().unwrap_or_default();
        let mut facts = Facts {
            surface,
            jwks: surface == Surface::Aad && eq(last, "keys") && segments.iter().any(|s| eq(s, "discovery")),
            token_endpoint: surface == Surface::Aad && eq(last, "token") && segments.iter().any(|s| eq(s, "oauth2")),
            aml_token_call: false,
            listkeys_call: false,
            method: method.to_string(),
            path: path.to_string(),
            grant: None,
            identities: Vec::new(),
            tenant: None,
            workspace: None,
            service: None,
            region: None,
            token: None,
        };
        match surface {
            Surface::Aad => {
                let rest = if segments.first().is_some_and(|s| *s == "adfs") {
                    &segments[1.min(segments.len())..]
                } else {
                    &segments[..]
                };
                facts.tenant = rest.first().map(|s| s.to_string());
            }
            Surface::Arm | Surface::ModelManagement => facts.resource_path(&segments, last, world),
            Surface::Scoring => facts.scoring_path(&segments, world),
            _ => {}
        }
        facts
    }

    fn resource_path(&mut self, segments: &[&str], last: &str, world: &World) {
        let after = |name: &str| {
            segments
                .iter()
                .position(|s| eq(s, name))
                .and_then(|i| segments.get(i + 1))
                .map(|s| s.to_string())
        };
        self.workspace = after("workspaces");
        self.service = after("services").or_else(|| after("onlineEndpoints"));
        let post = self.method == "POST";
        self.aml_token_call = post && self.service.is_some() && eq(last, "token");
        self.listkeys_call = post && eq(last, "listkeys");
        if let (Some(sub), Some(rg), Some(ws)) = (after("subscriptions"), after("resourceGroups"), &self.workspace) {
            self.region = sub
                .parse()
                .ok()
                .and_then(|s| world.workspace(s, &rg, ws))
                .map(|w| w.location.clone());
        }
    }

    fn scoring_path(&mut self, segments: &[&str], world: &World) {
        let name = match segments {
            ["api", "v1", "service", name, ..] | ["aci", name, ..] | ["online", name, ..] => *name,
            _ => return,
        };
        let ws: Option<&WorkspaceRef> = world
            .service(name)
            .map(|s| &s.workspace)
            .or_else(|| world.online_endpoint(name).map(|e| &e.workspace));
        self.service = Some(name.to_string());
        if let Some(ws) = ws {
            self.workspace = Some(ws.workspace.clone());
            self.region = world
                .workspace(ws.subscription_id, &ws.resource_group, &ws.workspace)
                .map(|w| w.location.clone());
        }
    }

    /// The token endpoint's form: grant, client (HTTP Basic wins over the form) and user.
    pub fn add_token_request(
        &mut self,
        grant: Option<&str>,
        basic_client: Option<String>,
        form_client: Option<&str>,
        username: Option<&str>,
        world: &World,
    ) {
        self.grant = grant.map(str::to_string);
        if let Some(user) = username {
            self.identities.push(user.to_string());
        }
        if let Some(client) = basic_client.or_else(|| form_client.map(str::to_string)) {
            if let Some(app) = crate::domain::ids::parse_guid(&client)
                .ok()
                .and_then(|id| world.application(crate::domain::ClientId(id)))
            {
                self.identities.push(app.display_name.clone());
                self.identities.push(app.object_id.to_string());
            }
            // Last: the journal and the AADSTS messages name the client by it.
            self.identities.push(client);
        }
    }

    /// A bearer credential: a token's claims, or a key.
    pub fn add_bearer(&mut self, credential: &[u8], world: &World) {
        let Some(token) = TokenFacts::read(credential) else {
            self.identities.push("key holder".into());
            return;
        };
        for id in [&token.oid, &token.appid, &token.azp, &token.upn].into_iter().flatten() {
            self.identities.push(id.clone());
        }
        if let Some(oid) = token.oid.as_deref().and_then(|o| o.parse().ok()) {
            self.identities.extend(world.display_name(oid));
        }
        self.tenant = self.tenant.take().or_else(|| token.tid.clone());
        self.token = Some(token);
    }

    /// Whether `rule` applies to this request: its surface (and what its kind needs), then every
    /// field of its match.
    pub fn matches(&self, rule: &Rule) -> bool {
        let spec: &RuleSpec = &rule.spec;
        let m = &spec.matcher;
        let surface_ok = match spec.surface {
            FaultSurface::Aad => {
                self.surface == Surface::Aad && !self.jwks && (self.token_endpoint || m.route.is_some())
            }
            FaultSurface::Jwks => self.jwks,
            FaultSurface::Arm => self.surface == Surface::Arm,
            FaultSurface::ModelManagement => self.surface == Surface::ModelManagement,
            FaultSurface::Scoring => self.surface == Surface::Scoring,
            FaultSurface::Any => self.surface != Surface::Control,
        };
        let kind_ok = match spec.kind {
            Kind::RegionOutage => self.aml_token_call,
            Kind::KeysUnavailable => self.listkeys_call,
            Kind::UnknownKid => self.token_endpoint,
            Kind::ExpiredToken => self.token.is_some(),
            Kind::ClaimsChallenge => self
                .token
                .as_ref()
                .is_some_and(|t| t.has_cp1() && t.nbf.or(t.iat).is_some_and(|nbf| nbf < rule.added.unix_timestamp())),
            _ => true,
        };
        let field = |want: &Option<String>, have: &Option<String>| {
            want.as_deref()
                .is_none_or(|w| have.as_deref().is_some_and(|h| eq(w, h)))
        };
        let route_ok = m.route.as_deref().is_none_or(|r| {
            let pattern = r.trim();
            match pattern.split_once(' ') {
                Some((method, path)) => eq(method, &self.method) && wildcard_match(path.trim(), &self.path),
                None => wildcard_match(pattern, &self.path),
            }
        });
        let principal_ok = m
            .principal
            .as_deref()
            .is_none_or(|p| self.identities.iter().any(|i| eq(i, p)));
        surface_ok
            && kind_ok
            && route_ok
            && principal_ok
            && field(&m.grant, &self.grant)
            && field(&m.tenant, &self.tenant)
            && field(&m.workspace, &self.workspace)
            && field(&m.service, &self.service)
            && field(&m.region, &self.region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_tell_workspace_service_and_calls() {
        let world = World::default();
        let f = Facts::from_path(
            Surface::ModelManagement,
            "POST",
            "/modelmanagement/v1.0/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/services/aks-1/token",
            &world,
        );
        assert_eq!(
            (f.workspace.as_deref(), f.service.as_deref()),
            (Some("ws"), Some("aks-1"))
        );
        assert!(f.aml_token_call && !f.listkeys_call);
        let aad = Facts::from_path(
            Surface::Aad,
            "POST",
            "/adfs/contoso.onmicrosoft.com/oauth2/v2.0/token",
            &world,
        );
        assert!(aad.token_endpoint && !aad.jwks);
        assert_eq!(aad.tenant.as_deref(), Some("contoso.onmicrosoft.com"));
        let jwks = Facts::from_path(Surface::Aad, "GET", "/common/discovery/v2.0/keys", &world);
        assert!(jwks.jwks && !jwks.token_endpoint);
        let mut aad = aad;
        aad.add_token_request(Some("password"), None, Some("abc"), Some("u@x"), &world);
        assert_eq!(aad.grant.as_deref(), Some("password"));
        assert_eq!(aad.identities, vec!["u@x".to_string(), "abc".to_string()]);
        let mut scoring = Facts::from_path(Surface::Scoring, "POST", "/online/ep/score", &world);
        scoring.add_bearer(b"not-a-token", &world);
        assert_eq!(scoring.identities, vec!["key holder".to_string()]);
        assert_eq!(scoring.service.as_deref(), Some("ep"));
    }
}
