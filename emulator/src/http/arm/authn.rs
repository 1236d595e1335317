//! Who is calling ARM (and model management, which takes ARM tokens): the request's gate decides,
//! this renders a refusal as ARM's 401 with its challenge.

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;

use super::route::subscription_in;
use crate::decision::{Credential, Expectation, Gate};
use crate::domain::world::Subscription;
use crate::domain::{ObjectId, TenantId, World};
use crate::error::ArmError;
use crate::state::AppState;

/// An authenticated ARM caller: an Entra principal of a tenant of this world.
#[derive(Clone, Debug)]
pub struct Caller {
    pub object_id: ObjectId,
    pub tenant: TenantId,
}

/// Authenticates the request's bearer token as an ARM token: for the tenant owning the
/// subscription its path names, when it names one.
pub fn authenticate(state: &AppState, world: &World, req: &HttpRequest, gate: &Gate<'_>) -> Result<Caller, ArmError> {
    let subscription = subscription_in(req.path())
        .and_then(|s| s.parse().ok())
        .and_then(|s| world.subscription(s));
    let credential = Credential::from_header(req.headers().get(AUTHORIZATION).map(|v| v.as_bytes()));
    let principal = gate
        .authenticate(world, credential, &Expectation::Arm { subscription })
        .map_err(|f| ArmError::unauthenticated_by(&f, &authorization_uri(state, req, subscription)))?;
    match principal {
        (Some(object_id), Some(tenant)) => Ok(Caller { object_id, tenant }),
        _ => Err(ArmError::invalid_token(&authorization_uri(state, req, subscription))),
    }
}

/// The authority a 401 challenge points at: the subscription's tenant on this emulator.
fn authorization_uri(state: &AppState, req: &HttpRequest, subscription: Option<&Subscription>) -> String {
    let tenant = subscription.map_or_else(|| "common".to_string(), |s| s.tenant_id.to_string());
    format!("{}/{tenant}", state.origins.for_request(req))
}
