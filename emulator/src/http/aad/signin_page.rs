//! The sign-in page of `/authorize`: "continue as" the session's user, the password form
//! (`login_hint` prefills it), and the account picker of the tenant's users (a button per user
//! reloads the page with that user's name filled in; no script).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use super::authorize::{app_label, carried, Authorize};
use super::pages::{alert, escape, hidden, page};
use crate::authority::grants::{resolve_tenant, TenantSelector};
use crate::domain::world::User;
use crate::domain::World;
use crate::error::AadError;

/// How many users the account picker lists at most.
const PICKER_LIMIT: usize = 50;

/// What the page shows.
pub(super) struct PageContext<'a> {
    pub world: &'a World,
    /// Where the form posts: the authorize path this page was served at.
    pub action: &'a str,
    pub authorize: &'a Authorize,
    /// The signed-in user of the page's session, if any.
    pub session_user: Option<&'a User>,
    pub error: Option<&'a AadError>,
}

pub(super) fn sign_in_page(ctx: &PageContext<'_>) -> HttpResponse {
    let a = ctx.authorize;
    let action = escape(ctx.action);
    let carried_fields = carried(&a.params, &["username", "password", "account", "cancel", "login"]);
    let mut body = format!(
        "<h1>Sign in</h1><p>to continue to <strong>{}</strong></p>",
        app_label(a)
    );
    if let Some(e) = ctx.error {
        body.push_str(&alert(&format!("AADSTS{}: {}", e.code, e.message)));
    }
    if let Some(u) = ctx.session_user {
        body.push_str(&format!(
            "<form method=\"post\" action=\"{action}\">{carried_fields}{}\
             <button id=\"continue\" class=\"primary\" type=\"submit\">Continue as {}</button></form>",
            hidden("account", "session"),
            escape(&u.upn)
        ));
    }
    let hint = a.login_hint.as_deref().unwrap_or_default();
    body.push_str(&format!(
        "<form id=\"signin\" method=\"post\" action=\"{action}\">{carried_fields}\
         <label for=\"username\">Email, phone, or Skype</label>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" value=\"{}\" required>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
         <div><button id=\"submit\" class=\"primary\" type=\"submit\" name=\"login\" value=\"1\">Sign in</button>\
         <button id=\"cancel\" type=\"submit\" name=\"cancel\" value=\"1\" formnovalidate>Cancel</button></div></form>",
        escape(hint)
    ));
    body.push_str(&picker(ctx));
    page(StatusCode::OK, "Sign in to your account", &body)
}

/// "Pick an account": one button per user of the tenant, reloading the page for that user.
fn picker(ctx: &PageContext<'_>) -> String {
    let a = ctx.authorize;
    let tenant = resolve_tenant(ctx.world, &a.tenant_segment).ok();
    let users: Vec<&User> = ctx
        .world
        .users()
        .iter()
        .filter(|u| match tenant {
            Some(TenantSelector::Tenant(t)) => u.tenant_id == t.id,
            _ => true,
        })
        .take(PICKER_LIMIT)
        .collect();
    if users.is_empty() {
        return String::new();
    }
    let buttons: String = users
        .iter()
        .map(|u| {
            format!(
                "<li><button type=\"submit\" name=\"login_hint\" value=\"{}\">{} <span class=\"note\">{}</span></button></li>",
                escape(&u.upn),
                escape(&u.display_name),
                escape(&u.upn)
            )
        })
        .collect();
    format!(
        "<section aria-labelledby=\"pick\"><h2 id=\"pick\">Pick an account</h2>\
         <form method=\"get\" action=\"{}\">{}{}<ul class=\"accounts\">{buttons}</ul></form></section>",
        escape(ctx.action),
        carried(&a.params, &["login_hint", "prompt"]),
        hidden("prompt", "login"),
    )
}
