//! Certificate client assertions (`private_key_jwt`): a JWT the application signs with the private
//! key of a certificate registered on it, naming the certificate by `x5t` or `x5t#S256`. Checked
//! in this order: `iss` = `sub` = client id (AADSTS700021), `aud` = one of this emulator's token
//! endpoints, v1 or v2, for any alias of the application's tenant (700023), a registered
//! certificate (700027 "key was not found"), algorithm and signature (700027), the certificate
//! within its validity on the emulator clock (700027 "The key used is expired.", as observed),
//! `exp`/`nbf` within [`SKEW_SECONDS`] (700024), and `jti` not presented before for the same
//! resource while the assertion lives (50013, the emulator's choice).

use time::OffsetDateTime;

use super::GrantContext;
use crate::authority::assertion::{Alg, Jws};
use crate::domain::world::Application;
use crate::error::AadError;
use crate::store::Replay;

/// How far outside `nbf`/`exp` an assertion is still accepted, for clock skew (five minutes, as
/// Entra ID allows for the tokens it validates).
pub const SKEW_SECONDS: i64 = 300;

/// Checks a certificate assertion of `app` requesting a token for `resource`.
pub(super) fn check(ctx: &GrantContext<'_>, app: &Application, jws: &Jws<'_>, resource: &str) -> Result<(), AadError> {
    let client = app.client_id.to_string();
    let c = &jws.claims;
    let same = |v: &Option<String>| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(&client));
    if !(same(&c.iss) && same(&c.sub)) {
        return Err(AadError::assertion_client_mismatch());
    }
    if !c.aud.iter().any(|a| is_token_endpoint(ctx, app, a)) {
        return Err(AadError::assertion_audience());
    }
    let thumbprint = jws
        .thumbprint
        .as_ref()
        .ok_or_else(|| AadError::assertion_key_not_found("(none)", app.client_id))?;
    let cert = ctx
        .world
        .identities()
        .certificates_of(app.client_id)
        .iter()
        .find(|cert| cert.is_named_by(thumbprint))
        .ok_or_else(|| AadError::assertion_key_not_found(&thumbprint.hex(), app.client_id))?;
    let window = Some((cert.start, cert.end));
    if jws.alg.is_none() {
        let reason = format!(
            "The signing algorithm '{}' is not supported: use RS256 or PS256.",
            jws.alg_name
        );
        return Err(AadError::assertion_signature(&reason, &thumbprint.hex(), window));
    }
    if !jws.verify_with(&cert.public_key) {
        let reason = "The provided signature value did not match the expected signature value.";
        return Err(AadError::assertion_signature(reason, &thumbprint.hex(), window));
    }
    if ctx.now < cert.start || ctx.now >= cert.end {
        return Err(AadError::assertion_signature(
            "The key used is expired.",
            &thumbprint.hex(),
            window,
        ));
    }
    let exp = check_time_range(ctx.now, c.nbf, c.exp)?;
    let jti = c
        .jti
        .as_deref()
        .ok_or_else(|| AadError::malformed_assertion("the client assertion has no 'jti' claim"))?;
    debug_assert!(matches!(jws.alg, Some(Alg::Rs256 | Alg::Ps256)));
    let replay = ctx
        .store
        .record_assertion(
            app.client_id,
            jti,
            resource,
            exp + SKEW_SECONDS,
            ctx.now.unix_timestamp(),
        )
        .map_err(|e| AadError::generic(500, &format!("the assertion could not be recorded: {e}")))?;
    match replay {
        Replay::Fresh => Ok(()),
        Replay::Replayed => Err(AadError::assertion_replayed()),
    }
}

/// `nbf` (default: the epoch, as AAD reports it) and `exp` (required) against the clock, with
/// [`SKEW_SECONDS`] of tolerance either side; answers `exp`.
pub(super) fn check_time_range(now: OffsetDateTime, nbf: Option<i64>, exp: Option<i64>) -> Result<i64, AadError> {
    let at = |t: i64| OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let from = nbf.unwrap_or(0);
    let t = now.unix_timestamp();
    match exp {
        Some(exp) if from - SKEW_SECONDS <= t && t < exp.saturating_add(SKEW_SECONDS) => Ok(exp),
        _ => Err(AadError::assertion_time_range(now, at(from), exp.map(at))),
    }
}

/// Whether `aud` is one of this emulator's token endpoints (v1 `/oauth2/token` or v2
/// `/oauth2/v2.0/token`, at the root or under `/adfs`, on any configured origin) for the
/// application's tenant by id, any verified domain, `common`, `organizations` or `adfs`.
fn is_token_endpoint(ctx: &GrantContext<'_>, app: &Application, aud: &str) -> bool {
    let aud = aud.trim_end_matches('/').to_ascii_lowercase();
    let Some(origin) = ctx
        .origins
        .all()
        .iter()
        .find(|o| aud.starts_with(&o.to_ascii_lowercase()))
    else {
        return false;
    };
    let path = &aud[origin.len()..];
    let path = path.strip_prefix("/adfs").unwrap_or(path);
    let Some((tenant, endpoint)) = path.trim_start_matches('/').split_once('/') else {
        return false;
    };
    if endpoint != "oauth2/token" && endpoint != "oauth2/v2.0/token" {
        return false;
    }
    let home = ctx.world.tenant(app.tenant_id);
    matches!(tenant, "common" | "organizations" | "adfs")
        || tenant == app.tenant_id.to_string()
        || home.is_some_and(|t| t.domains.iter().any(|d| d.eq_ignore_ascii_case(tenant)))
}
