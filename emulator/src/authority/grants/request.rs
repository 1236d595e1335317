//! A token-endpoint request as the grants read it: the form fields, the HTTP Basic client
//! credentials, and the resource a v1 or v2 request names.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::ProtocolVersion;
use crate::domain::audience;
use crate::error::AadError;

/// A token endpoint request: the form fields plus the `Authorization` header, if any.
#[derive(Debug, Default)]
pub struct TokenRequest {
    form: HashMap<String, String>,
    authorization: Option<String>,
}

impl TokenRequest {
    /// Reads a request body. Anything but `application/x-www-form-urlencoded` (or a body that does
    /// not parse as one) reads as an empty form, which AAD reports as a missing `grant_type`.
    /// Unknown fields (MSAL telemetry, `client_info`, `claims`) are kept and ignored by the grants.
    pub fn parse(content_type: Option<&str>, authorization: Option<&str>, body: &[u8]) -> Self {
        let is_form =
            content_type.is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        let form = if is_form {
            serde_urlencoded::from_bytes(body).unwrap_or_default()
        } else {
            HashMap::new()
        };
        TokenRequest {
            form,
            authorization: authorization.map(str::to_string),
        }
    }

    /// A form field; an empty value counts as absent, as AAD treats it.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A form field that must be present: AADSTS900144 otherwise.
    pub fn required(&self, name: &str) -> Result<&str, AadError> {
        self.param(name).ok_or_else(|| AadError::missing_parameter(name))
    }

    /// `(client_id, client_secret)` from `Authorization: Basic` (RFC 6749 §2.3.1: each part
    /// form-urlencoded before base64), when the header is present and well-formed.
    pub fn basic_credentials(&self) -> Option<(String, String)> {
        self.authorization.as_deref().and_then(parse_basic)
    }

    /// The resource named by `resource=` (v1) or derived from `scope=` (v2), plus the scope to echo.
    ///
    /// Errors: AADSTS900144 when the parameter is missing, AADSTS901002 for `resource=` on v2,
    /// AADSTS70011 when the v2 scope is not one `{resource}/.default`.
    pub fn requested_resource(&self, version: ProtocolVersion) -> Result<RequestedResource, AadError> {
        match version {
            ProtocolVersion::V1 => {
                let resource = self.required("resource")?;
                Ok(RequestedResource {
                    resource: resource.to_string(),
                    scope: format!("{resource}/.default"),
                })
            }
            ProtocolVersion::V2 => {
                if self.param("resource").is_some() {
                    return Err(AadError::resource_parameter_not_supported());
                }
                let scope = self.required("scope")?;
                let resource = audience::resource_from_scope(scope).map_err(|_| AadError::invalid_scope(scope))?;
                Ok(RequestedResource {
                    resource,
                    scope: scope.to_string(),
                })
            }
        }
    }
}

/// What a request asked a token for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedResource {
    /// The resource as requested (v1 `resource`, or the v2 scope without `/.default`).
    pub resource: String,
    /// The v2 `scope` echo: the requested scope, or `{resource}/.default` on v1.
    pub scope: String,
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|mut v| v.pop())
            .map(|(_, v)| v)
    };
    Some((unescape(id)?, unescape(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded;charset=utf-8");

    #[test]
    fn basic_credentials_are_url_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret"));
        assert_eq!(parse_basic(&header), Some(("my app".into(), "s:cret".into())));
        assert_eq!(parse_basic("Bearer x"), None);
        let request = TokenRequest::parse(FORM, Some(&header), b"");
        assert_eq!(request.basic_credentials(), Some(("my app".into(), "s:cret".into())));
    }

    #[test]
    fn only_forms_are_read_and_empty_values_are_absent() {
        let body = b"grant_type=client_credentials&client_secret=&scope=a%20b";
        let request = TokenRequest::parse(FORM, None, body);
        assert_eq!(request.param("grant_type"), Some("client_credentials"));
        assert_eq!(request.param("scope"), Some("a b"));
        assert_eq!(request.param("client_secret"), None);
        assert_eq!(request.required("client_secret").unwrap_err().code, 900144);
        let json = TokenRequest::parse(Some("application/json"), None, body);
        assert_eq!(json.param("grant_type"), None);
        assert_eq!(TokenRequest::parse(None, None, body).param("grant_type"), None);
    }

    #[test]
    fn v1_names_a_resource_and_v2_a_scope() {
        let v1 = TokenRequest::parse(FORM, None, b"resource=https%3A%2F%2Fmanagement.azure.com%2F");
        assert_eq!(
            v1.requested_resource(ProtocolVersion::V1).unwrap(),
            RequestedResource {
                resource: "https://management.azure.com/".into(),
                scope: "https://management.azure.com//.default".into()
            }
        );
        assert_eq!(v1.requested_resource(ProtocolVersion::V2).unwrap_err().code, 901002);
        let v2 = TokenRequest::parse(FORM, None, b"scope=https%3A%2F%2Fml.azure.com%2F.default");
        assert_eq!(
            v2.requested_resource(ProtocolVersion::V2).unwrap().resource,
            "https://ml.azure.com"
        );
        assert_eq!(v2.requested_resource(ProtocolVersion::V1).unwrap_err().code, 900144);
        let bad = TokenRequest::parse(FORM, None, b"scope=openid");
        assert_eq!(bad.requested_resource(ProtocolVersion::V2).unwrap_err().code, 70011);
    }
}
