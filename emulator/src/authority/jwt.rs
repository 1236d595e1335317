//! Compact JWS (RS256) encoding. Signing goes through the key parsed once at start;
//! nothing here parses a key per token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use super::keys::SigningKey;

/// The JOSE header AAD puts on its tokens. `x5t` is present on v1 tokens only.
#[derive(Debug, Serialize)]
pub struct Header<'a> {
    pub typ: &'static str,
    pub alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5t: Option<&'a str>,
    pub kid: &'a str,
}

/// The encoded JOSE header of `key`'s tokens, with or without `x5t`.
pub fn encoded_header(key_id: &str, with_x5t: bool) -> String {
    let header = Header {
        typ: "JWT",
        alg: "RS256",
        x5t: with_x5t.then_some(key_id),
        kid: key_id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("header serialises"))
}

/// Serialises and signs `claims` as a compact JWT.
pub fn encode(key: &SigningKey, with_x5t: bool, claims: &impl Serialize) -> String {
    let header = key.encoded_header(with_x5t);
    let claims_json = serde_json::to_vec(claims).expect("claims serialise");
    let mut token = String::with_capacity(header.len() + claims_json.len() * 4 / 3 + 350);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims_json, &mut token);
    let signature = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    token
}
