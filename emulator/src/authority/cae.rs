//! Continuous access evaluation at the token endpoint: the `claims` request parameter. A client
//! that handles claims challenges announces it with `{"access_token":{"xms_cc":{"values":["CP1"]}}}`
//! (azure-identity and az send it), and its tokens then carry `xms_cc: ["CP1"]`. After a claims
//! challenge the client asks again with the challenge's claims, such as
//! `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`: the new token's `nbf` is
//! then at least that value, which is what the resource checks (see the `claims-challenge` fault).

use serde_json::Value;

/// What a `claims` parameter asks of an access token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimsRequest {
    /// The client declared the CP1 capability.
    pub cp1: bool,
    /// An essential `nbf` the token must not be older than (unix seconds).
    pub nbf: Option<i64>,
}

impl ClaimsRequest {
    /// Reads the `claims` parameter (JSON); anything unreadable asks for nothing, as Entra ID
    /// ignores claims it does not understand.
    pub fn parse(claims: Option<&str>) -> Self {
        let Some(v) = claims.and_then(|c| serde_json::from_str::<Value>(c).ok()) else {
            return ClaimsRequest::default();
        };
        let at = &v["access_token"];
        let cp1 = at["xms_cc"]["values"].as_array().is_some_and(|vals| {
            vals.iter()
                .any(|c| c.as_str().is_some_and(|c| c.eq_ignore_ascii_case("cp1")))
        });
        let nbf = match &at["nbf"]["value"] {
            Value::String(s) => s.parse().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        };
        ClaimsRequest { cp1, nbf }
    }

    /// The `xms_cc` claim to put in the token.
    pub fn xms_cc(&self) -> Option<Vec<String>> {
        self.cp1.then(|| vec!["CP1".to_string()])
    }

    /// The token's `nbf`: the usual one, raised to the requested value (never past `now`).
    pub fn nbf(&self, usual: i64, now: i64) -> i64 {
        match self.nbf {
            Some(wanted) => usual.max(wanted.min(now)),
            None => usual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_and_challenge_claims() {
        let cp1 = ClaimsRequest::parse(Some(r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#));
        assert!(cp1.cp1 && cp1.nbf.is_none());
        assert_eq!(cp1.xms_cc(), Some(vec!["CP1".to_string()]));
        let both = ClaimsRequest::parse(Some(
            r#"{"access_token":{"xms_cc":{"values":["cp1"]},"nbf":{"essential":true,"value":"1700000000"}}}"#,
        ));
        assert_eq!(both.nbf, Some(1_700_000_000));
        assert_eq!(both.nbf(1_699_999_700, 1_700_000_100), 1_700_000_000);
        assert_eq!(
            both.nbf(1_699_999_700, 1_699_999_800),
            1_699_999_800,
            "never in the future"
        );
        assert_eq!(ClaimsRequest::parse(Some("not json")), ClaimsRequest::default());
        assert_eq!(ClaimsRequest::parse(None).xms_cc(), None);
    }
}
