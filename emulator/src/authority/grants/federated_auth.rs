//! Workload identity federation: an external token standing in for a secret, trusted by a
//! federated identity credential of the application (or user-assigned identity). Checked in this
//! order: a credential of the owner names the token's issuer (AADSTS700211), the issuer's
//! published key signed it (700027; 50166 for an issuer that cannot be reached), `exp`/`nbf` on
//! the emulator clock (700024), and a credential of that issuer names exactly the token's `sub`
//! and one of its audiences (70021). Federated assertions are not single-use: Kubernetes and
//! azure-identity present the same projected token until it expires.

use super::certificate_auth::check_time_range;
use super::GrantContext;
use crate::authority::assertion::{Alg, Jws};
use crate::authority::issuers::test_issuer_name;
use crate::domain::world::{Application, FederatedIssuer};
use crate::error::AadError;

/// Checks a federated assertion presented by `app`.
pub(super) fn check(ctx: &GrantContext<'_>, app: &Application, jws: &Jws<'_>) -> Result<(), AadError> {
    let c = &jws.claims;
    let iss = c
        .iss
        .as_deref()
        .ok_or_else(|| AadError::malformed_assertion("the client assertion has no 'iss' claim"))?;
    let test = test_issuer_name(ctx.origins, iss);
    let trusted: Vec<_> = ctx
        .world
        .identities()
        .federated_of(app.client_id)
        .iter()
        .filter(|f| match &f.issuer {
            FederatedIssuer::Url(u) => u == iss,
            FederatedIssuer::Test(name) => test.is_some_and(|t| t.eq_ignore_ascii_case(name)),
        })
        .collect();
    if trusted.is_empty() {
        return Err(AadError::federated_unknown_issuer(iss));
    }
    let name = test.ok_or_else(|| AadError::external_issuer_unreachable(iss))?;
    let kid = jws.kid.as_deref().unwrap_or("(none)");
    let key = ctx
        .issuers
        .key(name)
        .filter(|k| k.kid == kid)
        .ok_or_else(|| AadError::assertion_key_not_found(kid, app.client_id))?;
    if jws.alg != Some(Alg::Rs256) || !key.verify(jws.signed.as_bytes(), &jws.signature) {
        let reason = "The provided signature value did not match the expected signature value.";
        return Err(AadError::assertion_signature(reason, kid, None));
    }
    check_time_range(ctx.now, c.nbf, c.exp)?;
    let sub = c.sub.as_deref().unwrap_or_default();
    let matched = trusted
        .iter()
        .any(|f| f.subject == sub && c.aud.iter().any(|a| f.audiences.contains(a)));
    if matched {
        Ok(())
    } else {
        Err(AadError::federated_no_match(iss, sub, &c.aud.join(",")))
    }
}
