//! Scoring errors: `{"message": …}` with the status the scoring router gives, and
//! `WWW-Authenticate: Bearer` on every 401 (a missing, wrong, regenerated-away or expired credential
//! is always 401, never 403: only an authenticated Entra caller without the score action gets 403).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::decision::{AuthnFailure, Denial};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ScoringError {
    pub status: u16,
    pub message: String,
}

impl ScoringError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ScoringError {
            status,
            message: message.into(),
        }
    }

    /// 401: no usable credential.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(401, message)
    }

    /// 403: an Entra caller whose roles do not allow scoring.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
}

/// What a scoring request was refused against, for the wording of its 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// A key-only web service.
    ServiceKey,
    /// A `Key` online endpoint.
    EndpointKey,
    /// A token-auth web service or an `AMLToken` endpoint.
    AmlToken,
    /// An `AADToken` endpoint.
    EntraToken,
}

/// Shown for a missing or non-Bearer Authorization header.
pub const MISSING_CREDENTIAL: &str = "No usable Authorization header: send 'Authorization: Bearer <key or token>'.";

impl ScoringError {
    /// Scoring's 401 for a refused credential (always 401, never 403).
    pub fn unauthenticated_by(failure: &AuthnFailure, expected: Expected) -> Self {
        let message = match (failure, expected) {
            (AuthnFailure::Missing | AuthnFailure::MalformedHeader, _) => MISSING_CREDENTIAL,
            (AuthnFailure::WrongKey, Expected::EndpointKey) => "The key is not valid for this endpoint.",
            (AuthnFailure::WrongKey, _) => "The key is not valid for this service.",
            (AuthnFailure::WrongTarget, _) => "The token was issued for another service or endpoint.",
            (AuthnFailure::Expired { .. } | AuthnFailure::NotYetValid(_), _) => {
                "The token has expired; fetch a new one."
            }
            (AuthnFailure::WrongAudience(_), _) => "The Microsoft Entra token must be issued for https://ml.azure.com.",
            (AuthnFailure::WrongTenant { .. }, _) => "The Microsoft Entra token is from another tenant.",
            (AuthnFailure::NoObjectId, _) => "The token names no object id.",
            (AuthnFailure::Invalid(_), Expected::EntraToken) => "The token is not a valid Microsoft Entra token.",
            (AuthnFailure::Invalid(_), _) => "The token is not a valid Azure Machine Learning token.",
        };
        Self::unauthenticated(message)
    }
}

impl From<Denial> for ScoringError {
    fn from(d: Denial) -> Self {
        ScoringError::forbidden(format!(
            "The principal '{}' does not have authorization to perform action '{}' over scope '{}'.",
            d.object_id, d.action, d.scope
        ))
    }
}

impl ResponseError for ScoringError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        if self.status == 401 {
            builder.insert_header(("WWW-Authenticate", "Bearer"));
        }
        builder.json(json!({"message": self.message}))
    }
}
