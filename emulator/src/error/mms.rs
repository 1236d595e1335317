//! Model-management (SDK v1 web services) errors: `{"code","statusCode","message","details"}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::arm::{challenged, ArmError};

/// Model-management service (SDK v1 web services) errors: `{"code","statusCode","message","details"}`.
/// Authentication failures keep ARM's codes, messages and challenge (MMS takes ARM tokens).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct MmsError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub challenge: Option<String>,
}

impl MmsError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        MmsError {
            status,
            code,
            message: message.into(),
            challenge: None,
        }
    }

    pub fn not_found(name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("Webservice with name {name} not found in provided workspace."),
        )
    }

    pub fn bad_argument(message: impl Into<String>) -> Self {
        Self::new(400, "BadArgument", message)
    }

    pub fn region_unavailable(region: &str) -> Self {
        Self::new(503, "ServiceUnavailable", format!(
            "The Azure Machine Learning service in region '{region}' is unavailable, so tokens cannot be issued. Key-based authentication is not affected."
        ))
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "model-management request failed");
        Self::new(
            500,
            "InternalServerError",
            "The emulator failed to process the request; see its log.",
        )
    }
}

impl From<crate::decision::Denial> for MmsError {
    fn from(d: crate::decision::Denial) -> Self {
        ArmError::from(d).into()
    }
}

impl From<ArmError> for MmsError {
    fn from(e: ArmError) -> Self {
        MmsError {
            status: e.status,
            code: e.code,
            message: e.message,
            challenge: e.challenge,
        }
    }
}

impl ResponseError for MmsError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        challenged(self.status_code(), self.challenge.as_deref())
            .json(json!({"code": self.code, "statusCode": self.status, "message": self.message, "details": []}))
    }
}
