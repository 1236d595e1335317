//! Each surface's error shape, rendered in one place.
//!
//! - AAD: `{"error","error_description":"AADSTSn: …\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …",
//!   "error_codes","timestamp","trace_id","correlation_id","error_uri"}` with AAD's status.
//! - Admin API: `{"error":{"code","message"}}` (the ARM envelope, so one parser serves both).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::world::Application;
use crate::domain::ClientId;

/// An Entra ID error: OAuth `error` value, AADSTS number, HTTP status and message text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("AADSTS{code}: {message}")]
pub struct AadError {
    pub error: &'static str,
    pub code: u32,
    pub status: u16,
    pub message: String,
}

fn aad(error: &'static str, code: u32, status: u16, message: String) -> AadError {
    AadError {
        error,
        code,
        status,
        message,
    }
}

impl AadError {
    pub fn unknown_tenant(tenant: &str) -> Self {
        aad("invalid_request", 90002, 400, format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ))
    }

    pub fn malformed_tenant(tenant: &str) -> Self {
        aad(
            "invalid_request",
            900023,
            400,
            format!("Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain."),
        )
    }

    pub fn missing_parameter(name: &str) -> Self {
        aad(
            "invalid_request",
            900144,
            400,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    pub fn unknown_client(client_id: &str, tenant: &str) -> Self {
        aad("unauthorized_client", 700016, 400, format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ))
    }

    pub fn invalid_secret(client_id: ClientId) -> Self {
        aad("invalid_client", 7000215, 401, format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
        ))
    }

    pub fn expired_secret(client_id: ClientId) -> Self {
        aad("invalid_client", 7000222, 401, format!(
            "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
        ))
    }

    pub fn missing_client_credential() -> Self {
        aad(
            "invalid_client",
            7000218,
            401,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into(),
        )
    }

    pub fn disabled_application(app: &Application) -> Self {
        aad(
            "unauthorized_client",
            7000112,
            400,
            format!("Application '{}'({}) is disabled.", app.client_id, app.display_name),
        )
    }

    pub fn unsupported_grant_type(grant: &str) -> Self {
        aad(
            "unsupported_grant_type",
            70003,
            400,
            format!("The app requested an unsupported grant type '{grant}'."),
        )
    }

    pub fn invalid_scope(scope: &str) -> Self {
        aad(
            "invalid_scope",
            70011,
            400,
            format!("The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."),
        )
    }

    pub fn resource_parameter_not_supported() -> Self {
        aad(
            "invalid_request",
            901002,
            400,
            "The 'resource' request parameter is not supported.".into(),
        )
    }

    pub fn unknown_resource(resource: &str, tenant_name: &str) -> Self {
        aad("invalid_resource", 500011, 400, format!(
            "The resource principal named {resource} was not found in the tenant named {tenant_name}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
        ))
    }

    /// At the discovery endpoints a bad tenant is reported as `invalid_tenant`.
    pub fn at_discovery(mut self) -> Self {
        if matches!(self.code, 90002 | 900023) {
            self.error = "invalid_tenant";
        }
        self
    }

    /// Attaches what the wire shape needs besides the error itself.
    pub fn render_at(self, now: OffsetDateTime, correlation_id: Option<Uuid>) -> AadFailure {
        let correlation_id = correlation_id.unwrap_or_else(Uuid::new_v4);
        AadFailure {
            error: self,
            timestamp: aad_timestamp(now),
            trace_id: Uuid::new_v4(),
            correlation_id,
        }
    }
}

/// AAD's timestamp format: `2026-11-28 19:02:44Z`.
pub fn aad_timestamp(now: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    now.format(&f).expect("formattable timestamp")
}

/// An [`AadError`] ready to be sent.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct AadFailure {
    pub error: AadError,
    pub timestamp: String,
    pub trace_id: Uuid,
    pub correlation_id: Uuid,
}

impl ResponseError for AadFailure {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        let e = &self.error;
        tracing::info!(code = e.code, error = e.error, "AAD request refused");
        let description = format!(
            "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            e.code, e.message, self.trace_id, self.correlation_id, self.timestamp
        );
        HttpResponse::build(self.status_code())
            .insert_header(("Cache-Control", "no-store, no-cache"))
            .insert_header(("x-ms-request-id", self.trace_id.to_string()))
            .insert_header(("client-request-id", self.correlation_id.to_string()))
            .json(json!({
                "error": e.error,
                "error_description": description,
                "error_codes": [e.code],
                "timestamp": self.timestamp,
                "trace_id": self.trace_id,
                "correlation_id": self.correlation_id,
                "error_uri": format!("https://login.microsoftonline.com/error?code={}", e.code),
            }))
    }
}

/// Errors of the emulator-control API, in the ARM envelope.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("The emulator control API answers loopback clients only, or clients presenting the admin key.")]
    Forbidden,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminError::Forbidden => StatusCode::FORBIDDEN,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            AdminError::Forbidden => "AdminAccessDenied",
            AdminError::BadRequest(_) => "InvalidRequest",
            AdminError::NotFound(_) => "NotFound",
            AdminError::Unavailable(_) => "ServiceUnavailable",
            AdminError::Internal(_) => "InternalError",
        };
        if let AdminError::Internal(cause) = self {
            tracing::error!(%cause, "admin request failed");
        }
        HttpResponse::build(self.status_code()).json(json!({"error": {"code": code, "message": self.to_string()}}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_carries_trace_correlation_and_timestamp() {
        let now = time::macros::datetime!(2026-11-28 19:02:44 UTC);
        let corr = "0f0e0d0c-0b0a-4909-8807-060504030201";
        let failure = AadError::missing_parameter("grant_type").render_at(now, Some(corr.parse().unwrap()));
        assert_eq!(failure.timestamp, "2026-11-28 19:02:44Z");
        assert_eq!(failure.correlation_id.to_string(), corr);
        assert_eq!(failure.status_code(), StatusCode::BAD_REQUEST);
        assert_ne!(
            AadError::missing_parameter("x")
                .render_at(now, None)
                .correlation_id
                .to_string(),
            corr
        );
    }
}

/// An ARM error: `{"error":{"code","message"}}` with its status, and on 401 the
/// `WWW-Authenticate: Bearer authorization_uri=…, error="invalid_token", error_description=…` challenge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ArmError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// The `WWW-Authenticate` value, for 401s.
    pub challenge: Option<String>,
}

fn arm(status: u16, code: &'static str, message: String) -> ArmError {
    ArmError {
        status,
        code,
        message,
        challenge: None,
    }
}

/// The audiences ARM accepts, as its error message lists them.
pub const ARM_AUDIENCES: [&str; 4] = [
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

/// .NET's `M/d/yyyy h:mm:ss tt`, which ARM uses in ExpiredAuthenticationToken.
pub fn dotnet_time(t: OffsetDateTime) -> String {
    let (h, ampm) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{}/{}/{} {}:{:02}:{:02} {}",
        u8::from(t.month()),
        t.day(),
        t.year(),
        h,
        t.minute(),
        t.second(),
        ampm
    )
}

impl ArmError {
    /// 401 with a challenge naming the authority to get a token from.
    fn unauthenticated(code: &'static str, message: String, authorization_uri: &str, description: &str) -> Self {
        ArmError {
            status: 401,
            code,
            message,
            challenge: Some(format!(
                "Bearer authorization_uri=\"{authorization_uri}\", error=\"invalid_token\", error_description=\"{description}\""
            )),
        }
    }

    pub fn missing_authorization(authorization_uri: &str) -> Self {
        Self::unauthenticated(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".into(),
            authorization_uri,
            "The authentication failed because of missing 'Authorization' header.",
        )
    }

    pub fn malformed_authorization(authorization_uri: &str) -> Self {
        Self::unauthenticated(
            "AuthenticationFailedInvalidHeader",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.".into(),
            authorization_uri,
            "The authentication failed because of an invalid 'Authorization' header.",
        )
    }

    pub fn invalid_token(authorization_uri: &str) -> Self {
        Self::unauthenticated(
            "InvalidAuthenticationToken",
            "The access token is invalid.".into(),
            authorization_uri,
            "The access token is invalid.",
        )
    }

    pub fn wrong_audience(aud: &str, authorization_uri: &str) -> Self {
        let allowed = ARM_AUDIENCES
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(",");
        Self::unauthenticated(
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences {allowed}."
            ),
            authorization_uri,
            "The access token has been obtained for wrong audience or resource.",
        )
    }

    pub fn wrong_tenant(token_issuer: &str, tenant: &str, authorization_uri: &str) -> Self {
        Self::unauthenticated(
            "InvalidAuthenticationTokenTenant",
            format!(
                "The access token is from the wrong issuer '{token_issuer}'. It must match the tenant 'https://sts.windows.net/{tenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{tenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later."
            ),
            authorization_uri,
            "The access token is from the wrong issuer.",
        )
    }

    pub fn expired(exp: OffsetDateTime, now: OffsetDateTime, authorization_uri: &str) -> Self {
        Self::unauthenticated(
            "ExpiredAuthenticationToken",
            format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                dotnet_time(exp),
                dotnet_time(now)
            ),
            authorization_uri,
            "The access token has expired.",
        )
    }

    pub fn not_yet_valid(authorization_uri: &str) -> Self {
        Self::unauthenticated(
            "InvalidAuthenticationToken",
            "The access token is not yet valid.".into(),
            authorization_uri,
            "The access token is not yet valid.",
        )
    }

    pub fn authorization_failed(client: &str, object_id: &str, action: &str, scope: &str) -> Self {
        arm(403, "AuthorizationFailed", format!(
            "The client '{client}' with object id '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        ))
    }

    pub fn missing_api_version() -> Self {
        arm(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.".into(),
        )
    }

    pub fn invalid_api_version(version: &str, supported: &str) -> Self {
        arm(
            400,
            "InvalidApiVersionParameter",
            format!("The api-version '{version}' is invalid. The supported versions are '{supported}'."),
        )
    }

    pub fn subscription_not_found(sub: &str) -> Self {
        arm(
            404,
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        )
    }

    pub fn resource_group_not_found(rg: &str) -> Self {
        arm(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{rg}' could not be found."),
        )
    }

    pub fn resource_not_found(resource_type: &str, name: &str, rg: &str) -> Self {
        arm(404, "ResourceNotFound", format!(
            "The Resource '{resource_type}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ))
    }

    pub fn path_not_found(path: &str) -> Self {
        arm(
            404,
            "NotFound",
            format!("The requested path '{path}' does not name an emulated ARM resource or collection."),
        )
    }

    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        arm(
            405,
            "MethodNotAllowed",
            format!("The HTTP method '{method}' is not supported at '{path}'."),
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        arm(400, code, message.into())
    }

    pub fn invalid_content(reason: impl std::fmt::Display) -> Self {
        arm(
            400,
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{reason}'."),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        arm(409, code, message.into())
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "ARM request failed");
        arm(
            500,
            "InternalServerError",
            "The emulator failed to process the request; see its log.".into(),
        )
    }
}

/// A response builder with the `WWW-Authenticate` challenge of a 401, if there is one.
fn challenged(status: StatusCode, challenge: Option<&str>) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    if let Some(challenge) = challenge {
        builder.insert_header(("WWW-Authenticate", challenge));
    }
    builder
}

impl ResponseError for ArmError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        challenged(self.status_code(), self.challenge.as_deref())
            .json(json!({"error": {"code": self.code, "message": self.message}}))
    }
}

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
