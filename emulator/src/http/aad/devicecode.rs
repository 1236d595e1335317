//! The device authorization endpoints (`POST /{tenant}/oauth2/devicecode` v1 with
//! `verification_url`, `/oauth2/v2.0/devicecode` v2 with `verification_uri`) and the verification
//! page `/devicelogin` where a person enters the code, signs in and approves or declines
//! (`v2-oauth2-device-code.md`; `reference/python-auth-clients.md` §1b and §4).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Data, Form, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::pages::{alert, escape, page};
use super::{fail, token::no_store};
use crate::authority::grants::device_code::{self, DeviceAuthorization};
use crate::authority::grants::{user_tokens, ProtocolVersion, TenantSelector, TokenRequest};
use crate::error::{AadError, AadFailure};
use crate::http::origin;
use crate::state::AppState;

pub(super) async fn devicecode_v1(
    state: Data<AppState>,
    req: HttpRequest,
    tenant: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AadFailure> {
    let d = start(&state, &req, tenant.into_inner(), &body, ProtocolVersion::V1).await?;
    let uri = verification_uri(&state, &req);
    Ok(no_store(&req).json(json!({
        "user_code": d.user_code, "device_code": d.device_code, "verification_url": uri,
        "expires_in": d.expires_in.to_string(), "interval": d.interval.to_string(),
        "message": message(&uri, &d.user_code),
    })))
}

pub(super) async fn devicecode_v2(
    state: Data<AppState>,
    req: HttpRequest,
    tenant: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AadFailure> {
    let d = start(&state, &req, tenant.into_inner(), &body, ProtocolVersion::V2).await?;
    let uri = verification_uri(&state, &req);
    Ok(no_store(&req).json(json!({
        "user_code": d.user_code, "device_code": d.device_code, "verification_uri": uri,
        "expires_in": d.expires_in, "interval": d.interval,
        "message": message(&uri, &d.user_code),
    })))
}

/// AAD's wording, with the emulator's page in place of microsoft.com/devicelogin.
fn message(uri: &str, code: &str) -> String {
    format!("To sign in, use a web browser to open the page {uri} and enter the code {code} to authenticate.")
}

fn verification_uri(state: &AppState, req: &HttpRequest) -> String {
    format!("{}/devicelogin", origin(state, req))
}

async fn start(
    state: &Data<AppState>,
    req: &HttpRequest,
    tenant: String,
    body: &[u8],
    version: ProtocolVersion,
) -> Result<DeviceAuthorization, AadFailure> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let request = TokenRequest::parse(header("content-type"), header("authorization"), body);
    let base = origin(state, req);
    let outcome = crate::service::blocking(state, move |s| {
        let world = s.world();
        Ok(device_code::start(
            &s.grant_context(&world, &base, &s.keys()),
            version,
            &tenant,
            &request,
        ))
    })
    .await
    .unwrap_or_else(|e| Err(AadError::generic(503, &e.to_string())));
    outcome.map_err(|e| fail(state, req, e))
}

/// `GET /devicelogin[?otc=CODE]`: the code form.
pub(super) async fn page_get(query: Query<HashMap<String, String>>) -> HttpResponse {
    let code = query.get("otc").map(String::as_str).unwrap_or_default();
    form_page(StatusCode::OK, code, "", None)
}

/// `POST /devicelogin`: approve (after the user's password) or decline a pending code.
pub(super) async fn page_post(state: Data<AppState>, form: Form<HashMap<String, String>>) -> HttpResponse {
    let form = form.into_inner();
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (code, username, password) = (field("code"), field("username"), field("password"));
    let approve = form.get("action").map(String::as_str) != Some("deny");
    let (c, u) = (code.clone(), username.clone());
    let outcome = crate::service::blocking(&state, move |s| Ok(decide(s, &c, &u, &password, approve)))
        .await
        .unwrap_or_else(|e| Err(AadError::generic(503, &e.to_string())));
    match outcome {
        Ok(()) if approve => {
            done_page("You have signed in to the application on your device. You may now close this window.")
        }
        Ok(()) => {
            done_page("You declined to sign in to the application on your device. You may now close this window.")
        }
        Err(e) => form_page(StatusCode::OK, &code, &username, Some(&e)),
    }
}

/// The page's decision, under the writer (decisions on one code are serialized).
fn decide(s: &AppState, code: &str, username: &str, password: &str, approve: bool) -> Result<(), AadError> {
    let _writer = s.writer();
    let grants = s.grant_state();
    let world = s.world();
    let tenant = device_code::pending_tenant(&grants, code).ok_or_else(AadError::bad_verification_code)?;
    let user = if approve {
        let selector = match tenant.and_then(|t| world.tenant(t)) {
            Some(t) => TenantSelector::Tenant(t),
            None => TenantSelector::Multi("common"),
        };
        let (_, user) = user_tokens::find_user(&world, selector, username)?;
        user_tokens::check_password(user, password, "the application", true)?;
        Some(user.object_id)
    } else {
        None
    };
    device_code::decide(&grants, &world, code, user).map_err(|_| AadError::bad_verification_code())
}

fn form_page(status: StatusCode, code: &str, username: &str, error: Option<&AadError>) -> HttpResponse {
    let error = error
        .map(|e| alert(&format!("AADSTS{}: {}", e.code, e.message)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Enter code</h1><p>Enter the code displayed on your app or device, then sign in to allow access.</p>{error}\
         <form id=\"device\" method=\"post\" action=\"/devicelogin\">\
         <label for=\"code\">Code</label>\
         <input id=\"code\" name=\"code\" type=\"text\" autocomplete=\"one-time-code\" value=\"{}\" required>\
         <label for=\"username\">Email, phone, or Skype</label>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" value=\"{}\">\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
         <p>Allow the application on your device to sign you in and access your resources?</p>\
         <div><button id=\"approve\" class=\"primary\" type=\"submit\" name=\"action\" value=\"approve\">Continue</button>\
         <button id=\"deny\" type=\"submit\" name=\"action\" value=\"deny\" formnovalidate>Deny</button></div></form>",
        escape(code),
        escape(username)
    );
    page(status, "Enter code", &body)
}

fn done_page(text: &str) -> HttpResponse {
    page(
        StatusCode::OK,
        "Device sign-in",
        &format!(
            "<h1>Device sign-in</h1><p role=\"status\" id=\"done\">{}</p>",
            escape(text)
        ),
    )
}
