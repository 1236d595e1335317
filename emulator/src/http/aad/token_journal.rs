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
use crate::decision::journal::{Stamp, Text, TokenHash};
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
        write_reason(&mut entry.reason, grant, outcome);
        name_principal(entry, world, request, client_id.as_deref());
        entry.app_id.set_opt(client_id.as_deref());
        entry.credential = Some(credential(request, grant));
        entry.action.show(format_args!("token ({grant})"));
        entry
            .scope
            .set_opt(request.param("resource").or_else(|| request.param("scope")));
        entry.token_id.set_opt(outcome.ok().map(|i| i.token_id.as_str()));
        if let Ok(issued) = outcome {
            entry.token_hash.show(TokenHash(issued.access_token.as_bytes()));
        }
    });
}

/// What was issued and until when, or the AADSTS refusal.
fn write_reason(reason: &mut Text, grant: &str, outcome: Result<&Issued, &AadError>) {
    match outcome {
        Ok(issued) => {
            let exp = time::OffsetDateTime::from_unix_timestamp(issued.expires_on);
            reason.show(format_args!(
                "issued an access token for {} by {grant}, expiring at {} ({} s)",
                issued.resource,
                Stamp::from(exp.unwrap_or(time::OffsetDateTime::UNIX_EPOCH)),
                issued.expires_in
            ));
        }
        Err(e) => reason.show(format_args!("refused: AADSTS{} {}: {}", e.code, e.error, e.message)),
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
            entry.principal.guid(u.object_id.0);
            entry.principal_name.set(&u.upn);
            entry.principal_display_name.set(&u.display_name);
            entry.principal_kind = Some("user");
        }
        (None, Some(a)) => {
            entry.principal.guid(a.object_id.0);
            entry.principal_name.guid(a.object_id.0);
            entry.principal_display_name.set(&a.display_name);
            entry.principal_kind = Some("service-principal");
        }
        (None, None) => {}
    }
}
