//! Entra ID (AAD) errors: `{"error","error_description":"AADSTSn: …\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …",
//! "error_codes","timestamp","trace_id","correlation_id","error_uri"}` with AAD's status.

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

    /// A failure that is not one of AAD's own (no such route, body too large or too slow). Real AAD
    /// answers unknown paths with an HTML page; the emulator keeps its JSON shape so clients parse
    /// it, with `invalid_request` and AADSTS90100 ("the request is not valid").
    pub fn generic(status: u16, message: &str) -> Self {
        aad("invalid_request", 90100, status, message.to_string())
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

/// Client assertions: certificates (`iss` = `sub` = client id) and federated credentials. Codes
/// and wording as observed from Entra ID where recorded (700021, 700023, 700024, 700027, 70021,
/// 700211); the rest are the emulator's choices, listed in the README.
impl AadError {
    /// Both a secret and an assertion (emulator's choice: 7000218 names them as alternatives).
    pub fn both_client_credentials() -> Self {
        aad(
            "invalid_client",
            7000218,
            401,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret', not both."
                .into(),
        )
    }

    pub fn unsupported_assertion_type(kind: &str) -> Self {
        aad("invalid_request", 50027, 400, format!(
            "Invalid JWT token. The client_assertion_type '{kind}' is not supported: use 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'."
        ))
    }

    pub fn malformed_assertion(why: &str) -> Self {
        aad(
            "invalid_client",
            50027,
            401,
            format!("JWT token is invalid or malformed: {why}."),
        )
    }

    pub fn assertion_client_mismatch() -> Self {
        aad("invalid_client", 700021, 401,
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://aka.ms/certCreds .".into())
    }

    pub fn assertion_audience() -> Self {
        aad("invalid_client", 700023, 401,
            "Client assertion audience claim does not match Realm issuer. Review the documentation at https://aka.ms/certCreds .".into())
    }

    pub fn assertion_key_not_found(thumbprint: &str, client_id: ClientId) -> Self {
        aad("invalid_client", 700027, 401, format!(
            "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at https://aka.ms/certCreds .]"
        ))
    }

    /// The signature does not verify (`reason` = why), or the key is expired ("The key used is
    /// expired.", as observed: 700027, not 700024).
    pub fn assertion_signature(
        reason: &str,
        thumbprint: &str,
        window: Option<(OffsetDateTime, OffsetDateTime)>,
    ) -> Self {
        let found = window.map_or_else(String::new, |(start, end)| {
            format!(", Found key 'Start={}, End={}'", dotnet_date(start), dotnet_date(end))
        });
        aad("invalid_client", 700027, 401, format!(
            "Client assertion contains an invalid signature. [Reason - {reason}, Thumbprint of key used by client: '{thumbprint}'{found}]"
        ))
    }

    pub fn assertion_time_range(now: OffsetDateTime, from: OffsetDateTime, until: Option<OffsetDateTime>) -> Self {
        let until = until.map_or_else(|| "(none)".to_string(), iso7);
        aad("invalid_client", 700024, 401, format!(
            "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {until}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
            iso7(now), iso7(from)
        ))
    }

    /// A certificate assertion presented again for the same resource (emulator's choice of code).
    pub fn assertion_replayed() -> Self {
        aad("invalid_client", 50013, 401,
            "Assertion failed signature validation. [Reason - The client assertion's 'jti' was already presented for this resource; a client assertion may be used once per resource until it expires.]".into())
    }

    pub fn federated_unknown_issuer(issuer: &str) -> Self {
        aad("invalid_client", 700211, 401, format!(
            "No matching federated identity record found for presented assertion issuer '{issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
        ))
    }

    pub fn federated_no_match(issuer: &str, subject: &str, audience: &str) -> Self {
        aad("invalid_request", 70021, 400, format!(
            "No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{audience}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
        ))
    }

    pub fn external_issuer_unreachable(issuer: &str) -> Self {
        aad("invalid_client", 50166, 401, format!(
            "Request to External OIDC endpoint failed. The issuer '{issuer}' cannot be reached: offline, only this emulator's own issuers (/_emulator/issuers/{{name}}) can be federated."
        ))
    }
}

/// .NET's `MM/dd/yyyy HH:mm:ss`, as AAD quotes a key's validity.
fn dotnet_date(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[month]/[day]/[year] [hour]:[minute]:[second]");
    t.format(&f).unwrap_or_default()
}

/// ISO 8601 with seven fractional digits, as AAD quotes times in AADSTS700024.
fn iso7(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].0000000Z");
    t.format(&f).unwrap_or_default()
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
