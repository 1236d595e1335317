//! What every ARM handler receives, and the helpers they share: RBAC checks through the request's
//! gate, reading the JSON body, running a write off the async workers, rendering `201`/`200`.

use std::sync::Arc;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::authn::Caller;
use crate::decision::Gate;
use crate::domain::rbac::PrincipalType;
use crate::domain::scope::Scope;
use crate::domain::world::Actor;
use crate::domain::World;
use crate::error::ArmError;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;

pub type ArmResult = Result<HttpResponse, ArmError>;

pub struct Ctx<'a> {
    pub data: &'a Data<AppState>,
    pub req: &'a HttpRequest,
    pub caller: &'a Caller,
    pub gate: &'a Gate<'a>,
    /// The configured origin the request reached: base of every URL in answers.
    pub base: &'a str,
    pub api_version: &'a str,
    pub body: &'a [u8],
    /// The world as it was when the request arrived.
    pub world: Arc<World>,
}

impl Ctx<'_> {
    pub fn state(&self) -> &AppState {
        self.data
    }

    /// `action` at `scope`, or ARM's 403 (journaled instead in log-only mode).
    pub fn require(&self, action: &str, scope: &Scope) -> Result<(), ArmError> {
        Ok(self.gate.require(action, scope)?)
    }

    /// Per-item check of a collection.
    pub fn may(&self, action: &str, scope: &Scope) -> bool {
        self.gate.may(action, scope)
    }

    /// A collection is listed for callers with some role in (or above) its scope, filtered per
    /// item; callers with none get ARM's 403 for the collection's read action.
    pub fn require_access_within(&self, action: &str, scope: &Scope) -> Result<(), ArmError> {
        Ok(self.gate.require_access_within(action, scope)?)
    }

    /// The JSON body. ARM takes only `application/json` (415 `UnsupportedMediaType` otherwise, with
    /// the media type quoted as ARM quotes it) and answers unreadable JSON with
    /// `InvalidRequestContent`.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ArmError> {
        let media = self
            .req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let json = media
            .as_deref()
            .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
        if !json {
            return Err(ArmError::unsupported_media_type(media.as_deref()));
        }
        serde_json::from_slice(self.body).map_err(ArmError::invalid_content)
    }

    /// Runs a write of the service layer off the async workers. A store failure is a 500 (the cause
    /// goes to the log); other failures are the caller's to render, through `refused`.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AppState) -> ServiceResult<T> + Send + 'static,
        refused: impl FnOnce(ServiceError) -> ArmError,
    ) -> Result<T, ArmError> {
        crate::service::run(self.data, f, ArmError::internal, refused).await
    }

    /// The emulator clock's now, as ARM writes timestamps.
    pub fn now(&self) -> String {
        crate::clock::arm_timestamp(self.state().clock.now())
    }

    /// The caller as ARM's `systemData` names it: a user by UPN (`User`), a service principal by
    /// its application's client id (`Application`).
    pub fn actor(&self) -> Actor {
        let oid = self.caller.object_id;
        match self.world.principal(oid) {
            Some((upn, PrincipalType::User)) => Actor {
                name: upn,
                kind: "User".into(),
            },
            _ => Actor {
                name: self
                    .world
                    .applications()
                    .iter()
                    .find(|a| a.object_id == oid)
                    .map_or_else(|| oid.to_string(), |a| a.client_id.to_string()),
                kind: "Application".into(),
            },
        }
    }

    /// Whether the requested api-version is `date` (`yyyy-mm-dd`) or later, previews included.
    pub fn since(&self, date: &str) -> bool {
        self.api_version.get(..10).unwrap_or(self.api_version) >= date
    }
}

/// `201 Created` for a new resource, `200 OK` for an updated one.
pub fn created_or_ok(created: bool, body: &Value) -> HttpResponse {
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    response.json(body)
}
