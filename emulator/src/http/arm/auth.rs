//! Who is calling (bearer token) and whether they may (RBAC).

use std::sync::Arc;

use actix_web::HttpRequest;
use time::OffsetDateTime;

use super::route::{subscription_in, Check, Route};
use crate::authority::verify::AccessClaims;
use crate::domain::scope::Scope;
use crate::domain::{ObjectId, TenantId, World};
use crate::error::{ArmError, ARM_AUDIENCES};
use crate::state::{AppState, JournalEntry, RbacMode};

/// An authenticated caller.
pub struct Caller {
    pub object_id: ObjectId,
    pub tenant: TenantId,
    /// How ARM names the caller in AuthorizationFailed: a user's UPN, else the object id.
    pub label: String,
    pub claims: Arc<AccessClaims>,
}

/// The authority a 401 challenge points at: the subscription's tenant on this emulator.
fn authorization_uri(world: &World, path: &str, base: &str) -> String {
    let tenant = subscription_in(path)
        .and_then(|s| s.parse().ok())
        .and_then(|s| world.subscription(s))
        .map_or_else(|| "common".to_string(), |s| s.tenant_id.to_string());
    format!("{base}/{tenant}")
}

struct LazyUri<'a> {
    world: &'a World,
    path: &'a str,
    base: &'a str,
    value: std::cell::OnceCell<String>,
}

impl std::ops::Deref for LazyUri<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        self.value
            .get_or_init(|| authorization_uri(self.world, self.path, self.base))
    }
}

/// Accepts ARM's own audiences and this emulator's configured origins (azure-ai-ml asks for a token
/// for the cloud's `resourceManager`, which is the emulator) — never the request's Host.
fn audience_ok(state: &AppState, aud: &str) -> bool {
    ARM_AUDIENCES.contains(&aud) || state.origins.is_own(aud)
}

pub fn authenticate(state: &AppState, world: &World, req: &HttpRequest, base: &str) -> Result<Caller, ArmError> {
    // Only failures need the challenge's authority; build it lazily.
    let uri = LazyUri {
        world,
        path: req.path(),
        base,
        value: std::cell::OnceCell::new(),
    };
    let uri = &uri;
    let header = req
        .headers()
        .get("authorization")
        .ok_or_else(|| ArmError::missing_authorization(uri))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .map(|(_, token)| token.trim())
        .ok_or_else(|| ArmError::malformed_authorization(uri))?;
    let claims = state.tokens.verify(&state.keys, token).map_err(|e| {
        tracing::info!(reason = %e, "ARM token refused");
        ArmError::invalid_token(uri)
    })?;
    if !audience_ok(state, &claims.aud) {
        return Err(ArmError::wrong_audience(&claims.aud, uri));
    }
    let tenant: TenantId = claims.tid.parse().map_err(|_| ArmError::invalid_token(uri))?;
    let issuers = [
        format!("https://sts.windows.net/{tenant}/"),
        format!("https://login.microsoftonline.com/{tenant}/v2.0"),
    ];
    if !issuers.contains(&claims.iss) || world.tenant(tenant).is_none() {
        return Err(ArmError::invalid_token(uri));
    }
    let now = state.clock.now();
    if claims.exp <= now.unix_timestamp() {
        let exp = OffsetDateTime::from_unix_timestamp(claims.exp).map_err(|_| ArmError::invalid_token(uri))?;
        return Err(ArmError::expired(exp, now, uri));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now.unix_timestamp()) {
        return Err(ArmError::not_yet_valid(uri));
    }
    if let Some(sub) = subscription_in(req.path())
        .and_then(|s| s.parse().ok())
        .and_then(|s| world.subscription(s))
    {
        if sub.tenant_id != tenant {
            return Err(ArmError::wrong_tenant(&claims.iss, &sub.tenant_id.to_string(), uri));
        }
    }
    let object_id: ObjectId = claims
        .oid
        .as_deref()
        .and_then(|o| o.parse().ok())
        .ok_or_else(|| ArmError::invalid_token(uri))?;
    let label = world
        .principal(object_id)
        .map(|(label, _)| label)
        .or_else(|| claims.upn.clone())
        .unwrap_or_else(|| object_id.to_string());
    Ok(Caller {
        object_id,
        tenant,
        label,
        claims,
    })
}

/// The RBAC gate for checks made once at the request scope. In log-only mode a denial is
/// journaled and the request goes on.
pub fn authorize(state: &AppState, caller: &Caller, route: &Route) -> Result<(), ArmError> {
    match route.check {
        Check::AtScope(action) => require(state, caller, action, &route.target.scope()),
        _ => Ok(()),
    }
}

/// `action` at `scope`, or ARM's 403 (journaled instead in log-only mode).
pub fn require(state: &AppState, caller: &Caller, action: &str, scope: &Scope) -> Result<(), ArmError> {
    if state.rbac().allows(caller.object_id, action, scope) {
        Ok(())
    } else {
        deny(state, caller, action, scope)
    }
}

/// Per-item check for collections: in log-only mode everything is shown (and journaled).
pub fn may(state: &AppState, caller: &Caller, action: &str, scope: &Scope) -> bool {
    state.rbac().allows(caller.object_id, action, scope) || deny(state, caller, action, scope).is_ok()
}

pub fn deny(state: &AppState, caller: &Caller, action: &str, scope: &Scope) -> Result<(), ArmError> {
    match state.rbac_mode {
        RbacMode::Enforce => Err(ArmError::authorization_failed(
            &caller.label,
            &caller.object_id.to_string(),
            action,
            scope.as_str(),
        )),
        RbacMode::LogOnly => {
            tracing::warn!(principal = %caller.object_id, action, scope = %scope, "RBAC would deny (log-only)");
            state.record(JournalEntry {
                time: crate::error::aad_timestamp(state.clock.now()),
                kind: "rbac-would-deny",
                principal: caller.object_id.to_string(),
                action: action.to_string(),
                scope: scope.to_string(),
            });
            Ok(())
        }
    }
}
