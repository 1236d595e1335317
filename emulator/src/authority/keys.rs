//! RSA-2048 signing keys: generated once per data dir, persisted, and parsed once into an
//! aws-lc-rs key pair that every token is signed with.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use std::sync::Arc;

use crate::store::StoredKey;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot generate the signing key: {0}")]
    Generate(String),
    #[error("the stored signing key is unusable: {0}")]
    Parse(String),
}

/// A parsed signing key. `Debug` shows only the kid.
pub struct SigningKey {
    /// base64url SHA-1 thumbprint of the key's certificate: AAD uses it as both `kid` and `x5t`.
    pub kid: String,
    n: String,
    e: String,
    /// The self-signed certificate, base64 DER, for `x5c`.
    x5c: String,
    /// The encoded JOSE headers (v1 with `x5t`, v2 without), built once.
    headers: [String; 2],
    pair: RsaKeyPair,
    /// PKCS#1 RSAPublicKey DER, for verification.
    public_der: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a new RSA-2048 key and a self-signed certificate for it (its thumbprint is the kid).
    pub fn generate() -> Result<StoredKey, KeyError> {
        let gen = |e: &dyn std::fmt::Display| KeyError::Generate(e.to_string());
        let (pkcs8, rc_key) = crate::domain::certificate::new_rsa_2048().map_err(|e| gen(&e))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| gen(&e))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "azureml-emulator token signing");
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
        let cert = params.self_signed(&rc_key).map_err(|e| gen(&e))?;
        let cert_der = cert.der().to_vec();
        Ok(StoredKey {
            kid: thumbprint(&cert_der),
            pkcs8_der: pkcs8,
            cert_der,
        })
    }

    pub fn from_stored(stored: &StoredKey) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::from_pkcs8(&stored.pkcs8_der).map_err(|e| KeyError::Parse(e.to_string()))?;
        let public = pair.public_key();
        let public_der = public.as_ref().to_vec();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let kid = thumbprint(&stored.cert_der);
        Ok(SigningKey {
            headers: [
                super::jwt::encoded_header(&kid, false),
                super::jwt::encoded_header(&kid, true),
            ],
            kid,
            n,
            e,
            x5c: STANDARD.encode(&stored.cert_der),
            pair,
            public_der,
            rng: SystemRandom::new(),
        })
    }

    pub fn encoded_header(&self, with_x5t: bool) -> &str {
        &self.headers[usize::from(with_x5t)]
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 (JWS `RS256`).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .expect("RSA signing with a valid key does not fail");
        signature
    }

    /// A verifier closure for [`super::verify::verify_with`].
    pub fn verify_fn(&self) -> impl Fn(&[u8], &[u8]) -> bool + '_ {
        move |message, signature| self.verify(message, signature)
    }

    /// The public key, PKCS#1 `RSAPublicKey` DER.
    pub fn public_pkcs1_der(&self) -> &[u8] {
        &self.public_der
    }

    /// Verifies an RS256 signature made with this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public_der)
            .verify(message, signature)
            .is_ok()
    }

    /// The key as a JWK; v2 key sets name the issuer, v1 ones do not.
    pub fn jwk(&self, issuer: Option<&str>) -> Value {
        let mut jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": self.n,
            "e": self.e,
            "x5c": [self.x5c],
        });
        if let Some(issuer) = issuer {
            jwk["issuer"] = Value::String(issuer.to_string());
        }
        jwk
    }
}

fn thumbprint(cert_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha1::digest(cert_der))
}

/// The authority's keys as they stand: the active one signs; keys it replaced stay published
/// (they still verify the tokens they signed) until they are retired. Swapped whole on rotation
/// ([`crate::state::AppState::keys`]), so a request sees one consistent set.
#[derive(Debug)]
pub struct KeySet {
    pub active: Arc<SigningKey>,
    /// Replaced by a rotation, still published, newest first.
    pub published: Vec<Arc<SigningKey>>,
    /// Retired keys' ids and when they were retired (RFC 3339): no longer published, named in
    /// the journal when a token they signed comes back.
    pub retired: Vec<(String, String)>,
}

impl KeySet {
    /// A set of one active key.
    pub fn single(active: SigningKey) -> Self {
        KeySet {
            active: Arc::new(active),
            published: Vec::new(),
            retired: Vec::new(),
        }
    }

    /// The JWKS document; v2 key sets name the issuer.
    pub fn jwks(&self, issuer: Option<&str>) -> Value {
        let keys: Vec<Value> = self.all().map(|k| k.jwk(issuer)).collect();
        json!({ "keys": keys })
    }

    /// The JWKS without the active key (the `missing-key` fault: a botched rotation).
    pub fn jwks_without_active(&self, issuer: Option<&str>) -> Value {
        let keys: Vec<Value> = self.published.iter().map(|k| k.jwk(issuer)).collect();
        json!({ "keys": keys })
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.all().find(|k| k.kid == kid).map(|k| &**k)
    }

    /// When `kid` was retired, if it was.
    pub fn retired_at(&self, kid: &str) -> Option<&str> {
        self.retired.iter().find(|(k, _)| k == kid).map(|(_, at)| at.as_str())
    }

    fn all(&self) -> impl Iterator<Item = &Arc<SigningKey>> {
        std::iter::once(&self.active).chain(&self.published)
    }
}
