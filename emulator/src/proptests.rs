//! Property tests of every parser fed by a request: arbitrary input never panics, and what is
//! accepted keeps its invariants. `PROPTEST_CASES` overrides the number of cases (10,000 each by
//! default, a few seconds in all).

use proptest::prelude::*;

use crate::authority::grants::{request::TokenRequest, ProtocolVersion};
use crate::authority::verify::{verify_with, AccessClaims, VerifyError};
use crate::decision::Credential;
use crate::domain::audience::resource_from_scope;
use crate::domain::scope::Scope;
use crate::http::arm::route::{subscription_in, Route};
use crate::http::surface::Surface;
use crate::origins::Origins;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Paths built from ARM-ish segments, so the parsers get past their first checks often.
fn arm_path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("subscriptions".to_string()),
        Just("resourceGroups".to_string()),
        Just("providers".to_string()),
        Just("Microsoft.MachineLearningServices".to_string()),
        Just("Microsoft.Authorization".to_string()),
        Just("workspaces".to_string()),
        Just("onlineEndpoints".to_string()),
        Just("roleAssignments".to_string()),
        Just("deployments".to_string()),
        Just("0b1f6471-1bf0-4dda-aec3-cb9272f09590".to_string()),
        "[a-zA-Z0-9%._()-]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(segment, 0..12).prop_map(|s| format!("/{}", s.join("/")))
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn wildcard_quick_rejections_agree_with_the_plain_walk(
        pattern in "[aAbB/*.]{0,10}",
        text in "[aAbB/.]{0,12}",
    ) {
        use crate::domain::rbac::{plain_match, wildcard_match};
        prop_assert_eq!(wildcard_match(&pattern, &text), plain_match(&pattern, &text));
    }

    #[test]
    fn scopes_parse_or_refuse(text in prop_oneof![arm_path(), any::<String>()]) {
        if let Ok(scope) = Scope::parse(&text) {
            prop_assert_eq!(scope.key(), scope.as_str().to_ascii_lowercase());
            prop_assert!(scope.ancestor_keys().last() == Some(&"/"));
        }
    }

    #[test]
    fn arm_routes_parse_or_refuse(path in arm_path(), method in prop_oneof![Just("GET"), Just("PUT"), Just("PATCH"), Just("DELETE"), Just("POST")]) {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        if let Ok(route) = Route::parse(&path, &method) {
            let _ = route.target.scope();
            let _ = route.target.subscription();
        }
        let _ = subscription_in(&path);
        let _ = Surface::of(&path);
    }

    #[test]
    fn token_forms_parse_or_read_as_empty(body in any::<Vec<u8>>(), basic in any::<String>(), v2 in any::<bool>()) {
        let form = TokenRequest::parse(Some("application/x-www-form-urlencoded"), Some(&format!("Basic {basic}")), &body);
        let _ = form.basic_credentials();
        let version = if v2 { ProtocolVersion::V2 } else { ProtocolVersion::V1 };
        let _ = form.requested_resource(version);
        let _ = form.param("grant_type");
    }

    #[test]
    fn scopes_of_v2_requests(scope in any::<String>()) {
        if let Ok(resource) = resource_from_scope(&scope) {
            prop_assert!(!resource.is_empty());
        }
    }

    /// Random JWT-shaped input never verifies (the verifier says no to every signature) and never
    /// panics, whatever its segments hold.
    #[test]
    fn jwt_segments(header in any::<Vec<u8>>(), claims in any::<Vec<u8>>(), sig in any::<Vec<u8>>(), raw in any::<String>(), dots in 0usize..6) {
        let token = format!("{}.{}.{}", b64(&header), b64(&claims), b64(&sig));
        let never = |_: &str| Some(|_: &[u8], _: &[u8]| false);
        let r: Result<AccessClaims, VerifyError> = verify_with(&token, never);
        prop_assert!(r.is_err());
        let odd = format!("{raw}{}", ".".repeat(dots));
        let r: Result<AccessClaims, VerifyError> = verify_with(&odd, never);
        prop_assert!(r.is_err());
    }

    /// A well-formed RS256 header with arbitrary claims: verified by a verifier that says yes, the
    /// claims either deserialize or the token is malformed — never a panic.
    #[test]
    fn jwt_claims_json(claims in any::<String>()) {
        let header = b64(br#"{"alg":"RS256","kid":"k"}"#);
        let token = format!("{header}.{}.{}", b64(claims.as_bytes()), b64(b"sig"));
        let _: Result<AccessClaims, VerifyError> = verify_with(&token, |_| Some(|_: &[u8], _: &[u8]| true));
    }

    #[test]
    fn authorization_headers(value in any::<Vec<u8>>()) {
        if let Credential::Bearer(token) = Credential::from_header(Some(&value)) {
            prop_assert!(!token.is_empty());
        }
    }

    /// Whatever the Host, the origin answered with is a configured one.
    #[test]
    fn hosts_never_reflected(host in any::<String>()) {
        let origins = Origins::new("https://127.0.0.1:8443", 8443, &[]);
        let mut req = actix_web::test::TestRequest::default();
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&host) {
            req = req.insert_header((actix_web::http::header::HOST, value));
        }
        let req = req.to_http_request();
        let chosen = origins.for_request(&req);
        prop_assert!(origins.all().iter().any(|o| o == chosen));
    }

    #[test]
    fn arm_filters(filter in prop_oneof![any::<String>(), "(atScope\\(\\)|principalId eq '[a-z0-9-]{0,8}'|assignedTo\\('[a-z-]{0,8}'\\)|roleName eq '[^']{0,8}'|resourceType eq '?[^']{0,8}'?)( and .{0,20})?"]) {
        use crate::http::arm::filter::{resource_type, AssignmentFilter, DefinitionFilter};
        let _ = AssignmentFilter::parse(Some(&filter));
        let _ = DefinitionFilter::parse(Some(&filter));
        let _ = resource_type(Some(&filter));
    }

    /// Any query against any resource type: the version granted is one the type accepts and the
    /// one requested (case aside); a refusal is one of ARM's four api-version errors.
    #[test]
    fn api_versions_are_granted_as_listed_or_refused_in_arms_words(
        kind in 0usize..64,
        query in prop_oneof![
            any::<String>(),
            "(api-version|API-VERSION|x)=(20[0-9]{2}-[01][0-9]-[0-3][0-9](-preview)?|[a-z0-9%&=.-]{0,12})(&api-version=[0-9-]{0,12})?",
        ],
    ) {
        use strum::IntoEnumIterator;
        let kinds: Vec<_> = crate::http::arm::route::Kind::iter().collect();
        let api = kinds[kind % kinds.len()].api_type();
        match crate::http::arm::versions::check(&query, api, || "eastus".into()) {
            Ok(granted) => prop_assert!(query.to_ascii_lowercase().contains(&granted.to_ascii_lowercase())),
            Err(e) => prop_assert!(
                matches!(
                    (e.status, e.code),
                    (400, "MissingApiVersionParameter" | "InvalidApiVersionParameter" | "NoRegisteredProviderFound")
                        | (404, "InvalidResourceType")
                ),
                "{} {}", e.status, e.code
            ),
        }
    }

    #[test]
    fn model_management_paths(path in arm_path()) {
        let _ = crate::http::model_management::parse(&format!("/modelmanagement/v1.0{path}"));
    }
}
