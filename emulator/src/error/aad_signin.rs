//! Entra ID errors of user sign-in: the password grant, refresh tokens, device codes and
//! authorization codes.
//!
//! Codes and `error` values follow `reference/api-fidelity.md` §4.2, `reference-error-codes.md`
//! (the doc names of 50034, 50053, 50055, 50057, 50126, 50173, 54005, 70008, 70016, 70018,
//! 70019, 700082) and `reference/interactive-flows.md` §5 (501481 observed). Where the reference
//! leaves the wire open the emulator chooses, and says so on the constructor:
//! 50076 and 50055 carry `suberror` (`basic_action`, `user_password_expired`), which is what makes
//! MSAL raise its interaction-required error.

use time::OffsetDateTime;

use super::aad::{aad, aad_timestamp, AadError};
use crate::domain::ClientId;

impl AadError {
    /// ROPC with a wrong password (AADSTS50126).
    pub fn invalid_password() -> Self {
        aad(
            "invalid_grant",
            50126,
            400,
            "Error validating credentials due to invalid username or password.".into(),
        )
    }

    /// No such user in the directory (AADSTS50034).
    pub fn unknown_user(tenant_name: &str) -> Self {
        aad("invalid_grant", 50034, 400, format!(
            "The user account {{EmailHidden}} does not exist in the {tenant_name} directory. To sign into this application, the account must be added to the directory."
        ))
    }

    /// `accountEnabled: false` (AADSTS50057).
    pub fn user_disabled() -> Self {
        aad("invalid_grant", 50057, 400, "The user account is disabled.".into())
    }

    /// Locked out (AADSTS50053).
    pub fn user_locked() -> Self {
        aad(
            "invalid_grant",
            50053,
            400,
            "The account is locked, you've tried to sign in too many times with an incorrect user ID or password."
                .into(),
        )
    }

    /// The password must be changed (AADSTS50055); `suberror: user_password_expired` (choice).
    pub fn password_expired() -> Self {
        let mut e = aad("invalid_grant", 50055, 400, "The password is expired.".into());
        e.suberror = Some("user_password_expired");
        e
    }

    /// ROPC for a user who must do MFA (AADSTS50076): `invalid_grant` with `suberror:
    /// basic_action`, which MSAL classifies as interaction required.
    pub fn mfa_required(resource: &str) -> Self {
        let mut e = aad("invalid_grant", 50076, 400, format!(
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{resource}'."
        ));
        e.suberror = Some("basic_action");
        e
    }

    /// A code or refresh token that is not one this authority issued (AADSTS9002313).
    pub fn malformed_grant() -> Self {
        aad(
            "invalid_grant",
            9002313,
            400,
            "Invalid request. Request is malformed or invalid.".into(),
        )
    }

    /// A refresh token past its (sliding) lifetime (AADSTS700082).
    pub fn refresh_token_expired(issued: OffsetDateTime, now: OffsetDateTime) -> Self {
        let inactive = (now - issued).whole_seconds().max(0);
        aad(
            "invalid_grant",
            700082,
            400,
            format!(
                "The refresh token has expired due to inactivity. The token was issued on {} and was inactive for {}.",
                aad_timestamp(issued),
                dotnet_span(inactive)
            ),
        )
    }

    /// A refresh token (or code) revoked by a password reset, a disabled account or an admin's
    /// revoke-sessions (AADSTS50173).
    pub fn grant_revoked(issued: OffsetDateTime) -> Self {
        aad("invalid_grant", 50173, 400, format!(
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '{}' and the TokensValidFrom date (before which tokens are not valid) for this user is later.",
            aad_timestamp(issued)
        ))
    }

    /// A code or refresh token presented by another client than it was issued to (AADSTS700003
    /// style; the wire text is the emulator's).
    pub fn grant_of_other_client(issued_to: ClientId) -> Self {
        aad(
            "invalid_grant",
            700003,
            400,
            format!(
            "The provided grant was issued to application '{issued_to}' and cannot be redeemed by another application."
        ),
        )
    }

    /// An authorization code redeemed a second time (AADSTS54005).
    pub fn code_redeemed() -> Self {
        aad(
            "invalid_grant",
            54005,
            400,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.".into(),
        )
    }

    /// An authorization code past its 10 minutes (AADSTS70008).
    pub fn code_expired() -> Self {
        aad("invalid_grant", 70008, 400,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.".into())
    }

    /// PKCE: a code issued with a `code_challenge` redeemed without `code_verifier` (AADSTS50148).
    pub fn pkce_verifier_missing() -> Self {
        aad(
            "invalid_grant",
            50148,
            400,
            "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE."
                .into(),
        )
    }

    /// PKCE: the verifier does not hash to the challenge (AADSTS501481, as observed).
    pub fn pkce_mismatch() -> Self {
        aad(
            "invalid_grant",
            501481,
            400,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.".into(),
        )
    }

    /// A redirect URI the application did not register, or not the one the code was issued for
    /// (AADSTS50011).
    pub fn redirect_mismatch(redirect_uri: &str, client_id: &str) -> Self {
        aad("invalid_request", 50011, 400, format!(
            "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this."
        ))
    }

    /// Device flow: not approved yet (AADSTS70016, `authorization_pending`).
    pub fn authorization_pending() -> Self {
        aad(
            "authorization_pending",
            70016,
            400,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.".into(),
        )
    }

    /// Device flow: polled faster than `interval` (`slow_down`; AAD documents no number: the
    /// emulator uses 70016's family).
    pub fn slow_down(interval: i64) -> Self {
        aad(
            "slow_down",
            70016,
            400,
            format!(
            "OAuth 2.0 device flow error. Authorization is pending. Poll no more often than every {interval} seconds."
        ),
        )
    }

    /// Device flow: the user declined (`authorization_declined`; number chosen: AADSTS70000).
    pub fn authorization_declined() -> Self {
        aad(
            "authorization_declined",
            70000,
            400,
            "The end user denied the authorization request.".into(),
        )
    }

    /// Device flow: the device code expired (AADSTS70019, `expired_token`).
    pub fn device_code_expired() -> Self {
        aad("expired_token", 70019, 400, "Verification code expired.".into())
    }

    /// Device flow: a device code this authority never issued to the client (AADSTS70018,
    /// `bad_verification_code`).
    pub fn bad_verification_code() -> Self {
        aad(
            "bad_verification_code",
            70018,
            400,
            "Invalid verification code. The device_code sent to the token endpoint was not recognized.".into(),
        )
    }

    /// A device code redeemed a second time (AADSTS54005's family, `invalid_grant`).
    pub fn device_code_redeemed() -> Self {
        aad(
            "invalid_grant",
            54005,
            400,
            "The device code was already redeemed, please start a new device code flow.".into(),
        )
    }

    /// The user declined consent or cancelled sign-in (AADSTS65004, `access_denied`).
    pub fn access_denied() -> Self {
        aad(
            "access_denied",
            65004,
            400,
            "User declined to consent to access the app.".into(),
        )
    }

    /// `prompt=none` without a signed-in session (AADSTS50058, `login_required`).
    pub fn login_required() -> Self {
        aad("login_required", 50058, 400,
            "A silent sign-in request was sent but no user is signed in. The cookies used to represent the user's session were not sent in the request to Azure AD.".into())
    }

    /// `response_type` other than `code` (AADSTS700054 family, `unsupported_response_type`).
    pub fn unsupported_response_type(given: &str) -> Self {
        aad(
            "unsupported_response_type",
            700054,
            400,
            format!("response_type '{given}' is not enabled for the application."),
        )
    }

    /// A confidential application asked to act as a public client (AADSTS7000218 is what it
    /// gets when it sends no credential; this is the same error).
    pub fn public_client_not_allowed() -> Self {
        Self::missing_client_credential()
    }
}

/// A duration as .NET prints a `TimeSpan` (`90.00:00:00`), as AAD's 700082 message does.
fn dotnet_span(seconds: i64) -> String {
    let (d, rest) = (seconds / 86_400, seconds % 86_400);
    format!("{d}.{:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_print_as_dotnet_does() {
        assert_eq!(dotnet_span(90 * 86_400 + 61), "90.00:01:01");
        assert_eq!(dotnet_span(0), "0.00:00:00");
    }

    #[test]
    fn mfa_and_expired_password_carry_suberrors() {
        assert_eq!(AadError::mfa_required("r").suberror, Some("basic_action"));
        assert_eq!(AadError::password_expired().suberror, Some("user_password_expired"));
        assert_eq!(AadError::invalid_password().suberror, None);
    }
}
