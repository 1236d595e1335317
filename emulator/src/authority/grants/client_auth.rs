//! Client authentication at the token endpoints: which application a request names, what it
//! presents to prove it, and whether that proof holds.
//!
//! Secrets (form or HTTP Basic) and client assertions (`client_assertion`: a certificate-signed
//! JWT, checked in `certificate_auth`, or an external token a federated identity credential
//! trusts, checked in `federated_auth`) are checked in [`authenticate_confidential`]; public
//! clients (user flows, issue #10) authenticate with no credential and get
//! [`ClientAuthMethod::Public`].

use time::OffsetDateTime;

use super::request::TokenRequest;
use super::tenant::TenantSelector;
use super::{certificate_auth, federated_auth, GrantContext};
use crate::authority::assertion::{Jws, JWT_BEARER};
use crate::authority::claims::ClientAuthMethod;
use crate::domain::ids::parse_guid;
use crate::domain::world::Application;
use crate::domain::{ClientId, World};
use crate::error::AadError;

/// A credential a client presents. `Debug` never shows the secret.
pub enum ClientCredential {
    /// `client_secret` in the form, or the password part of `Authorization: Basic`.
    Secret(String),
    /// `client_assertion` of type `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    Assertion(String),
}

impl std::fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientCredential::Secret(_) => f.write_str("Secret(<hidden>)"),
            ClientCredential::Assertion(_) => f.write_str("Assertion(<hidden>)"),
        }
    }
}

/// Who a request says the client is, and the credential it presents, before any check.
#[derive(Debug)]
pub struct PresentedClient {
    /// As sent: not necessarily a GUID.
    pub client_id: String,
    pub credential: Option<ClientCredential>,
}

impl PresentedClient {
    /// `Authorization: Basic` (urlencoded `id:secret`) wins over the form, as AAD reads it; else the
    /// form's `client_id` (AADSTS900144 when missing) and `client_secret`. A `client_assertion`
    /// needs its `client_assertion_type` (900144) to be the JWT bearer type (50027), and cannot
    /// come with a secret (7000218).
    pub fn read(request: &TokenRequest) -> Result<Self, AadError> {
        let assertion = match request.param("client_assertion") {
            None => None,
            Some(a) => match request.required("client_assertion_type")? {
                JWT_BEARER => Some(ClientCredential::Assertion(a.to_string())),
                other => return Err(AadError::unsupported_assertion_type(other)),
            },
        };
        let basic = request.basic_credentials();
        if assertion.is_some() && (basic.is_some() || request.param("client_secret").is_some()) {
            return Err(AadError::both_client_credentials());
        }
        if let Some((client_id, secret)) = basic {
            return Ok(PresentedClient {
                client_id,
                credential: Some(ClientCredential::Secret(secret)),
            });
        }
        let client_id = request.required("client_id")?.to_string();
        let credential = assertion.or_else(|| {
            request
                .param("client_secret")
                .map(|s| ClientCredential::Secret(s.to_string()))
        });
        Ok(PresentedClient { client_id, credential })
    }
}

/// An application that proved who it is, and how (the `appidacr` / `azpacr` of its tokens).
#[derive(Clone, Copy, Debug)]
pub struct AuthenticatedClient<'w> {
    pub app: &'w Application,
    pub method: ClientAuthMethod,
}

/// The application `client_id` names, as seen from the requested tenant: its home tenant, or any
/// tenant through `common`/`organizations`. Client credentials have no personal-account
/// (`consumers`) form. AADSTS700016 otherwise, naming the tenant as requested.
pub fn find_client<'w>(
    world: &'w World,
    tenant: TenantSelector<'_>,
    tenant_segment: &str,
    client_id: &str,
) -> Result<&'w Application, AadError> {
    let app = parse_guid(client_id)
        .ok()
        .and_then(|id| world.application(ClientId(id)));
    match (app, tenant) {
        (Some(app), TenantSelector::Tenant(t)) if app.tenant_id == t.id => Ok(app),
        (Some(app), TenantSelector::Multi(name)) if name != "consumers" => Ok(app),
        _ => Err(AadError::unknown_client(client_id, tenant_segment)),
    }
}

/// Authenticates a confidential client asking a token for `resource`, in Entra ID's order: a
/// credential must be presented (AADSTS7000218), the application must be enabled (AADSTS7000112),
/// then the credential must hold (see [`check_secret`], and for assertions [`check_assertion`]).
pub fn authenticate_confidential<'w>(
    ctx: &GrantContext<'_>,
    app: &'w Application,
    credential: Option<&ClientCredential>,
    resource: &str,
) -> Result<AuthenticatedClient<'w>, AadError> {
    authenticate_with(app, credential, ctx.now, |a| check_assertion(ctx, app, a, resource))
}

/// [`authenticate_confidential`] with the assertion check given.
fn authenticate_with<'w>(
    app: &'w Application,
    credential: Option<&ClientCredential>,
    now: OffsetDateTime,
    assertion_holds: impl FnOnce(&str) -> Result<(), AadError>,
) -> Result<AuthenticatedClient<'w>, AadError> {
    let credential = credential.ok_or_else(AadError::missing_client_credential)?;
    if !app.enabled {
        return Err(AadError::disabled_application(app));
    }
    let method = match credential {
        ClientCredential::Secret(secret) => {
            check_secret(app, secret, now)?;
            ClientAuthMethod::Secret
        }
        ClientCredential::Assertion(assertion) => {
            assertion_holds(assertion)?;
            ClientAuthMethod::Certificate
        }
    };
    Ok(AuthenticatedClient { app, method })
}

/// A client assertion: the application's own certificate-signed JWT when its `iss` is the client
/// id, else an external token for its federated identity credentials. Unreadable: AADSTS50027.
pub fn check_assertion(
    ctx: &GrantContext<'_>,
    app: &Application,
    assertion: &str,
    resource: &str,
) -> Result<(), AadError> {
    let jws = Jws::parse(assertion).map_err(|e| AadError::malformed_assertion(&e.to_string()))?;
    let own = jws
        .claims
        .iss
        .as_deref()
        .is_some_and(|iss| iss.eq_ignore_ascii_case(&app.client_id.to_string()));
    if own {
        certificate_auth::check(ctx, app, &jws, resource)
    } else {
        federated_auth::check(ctx, app, &jws)
    }
}

/// Wrong secret and expired secret are told apart, as Entra ID does: AADSTS7000222 when the
/// secret matches only expired credentials (expiry read on the emulator clock), AADSTS7000215
/// when it matches none.
pub fn check_secret(app: &Application, secret: &str, now: OffsetDateTime) -> Result<(), AadError> {
    let mut expired_match = false;
    for s in &app.secrets {
        if s.hash.matches(secret) {
            match s.expires {
                Some(at) if at <= now => expired_match = true,
                _ => return Ok(()),
            }
        }
    }
    if expired_match {
        Err(AadError::expired_secret(app.client_id))
    } else {
        Err(AadError::invalid_secret(app.client_id))
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::domain::secret::SecretHash;
    use crate::domain::world::ClientSecret;
    use crate::domain::{ObjectId, TenantId};

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const NOW: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

    fn app(enabled: bool) -> Application {
        let secret = |value: &str, expires| ClientSecret {
            key_id: Uuid::new_v4(),
            display_name: "s".into(),
            hint: value.chars().take(3).collect(),
            hash: SecretHash::new(value),
            expires,
        };
        Application {
            client_id: ClientId(Uuid::new_v4()),
            object_id: ObjectId(Uuid::new_v4()),
            tenant_id: TenantId(Uuid::new_v4()),
            display_name: "app".into(),
            enabled,
            token_lifetime_seconds: None,
            identifier_uris: vec![],
            access_token_version: 1,
            secrets: vec![
                secret("current", Some(datetime!(2031-01-01 00:00 UTC))),
                secret("old", Some(datetime!(2029-01-01 00:00 UTC))),
                secret("forever", None),
            ],
        }
    }

    fn secret(s: &str) -> Option<ClientCredential> {
        Some(ClientCredential::Secret(s.into()))
    }

    /// Secrets only: an assertion reaching the check fails the test.
    fn authenticate_confidential<'w>(
        app: &'w Application,
        credential: Option<&ClientCredential>,
        now: OffsetDateTime,
    ) -> Result<AuthenticatedClient<'w>, AadError> {
        authenticate_with(app, credential, now, |_| panic!("no assertion expected"))
    }

    #[test]
    fn basic_header_wins_over_the_form() {
        let header = format!("Basic {}", STANDARD.encode("basic-id:basic%2Bsecret"));
        let request = TokenRequest::parse(FORM, Some(&header), b"client_id=form-id&client_secret=form");
        let presented = PresentedClient::read(&request).unwrap();
        assert_eq!(presented.client_id, "basic-id");
        assert!(matches!(presented.credential, Some(ClientCredential::Secret(ref s)) if s == "basic+secret"));
        let form = PresentedClient::read(&TokenRequest::parse(FORM, None, b"client_id=form-id")).unwrap();
        assert_eq!(form.client_id, "form-id");
        assert!(form.credential.is_none());
        let none = PresentedClient::read(&TokenRequest::parse(FORM, None, b"client_secret=x")).unwrap_err();
        assert_eq!((none.code, none.error), (900144, "invalid_request"));
        assert_eq!(format!("{:?}", secret("hunter2")), "Some(Secret(<hidden>))");
        let jwt = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
        let assertion = PresentedClient::read(&TokenRequest::parse(
            FORM,
            None,
            format!("client_id=c&client_assertion=a.b.c&client_assertion_type={jwt}").as_bytes(),
        ))
        .unwrap();
        assert_eq!(format!("{:?}", assertion.credential), "Some(Assertion(<hidden>))");
        let both = format!("client_id=c&client_secret=s&client_assertion=a.b.c&client_assertion_type={jwt}");
        let e = PresentedClient::read(&TokenRequest::parse(FORM, None, both.as_bytes())).unwrap_err();
        assert_eq!((e.code, e.status), (7000218, 401));
        let e = PresentedClient::read(&TokenRequest::parse(
            FORM,
            Some(&header),
            format!("client_assertion=a&client_assertion_type={jwt}").as_bytes(),
        ))
        .unwrap_err();
        assert_eq!(e.code, 7000218);
        let untyped =
            PresentedClient::read(&TokenRequest::parse(FORM, None, b"client_id=c&client_assertion=a")).unwrap_err();
        assert_eq!(
            (untyped.code, untyped.message.contains("client_assertion_type")),
            (900144, true)
        );
        let saml = PresentedClient::read(&TokenRequest::parse(
            FORM,
            None,
            b"client_id=c&client_assertion=a&client_assertion_type=saml",
        ))
        .unwrap_err();
        assert_eq!((saml.code, saml.status), (50027, 400));
    }

    #[test]
    fn secrets_are_checked_on_the_clock() {
        let app = app(true);
        for good in ["current", "forever"] {
            let ok = authenticate_confidential(&app, secret(good).as_ref(), NOW).unwrap();
            assert_eq!(ok.method, ClientAuthMethod::Secret);
        }
        let expired = authenticate_confidential(&app, secret("old").as_ref(), NOW).unwrap_err();
        assert_eq!((expired.code, expired.status), (7000222, 401));
        let wrong = authenticate_confidential(&app, secret("nope").as_ref(), NOW).unwrap_err();
        assert_eq!((wrong.code, wrong.status), (7000215, 401));
        let later = datetime!(2032-01-01 00:00 UTC);
        assert_eq!(check_secret(&app, "current", later).unwrap_err().code, 7000222);
        assert!(check_secret(&app, "old", datetime!(2028-01-01 00:00 UTC)).is_ok());
    }

    #[test]
    fn credential_then_enabled_then_secret() {
        assert_eq!(
            authenticate_confidential(&app(true), None, NOW).unwrap_err().code,
            7000218
        );
        assert_eq!(
            authenticate_confidential(&app(false), None, NOW).unwrap_err().code,
            7000218
        );
        let disabled = authenticate_confidential(&app(false), secret("nope").as_ref(), NOW).unwrap_err();
        assert_eq!((disabled.code, disabled.error), (7000112, "unauthorized_client"));
    }
}
