//! The device authorization grant (`v2-oauth2-device-code.md`, RFC 8628): [`start`] answers
//! `/oauth2[/v2.0]/devicecode` with a device code and a 9-character user code; the user approves or
//! declines it on the verification page or through the control API ([`decide`]); the client polls
//! the token endpoint ([`grant`]) with `grant_type=urn:ietf:params:oauth:grant-type:device_code`
//! (msal) or `device_code` (adal, msal-node), the code in `device_code` or `code`.
//!
//! While auto sign-in is set, a pending code is approved as that user on its first poll.

use serde::{Deserialize, Serialize};

use super::client_auth::{find_client, PresentedClient};
use super::request::TokenRequest;
use super::tenant::{resolve_tenant, TenantSelector};
use super::user_tokens::{self, map_state, Requested, SignIn};
use super::{GrantContext, Issued, ProtocolVersion};
use crate::authority::grant_state::{GrantRef, GrantState, GrantStateError, Lookup, NewEntry, DEVICE_CODE_LIFETIME};
use crate::domain::grant::{GrantHash, GrantKind};
use crate::domain::{ObjectId, TenantId, World};
use crate::error::AadError;

/// Seconds a client should wait between polls (AAD answers 5).
pub const POLL_INTERVAL: i64 = 5;

/// Characters of user codes: upper-case letters and digits without the easily confused ones.
const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const USER_CODE_LENGTH: usize = 9;

/// Where a device code stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    Pending,
    Approved,
    Declined,
}

/// What a device code remembers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DevicePayload {
    /// The tenant the flow was started in (none for `common`/`organizations`).
    pub tenant: Option<TenantId>,
    pub requested: Requested,
    pub status: DeviceStatus,
    pub amr: Vec<String>,
}

/// When each device code was last polled (unix milliseconds on the emulator clock), for
/// `slow_down`. In memory: a restart forgets it, which only spares one `slow_down`.
#[derive(Debug, Default)]
pub struct DevicePolls(std::sync::Mutex<std::collections::HashMap<GrantHash, i64>>);

impl DevicePolls {
    /// Records a poll at `now_ms`; returns the previous one. Entries older than a device code's
    /// life are dropped when the table grows.
    fn record(&self, code: GrantHash, now_ms: i64) -> Option<i64> {
        let mut polls = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if polls.len() > 10_000 {
            let horizon = now_ms - DEVICE_CODE_LIFETIME.whole_milliseconds() as i64;
            polls.retain(|_, t| *t > horizon);
        }
        polls.insert(code, now_ms)
    }
}

/// The devicecode endpoint's answer.
#[derive(Debug)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    /// Seconds.
    pub expires_in: i64,
    pub interval: i64,
}

/// Starts a device flow: the client must exist (900144, 700016) and be a public client
/// (7000218), the resource or scope must be valid (900144, 901002, 70011) and known (500011).
pub fn start(
    ctx: &GrantContext<'_>,
    version: ProtocolVersion,
    tenant_segment: &str,
    request: &TokenRequest,
) -> Result<DeviceAuthorization, AadError> {
    let tenant = resolve_tenant(ctx.world, tenant_segment)?;
    let presented = PresentedClient::read(request)?;
    let app = find_client(ctx.world, tenant, tenant_segment, &presented.client_id)?;
    user_tokens::authenticate_client(ctx, app, presented.credential.as_ref())?;
    let requested = Requested::read(version, request, None)?;
    let home = match tenant {
        TenantSelector::Tenant(t) => Some(t.id),
        TenantSelector::Multi(_) => None,
    };
    let check_tenant = home.unwrap_or(app.tenant_id);
    crate::domain::audience::resolve(ctx.world, check_tenant, &requested.resource, &|r| ctx.origins.is_own(r))
        .ok_or_else(|| AadError::unknown_resource(&requested.resource, tenant_segment))?;
    let payload = DevicePayload {
        tenant: home,
        requested,
        status: DeviceStatus::Pending,
        amr: vec![],
    };
    for _ in 0..8 {
        let user_code = new_user_code();
        let issued = ctx.grant_state.issue(NewEntry {
            kind: GrantKind::DeviceCode,
            client_id: app.client_id,
            user_id: None,
            alias: Some(&user_code),
            lifetime: DEVICE_CODE_LIFETIME,
            payload: &payload,
        });
        match issued {
            Ok(value) => {
                return Ok(DeviceAuthorization {
                    device_code: value.as_str().to_string(),
                    user_code,
                    expires_in: DEVICE_CODE_LIFETIME.whole_seconds(),
                    interval: POLL_INTERVAL,
                })
            }
            Err(GrantStateError::AliasInUse) => continue,
            Err(e) => return map_state(Err(e)),
        }
    }
    Err(AadError::generic(503, "No free user code could be drawn; try again."))
}

/// A fresh user code, e.g. `GC7UHK4QD`.
fn new_user_code() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..USER_CODE_LENGTH)
        .map(|_| USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())] as char)
        .collect()
}

/// A user code as typed (any case, spaces or dashes) in the form it was issued.
pub fn normalise_user_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The token endpoint's poll: `authorization_pending` (70016) until approved, `slow_down` when
/// polled faster than every [`POLL_INTERVAL`] seconds (one second of tolerance, on the emulator
/// clock), `authorization_declined`, `expired_token` (70019), `bad_verification_code` (70018) for a
/// code never issued to this client, then the user's tokens once (a second redemption: 54005).
pub fn grant<'w>(
    ctx: &GrantContext<'w>,
    version: ProtocolVersion,
    tenant: TenantSelector<'w>,
    tenant_segment: &str,
    request: &TokenRequest,
) -> Result<Issued, AadError> {
    let presented = PresentedClient::read(request)?;
    let app = find_client(ctx.world, tenant, tenant_segment, &presented.client_id)?;
    let client = user_tokens::authenticate_client(ctx, app, presented.credential.as_ref())?;
    let code = request
        .param("device_code")
        .or_else(|| request.param("code"))
        .ok_or_else(|| AadError::missing_parameter("device_code"))?;
    let by = GrantRef::Value(code);
    let grant = match map_state(ctx.grant_state.get::<DevicePayload>(GrantKind::DeviceCode, by))? {
        Lookup::Live(g) if g.client_id == app.client_id => g,
        Lookup::Live(_) | Lookup::Unknown => return Err(AadError::bad_verification_code()),
        Lookup::Expired(_) => return Err(AadError::device_code_expired()),
        Lookup::Consumed(_) => return Err(AadError::device_code_redeemed()),
        Lookup::Revoked(g) => return Err(AadError::grant_revoked(g.issued_at)),
    };
    let mut payload = grant.payload;
    let mut user_id = grant.user_id;
    match (payload.status, ctx.auto_sign_in) {
        (DeviceStatus::Declined, _) => return Err(AadError::authorization_declined()),
        (DeviceStatus::Approved, _) => {}
        (DeviceStatus::Pending, Some(auto)) if user_fits(ctx.world, payload.tenant, auto) => {
            payload.status = DeviceStatus::Approved;
            payload.amr = approved_amr(ctx.world, auto);
            user_id = Some(auto);
        }
        (DeviceStatus::Pending, _) => return Err(pending(ctx, code)),
    }
    let taken = map_state(ctx.grant_state.take_once::<DevicePayload>(GrantKind::DeviceCode, by))?;
    if !matches!(taken, Lookup::Live(_)) {
        return Err(AadError::device_code_redeemed());
    }
    let (home, user) = user_tokens::grant_user(ctx.world, tenant, user_id)?;
    let requested = Requested::read(version, request, Some(&payload.requested))?;
    let who = SignIn {
        tenant: home,
        user,
        client,
        amr: payload.amr,
        nonce: None,
        spa: false,
        refresh_until: None,
    };
    user_tokens::issue(ctx, &requested, who, version, request)
}

/// Records the poll and answers `slow_down` or `authorization_pending`.
fn pending(ctx: &GrantContext<'_>, code: &str) -> AadError {
    let now_ms = (ctx.now.unix_timestamp_nanos() / 1_000_000) as i64;
    let previous = ctx.device_polls.record(GrantHash::of(code), now_ms);
    if previous.is_some_and(|last| now_ms - last < (POLL_INTERVAL - 1) * 1000) {
        AadError::slow_down(POLL_INTERVAL)
    } else {
        AadError::authorization_pending()
    }
}

/// Whether `user` may approve a code started in `tenant` (any tenant for `common`).
fn user_fits(world: &World, tenant: Option<TenantId>, user: ObjectId) -> bool {
    world
        .user(user)
        .is_some_and(|u| u.enabled && tenant.is_none_or(|t| t == u.tenant_id))
}

fn approved_amr(world: &World, user: ObjectId) -> Vec<String> {
    world.user(user).map(user_tokens::password_amr).unwrap_or_default()
}

/// Why a device code could not be approved or declined.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("no pending device code has this user code (unknown, expired or already used)")]
    UnknownCode,
    #[error("the user cannot approve this code: unknown, disabled or of another tenant")]
    WrongUser,
    #[error("the device code was already approved or declined")]
    AlreadyDecided,
    #[error("grant state: {0}")]
    State(String),
}

/// The user's decision on the verification page or through the control API: approve as `user`
/// (who must be enabled and of the code's tenant) or decline (`None`). Callers serialize
/// decisions (the service layer's writer), so two cannot both turn one pending code.
pub fn decide(
    grants: &GrantState<'_>,
    world: &World,
    user_code: &str,
    user: Option<ObjectId>,
) -> Result<(), DecideError> {
    let alias = normalise_user_code(user_code);
    let by = GrantRef::Alias(&alias);
    let state = |e: GrantStateError| DecideError::State(e.to_string());
    let mut payload = match grants.get::<DevicePayload>(GrantKind::DeviceCode, by).map_err(state)? {
        Lookup::Live(g) => g.payload,
        _ => return Err(DecideError::UnknownCode),
    };
    if payload.status != DeviceStatus::Pending {
        return Err(DecideError::AlreadyDecided);
    }
    match user {
        Some(u) if user_fits(world, payload.tenant, u) => {
            payload.status = DeviceStatus::Approved;
            payload.amr = approved_amr(world, u);
        }
        Some(_) => return Err(DecideError::WrongUser),
        None => payload.status = DeviceStatus::Declined,
    }
    match grants
        .update(GrantKind::DeviceCode, by, user, &payload)
        .map_err(state)?
    {
        true => Ok(()),
        false => Err(DecideError::UnknownCode),
    }
}

/// The tenant a pending user code was started in, for the verification page (none: `common`).
pub fn pending_tenant(grants: &GrantState<'_>, user_code: &str) -> Option<Option<TenantId>> {
    let alias = normalise_user_code(user_code);
    match grants.get::<DevicePayload>(GrantKind::DeviceCode, GrantRef::Alias(&alias)) {
        Ok(Lookup::Live(g)) if g.payload.status == DeviceStatus::Pending => Some(g.payload.tenant),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_nine_unambiguous_characters() {
        let code = new_user_code();
        assert_eq!(code.len(), 9);
        assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{code}");
        assert_eq!(normalise_user_code(" gc7u-hk4qd "), "GC7UHK4QD");
    }
}
