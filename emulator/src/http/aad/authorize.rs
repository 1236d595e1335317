//! `/{tenant}/oauth2[/v2.0]/authorize`: the sign-in page (account picker, password form,
//! `login_hint`, `prompt`), its form post, and the answer to the application's redirect URI by
//! `response_mode` — `form_post` (an auto-submitting form: msal Python, azure-identity,
//! azureml-core, msal-node 7), `query` (302: @azure/identity for Node) or `fragment` (302 with `#`)
//! — as `reference/interactive-flows.md` §5 records. A session cookie lets a second sign-in skip
//! the password; auto sign-in completes at once. `/{tenant}/oauth2[/v2.0]/logout` ends the session.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use uuid::Uuid;

use super::pages::{alert, escape, hidden, page};
use super::signin_page::{sign_in_page, PageContext};
use crate::authority::grants::authorization_code::{self, CodePayload};
use crate::authority::grants::redirect::{self, RedirectKind};
use crate::authority::grants::user_tokens::{self, parse_scopes, Requested};
use crate::authority::grants::{client_auth, resolve_tenant, ProtocolVersion, TenantSelector};
use crate::authority::sessions::{Session, COOKIE, SESSION_SECONDS};
use crate::domain::{ClientId, ObjectId, World};
use crate::error::AadError;
use crate::state::AppState;

type Params = HashMap<String, String>;

/// How the answer reaches the redirect URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Query,
    Fragment,
    FormPost,
}

/// An authorize request whose client and redirect URI are known good: errors may go back to it.
#[derive(Clone, Debug)]
pub(super) struct Authorize {
    pub tenant_segment: String,
    pub client_id: ClientId,
    pub app_name: String,
    redirect_uri: String,
    spa: bool,
    mode: Mode,
    state: Option<String>,
    nonce: Option<String>,
    challenge: Option<String>,
    challenge_method: Option<String>,
    requested: Requested,
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
    /// The request's own parameters, carried through the sign-in form.
    pub params: Params,
}

/// What the user typed or chose on the sign-in page (taken out of the form's parameters).
#[derive(Debug, Default)]
struct SignInInput {
    username: String,
    password: String,
    /// `session`: continue as the signed-in user.
    account: Option<String>,
    cancel: bool,
}

impl SignInInput {
    fn take(params: &mut Params) -> Self {
        SignInInput {
            username: params.remove("username").unwrap_or_default(),
            password: params.remove("password").unwrap_or_default(),
            account: params.remove("account"),
            cancel: params.remove("cancel").is_some(),
        }
        .drop_marker(params)
    }

    fn drop_marker(self, params: &mut Params) -> Self {
        params.remove("login");
        self
    }
}

pub(super) async fn authorize_get(
    state: Data<AppState>,
    req: HttpRequest,
    tenant: Path<String>,
    query: Query<Params>,
) -> HttpResponse {
    let world = state.world();
    let a = match validate(&world, &tenant, query.into_inner(), version_of(&req)) {
        Ok(a) => a,
        Err(e) => return error_page(&e),
    };
    let session = session_of(&state, &req, &world, &a);
    match next_step(&state, &world, &a, session) {
        Step::Complete(user, mfa) => complete(&state, a, user, mfa, session).await,
        Step::Fail(e) => respond_error(&a, &e),
        Step::Page => page_for(&world, &req, &a, session, None),
    }
}

pub(super) async fn authorize_post(
    state: Data<AppState>,
    req: HttpRequest,
    tenant: Path<String>,
    form: Form<Params>,
) -> HttpResponse {
    let mut params = form.into_inner();
    let input = SignInInput::take(&mut params);
    let world = state.world();
    let a = match validate(&world, &tenant, params, version_of(&req)) {
        Ok(a) => a,
        Err(e) => return error_page(&e),
    };
    if input.cancel {
        return respond_error(&a, &AadError::access_denied());
    }
    let session = session_of(&state, &req, &world, &a);
    match check_sign_in(&world, &a, &input, session) {
        Ok((user, mfa)) => complete(&state, a, user, mfa, session.filter(|s| s.user == user)).await,
        Err(e) => page_for(&world, &req, &a, session, Some(&e)),
    }
}

/// `GET /{tenant}/oauth2[/v2.0]/logout`: ends the page's session and returns to
/// `post_logout_redirect_uri` when an application registered it, else shows a signed-out page.
pub(super) async fn logout(state: Data<AppState>, req: HttpRequest, query: Query<Params>) -> HttpResponse {
    if let Some(cookie) = cookie_value(&req) {
        state.sessions.end(&cookie);
    }
    let world = state.world();
    let target = query.get("post_logout_redirect_uri").filter(|uri| {
        world
            .applications()
            .iter()
            .any(|a| redirect::registered(a, uri).is_some())
    });
    let mut response = match target {
        Some(uri) => HttpResponse::Found().insert_header(("Location", uri.as_str())).finish(),
        None => page(
            StatusCode::OK,
            "Signed out",
            "<h1>You signed out of your account</h1><p>It's a good idea to close all browser windows.</p>",
        ),
    };
    let _ = response.headers_mut().insert(
        actix_web::http::header::SET_COOKIE,
        actix_web::http::header::HeaderValue::from_static(
            "emulator_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
        ),
    );
    response
}

fn version_of(req: &HttpRequest) -> ProtocolVersion {
    if req.path().contains("/oauth2/v2.0/") {
        ProtocolVersion::V2
    } else {
        ProtocolVersion::V1
    }
}

/// Client and redirect URI first (failures are shown on a page: there is nowhere safe to send
/// them), then what may be reported to the redirect URI.
fn validate(world: &World, segment: &str, params: Params, version: ProtocolVersion) -> Result<Authorize, Refusal> {
    let mut a = known_client(world, segment, params)?;
    let get = |k: &str| a.params.get(k).filter(|v| !v.is_empty()).cloned();
    let response_type = get("response_type").unwrap_or_default();
    let scope = get("scope");
    if response_type != "code" {
        return Err(Refusal::Redirect(
            Box::new(a),
            AadError::unsupported_response_type(&response_type),
        ));
    }
    if version == ProtocolVersion::V2 {
        match scope
            .ok_or_else(|| AadError::missing_parameter("scope"))
            .and_then(|s| parse_scopes(&s))
        {
            Ok(r) => a.requested = r,
            Err(e) => return Err(Refusal::Redirect(Box::new(a), e)),
        }
    }
    Ok(a)
}

/// What a v1 request asks for before its token request names the resource again (it may).
fn v1_requested(resource: Option<String>) -> Requested {
    Requested {
        resource: resource.unwrap_or_else(|| "https://graph.windows.net/".into()),
        scope: String::new(),
        scp: "user_impersonation".into(),
        openid: true,
        offline: true,
    }
}

/// The tenant, client and redirect URI, each refused on a page.
fn known_client(world: &World, segment: &str, params: Params) -> Result<Authorize, Refusal> {
    let tenant = resolve_tenant(world, segment).map_err(Refusal::Page)?;
    let client = params
        .get("client_id")
        .ok_or_else(|| Refusal::Page(AadError::missing_parameter("client_id")))?;
    let app = client_auth::find_client(world, tenant, segment, client).map_err(Refusal::Page)?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) => uri.clone(),
        None => app.sign_in.redirect_uris.first().cloned().unwrap_or_default(),
    };
    let kind = redirect::registered(app, &redirect_uri)
        .ok_or_else(|| Refusal::Page(AadError::redirect_mismatch(&redirect_uri, client)))?;
    let get = |k: &str| params.get(k).filter(|v| !v.is_empty()).cloned();
    Ok(Authorize {
        tenant_segment: segment.to_string(),
        client_id: app.client_id,
        app_name: app.display_name.clone(),
        redirect_uri,
        spa: kind == RedirectKind::Spa,
        mode: match get("response_mode").as_deref() {
            Some("form_post") => Mode::FormPost,
            Some("fragment") => Mode::Fragment,
            _ => Mode::Query,
        },
        state: get("state"),
        nonce: get("nonce"),
        challenge: get("code_challenge"),
        challenge_method: get("code_challenge_method"),
        requested: v1_requested(get("resource")),
        prompt: get("prompt"),
        login_hint: get("login_hint"),
        params,
    })
}

/// Why an authorize request cannot go on.
enum Refusal {
    /// Shown on an error page (bad tenant, client or redirect URI).
    Page(AadError),
    /// Sent to the (valid) redirect URI.
    Redirect(Box<Authorize>, AadError),
}

fn error_page(refusal: &Refusal) -> HttpResponse {
    match refusal {
        Refusal::Page(e) => page(
            StatusCode::BAD_REQUEST,
            "Sign in to your account",
            &format!(
                "<h1>Sorry, but we're having trouble signing you in.</h1>{}",
                alert(&format!("AADSTS{}: {}", e.code, e.message))
            ),
        ),
        Refusal::Redirect(a, e) => respond_error(a, e),
    }
}

/// What a GET does next.
enum Step {
    Complete(ObjectId, bool),
    Fail(AadError),
    Page,
}

fn next_step(state: &AppState, world: &World, a: &Authorize, session: Option<Session>) -> Step {
    if let Some(user) = state.auto_sign_in().filter(|u| user_fits(world, a, *u)) {
        let mfa = world.user(user).is_some_and(|u| u.state.mfa_required);
        return Step::Complete(user, mfa);
    }
    match (a.prompt.as_deref(), session) {
        (Some("none"), Some(s)) => Step::Complete(s.user, s.mfa),
        (Some("none"), None) => Step::Fail(AadError::login_required()),
        (Some("login" | "select_account" | "consent"), _) | (_, None) => Step::Page,
        (_, Some(s)) => Step::Complete(s.user, s.mfa),
    }
}

/// Whether `user` may sign in to this request's tenant (any tenant for `common`/`organizations`).
fn user_fits(world: &World, a: &Authorize, user: ObjectId) -> bool {
    let Some(u) = world.user(user) else { return false };
    let tenant_ok = match resolve_tenant(world, &a.tenant_segment) {
        Ok(TenantSelector::Tenant(t)) => t.id == u.tenant_id,
        Ok(TenantSelector::Multi(_)) => true,
        Err(_) => false,
    };
    u.enabled && tenant_ok
}

/// The page's session, when its cookie names a live one whose user may sign in here.
fn session_of(state: &AppState, req: &HttpRequest, world: &World, a: &Authorize) -> Option<Session> {
    let cookie = cookie_value(req)?;
    state
        .sessions
        .get(&cookie, state.clock.unix())
        .filter(|s| user_fits(world, a, s.user))
}

fn cookie_value(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The password form's outcome: the session's user (`account=session`), or the named user whose
/// password checks pass (MFA counts as done: the page stands for the whole interactive sign-in).
fn check_sign_in(
    world: &World,
    a: &Authorize,
    input: &SignInInput,
    session: Option<Session>,
) -> Result<(ObjectId, bool), AadError> {
    if let (Some("session"), Some(s)) = (input.account.as_deref(), session) {
        return Ok((s.user, s.mfa));
    }
    let tenant = resolve_tenant(world, &a.tenant_segment)?;
    if input.username.trim().is_empty() {
        return Err(AadError::missing_parameter("username"));
    }
    let (_, user) = user_tokens::find_user(world, tenant, &input.username)?;
    user_tokens::check_password(user, &input.password, &a.requested.resource, true)?;
    Ok((user.object_id, user.state.mfa_required))
}

fn page_for(
    world: &World,
    req: &HttpRequest,
    a: &Authorize,
    session: Option<Session>,
    error: Option<&AadError>,
) -> HttpResponse {
    let ctx = PageContext {
        world,
        action: req.path(),
        authorize: a,
        session_user: session.and_then(|s| world.user(s.user)),
        error,
    };
    sign_in_page(&ctx)
}

/// Mints the code (off the worker: SQLite), starts a session unless one goes on, and answers the
/// redirect URI.
async fn complete(
    state: &Data<AppState>,
    a: Authorize,
    user: ObjectId,
    mfa: bool,
    session: Option<Session>,
) -> HttpResponse {
    let Some(tenant) = state.world().user(user).map(|u| u.tenant_id) else {
        return respond_error(&a, &AadError::unknown_user(&a.tenant_segment));
    };
    let code = match mint_code(state, &a, user, tenant, mfa).await {
        Ok(code) => code,
        Err(e) => return respond_error(&a, &e),
    };
    let session_state = Uuid::new_v4().to_string();
    let mut fields = vec![("code", code.as_str()), ("session_state", session_state.as_str())];
    if let Some(s) = a.state.as_deref() {
        fields.push(("state", s));
    }
    let mut response = respond(&a, &fields);
    if session.is_none() {
        let value = state.sessions.start(user, tenant, mfa, state.clock.unix());
        let cookie = format!("{COOKIE}={value}; Path=/; Max-Age={SESSION_SECONDS}; Secure; HttpOnly; SameSite=Lax");
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(actix_web::http::header::SET_COOKIE, v);
        }
    }
    response
}

async fn mint_code(
    state: &Data<AppState>,
    a: &Authorize,
    user: ObjectId,
    tenant: crate::domain::TenantId,
    mfa: bool,
) -> Result<String, AadError> {
    let mut amr = vec!["pwd".to_string()];
    if mfa {
        amr.push("mfa".into());
    }
    let payload = CodePayload {
        tenant,
        redirect_uri: a.redirect_uri.clone(),
        code_challenge: a.challenge.clone(),
        code_challenge_method: a.challenge_method.clone(),
        requested: a.requested.clone(),
        nonce: a.nonce.clone(),
        amr,
        spa: a.spa,
    };
    let client = a.client_id;
    crate::service::blocking(state, move |s| {
        authorization_code::mint(&s.grant_state(), client, user, &payload)
            .map(|code| code.as_str().to_string())
            .map_err(|e| crate::service::ServiceError::Canceled(e.to_string()))
    })
    .await
    .map_err(|e| AadError::generic(500, &e.to_string()))
}

/// An error for the redirect URI: `error`, `error_description` (AAD's text), `error_uri`, `state`.
fn respond_error(a: &Authorize, e: &AadError) -> HttpResponse {
    let description = format!(
        "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
        e.code,
        e.message,
        Uuid::new_v4(),
        Uuid::new_v4(),
        crate::error::aad_timestamp(time::OffsetDateTime::now_utc())
    );
    let uri = format!("https://login.microsoftonline.com/error?code={}", e.code);
    let mut fields = vec![
        ("error", e.error),
        ("error_description", description.as_str()),
        ("error_uri", uri.as_str()),
    ];
    if let Some(s) = a.state.as_deref() {
        fields.push(("state", s));
    }
    respond(a, &fields)
}

/// Sends `fields` to the redirect URI by the request's `response_mode`.
fn respond(a: &Authorize, fields: &[(&str, &str)]) -> HttpResponse {
    let encoded = serde_urlencoded::to_string(fields).unwrap_or_default();
    let location = match a.mode {
        Mode::FormPost => return super::pages::form_post(&a.redirect_uri, fields),
        Mode::Fragment => format!("{}#{encoded}", a.redirect_uri),
        Mode::Query if a.redirect_uri.contains('?') => format!("{}&{encoded}", a.redirect_uri),
        Mode::Query => format!("{}?{encoded}", a.redirect_uri),
    };
    HttpResponse::Found()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store, no-cache"))
        .finish()
}

/// Hidden inputs carrying the request's parameters through a form, except `skip`.
pub(super) fn carried(params: &Params, skip: &[&str]) -> String {
    let mut names: Vec<&String> = params.keys().filter(|k| !skip.contains(&k.as_str())).collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|k| params.get(k).map(|v| hidden(k, v)))
        .collect()
}

/// The escaped display text of a request's application.
pub(super) fn app_label(a: &Authorize) -> String {
    escape(&a.app_name)
}
