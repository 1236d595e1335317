//! Each fault kind's answer in the shape of the surface it fires on, through that surface's own
//! error type, and the words the journal records for it.
//!
//! Sources for the shapes: AAD's 429 is `Retry-After: 60` with the plain-text body `Too Many
//! Requests` (MSAL.NET issue 2855, the body MSAL could not parse), and user flows are told
//! `invalid_grant` AADSTS50196 (MSAL's "client-and-server throttling" page); ARM's subscription
//! throttling is `429 SubscriptionRequestsThrottled` with `Retry-After` and the
//! `x-ms-ratelimit-remaining-subscription-reads|writes` header at 0 (ARM's "request limits and
//! throttling" page); the continuous-access-evaluation challenge is `401` with
//! `WWW-Authenticate: Bearer authorization_uri="…", error="insufficient_claims", claims="<base64>"`
//! and ARM's `InvalidAuthenticationToken` "Continuous access evaluation resulted in challenge"
//! (the CAE how-to for resource providers). The AADSTS texts are those of Entra ID's error-code list.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use time::OffsetDateTime;

use super::facts::Facts;
use super::{Fired, Kind};
use crate::error::{AadError, ArmError, MmsError, ScoringError};
use crate::http::surface::Surface;
use crate::state::AppState;

/// Retry-After of `throttle` when the rule gives none: Entra ID's 60 s, ARM's and the others' 5 s.
pub fn default_retry_after(surface: Surface) -> u64 {
    if surface == Surface::Aad {
        60
    } else {
        5
    }
}

/// Grants that sign a user in: throttled with AADSTS50196 rather than a 429.
fn user_flow(grant: Option<&str>) -> bool {
    matches!(
        grant,
        Some(
            "password"
                | "refresh_token"
                | "authorization_code"
                | "device_code"
                | "urn:ietf:params:oauth:grant-type:device_code"
                | "urn:ietf:params:oauth:grant-type:jwt-bearer"
        )
    )
}

fn aad(error: &'static str, code: u32, status: u16, message: &str) -> AadError {
    AadError {
        error,
        code,
        status,
        message: message.to_string(),
        suberror: None,
    }
}

/// The AADSTS error a kind answers with on the token endpoint (none for the kinds that are not one).
pub fn aad_error(kind: Kind, facts: &Facts) -> Option<AadError> {
    let client = facts.identities.last().cloned().unwrap_or_default();
    Some(match kind {
        Kind::Throttle => aad("invalid_grant", 50196, 400, "The server terminated an operation because it encountered a client request loop. Please contact your app vendor."),
        Kind::ServerError => aad("server_error", 50000, 500, "There was an error issuing a token or an issue with our sign-in service."),
        Kind::Unavailable => aad("temporarily_unavailable", 90033, 503, "A transient error has occurred. Please try again."),
        Kind::InvalidClient => aad("invalid_client", 7000215, 401, &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client}'.")),
        Kind::ExpiredSecret => aad("invalid_client", 7000222, 401, &format!("The provided client secret keys for app '{client}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.")),
        Kind::DisabledClient => aad("unauthorized_client", 7000112, 400, &format!("Application '{client}' is disabled.")),
        Kind::MfaRequired => aad("invalid_grant", 50076, 400, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource."),
        Kind::AccountLocked => aad("invalid_grant", 50053, 400, "Your account is locked because you've tried to sign in too many times with an incorrect user ID or password."),
        Kind::AccountDisabled => aad("invalid_grant", 50057, 400, "The user account is disabled."),
        _ => return None,
    })
}

/// The answer of a fault that ends the request (every kind but those that proceed).
pub fn respond(state: &AppState, req: &HttpRequest, fired: &Fired, facts: &Facts) -> HttpResponse {
    let kind = fired.kind();
    let retry_after = fired.rule.spec.retry_after;
    let throttle_after = retry_after.unwrap_or_else(|| default_retry_after(facts.surface));
    let mut response = match facts.surface {
        Surface::Aad => aad_response(state, req, kind, facts),
        Surface::Arm => arm_response(state, req, kind, facts, throttle_after),
        Surface::ModelManagement => mms_response(state, req, kind, facts, throttle_after),
        Surface::Scoring => scoring_response(kind, throttle_after),
        _ => generic_response(req, facts.surface, kind),
    };
    let loop_detected = facts.surface == Surface::Aad && user_flow(facts.grant.as_deref());
    let retry = match kind {
        // AADSTS50196 is a 400 of its own: Retry-After only when the rule asks for one (azure-core
        // retries any answer that carries it).
        Kind::Throttle if loop_detected => retry_after,
        Kind::Throttle => Some(throttle_after),
        Kind::ServerError | Kind::Unavailable => retry_after,
        _ => None,
    };
    if let Some(seconds) = retry {
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(actix_web::http::header::RETRY_AFTER, v);
        }
    }
    response
}

fn aad_response(state: &AppState, req: &HttpRequest, kind: Kind, facts: &Facts) -> HttpResponse {
    if kind == Kind::Throttle && !user_flow(facts.grant.as_deref()) && !facts.jwks {
        return HttpResponse::TooManyRequests()
            .content_type("text/plain; charset=utf-8")
            .body("Too Many Requests");
    }
    match aad_error(kind, facts) {
        Some(e) => e
            .render_at(state.clock.now(), crate::http::client_request_id(req))
            .error_response(),
        None => generic_response(req, Surface::Aad, kind),
    }
}

/// ARM's 401 challenge URI: the token's tenant on this emulator.
fn authorization_uri(state: &AppState, req: &HttpRequest, facts: &Facts) -> String {
    let tenant = facts.tenant.as_deref().unwrap_or("common");
    format!("{}/{tenant}", state.origins.for_request(req))
}

fn arm_error(state: &AppState, req: &HttpRequest, kind: Kind, facts: &Facts, retry_after: u64) -> Option<ArmError> {
    let now = state.clock.now();
    Some(match kind {
        Kind::Throttle => {
            let verb = if facts.method == "GET" { "read" } else { "write" };
            ArmError::generic(429, "SubscriptionRequestsThrottled", &format!(
                "Number of '{verb}' requests for subscription actor exceeded. Please try again after '{retry_after}' seconds after the last throttled request."
            ))
        }
        Kind::ServerError => ArmError::generic(
            500,
            "InternalServerError",
            "Encountered internal server error. Please try again.",
        ),
        Kind::Unavailable => ArmError::generic(
            503,
            "ServiceUnavailable",
            "The server is currently unable to handle the request. Please try again.",
        ),
        Kind::ExpiredToken => {
            let exp = facts
                .token
                .as_ref()
                .and_then(|t| t.exp)
                .and_then(|e| OffsetDateTime::from_unix_timestamp(e).ok())
                .unwrap_or(now);
            // The clock-skew demo: the server's clock reads later than the token's expiry.
            ArmError::expired(
                exp,
                now.max(exp + time::Duration::seconds(1)),
                &authorization_uri(state, req, facts),
            )
        }
        Kind::ClaimsChallenge => {
            let claims =
                json!({"access_token": {"nbf": {"essential": true, "value": now.unix_timestamp().to_string()}}});
            let mut e = ArmError::generic(401, "InvalidAuthenticationToken", "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp");
            e.challenge = Some(format!(
                "Bearer authorization_uri=\"{}\", error=\"insufficient_claims\", claims=\"{}\"",
                authorization_uri(state, req, facts),
                STANDARD.encode(claims.to_string())
            ));
            e
        }
        Kind::RegionOutage => ArmError::region_unavailable(facts.region.as_deref().unwrap_or("unknown")),
        Kind::KeysUnavailable => {
            ArmError::generic(500, "InternalServerError", "Listing the keys failed. Please try again.")
        }
        _ => return None,
    })
}

fn arm_response(state: &AppState, req: &HttpRequest, kind: Kind, facts: &Facts, retry_after: u64) -> HttpResponse {
    let Some(e) = arm_error(state, req, kind, facts, retry_after) else {
        return generic_response(req, Surface::Arm, kind);
    };
    let mut response = e.error_response();
    if kind == Kind::Throttle {
        let name = if facts.method == "GET" {
            "x-ms-ratelimit-remaining-subscription-reads"
        } else {
            "x-ms-ratelimit-remaining-subscription-writes"
        };
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static(name),
            actix_web::http::header::HeaderValue::from_static("0"),
        );
    }
    response
}

fn mms_response(state: &AppState, req: &HttpRequest, kind: Kind, facts: &Facts, retry_after: u64) -> HttpResponse {
    let e = match kind {
        Kind::Throttle => MmsError::new(
            429,
            "TooManyRequests",
            format!("The request was throttled. Please try again after {retry_after} seconds."),
        ),
        Kind::ServerError => MmsError::new(
            500,
            "InternalServerError",
            "An internal server error occurred. Please try again.",
        ),
        Kind::Unavailable => MmsError::new(
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please try again.",
        ),
        Kind::RegionOutage => MmsError::region_unavailable(facts.region.as_deref().unwrap_or("unknown")),
        Kind::KeysUnavailable => {
            MmsError::new(500, "InternalServerError", "Listing the keys failed. Please try again.")
        }
        _ => match arm_error(state, req, kind, facts, retry_after) {
            Some(e) => MmsError::from(e),
            None => return generic_response(req, Surface::ModelManagement, kind),
        },
    };
    e.error_response()
}

fn scoring_response(kind: Kind, retry_after: u64) -> HttpResponse {
    let e = match kind {
        Kind::Throttle => ScoringError::new(
            429,
            format!("Too many requests: the endpoint is throttling. Retry after {retry_after} seconds."),
        ),
        Kind::ServerError => ScoringError::new(500, "An unexpected error occurred in scoring the request."),
        Kind::Unavailable => ScoringError::new(503, "Service Unavailable: no healthy upstream."),
        Kind::Unauthorized => ScoringError::unauthenticated("The credential was rejected: authentication failed."),
        _ => ScoringError::new(500, "An unexpected error occurred in scoring the request."),
    };
    e.error_response()
}

/// `server-error` / `unavailable` on a surface without its own words (JWKS, metadata).
fn generic_response(req: &HttpRequest, surface: Surface, kind: Kind) -> HttpResponse {
    let failure = match kind {
        Kind::Unavailable => crate::error::Generic {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "ServiceUnavailable",
            message: "The service is temporarily unavailable. Please try again.".into(),
        },
        _ => crate::error::Generic {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalServerError",
            message: "An internal server error occurred. Please try again.".into(),
        },
    };
    crate::error::render(surface, req, &failure)
}

/// The journal's words for a fault that fired.
pub fn describe(fired: &Fired, facts: &Facts) -> String {
    let id = &fired.rule.id;
    let kind = fired.kind();
    let what = match kind {
        Kind::Latency => format!("added {} ms of latency", fired.latency_ms),
        Kind::Throttle if facts.surface == Surface::Aad && user_flow(facts.grant.as_deref()) => {
            "throttled a user flow: 400 invalid_grant AADSTS50196".into()
        }
        Kind::Throttle => format!(
            "throttled: 429 with Retry-After {}",
            fired
                .rule
                .spec
                .retry_after
                .unwrap_or_else(|| default_retry_after(facts.surface))
        ),
        Kind::UnknownKid => "the token is signed with an unpublished key (unknown kid)".into(),
        Kind::MissingKey => "the key set is served without the current signing key".into(),
        Kind::ClaimsChallenge => {
            "a CP1 token issued before the rule was challenged for new claims (401 insufficient_claims)".into()
        }
        Kind::ExpiredToken => "a valid token was refused as expired (ExpiredAuthenticationToken)".into(),
        Kind::RegionOutage => format!(
            "the Azure ML token call failed as in an outage of region {}",
            facts.region.as_deref().unwrap_or("unknown")
        ),
        Kind::Reset => "the connection was closed without an answer".into(),
        Kind::Truncate => "the answer was cut off half-way through its body".into(),
        Kind::Unauthorized => "a valid credential was refused with 401".into(),
        other => match aad_error(other, facts).filter(|_| facts.surface == Surface::Aad) {
            Some(e) => format!("{} {} AADSTS{}", e.status, e.error, e.code),
            None => other.as_ref().replace('-', " "),
        },
    };
    format!("fault {id} ({}): {what}", kind.as_ref())
}
