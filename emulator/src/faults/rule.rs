//! A fault rule: what to match, what to do, and when. Rules come from the fixtures (`[[faults]]`),
//! the control API (`POST /_emulator/faults`) and the CLI (`azureml-emulator fault add`), all as a
//! [`RuleSpec`]; [`RuleSpec::check`] refuses a kind the surface cannot have.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where a rule applies. `aad` is the token endpoints (any Entra ID path with `route`); `jwks` the
/// key sets (`…/discovery[/v2.0]/keys`); `any` every surface but the control API.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::AsRefStr, strum::EnumString, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum FaultSurface {
    Aad,
    Jwks,
    Arm,
    ModelManagement,
    Scoring,
    Any,
}

/// What a rule does. Each renders in the exact shape of the surface it fires on
/// ([`super::render`]); [`Kind::allowed_on`] says where each may be used.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::AsRefStr,
    strum::EnumString,
    strum::VariantArray,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Kind {
    /// AAD: `429` + `Retry-After` (60 by default) and AAD's plain-text body for client credentials,
    /// `400 invalid_grant` AADSTS50196 for user flows; ARM: `429 SubscriptionRequestsThrottled`
    /// with `Retry-After` and `x-ms-ratelimit-remaining-subscription-reads|writes: 0`; model
    /// management and scoring: `429` with `Retry-After`.
    Throttle,
    /// `500` in the surface's shape (AAD: `server_error` AADSTS50000), with `Retry-After` only when
    /// the rule sets one.
    ServerError,
    /// `503` in the surface's shape (AAD: `temporarily_unavailable` AADSTS90033), with
    /// `Retry-After` only when the rule sets one.
    Unavailable,
    /// Added latency, fixed (`latency_ms`) or drawn from `latency_ms..=latency_max_ms`; the request
    /// then proceeds.
    Latency,
    /// AAD: AADSTS7000215 (wrong secret) whatever the secret.
    InvalidClient,
    /// AAD: AADSTS7000222 (expired secret).
    ExpiredSecret,
    /// AAD: AADSTS7000112 (disabled application).
    DisabledClient,
    /// AAD: AADSTS50076 (multi-factor authentication required), `invalid_grant`.
    MfaRequired,
    /// AAD: AADSTS50053 (account locked), `invalid_grant`.
    AccountLocked,
    /// AAD: AADSTS50057 (user account disabled), `invalid_grant`.
    AccountDisabled,
    /// AAD: the token is signed with a key the JWKS does not publish (unknown `kid`).
    UnknownKid,
    /// JWKS: the key set is served without the current signing key.
    MissingKey,
    /// ARM and model management: `401 ExpiredAuthenticationToken` for a still-valid token.
    ExpiredToken,
    /// ARM: the continuous-access-evaluation claims challenge for tokens carrying `xms_cc: CP1`
    /// issued before the rule (a token requested with the challenge's claims is accepted).
    ClaimsChallenge,
    /// Model management and ARM: the Azure ML token call fails (503) as in a region outage
    /// (`region` limits it to workspaces of that region).
    RegionOutage,
    /// Model management and ARM: listing keys fails with `500`.
    KeysUnavailable,
    /// Scoring: `401` for a valid credential.
    Unauthorized,
    /// The connection is closed without an answer.
    Reset,
    /// The answer is cut off half-way through its body.
    Truncate,
}

impl Kind {
    /// The surfaces the kind has a meaning on.
    pub fn allowed_on(self, surface: FaultSurface) -> bool {
        use FaultSurface as S;
        use Kind as K;
        match self {
            K::Latency | K::Reset | K::Truncate | K::ServerError | K::Unavailable => true,
            K::Throttle => !matches!(surface, S::Jwks | S::Any),
            K::InvalidClient
            | K::ExpiredSecret
            | K::DisabledClient
            | K::MfaRequired
            | K::AccountLocked
            | K::AccountDisabled
            | K::UnknownKid => surface == S::Aad,
            K::MissingKey => surface == S::Jwks,
            K::ExpiredToken | K::RegionOutage | K::KeysUnavailable => matches!(surface, S::Arm | S::ModelManagement),
            K::ClaimsChallenge => surface == S::Arm,
            K::Unauthorized => surface == S::Scoring,
        }
    }

    /// Kinds that let the request go on (the handler still answers it).
    pub fn proceeds(self) -> bool {
        matches!(
            self,
            Kind::Latency | Kind::UnknownKid | Kind::MissingKey | Kind::Truncate
        )
    }
}

/// What a request must be for the rule to match. Every field given must match; strings compare
/// case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// A path pattern (`*` matches anything, across `/`), optionally after a method:
    /// `*/listkeys`, `POST */token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// AAD: the token request's `grant_type` (`client_credentials`, `password`, `refresh_token`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// The tenant: AAD's path segment (id or domain), or the token's `tid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The client or principal: a client id, object id, UPN, display name, or `key holder`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The workspace's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// The web service's or online endpoint's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The workspace's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// When a matching request is hit: the next `count` of them, inside a window of the emulator
/// clock, with a seeded probability — any combination (all that are given must hold). A draw that
/// misses does not use up the count.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// RFC 3339, emulator clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Relative to the emulator clock when the rule is added (turned into `from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_seconds: Option<i64>,
    /// Relative to `from` (or to when the rule is added; turned into `until`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_seconds: Option<i64>,
    /// 0.0–1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seeds the probability's draws, so a run repeats (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// A rule as given: `{"id"?, "surface", "kind", "match"?, "when"?, "retry_after"?, "latency_ms"?,
/// "latency_max_ms"?}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Assigned (`f1`, `f2`, …) when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub surface: FaultSurface,
    pub kind: Kind,
    #[serde(default, rename = "match")]
    pub matcher: Match,
    #[serde(default)]
    pub when: When,
    /// Seconds, for `throttle` (default 60 on AAD, 5 elsewhere), `server-error` and `unavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Milliseconds, for `latency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Upper bound of a latency range (drawn with the rule's seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_max_ms: Option<u64>,
}

/// Longest latency a rule may add (a stuck request would hold a worker's connection).
pub const MAX_LATENCY_MS: u64 = 120_000;

impl RuleSpec {
    /// Whether matching needs the request's credential: its token's claims or its token request's
    /// form. Without such a rule in the table, the fault layer reads only the path.
    pub fn reads_credential(&self) -> bool {
        let m = &self.matcher;
        matches!(self.kind, Kind::ExpiredToken | Kind::ClaimsChallenge)
            || m.grant.is_some()
            || m.tenant.is_some()
            || m.principal.is_some()
    }

    /// Refuses what cannot work, with a message naming the field.
    pub fn check(&self) -> Result<(), String> {
        if !self.kind.allowed_on(self.surface) {
            return Err(format!(
                "kind '{}' has no meaning on surface '{}'",
                self.kind.as_ref(),
                self.surface.as_ref()
            ));
        }
        if let Some(id) = &self.id {
            let ok =
                (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !ok {
                return Err(format!("id '{id}': 1-64 letters, digits, '-', '_' or '.'"));
            }
        }
        let latency = self.latency_ms.is_some() || self.latency_max_ms.is_some();
        if self.kind == Kind::Latency && self.latency_ms.is_none() {
            return Err("kind 'latency' needs latency_ms".into());
        }
        if self.kind != Kind::Latency && latency {
            return Err("latency_ms and latency_max_ms go with kind 'latency' only".into());
        }
        if self.latency_ms.max(self.latency_max_ms).unwrap_or(0) > MAX_LATENCY_MS {
            return Err(format!("latency is at most {MAX_LATENCY_MS} ms"));
        }
        if let (Some(lo), Some(hi)) = (self.latency_ms, self.latency_max_ms) {
            if hi < lo {
                return Err("latency_max_ms is below latency_ms".into());
            }
        }
        if self.retry_after.is_some_and(|r| r > 86_400) {
            return Err("retry_after is at most 86400 seconds".into());
        }
        let w = &self.when;
        if w.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return Err("probability is between 0 and 1".into());
        }
        if w.count == Some(0) {
            return Err("count is at least 1".into());
        }
        for (name, value) in [("from", &w.from), ("until", &w.until)] {
            if let Some(v) = value {
                OffsetDateTime::parse(v, &Rfc3339).map_err(|e| format!("{name}: '{v}' is not RFC 3339: {e}"))?;
            }
        }
        if w.after_seconds.is_some() && w.from.is_some() {
            return Err("give from or after_seconds, not both".into());
        }
        if w.for_seconds.is_some() && w.until.is_some() {
            return Err("give until or for_seconds, not both".into());
        }
        if w.for_seconds.is_some_and(|s| s <= 0) || w.after_seconds.is_some_and(|s| s < 0) {
            return Err("for_seconds is positive and after_seconds not negative".into());
        }
        if let Some(region) = &self.matcher.region {
            if !crate::domain::services::is_region_name(region) {
                return Err(format!("region '{region}' is not an Azure region name"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_checked_against_surfaces() {
        let spec = |surface, kind| RuleSpec {
            id: None,
            surface,
            kind,
            matcher: Match::default(),
            when: When::default(),
            retry_after: None,
            latency_ms: None,
            latency_max_ms: None,
        };
        assert!(spec(FaultSurface::Aad, Kind::Throttle).check().is_ok());
        assert!(spec(FaultSurface::Scoring, Kind::MfaRequired).check().is_err());
        assert!(
            spec(FaultSurface::Arm, Kind::Latency).check().is_err(),
            "needs latency_ms"
        );
        let mut bad = spec(FaultSurface::Arm, Kind::Throttle);
        bad.when.probability = Some(1.5);
        assert!(bad.check().unwrap_err().contains("probability"));
        let parsed: RuleSpec = serde_json::from_str(
            r#"{"surface":"model-management","kind":"region-outage","match":{"region":"eastus"},"when":{"count":2}}"#,
        )
        .unwrap();
        assert!(parsed.check().is_ok());
        assert_eq!(parsed.when.count, Some(2));
    }
}
