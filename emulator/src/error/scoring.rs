//! Scoring errors: `{"message": …}` with the status the scoring router gives, and
//! `WWW-Authenticate: Bearer` on every 401 (a missing, wrong, regenerated-away or expired credential
//! is always 401, never 403: only an authenticated Entra caller without the score action gets 403).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

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
