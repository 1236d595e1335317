//! ARM errors: `{"error":{"code","message"}}` with the `WWW-Authenticate` challenge on 401s.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use time::OffsetDateTime;

use crate::decision::{AuthnFailure, Denial};

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
    /// Decided by ARM's front door rather than a resource provider: answered with
    /// `x-ms-failure-cause: gateway` (Azure/azure-powershell#3079; the 404 ResourceNotFound and 403
    /// of the azure-ai-ml `test_workspace_update` recording).
    pub gateway: bool,
    /// `error.details`, when the answer has them.
    pub details: Option<serde_json::Value>,
}

fn arm(status: u16, code: &'static str, message: String) -> ArmError {
    ArmError {
        status,
        code,
        message,
        challenge: None,
        gateway: false,
        details: None,
    }
}

/// An error ARM's gateway answers itself.
fn gateway(status: u16, code: &'static str, message: String) -> ArmError {
    ArmError {
        gateway: true,
        ..arm(status, code, message)
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
    /// ARM's 401 for a refused credential, challenging with `authorization_uri`.
    pub fn unauthenticated_by(failure: &AuthnFailure, authorization_uri: &str) -> Self {
        match failure {
            AuthnFailure::Missing => Self::missing_authorization(authorization_uri),
            AuthnFailure::MalformedHeader => Self::malformed_authorization(authorization_uri),
            AuthnFailure::WrongAudience(aud) => Self::wrong_audience(aud, authorization_uri),
            AuthnFailure::WrongTenant { issuer, expected } => {
                Self::wrong_tenant(issuer, &expected.to_string(), authorization_uri)
            }
            AuthnFailure::Expired { exp, now } => Self::expired(*exp, *now, authorization_uri),
            AuthnFailure::NotYetValid(_) => Self::not_yet_valid(authorization_uri),
            AuthnFailure::Invalid(_)
            | AuthnFailure::WrongKey
            | AuthnFailure::WrongTarget
            | AuthnFailure::NoObjectId => Self::invalid_token(authorization_uri),
        }
    }

    /// 401 with a challenge naming the authority to get a token from.
    fn unauthenticated(code: &'static str, message: String, authorization_uri: &str, description: &str) -> Self {
        ArmError {
            status: 401,
            code,
            message,
            gateway: true,
            details: None,
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
        gateway(403, "AuthorizationFailed", format!(
            "The client '{client}' with object id '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        ))
    }

    pub fn missing_api_version() -> Self {
        gateway(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.".into(),
        )
    }

    pub fn invalid_api_version(version: &str, supported: &str) -> Self {
        gateway(
            400,
            "InvalidApiVersionParameter",
            format!("The api-version '{version}' is invalid. The supported versions are '{supported}'."),
        )
    }

    /// A resource provider's type that does not know the api-version (Microsoft.MachineLearningServices,
    /// Microsoft.ManagedIdentity): `type` is below the namespace (`workspaces/onlineEndpoints`).
    pub fn no_registered_provider(location: &str, version: &str, ty: &str, supported: &str, locations: &str) -> Self {
        gateway(400, "NoRegisteredProviderFound", format!(
            "No registered resource provider found for location '{location}' and API version '{version}' for type '{ty}'. The supported api-versions are '{supported}'. The supported locations are '{locations}'."
        ))
    }

    /// A type of `namespace` that does not know the api-version, as a direct REST call gets it
    /// (Microsoft.Authorization).
    pub fn invalid_resource_type(ty: &str, namespace: &str, version: &str, supported: &str) -> Self {
        gateway(404, "InvalidResourceType", format!(
            "The resource type '{ty}' could not be found in the namespace '{namespace}' for api version '{version}'. The supported api-versions are '{supported}'."
        ))
    }

    pub fn subscription_not_found(sub: &str) -> Self {
        gateway(
            404,
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        )
    }

    /// A subscription segment that is not a GUID in its 36-character form (ARM refuses braces and
    /// the 32-digit form there, though it accepts any case).
    pub fn invalid_subscription_id(sub: &str) -> Self {
        arm(
            400,
            "InvalidSubscriptionId",
            format!("The provided subscription identifier '{sub}' is malformed or invalid."),
        )
    }

    pub fn resource_group_not_found(rg: &str) -> Self {
        gateway(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{rg}' could not be found."),
        )
    }

    pub fn resource_not_found(resource_type: &str, name: &str, rg: &str) -> Self {
        gateway(404, "ResourceNotFound", format!(
            "The Resource '{resource_type}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ))
    }

    pub fn path_not_found(path: &str) -> Self {
        gateway(
            404,
            "NotFound",
            format!("The requested path '{path}' does not name an emulated ARM resource or collection."),
        )
    }

    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        gateway(
            405,
            "MethodNotAllowed",
            format!("The HTTP method '{method}' is not supported at '{path}'."),
        )
    }

    /// A failure any surface can have, with the status and code it was given.
    pub fn generic(status: u16, code: &'static str, message: &str) -> Self {
        arm(status, code, message.to_string())
    }

    /// ARM takes only JSON bodies.
    pub fn unsupported_media_type(media: Option<&str>) -> Self {
        gateway(
            415,
            "UnsupportedMediaType",
            format!(
                "The content media type '{}' is not supported. Only 'application/json' is supported.",
                media.unwrap_or("<null>")
            ),
        )
    }

    /// A nested resource whose parent does not exist.
    pub fn parent_not_found(parent: &str) -> Self {
        gateway(
            404,
            "ParentResourceNotFound",
            format!("Can not perform requested operation on nested resource. Parent resource '{parent}' not found."),
        )
    }

    /// A poll of an operation the service does not know: the Azure ML front end's answer, as
    /// recorded for an mfeOperationResults poll (Azure/azure-powershell
    /// `New-AzMLWorkspaceOnlineEndpointKey.Recording.json`).
    pub fn operation_not_found(id: &str) -> Self {
        ArmError {
            details: Some(
                json!([{"code": "OperationNotFound", "message": format!("There is no operation with id {id}.")}]),
            ),
            ..arm(404, "NotFound", "The specified resource was not found.".into())
        }
    }

    /// Azure ML tokens cannot be issued while the workspace's region is down.
    pub fn region_unavailable(region: &str) -> Self {
        arm(503, "ServiceUnavailable", format!(
            "The Azure Machine Learning service in region '{region}' is unavailable, so tokens cannot be issued. Key-based authentication is not affected."))
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

impl From<Denial> for ArmError {
    fn from(d: Denial) -> Self {
        ArmError::authorization_failed(&d.label, &d.object_id, &d.action, &d.scope)
    }
}

/// A response builder with the `WWW-Authenticate` challenge of a 401, if there is one.
pub(super) fn challenged(status: StatusCode, challenge: Option<&str>) -> actix_web::HttpResponseBuilder {
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
        let mut builder = challenged(self.status_code(), self.challenge.as_deref());
        if self.gateway {
            builder.insert_header(("x-ms-failure-cause", "gateway"));
        }
        builder.json(match &self.details {
            None => json!({"error": {"code": self.code, "message": self.message}}),
            Some(details) => json!({"error": {"code": self.code, "message": self.message, "details": details}}),
        })
    }
}

/// ARM's words for a scope that names a missing resource group or workspace.
impl From<crate::domain::world::MissingScope> for ArmError {
    fn from(missing: crate::domain::world::MissingScope) -> Self {
        use crate::domain::world::MissingScope;
        match missing {
            MissingScope::ResourceGroup(rg) => ArmError::resource_group_not_found(&rg),
            MissingScope::Workspace { resource_group, name } => {
                ArmError::resource_not_found("Microsoft.MachineLearningServices/workspaces", &name, &resource_group)
            }
        }
    }
}
