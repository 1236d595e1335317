//! Tokens for negative tests (`POST /_emulator/tokens/forge`): an ARM access token, an Azure ML
//! token or an id_token, with any claims changed, signed with the current key, a retired one, a
//! key no JWKS publishes, no key at all (`alg: none`), or HS256 keyed with the current public key
//! (the classic key-confusion attack). Every validator of this emulator refuses all but the first.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::keys::SigningKey;

/// What kind of token to forge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::AsRefStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ForgeKind {
    /// A v1 access token for ARM (`https://management.azure.com/`).
    Arm,
    /// An Azure ML token for a web service or online endpoint.
    Aml,
    /// An id_token (v2) of a user.
    Id,
}

/// How to sign it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, strum::AsRefStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum SignWith {
    /// The key that signs genuine tokens: the forged claims are the only difference.
    #[default]
    Current,
    /// A retired key (no longer published).
    Retired,
    /// A key never published (unknown `kid`).
    Unpublished,
    /// `alg: none`, no signature.
    None,
    /// HS256 with the current key's public key (PEM) as the HMAC secret.
    Hs256WithPublicKey,
}

/// `base` with `changes` applied: a `null` removes the claim.
pub fn merge(base: Value, changes: &Map<String, Value>) -> Value {
    let mut out = base.as_object().cloned().unwrap_or_default();
    for (k, v) in changes {
        if v.is_null() {
            out.remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default())
}

/// Signs `claims` as `sign_with` says. `key` is the RS256 key for `current`, `retired` and
/// `unpublished`, and the key whose public half keys the HMAC for `hs256-with-public-key`.
/// Answers the token and its header.
pub fn sign(claims: &Value, sign_with: SignWith, key: &SigningKey, x5t: bool) -> (String, Value) {
    let header = match sign_with {
        SignWith::None => json!({"typ": "JWT", "alg": "none"}),
        SignWith::Hs256WithPublicKey => json!({"typ": "JWT", "alg": "HS256", "kid": key.kid}),
        _ if x5t => json!({"typ": "JWT", "alg": "RS256", "x5t": key.kid, "kid": key.kid}),
        _ => json!({"typ": "JWT", "alg": "RS256", "kid": key.kid}),
    };
    let signed = format!("{}.{}", b64(&header), b64(claims));
    let signature = match sign_with {
        SignWith::None => String::new(),
        SignWith::Hs256WithPublicKey => {
            let secret = hmac::Key::new(hmac::HMAC_SHA256, public_pem(key).as_bytes());
            URL_SAFE_NO_PAD.encode(hmac::sign(&secret, signed.as_bytes()))
        }
        _ => URL_SAFE_NO_PAD.encode(key.sign(signed.as_bytes())),
    };
    (format!("{signed}.{signature}"), header)
}

/// The key's public half as PKCS#1 PEM: what a confused validator would use as an HMAC secret.
fn public_pem(key: &SigningKey) -> String {
    let b64 = STANDARD.encode(key.public_pkcs1_der());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_changes_and_removes_claims() {
        let base = json!({"aud": "a", "exp": 1, "oid": "o"});
        let changes = json!({"aud": "b", "oid": null, "x": 2});
        assert_eq!(
            merge(base, changes.as_object().unwrap()),
            json!({"aud": "b", "exp": 1, "x": 2})
        );
    }
}
