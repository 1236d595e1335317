//! The journal's entry for every token the Entra ID surface issues or refuses: who asked (the
//! client, and the user for user grants), with which credential kind, for which resource, and
//! either the issued token's `uti` and expiry or the AADSTS error in words. Never the secret,
//! the password or the token.

use actix_web::http::uri::PathAndQuery;
use actix_web::http::Method;
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::authority::grants::{Issued, TokenRequest};
use crate::decision::journal::{Field, Stamp, TokenHash};
use crate::decision::{CredentialKind, JournalEntry};
use crate::domain::ids::parse_guid;
use crate::domain::{ClientId, World};
use crate::error::AadError;
use crate::http::surface::{request_info, RequestInfo};
use crate::state::AppState;

/// What the request presented, by its grant and form.
fn credential(request: &TokenRequest, grant: &str) -> CredentialKind {
    match grant {
        "password" => CredentialKind::UserPassword,
        "refresh_token" => CredentialKind::RefreshToken,
        "authorization_code" => CredentialKind::AuthorizationCode,
        "device_code" | "urn:ietf:params:oauth:grant-type:device_code" => CredentialKind::DeviceCode,
        _ if request.param("client_assertion").is_some() => {
            // A certificate's assertion names the certificate (x5t); a federated one does not.
            let header = request
                .param("client_assertion")
                .and_then(|a| a.split('.').next())
                .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
                .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok());
            if header.is_some_and(|h| h.get("x5t").is_some() || h.get("x5t#S256").is_some()) {
                CredentialKind::Certificate
            } else {
                CredentialKind::FederatedAssertion
            }
        }
        _ if request.param("client_secret").is_some() || request.basic_credentials().is_some() => {
            CredentialKind::AppSecret
        }
        _ => CredentialKind::None,
    }
}

/// What the journal needs of the HTTP request (taken before the grant may move off the worker).
pub(super) struct Seen {
    info: RequestInfo,
    method: Method,
    path: PathAndQuery,
}

impl Seen {
    pub(super) fn of(req: &HttpRequest) -> Self {
        Seen {
            info: request_info(req),
            method: req.method().clone(),
            // A shared view of the request's own bytes: no copy.
            path: req
                .uri()
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
        }
    }
}

/// Records one entry for the request's outcome.
pub(super) fn record(
    state: &AppState,
    seen: Seen,
    world: &World,
    request: &TokenRequest,
    outcome: Result<&Issued, &AadError>,
) {
    if !state.journal.enabled() {
        return;
    }
    let grant = request.param("grant_type").unwrap_or("(none)");
    let client_id = request
        .basic_credentials()
        .map(|(id, _)| id)
        .or_else(|| request.param("client_id").map(str::to_string));
    state.journal.record(|entry| {
        let route = (seen.method.as_str(), seen.path.path());
        entry.begin(seen.info, route, &state.clock, "token", outcome.is_ok());
        write_reason(entry, grant, outcome);
        name_principal(entry, world, request, client_id.as_deref());
        entry.set_opt(Field::AppId, client_id.as_deref());
        entry.credential = Some(credential(request, grant));
        entry.show(Field::Action, format_args!("token ({grant})"));
        let scope = request.param("resource").or_else(|| request.param("scope"));
        entry.set_opt(Field::Scope, scope);
        entry.set_opt(Field::TokenId, outcome.ok().map(|i| i.token_id.as_str()));
        if let Ok(issued) = outcome {
            entry.show(Field::TokenHash, TokenHash(issued.access_token.as_bytes()));
        }
    });
}

/// What was issued and until when, or the AADSTS refusal.
fn write_reason(entry: &mut JournalEntry, grant: &str, outcome: Result<&Issued, &AadError>) {
    match outcome {
        Ok(issued) => {
            let exp = time::OffsetDateTime::from_unix_timestamp(issued.expires_on);
            entry.show(
                Field::Reason,
                format_args!(
                    "issued an access token for {} by {grant}, expiring at {} ({} s)",
                    issued.resource,
                    Stamp::from(exp.unwrap_or(time::OffsetDateTime::UNIX_EPOCH)),
                    issued.expires_in
                ),
            );
        }
        Err(e) => entry.show(
            Field::Reason,
            format_args!("refused: AADSTS{} {}: {}", e.code, e.error, e.message),
        ),
    }
}

/// The user the request signs in (`username`), else the application it names, as the world knows them.
fn name_principal(entry: &mut JournalEntry, world: &World, request: &TokenRequest, client_id: Option<&str>) {
    let user = request
        .param("username")
        .and_then(|upn| world.users().iter().find(|u| u.upn.eq_ignore_ascii_case(upn)));
    let app = client_id
        .and_then(|c| parse_guid(c).ok())
        .and_then(|id| world.application(ClientId(id)));
    match (user, app) {
        (Some(u), _) => {
            entry.guid(Field::Principal, u.object_id.0);
            entry.set(Field::PrincipalName, &u.upn);
            entry.set(Field::PrincipalDisplayName, &u.display_name);
            entry.principal_kind = Some("user");
        }
        (None, Some(a)) => {
            entry.guid(Field::Principal, a.object_id.0);
            entry.guid(Field::PrincipalName, a.object_id.0);
            entry.set(Field::PrincipalDisplayName, &a.display_name);
            entry.principal_kind = Some("service-principal");
        }
        (None, None) => {}
    }
}
