//! What a request is, as far as fault rules match on it. Gathered once per request, only while
//! some rule is in the table, and only what the rules look at ([`Needs`]): the path (surface,
//! route, workspace, service, tenant), the token request's form on the token endpoints (grant,
//! client, user), and the bearer token's claims elsewhere. The claims are read **without**
//! verifying the token: they only choose which fault fires, never what a request may do
//! (authentication still runs on every request a fault lets through).

use std::borrow::Cow;

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

/// What the rules in the table look at ([`Needs::of`] one rule, [`Needs::union`] of all), so
/// that a request gathers only that — and nothing at all on a surface no rule applies to. Kept in
/// one word: a bit per [`Surface`], and whether the credential or the world must be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs(u32);

impl Needs {
    /// A rule matches on the credential ([`RuleSpec::reads_credential`]).
    const CREDENTIAL: u32 = 1 << 16;
    /// A rule matches on what only the world tells: a scoring request's workspace, a workspace's
    /// region (or renders it: `region-outage`).
    const WORLD: u32 = 1 << 17;
    /// The bits of the surfaces, one per [`Surface`] variant (fewer than 16).
    const SURFACES: u32 = Self::CREDENTIAL - 1;

    /// What `spec` looks at.
    pub fn of(spec: &RuleSpec) -> Needs {
        let one = |s: Surface| 1 << s as u32;
        let mut bits = match spec.surface {
            FaultSurface::Aad | FaultSurface::Jwks => one(Surface::Aad),
            FaultSurface::Arm => one(Surface::Arm),
            FaultSurface::ModelManagement => one(Surface::ModelManagement),
            FaultSurface::Scoring => one(Surface::Scoring),
            // Every surface, as [`Facts::matches`] has it ([`Needs::surface`] leaves out the
            // control API), so a surface added later is covered too.
            FaultSurface::Any => Self::SURFACES,
        };
        if spec.reads_credential() {
            bits |= Self::CREDENTIAL;
        }
        let m = &spec.matcher;
        if m.workspace.is_some() || m.region.is_some() || spec.kind == Kind::RegionOutage {
            bits |= Self::WORLD;
        }
        Needs(bits)
    }

    pub fn union(self, other: Needs) -> Needs {
        Needs(self.0 | other.0)
    }

    /// Whether some rule may apply on `surface` (never the control API).
    pub fn surface(self, surface: Surface) -> bool {
        surface != Surface::Control && self.0 & 1 << surface as u32 != 0
    }

    pub fn credential(self) -> bool {
        self.0 & Self::CREDENTIAL != 0
    }

    pub fn world(self) -> bool {
        self.0 & Self::WORLD != 0
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn from_bits(bits: u32) -> Needs {
        Needs(bits)
    }
}

/// The segments of a path, split on `/` byte by byte: request paths are short, and `str::split`'s
/// searcher costs more per segment than it saves on them.
struct Segments<'r>(Option<&'r str>);

impl<'r> Iterator for Segments<'r> {
    type Item = &'r str;

    fn next(&mut self) -> Option<&'r str> {
        let rest = self.0?;
        match rest.bytes().position(|b| b == b'/') {
            Some(i) => {
                self.0 = rest.get(i + 1..);
                rest.get(..i)
            }
            None => self.0.take(),
        }
    }
}

/// See the module documentation. What the path tells is borrowed from the request.
#[derive(Clone, Debug)]
pub struct Facts<'r> {
    pub surface: Surface,
    /// `…/discovery[/v2.0]/keys`.
    pub jwks: bool,
    /// `…/oauth2[/v2.0]/token`.
    pub token_endpoint: bool,
    /// An Azure ML token call (model management `services/{name}/token`, ARM `onlineEndpoints/{name}/token`).
    pub aml_token_call: bool,
    /// A key listing (model management `listkeys`, ARM `listKeys`).
    pub listkeys_call: bool,
    pub method: &'r str,
    pub path: &'r str,
    pub grant: Option<String>,
    /// Every name the caller goes by: client id, object id, UPN, display name, `key holder`.
    pub identities: Vec<String>,
    pub tenant: Option<Cow<'r, str>>,
    pub workspace: Option<Cow<'r, str>>,
    pub service: Option<&'r str>,
    /// Read from the world only when it is given ([`Needs::world`]).
    pub region: Option<String>,
    pub token: Option<TokenFacts>,
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl<'r> Facts<'r> {
    /// What the path and method tell, before any body or credential is read; with `world`, also
    /// the workspace and region the world gives.
    pub fn from_path(surface: Surface, method: &'r str, path: &'r str, world: Option<&World>) -> Self {
        // Read by iterating, never collected: this runs on every request while a rule is active.
        let trimmed = path.trim_matches('/');
        let segments = || Segments(Some(trimmed));
        let last = trimmed
            .bytes()
            .rposition(|b| b == b'/')
            .map_or(Some(trimmed), |i| trimmed.get(i + 1..))
            .unwrap_or_default();
        let aad = surface == Surface::Aad;
        let mut facts = Facts {
            surface,
            jwks: aad && eq(last, "keys") && segments().any(|s| eq(s, "discovery")),
            token_endpoint: aad && eq(last, "token") && segments().any(|s| eq(s, "oauth2")),
            aml_token_call: false,
            listkeys_call: false,
            method,
            path,
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
                let mut it = segments();
                let first = it.next();
                facts.tenant = if first == Some("adfs") { it.next() } else { first }.map(Cow::Borrowed);
            }
            Surface::Arm | Surface::ModelManagement => facts.resource_path(segments(), last, world),
            Surface::Scoring => facts.scoring_path(segments(), world),
            _ => {}
        }
        facts
    }

    /// ARM and model-management paths: the segment after each of the names below, found in one
    /// pass (the first of each).
    fn resource_path(&mut self, segments: impl Iterator<Item = &'r str>, last: &str, world: Option<&World>) {
        const NAMES: [&str; 5] = [
            "subscriptions",
            "resourceGroups",
            "workspaces",
            "services",
            "onlineEndpoints",
        ];
        let mut after: [Option<&'r str>; 5] = [None; 5];
        let mut previous = "";
        for segment in segments {
            if let Some(i) = NAMES.iter().position(|n| eq(n, previous)) {
                after[i] = after[i].or(Some(segment));
            }
            previous = segment;
        }
        let [sub, rg, workspace, service, endpoint] = after;
        self.workspace = workspace.map(Cow::Borrowed);
        self.service = service.or(endpoint);
        let post = self.method == "POST";
        self.aml_token_call = post && self.service.is_some() && eq(last, "token");
        self.listkeys_call = post && eq(last, "listkeys");
        if let (Some(world), Some(sub), Some(rg), Some(ws)) = (world, sub, rg, workspace) {
            self.region = sub
                .parse()
                .ok()
                .and_then(|s| world.workspace(s, rg, ws))
                .map(|w| w.location.clone());
        }
    }

    fn scoring_path(&mut self, mut segments: impl Iterator<Item = &'r str>, world: Option<&World>) {
        let name = match (segments.next(), segments.next(), segments.next(), segments.next()) {
            (Some("api"), Some("v1"), Some("service"), Some(name)) => name,
            (Some("aci" | "online"), Some(name), _, _) => name,
            _ => return,
        };
        self.service = Some(name);
        let Some(world) = world else { return };
        let ws: Option<&WorkspaceRef> = world
            .service(name)
            .map(|s| &s.workspace)
            .or_else(|| world.online_endpoint(name).map(|e| &e.workspace));
        if let Some(ws) = ws {
            self.workspace = Some(Cow::Owned(ws.workspace.clone()));
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
        self.tenant = self.tenant.take().or_else(|| token.tid.clone().map(Cow::Owned));
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
        let field =
            |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| have.is_some_and(|h| eq(w, h)));
        let route_ok = m.route.as_deref().is_none_or(|r| {
            let pattern = r.trim();
            match pattern.split_once(' ') {
                Some((method, path)) => eq(method, self.method) && wildcard_match(path.trim(), self.path),
                None => wildcard_match(pattern, self.path),
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
            && field(&m.grant, self.grant.as_deref())
            && field(&m.tenant, self.tenant.as_deref())
            && field(&m.workspace, self.workspace.as_deref())
            && field(&m.service, self.service)
            && field(&m.region, self.region.as_deref())
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
            Some(&world),
        );
        assert_eq!((f.workspace.as_deref(), f.service), (Some("ws"), Some("aks-1")));
        assert!(f.aml_token_call && !f.listkeys_call);
        let aad = Facts::from_path(
            Surface::Aad,
            "POST",
            "/adfs/contoso.onmicrosoft.com/oauth2/v2.0/token",
            Some(&world),
        );
        assert!(aad.token_endpoint && !aad.jwks);
        assert_eq!(aad.tenant.as_deref(), Some("contoso.onmicrosoft.com"));
        let jwks = Facts::from_path(Surface::Aad, "GET", "/common/discovery/v2.0/keys", Some(&world));
        assert!(jwks.jwks && !jwks.token_endpoint);
        let mut aad = aad;
        aad.add_token_request(Some("password"), None, Some("abc"), Some("u@x"), &world);
        assert_eq!(aad.grant.as_deref(), Some("password"));
        assert_eq!(aad.identities, vec!["u@x".to_string(), "abc".to_string()]);
        let mut scoring = Facts::from_path(Surface::Scoring, "POST", "/online/ep/score", Some(&world));
        scoring.add_bearer(b"not-a-token", &world);
        assert_eq!(scoring.identities, vec!["key holder".to_string()]);
        assert_eq!(scoring.service, Some("ep"));
    }

    #[test]
    fn needs_name_the_surfaces_and_what_rules_read() {
        let spec = |json: serde_json::Value| Needs::of(&serde_json::from_value::<RuleSpec>(json).unwrap());
        let scoring = spec(serde_json::json!({"surface": "scoring", "kind": "throttle", "match": {"service": "s"}}));
        assert!(scoring.surface(Surface::Scoring) && !scoring.surface(Surface::Arm));
        assert!(!scoring.credential() && !scoring.world());
        let any = spec(serde_json::json!({"surface": "any", "kind": "server-error", "match": {"region": "westus"}}));
        assert!(any.world() && any.surface(Surface::Metadata) && !any.surface(Surface::Control));
        let jwks = spec(serde_json::json!({"surface": "jwks", "kind": "missing-key", "match": {"principal": "p"}}));
        assert!(jwks.surface(Surface::Aad) && jwks.credential() && !jwks.surface(Surface::Scoring));
        let outage = spec(serde_json::json!({"surface": "model-management", "kind": "region-outage"}));
        assert!(outage.world(), "the outage's answer names the region");
        let all = scoring.union(jwks);
        assert!(all.surface(Surface::Aad) && all.surface(Surface::Scoring) && all.credential());
        assert_eq!(Needs::from_bits(all.bits()), all);
        assert!(!Needs::default().surface(Surface::Aad));
    }

    #[test]
    fn arm_paths_tell_the_first_segment_after_each_name() {
        let f = Facts::from_path(
            Surface::Arm,
            "POST",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/ep/listKeys",
            None,
        );
        assert_eq!((f.workspace.as_deref(), f.service), (Some("ws"), Some("ep")));
        assert!(f.listkeys_call && !f.aml_token_call);
        let bare = Facts::from_path(
            Surface::Arm,
            "GET",
            "/subscriptions/s/resourceGroups/rg/providers/x/workspaces",
            None,
        );
        assert_eq!((bare.workspace.as_deref(), bare.service), (None, None));
    }

    #[test]
    fn without_the_world_a_scoring_path_tells_only_its_service() {
        let f = Facts::from_path(Surface::Scoring, "POST", "/api/v1/service/aks-1/score", None);
        assert_eq!(
            (f.service, f.workspace.as_deref(), f.region.as_deref()),
            (Some("aks-1"), None, None)
        );
    }
}
