//! Errors of the managed-identity endpoints, each in its own service's shape:
//! IMDS and the Azure ML endpoint answer `{"error","error_description"}` (the OAuth shape);
//! App Service 2019-08-01 answers `{"statusCode","message","correlationId"}`. azure-identity and
//! msal-node read both (`reference/python-auth-clients.md`, `node-auth-clients.md` §3.5) and raise
//! `CredentialUnavailableError` / `ClientAuthenticationError`. Statuses are never 404, 410, 429 or
//! 5xx for a client mistake: azure-identity retries those for over a minute on IMDS.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Which endpoint's shape an error takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsiFlavor {
    Imds,
    AppService,
    AzureMl,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {message}")]
pub struct MsiError {
    pub flavor: MsiFlavor,
    pub status: u16,
    /// The OAuth `error` value (IMDS, Azure ML).
    pub error: &'static str,
    pub message: String,
}

impl MsiError {
    pub fn new(flavor: MsiFlavor, status: u16, error: &'static str, message: impl Into<String>) -> Self {
        MsiError {
            flavor,
            status,
            error,
            message: message.into(),
        }
    }

    pub fn bad_request(flavor: MsiFlavor, message: impl Into<String>) -> Self {
        Self::new(flavor, 400, "invalid_request", message)
    }
}

impl ResponseError for MsiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        tracing::info!(
            status = self.status,
            error = self.error,
            "managed-identity request refused"
        );
        let body = match self.flavor {
            MsiFlavor::AppService => json!({
                "statusCode": self.status,
                "message": self.message,
                "correlationId": uuid::Uuid::new_v4(),
            }),
            MsiFlavor::Imds | MsiFlavor::AzureMl => json!({"error": self.error, "error_description": self.message}),
        };
        HttpResponse::build(self.status_code()).json(body)
    }
}
