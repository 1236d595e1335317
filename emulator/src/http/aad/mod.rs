//! The Entra ID (Azure AD) surface. Mounted at the root and under `/adfs` (MSAL treats
//! `https://host/adfs/...` authorities as known and skips instance discovery, which is what lets
//! unmodified azureml-core and azure-identity in).
//!
//! - `discovery`: OIDC documents, JWKS, instance discovery;
//! - `token`: the v1 and v2 token endpoints (the grants themselves are in
//!   [`crate::authority::grants`]).
//!
//! The user sign-in pages (issue #10) go beside them: `authorize.rs` (the `/oauth2[/v2.0]/authorize`
//! sign-in page and its form post, `/logout`) and `devicecode.rs` (`/oauth2[/v2.0]/devicecode` and
//! the verification page), each adding its routes to [`routes`].

mod discovery;
mod token;
mod token_journal;

use actix_web::web;
use actix_web::HttpRequest;

use super::{client_request_id, origin};
use crate::error::{AadError, AadFailure};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
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
        )
        .route("/{tenant}/oauth2/token", web::post().to(token::token_v1))
        .route("/{tenant}/oauth2/v2.0/token", web::post().to(token::token_v2));
}

/// Where a request landed: the origin and mount prefix URLs are built from, and the tenant segment.
struct Site {
    base: String,
    /// `""` or `"/adfs"`.
    prefix: &'static str,
    /// The tenant path segment as sent (`adfs` for the bare `/adfs/.well-known/...` document).
    tenant: String,
}

impl Site {
    fn of(state: &AppState, req: &HttpRequest) -> Self {
        let adfs = req.path().starts_with("/adfs/");
        Site {
            base: origin(state, req),
            prefix: if adfs { "/adfs" } else { "" },
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
