//! Errors of the emulator-control API: `{"error":{"code","message"}}` (the ARM envelope, so one
//! parser serves both).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Errors of the emulator-control API, in the ARM envelope.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("The emulator control API answers loopback clients only, or clients presenting the admin key.")]
    Forbidden,
    #[error("The emulator control API does not answer web pages of other origins (the request's Origin header is not one of the emulator's configured origins).")]
    CrossOrigin,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    /// A failure any surface can have: status, code, message.
    #[error("{2}")]
    Status(StatusCode, &'static str, String),
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminError::Forbidden | AdminError::CrossOrigin => StatusCode::FORBIDDEN,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AdminError::Status(status, _, _) => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            AdminError::Forbidden => "AdminAccessDenied",
            AdminError::CrossOrigin => "AdminCrossOriginDenied",
            AdminError::BadRequest(_) => "InvalidRequest",
            AdminError::NotFound(_) => "NotFound",
            AdminError::Unavailable(_) => "ServiceUnavailable",
            AdminError::Internal(_) => "InternalError",
            AdminError::Status(_, code, _) => code,
        };
        if let AdminError::Internal(cause) = self {
            tracing::error!(%cause, "admin request failed");
        }
        HttpResponse::build(self.status_code()).json(json!({"error": {"code": code, "message": self.to_string()}}))
    }
}
