//! The Entra ID (Azure AD) surface. Mounted at the root and under `/adfs` (MSAL treats
//! `https://host/adfs/...` authorities as known and skips instance discovery, which is what lets
//! unmodified azureml-core and azure-identity in).
//!
//! - `discovery`: OIDC documents, JWKS, instance discovery;
//! - `token`: the v1 and v2 token endpoints (the grants themselves are in
//!   [`crate::authority::grants`]).
//!
//! - `authorize`: the `/oauth2[/v2.0]/authorize` sign-in page, its form post and `/logout`
//!   (`signin_page` renders the page, `pages` holds the HTML helpers);
//! - `devicecode`: `/oauth2[/v2.0]/devicecode` and the `/devicelogin` verification page;
//! - `userrealm`: home realm discovery for ROPC.
//!
//! Also mounted under `/adfs/aad`: azureml-core's interactive login builds its authority as
//! `{loginEndpoint}/{tenant}` with the cloud metadata's `…/adfs/aad` login endpoint.

mod authorize;
mod devicecode;
mod discovery;
mod pages;
mod signin_page;
mod token;
mod token_journal;
mod userrealm;

use actix_web::http::Method;
use actix_web::HttpRequest;
use actix_web::{guard, web};

use super::{client_request_id, origin};
use crate::error::{AadError, AadFailure};
use crate::state::AppState;

/// The Entra ID routes at the root.
pub fn routes(cfg: &mut web::ServiceConfig) {
    routes_at(cfg, "");
}

/// The Entra ID routes under `mount` (`""`, `"/adfs"` or `"/adfs/aad"`). Token requests, the
/// hot ones, are picked out first by a guard that reads the path itself; every other request
/// (and a token request the guard leaves, such as a GET) meets the routes as declared.
pub fn routes_at(cfg: &mut web::ServiceConfig, mount: &'static str) {
    cfg.service(
        web::scope("")
            .guard(guard::fn_guard(move |ctx| {
                ctx.head().method == Method::POST && token::token_path(ctx.head().uri.path(), mount).is_some()
            }))
            .default_service(web::to(token::token_direct)),
    );
    discovery_routes(cfg);
    sign_in_routes(cfg);
}

/// Discovery: the OpenID configurations, the key sets, instance discovery.
fn discovery_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/openid-configuration", web::get().to(discovery::openid_v1))
        .route(
            "/{tenant}/.well-known/openid-configuration",
            web::get().to(discovery::openid_v1),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            web::get().to(discovery::openid_v2),
        )
        .route("/{tenant}/discovery/keys", web::get().to(discovery::keys_v1))
        .route("/{tenant}/discovery/v2.0/keys", web::get().to(discovery::keys_v2))
        .route(
            "/{tenant}/discovery/instance",
            web::get().to(discovery::instance_discovery),
        );
}

/// The token, device-code, authorize, logout and user-realm endpoints.
fn sign_in_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/{tenant}/oauth2/token", web::post().to(token::token_v1))
        .route("/{tenant}/oauth2/v2.0/token", web::post().to(token::token_v2))
        .route("/{tenant}/oauth2/devicecode", web::post().to(devicecode::devicecode_v1))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            web::post().to(devicecode::devicecode_v2),
        )
        .route("/{tenant}/oauth2/authorize", web::get().to(authorize::authorize_get))
        .route("/{tenant}/oauth2/authorize", web::post().to(authorize::authorize_post))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            web::get().to(authorize::authorize_get),
        )
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            web::post().to(authorize::authorize_post),
        )
        .route("/{tenant}/oauth2/logout", web::get().to(authorize::logout))
        .route("/{tenant}/oauth2/v2.0/logout", web::get().to(authorize::logout))
        .route("/{tenant}/userrealm/{user}", web::get().to(userrealm::user_realm))
        .route("/{tenant}/UserRealm/{user}", web::get().to(userrealm::user_realm));
}

/// The device-code verification page, at the root only (its URL is handed out whole).
pub fn device_login(cfg: &mut web::ServiceConfig) {
    cfg.route("/devicelogin", web::get().to(devicecode::page_get))
        .route("/devicelogin", web::post().to(devicecode::page_post));
}

/// Where a request landed: the origin and mount prefix URLs are built from, and the tenant segment.
struct Site {
    base: String,
    /// `""`, `"/adfs"` or `"/adfs/aad"`.
    prefix: &'static str,
    /// The tenant path segment as sent (`adfs` for the bare `/adfs/.well-known/...` document).
    tenant: String,
}

impl Site {
    fn of(state: &AppState, req: &HttpRequest) -> Self {
        let path = req.path();
        Site {
            base: origin(state, req),
            prefix: if path.starts_with("/adfs/aad/") {
                "/adfs/aad"
            } else if path.starts_with("/adfs/") {
                "/adfs"
            } else {
                ""
            },
            tenant: req.match_info().get("tenant").unwrap_or("adfs").to_string(),
        }
    }

    fn url(&self, tenant: &str, path: &str) -> String {
        format!("{}{}/{tenant}/{path}", self.base, self.prefix)
    }
}

/// Renders an AAD error with the clock's timestamp and the request's correlation id.
fn fail(state: &AppState, req: &HttpRequest, error: AadError) -> AadFailure {
    error.render_at(state.clock.now(), client_request_id(req))
}
