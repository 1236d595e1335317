//! Client assertions (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`):
//! a compact JWS the client signs itself with a registered certificate (`iss` = `sub` = its client
//! id), or an external token a federated identity credential trusts.
//!
//! What the SDKs send (`reference/python-auth-clients.md`, `node-auth-clients.md` §3.2): msal
//! Python / azure-identity RS256 with `x5t` = base64url SHA-1 *with* `=` padding and float
//! `exp`/`iat`, no `nbf`; msal-node RS256 + `x5t`, @azure/identity PS256 + `x5t#S256`; both
//! optionally `x5c`. Only RS256 and PS256 are accepted; keys come only from registered
//! certificates or the issuer's published keys, never from `x5c` or a `jku`.

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::certificate::Thumbprint;

/// The `client_assertion_type` of JWT client assertions (RFC 7523).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Longer than any assertion with a certificate chain the SDKs send; longer ones are refused
/// before decoding.
pub const MAX_ASSERTION_BYTES: usize = 16 * 1024;

/// The signature algorithms accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256 (salt 32).
    Ps256,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    x5t: Option<String>,
    #[serde(rename = "x5t#S256")]
    x5t_s256: Option<String>,
    x5c: Option<Vec<String>>,
    crit: Option<serde::de::IgnoredAny>,
}

/// A parsed, not yet verified, assertion.
#[derive(Debug)]
pub struct Jws<'a> {
    /// `header.claims`, the signed bytes.
    pub signed: &'a str,
    pub signature: Vec<u8>,
    /// `None` when the algorithm is neither RS256 nor PS256 (refused when verifying).
    pub alg: Option<Alg>,
    pub alg_name: String,
    pub kid: Option<String>,
    /// `x5t#S256` when present, else `x5t`, else the thumbprint of the first `x5c` certificate.
    pub thumbprint: Option<Thumbprint>,
    pub claims: AssertionClaims,
}

/// The claims read from an assertion. Times are unix seconds (fractions dropped: msal Python
/// sends floats).
#[derive(Debug, Default, Clone)]
pub struct AssertionClaims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    /// One or several audiences (a string or an array on the wire).
    pub aud: Vec<String>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    pub jti: Option<String>,
}

/// Why an assertion could not be read at all.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MalformedAssertion {
    #[error("the assertion is not a compact JWS with a JSON header and claims")]
    Format,
    #[error("the assertion is longer than {MAX_ASSERTION_BYTES} bytes")]
    TooLong,
    #[error("the assertion names critical header extensions ('crit') that are not understood")]
    Critical,
}

/// Decodes a base64url value, with or without `=` padding (msal Python pads `x5t`), and tolerates
/// the standard alphabet.
pub fn b64url(value: &str) -> Option<Vec<u8>> {
    let normalized: String = value
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(normalized).ok()
}

impl<'a> Jws<'a> {
    /// Splits and decodes `token` (surrounding whitespace ignored: azure-identity sends a token
    /// file verbatim, trailing newline included).
    pub fn parse(token: &'a str) -> Result<Self, MalformedAssertion> {
        let token = token.trim();
        if token.len() > MAX_ASSERTION_BYTES {
            return Err(MalformedAssertion::TooLong);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(MalformedAssertion::Format);
        };
        let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| MalformedAssertion::Format);
        let header: RawHeader = serde_json::from_slice(&decode(h)?).map_err(|_| MalformedAssertion::Format)?;
        if header.crit.is_some() {
            return Err(MalformedAssertion::Critical);
        }
        let claims: Value = serde_json::from_slice(&decode(c)?).map_err(|_| MalformedAssertion::Format)?;
        let claims = read_claims(&claims).ok_or(MalformedAssertion::Format)?;
        let alg = match header.alg.as_str() {
            "RS256" => Some(Alg::Rs256),
            "PS256" => Some(Alg::Ps256),
            _ => None,
        };
        let thumbprint = if let Some(t) = header.x5t_s256.as_deref() {
            Some(Thumbprint::Sha256(b64url(t).ok_or(MalformedAssertion::Format)?))
        } else if let Some(t) = header.x5t.as_deref() {
            Some(Thumbprint::Sha1(b64url(t).ok_or(MalformedAssertion::Format)?))
        } else {
            header
                .x5c
                .as_ref()
                .and_then(|chain| chain.first())
                .and_then(|c| STANDARD.decode(c).ok())
                .map(|der| Thumbprint::Sha1(<sha1::Sha1 as sha1::Digest>::digest(&der).to_vec()))
        };
        Ok(Jws {
            signed: &token[..h.len() + 1 + c.len()],
            signature: decode(s)?,
            alg,
            alg_name: header.alg,
            kid: header.kid,
            thumbprint,
            claims,
        })
    }

    /// Verifies the signature with an RSA public key (PKCS#1 `RSAPublicKey` DER).
    pub fn verify_with(&self, public_key: &[u8]) -> bool {
        let alg: &'static dyn aws_lc_rs::signature::VerificationAlgorithm = match self.alg {
            Some(Alg::Rs256) => &RSA_PKCS1_2048_8192_SHA256,
            Some(Alg::Ps256) => &RSA_PSS_2048_8192_SHA256,
            None => return false,
        };
        UnparsedPublicKey::new(alg, public_key)
            .verify(self.signed.as_bytes(), &self.signature)
            .is_ok()
    }
}

fn read_claims(v: &Value) -> Option<AssertionClaims> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let time = |k: &str| match v.get(k) {
        None | Some(Value::Null) => Some(None),
        Some(n) => n.as_f64().filter(|f| f.is_finite()).map(|f| Some(f.floor() as i64)),
    };
    let aud = match v.get("aud") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<_>>()?,
        Some(_) => return None,
    };
    Some(AssertionClaims {
        iss: text("iss"),
        sub: text("sub"),
        aud,
        exp: time("exp")?,
        nbf: time("nbf")?,
        iat: time("iat")?,
        jti: text("jti"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    }

    #[test]
    fn reads_what_each_sdk_sends() {
        // msal Python: padded x5t, float times, no nbf.
        let t = jwt(
            serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": "Ul86vuF-vCLw5nrmbkYam3kCR2A="}),
            serde_json::json!({"aud": "https://x/t/oauth2/v2.0/token", "iss": "c", "sub": "c", "exp": 1795892998.84, "iat": 1795892398.8, "jti": "j"}),
        );
        let with_newline = format!("{t}\n");
        let jws = Jws::parse(&with_newline).unwrap();
        assert_eq!(jws.alg, Some(Alg::Rs256));
        assert!(matches!(jws.thumbprint, Some(Thumbprint::Sha1(ref b)) if b.len() == 20));
        assert_eq!(
            (jws.claims.exp, jws.claims.iat, jws.claims.nbf),
            (Some(1795892998), Some(1795892398), None)
        );
        assert_eq!(jws.claims.aud, vec!["https://x/t/oauth2/v2.0/token".to_string()]);
        // @azure/identity: PS256 + x5t#S256; audiences as an array (Kubernetes tokens).
        let t = jwt(
            serde_json::json!({"alg": "PS256", "x5t#S256": "uaXXk7t_ed2svCTOqNC1RFD1OwSVDVmKX3Hacf9dupU"}),
            serde_json::json!({"aud": ["a", "b"], "exp": 2}),
        );
        let jws = Jws::parse(&t).unwrap();
        assert_eq!(jws.alg, Some(Alg::Ps256));
        assert!(matches!(jws.thumbprint, Some(Thumbprint::Sha256(ref b)) if b.len() == 32));
        assert_eq!(jws.claims.aud.len(), 2);
        assert!(!jws.verify_with(b"not a key"));
        let none = jwt(serde_json::json!({"alg": "none"}), serde_json::json!({}));
        assert_eq!(Jws::parse(&none).unwrap().alg, None);
        assert_eq!(Jws::parse("a.b").unwrap_err(), MalformedAssertion::Format);
        let crit = jwt(
            serde_json::json!({"alg": "RS256", "crit": ["x"]}),
            serde_json::json!({}),
        );
        assert_eq!(Jws::parse(&crit).unwrap_err(), MalformedAssertion::Critical);
        let bad_time = jwt(serde_json::json!({"alg": "RS256"}), serde_json::json!({"exp": "soon"}));
        assert_eq!(Jws::parse(&bad_time).unwrap_err(), MalformedAssertion::Format);
        assert_eq!(
            Jws::parse(&"a".repeat(MAX_ASSERTION_BYTES + 1)).unwrap_err(),
            MalformedAssertion::TooLong
        );
        assert_eq!(
            b64url("Ul86vuF-vCLw5nrmbkYam3kCR2A="),
            b64url("Ul86vuF-vCLw5nrmbkYam3kCR2A")
        );
    }
}
