//! Each surface's error shape, rendered in one place. One error type per surface:
//!
//! - AAD: [`AadError`] / [`AadFailure`] (`error/aad.rs`).
//! - ARM: [`ArmError`] (`error/arm.rs`), with ARM's `WWW-Authenticate` challenge on 401s.
//! - Model management: [`MmsError`] (`error/mms.rs`).
//! - Scoring: [`ScoringError`] (`error/scoring.rs`).
//! - The control API: [`AdminError`] (`error/admin.rs`).
//! - Managed-identity endpoints: [`MsiError`] (`error/msi.rs`).
//!
//! Failures that any surface can have — no route, a body too large or too slow, a media type it
//! does not take, an internal error — are a [`Generic`] rendered by [`render`] in the shape of the
//! surface the request was addressed to.

mod aad;
mod admin;
mod arm;
mod mms;
mod msi;
pub mod scoring;

pub use aad::{aad_timestamp, AadError, AadFailure};
pub use admin::AdminError;
pub use arm::{dotnet_time, ArmError, ARM_AUDIENCES};
pub use mms::MmsError;
pub use msi::{MsiError, MsiFlavor};
pub use scoring::ScoringError;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::http::surface::Surface;

/// A failure not specific to one surface: its status, an ARM-style code and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generic {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Generic {
    /// No route answers this method and path.
    pub fn no_route(method: &str, path: &str) -> Self {
        Generic {
            status: StatusCode::NOT_FOUND,
            code: "NotFound",
            message: format!("No emulated endpoint answers {method} {path}."),
        }
    }

    /// An error the web framework produced before any handler ran (an extractor's plain-text
    /// 4xx: body too large, unreadable query, …), keeping its status and its message.
    pub fn framework(status: StatusCode, message: &str) -> Self {
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "RequestEntityTooLarge",
            StatusCode::REQUEST_TIMEOUT => "RequestTimeout",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
            StatusCode::NOT_FOUND => "NotFound",
            StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
            _ => "BadRequest",
        };
        let message = match status {
            StatusCode::PAYLOAD_TOO_LARGE => format!("The request body is too large ({message})."),
            _ if message.is_empty() => status.canonical_reason().unwrap_or("Bad request").to_string(),
            _ => message.to_string(),
        };
        Generic { status, code, message }
    }

    /// The request body stalled: no complete body within the server's timeout.
    pub fn timeout() -> Self {
        Generic {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "RequestTimeout",
            message: "The request body was not received in time.".into(),
        }
    }
}

/// `failure` in the shape of `surface`. AAD failures carry AAD's trace and correlation ids and
/// timestamp (from the emulator clock of the request's emulator, when there is one).
pub fn render(surface: Surface, req: &HttpRequest, failure: &Generic) -> HttpResponse {
    let status = failure.status.as_u16();
    match surface {
        Surface::Aad => {
            let now = req
                .app_data::<actix_web::web::Data<crate::state::AppState>>()
                .map_or_else(time::OffsetDateTime::now_utc, |s| s.clock.now());
            AadError::generic(status, &failure.message)
                .render_at(now, crate::http::client_request_id(req))
                .error_response()
        }
        Surface::Arm | Surface::Metadata => ArmError::generic(status, failure.code, &failure.message).error_response(),
        Surface::ModelManagement => MmsError::new(status, failure.code, &failure.message).error_response(),
        Surface::Scoring => ScoringError::new(status, &failure.message).error_response(),
        Surface::Control => AdminError::Status(failure.status, failure.code, failure.message.clone()).error_response(),
        Surface::ManagedIdentity => {
            MsiError::new(MsiFlavor::Imds, status, "invalid_request", &failure.message).error_response()
        }
    }
}
