//! Unit tests of [`super`]: headers, times, tenants and issuers, key failures in words.

use super::*;

#[test]
fn authorization_headers() {
    assert_eq!(Credential::from_header(None), Credential::Missing);
    assert_eq!(
        Credential::from_header(Some(b"Bearer abc ")),
        Credential::Bearer(b"abc")
    );
    assert_eq!(Credential::from_header(Some(b"bearer abc")), Credential::Bearer(b"abc"));
    assert_eq!(Credential::from_header(Some(b"Basic abc")), Credential::Malformed);
    assert_eq!(Credential::from_header(Some(b"Bearer ")), Credential::Malformed);
    assert_eq!(Credential::from_header(Some(b"Bearer")), Credential::Malformed);
}

#[test]
fn times_and_lifetimes() {
    let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
    assert!(check_times(1_000_100, Some(999_000), None, now).is_ok());
    assert!(matches!(
        check_times(1_000_000, Some(999_000), None, now),
        Err(AuthnFailure::Expired { .. })
    ));
    assert!(matches!(
        check_times(1_000_100, Some(999_000), Some(1_000_050), now),
        Err(AuthnFailure::NotYetValid(1_000_050))
    ));
    assert!(matches!(
        check_times(i64::MAX, Some(999_000), None, now),
        Err(AuthnFailure::Invalid(_))
    ));
    assert!(matches!(
        check_times(1_000_100, None, None, now),
        Err(AuthnFailure::Invalid(_))
    ));
    assert!(matches!(
        check_times(900_000, Some(999_000), None, now),
        Err(AuthnFailure::Invalid(_))
    ));
    assert!(key_matches(b"k2", "k1", "k2") && !key_matches(b"k3", "k1", "k2"));
}

fn default_world() -> World {
    let store = crate::store::Store::open_in_memory().unwrap();
    let spec = crate::fixtures::WorldSpec::default_world();
    store.replace_world(&spec.seed().unwrap()).unwrap();
    store.load_world().unwrap()
}

fn claims(tid: &str, iss: &str) -> AccessClaims {
    serde_json::from_value(
        serde_json::json!({"aud": "https://management.azure.com/", "iss": iss, "tid": tid, "exp": 1}),
    )
    .unwrap()
}

fn refusal(r: Result<TenantId, AuthnFailure>) -> String {
    match r {
        Err(AuthnFailure::Invalid(why)) => why.to_string(),
        other => panic!("expected an invalid-token refusal, got {other:?}"),
    }
}

/// The issuer must be the v1 or v2 issuer of the token's own tenant, and the tenant one of
/// this world's.
#[test]
fn tenants_and_issuers() {
    use crate::fixtures::defaults::TENANT;
    let world = default_world();
    for iss in [
        format!("https://sts.windows.net/{TENANT}/"),
        format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
    ] {
        assert_eq!(entra_tenant(&world, &claims(TENANT, &iss)).unwrap().to_string(), TENANT);
    }
    let other = "11111111-2222-4333-8444-555555555555";
    for (tid, iss, why) in [
        (
            "contoso",
            format!("https://sts.windows.net/{TENANT}/"),
            "tid is not a GUID",
        ),
        (
            TENANT,
            format!("https://sts.windows.net/{other}/"),
            "iss is not the issuer",
        ),
        (
            TENANT,
            format!("https://sts.windows.net/{TENANT}"),
            "iss is not the issuer",
        ),
        (
            TENANT,
            format!("https://evil.example/{TENANT}/v2.0"),
            "iss is not the issuer",
        ),
        (other, format!("https://sts.windows.net/{other}/"), "names no tenant"),
    ] {
        let said = refusal(entra_tenant(&world, &claims(tid, &iss)));
        assert!(said.contains(why), "{tid} {iss}: {said}");
    }
}

/// An unknown `kid` that was a retired key's says so; any other verification failure says
/// what failed.
#[test]
fn key_failures_in_words() {
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"old-1"}"#);
    let token = format!("{header}.e30.c2ln");
    let retired = |kid: &str| (kid == "old-1").then(|| "2030-01-01T00:00:00Z".to_string());
    let said = key_failure(VerifyError::UnknownKey, token.as_bytes(), retired).to_string();
    assert!(
        said.contains("signed by key old-1, retired at 2030-01-01T00:00:00Z"),
        "{said}"
    );
    let said = key_failure(VerifyError::UnknownKey, token.as_bytes(), |_| None).to_string();
    assert!(!said.contains("retired"), "{said}");
    let said = key_failure(VerifyError::Signature, token.as_bytes(), retired).to_string();
    assert_eq!(
        said,
        AuthnFailure::Invalid(VerifyError::Signature.to_string()).to_string()
    );
}
