//! Certificates registered on applications (Microsoft Graph `keyCredentials` of type
//! `AsymmetricX509Cert`): the public certificate only, parsed once into what client-assertion
//! verification needs — the SHA-1 and SHA-256 thumbprints that `x5t` / `x5t#S256` name, the RSA
//! public key, and the validity window.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;
use x509_cert::der::Decode;

/// `rsaEncryption` (RFC 8017): the only key type Entra ID accepts for client assertions.
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// A registered certificate. `Debug` and `Serialize` show its identity, never the DER.
#[derive(Clone, Serialize)]
pub struct Certificate {
    pub key_id: Uuid,
    pub display_name: String,
    /// SHA-1 of the DER, upper-case hex: Graph's `customKeyIdentifier`, az's thumbprint.
    pub thumbprint: String,
    /// When the credential starts and ends being usable: the certificate's validity, or the end
    /// the registration gives (Graph's `endDateTime`), whichever is earlier.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    #[serde(skip)]
    pub der: Vec<u8>,
    #[serde(skip)]
    pub sha1: [u8; 20],
    #[serde(skip)]
    pub sha256: [u8; 32],
    /// The PKCS#1 `RSAPublicKey` DER of the certificate's key (what aws-lc-rs verifies with).
    #[serde(skip)]
    pub public_key: Vec<u8>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("key_id", &self.key_id)
            .field("thumbprint", &self.thumbprint)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("no PEM block '-----BEGIN CERTIFICATE-----' was found")]
    NoPem,
    #[error("the certificate is not valid base64 DER: {0}")]
    Encoding(String),
    #[error("the certificate is not an X.509 certificate: {0}")]
    Parse(String),
    #[error("the certificate's key is not RSA: only RSA certificates can sign client assertions")]
    NotRsa,
}

impl Certificate {
    /// Parses the first `CERTIFICATE` block of `pem` (other blocks, such as a private key in the
    /// same file, are ignored). `end` shortens the credential's life below the certificate's.
    pub fn from_pem(pem: &str, display_name: &str, end: Option<OffsetDateTime>) -> Result<Self, CertificateError> {
        Self::from_der(&first_certificate_der(pem)?, display_name, end)
    }

    pub fn from_der(der: &[u8], display_name: &str, end: Option<OffsetDateTime>) -> Result<Self, CertificateError> {
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| CertificateError::Parse(e.to_string()))?;
        let tbs = &cert.tbs_certificate;
        let spki = &tbs.subject_public_key_info;
        if spki.algorithm.oid.to_string() != RSA_ENCRYPTION {
            return Err(CertificateError::NotRsa);
        }
        let public_key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| CertificateError::Parse("the public key has unused bits".into()))?
            .to_vec();
        let time = |t: x509_cert::time::Time| {
            OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64)
                .map_err(|e| CertificateError::Parse(e.to_string()))
        };
        let not_after = time(tbs.validity.not_after)?;
        Ok(Certificate {
            key_id: Uuid::new_v4(),
            display_name: display_name.to_string(),
            thumbprint: hex_upper(&Sha1::digest(der)),
            start: time(tbs.validity.not_before)?,
            end: end.map_or(not_after, |e| e.min(not_after)),
            sha1: Sha1::digest(der).into(),
            sha256: Sha256::digest(der).into(),
            der: der.to_vec(),
            public_key,
        })
    }

    /// The certificate as PEM.
    pub fn pem(&self) -> String {
        let b64 = STANDARD.encode(&self.der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    /// Whether an `x5t` (base64url SHA-1, with or without `=` padding, as msal Python pads it) or
    /// `x5t#S256` (base64url SHA-256) header names this certificate.
    pub fn is_named_by(&self, thumbprint: &Thumbprint) -> bool {
        match thumbprint {
            Thumbprint::Sha1(t) => t[..] == self.sha1[..],
            Thumbprint::Sha256(t) => t[..] == self.sha256[..],
        }
    }
}

/// A certificate thumbprint as a JOSE header names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Thumbprint {
    /// `x5t`: SHA-1.
    Sha1(Vec<u8>),
    /// `x5t#S256`: SHA-256.
    Sha256(Vec<u8>),
}

impl Thumbprint {
    /// The upper-case hex form AAD quotes in its messages ("Thumbprint of key used by client").
    pub fn hex(&self) -> String {
        match self {
            Thumbprint::Sha1(t) | Thumbprint::Sha256(t) => hex_upper(t),
        }
    }
}

/// The first `-----BEGIN CERTIFICATE-----` block of a PEM text, decoded.
pub fn first_certificate_der(pem: &str) -> Result<Vec<u8>, CertificateError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem.find(BEGIN).ok_or(CertificateError::NoPem)? + BEGIN.len();
    let len = pem[start..].find(END).ok_or(CertificateError::NoPem)?;
    let body: String = pem[start..start + len].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(body)
        .map_err(|e| CertificateError::Encoding(e.to_string()))
}

/// A new RSA-2048 key, generated by aws-lc-rs (about three times faster than the `rsa` crate's
/// prime search, which cost a fresh data dir's first start a quarter of a second): `(PKCS#8 v1
/// DER, the same key as an rcgen key pair that signs certificates with RS256)`. Blocking.
pub fn new_rsa_2048() -> Result<(Vec<u8>, rcgen::KeyPair), String> {
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|e| e.to_string())?;
    let pkcs8 = AsDer::<Pkcs8V1Der>::as_der(&pair)
        .map_err(|e| e.to_string())?
        .as_ref()
        .to_vec();
    let key_der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_slice());
    let signer =
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&key_der, &rcgen::PKCS_RSA_SHA256).map_err(|e| e.to_string())?;
    Ok((pkcs8, signer))
}

/// A new RSA-2048 key and a self-signed certificate for it, valid from now for `days` (what
/// `az ad sp create-for-rbac --create-cert` makes): `(private key PKCS#8 PEM, certificate PEM)`.
/// Blocking (RSA generation).
pub fn new_self_signed(common_name: &str, days: i64) -> Result<(String, String), String> {
    let (_, pair) = new_rsa_2048()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(days);
    let cert = params.self_signed(&pair).map_err(|e| e.to_string())?;
    Ok((pair.serialize_pem(), cert.pem()))
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa_cert() -> (String, Vec<u8>) {
        let (_, pem) = new_self_signed("app", 30).unwrap();
        let der = first_certificate_der(&pem).unwrap();
        (pem, der)
    }

    #[test]
    fn parses_thumbprints_key_and_validity() {
        let (pem, der) = rsa_cert();
        let with_key = format!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{pem}");
        let c = Certificate::from_pem(&with_key, "ci", None).unwrap();
        assert_eq!(c.der, der);
        assert_eq!(c.thumbprint.len(), 40);
        assert!(c.is_named_by(&Thumbprint::Sha1(Sha1::digest(&der).to_vec())));
        assert!(c.is_named_by(&Thumbprint::Sha256(Sha256::digest(&der).to_vec())));
        assert!(!c.is_named_by(&Thumbprint::Sha1(vec![0; 20])));
        assert!(c.start < c.end);
        let early = c.start + time::Duration::days(1);
        assert_eq!(Certificate::from_pem(&pem, "ci", Some(early)).unwrap().end, early);
        assert_eq!(Certificate::from_pem(&c.pem(), "ci", None).unwrap().der, der);
        assert_eq!(
            Certificate::from_pem("nope", "ci", None).unwrap_err(),
            CertificateError::NoPem
        );
        assert!(matches!(
            Certificate::from_der(b"\x30\x00", "ci", None),
            Err(CertificateError::Parse(_))
        ));
        let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let ec_cert = rcgen::CertificateParams::new(vec!["x".into()])
            .unwrap()
            .self_signed(&ec)
            .unwrap();
        assert_eq!(
            Certificate::from_pem(&ec_cert.pem(), "ci", None).unwrap_err(),
            CertificateError::NotRsa
        );
    }
}
