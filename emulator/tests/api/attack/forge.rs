//! Tools for forging JWTs in the attack tests: segment codecs, HMAC "signatures", the emulator's
//! published public key in every encoding a confused validator might use as an HMAC secret, and an
//! RSA key of our own (aws-lc-rs) with its JWK and a self-signed certificate.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{json, Value};

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url segment")
}

/// A compact JWS taken apart: the decoded header and claims and the three encoded segments.
#[derive(Clone)]
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
    pub h: String,
    pub c: String,
    pub s: String,
}

impl Jwt {
    pub fn parse(token: &str) -> Jwt {
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "a genuine token has three segments");
        Jwt {
            header: serde_json::from_slice(&unb64(parts[0])).expect("JSON header"),
            claims: serde_json::from_slice(&unb64(parts[1])).expect("JSON claims"),
            h: parts[0].to_string(),
            c: parts[1].to_string(),
            s: parts[2].to_string(),
        }
    }

    pub fn raw(&self) -> String {
        format!("{}.{}.{}", self.h, self.c, self.s)
    }

    /// This token's header and signature around other claims.
    pub fn with_claims(&self, claims: &Value) -> String {
        format!("{}.{}.{}", self.h, b64(claims.to_string()), self.s)
    }

    /// This token's claims and signature under another header.
    pub fn with_header(&self, header: &Value) -> String {
        format!("{}.{}.{}", b64(header.to_string()), self.c, self.s)
    }
}

/// `header.claims` as the signing input.
pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

/// An HS256/384/512 token keyed with `secret` (the classic RSA-public-key-as-HMAC-secret confusion).
pub fn hmac_token(alg: &str, secret: &[u8], header: &Value, claims: &Value) -> String {
    let algorithm = match alg {
        "HS256" => aws_lc_rs::hmac::HMAC_SHA256,
        "HS384" => aws_lc_rs::hmac::HMAC_SHA384,
        _ => aws_lc_rs::hmac::HMAC_SHA512,
    };
    let input = signing_input(header, claims);
    let tag = aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(algorithm, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// The published RSA key (a JWK with `n`, `e`, `x5c`) in every encoding a validator that
/// confuses algorithms might feed to HMAC.
pub fn public_key_encodings(jwk: &Value) -> Vec<(&'static str, Vec<u8>)> {
    let field = |k: &str| jwk[k].as_str().expect("JWK field").to_string();
    let n = rsa::BigUint::from_bytes_be(&unb64(&field("n")));
    let e = rsa::BigUint::from_bytes_be(&unb64(&field("e")));
    let public = rsa::RsaPublicKey::new(n, e).expect("published key is RSA");
    let spki_pem = public.to_public_key_pem(LineEnding::LF).expect("SPKI PEM");
    let x5c = jwk["x5c"][0].as_str().expect("x5c").to_string();
    let cert_der = STANDARD.decode(&x5c).expect("x5c is base64 DER");
    let cert_pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        x5c.as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    );
    vec![
        ("SPKI PEM", spki_pem.clone().into_bytes()),
        (
            "SPKI PEM without trailing newline",
            spki_pem.trim_end().as_bytes().to_vec(),
        ),
        (
            "PKCS#1 PEM",
            public.to_pkcs1_pem(LineEnding::LF).expect("PKCS#1 PEM").into_bytes(),
        ),
        (
            "SPKI DER",
            public.to_public_key_der().expect("SPKI DER").as_bytes().to_vec(),
        ),
        (
            "PKCS#1 DER",
            public.to_pkcs1_der().expect("PKCS#1 DER").as_bytes().to_vec(),
        ),
        ("JWK n (text)", field("n").into_bytes()),
        ("JWK n (bytes)", unb64(&field("n"))),
        ("JWK JSON", jwk.to_string().into_bytes()),
        ("x5c certificate (base64 text)", x5c.into_bytes()),
        ("x5c certificate (DER)", cert_der),
        ("x5c certificate (PEM)", cert_pem.into_bytes()),
    ]
}

/// An RSA private key with its kid, signing compact JWS with any RSA algorithm.
pub struct Signer {
    pair: RsaKeyPair,
    pub kid: String,
}

impl Signer {
    /// A key from its PKCS#8 DER (as the emulator stores its keys).
    pub fn from_pkcs8(kid: &str, der: &[u8]) -> Signer {
        Signer {
            pair: RsaKeyPair::from_pkcs8(der).expect("PKCS#8 RSA key"),
            kid: kid.to_string(),
        }
    }

    /// `header.claims.signature` over the exact JSON texts given, signed with `alg` (RS256,
    /// RS384, RS512 or PS256).
    pub fn sign_raw(&self, alg: &str, header: &str, claims: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = match alg {
            "RS384" => &RSA_PKCS1_SHA384,
            "RS512" => &RSA_PKCS1_SHA512,
            "PS256" => &RSA_PSS_SHA256,
            _ => &RSA_PKCS1_SHA256,
        };
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(padding, &SystemRandom::new(), input.as_bytes(), &mut signature)
            .expect("RSA signing");
        format!("{input}.{}", b64(signature))
    }

    pub fn token(&self, alg: &str, header: &Value, claims: &Value) -> String {
        self.sign_raw(alg, &header.to_string(), &claims.to_string())
    }
}

/// An RSA-2048 key of the attacker's, with a kid, its JWK and a self-signed certificate.
pub struct OwnKey {
    signer: Signer,
    pub kid: String,
    pub jwk: Value,
    /// Base64 DER of a self-signed certificate for the key, as `x5c` carries it.
    pub cert: String,
}

impl OwnKey {
    pub fn generate() -> OwnKey {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
            .expect("PKCS#8 export")
            .as_ref()
            .to_vec();
        let key_der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_slice());
        let rc_key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&key_der, &rcgen::PKCS_RSA_SHA256)
            .expect("rcgen reads the key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "azureml-emulator token signing");
        let cert = params.self_signed(&rc_key).expect("self-signed certificate");
        let cert_der = cert.der().to_vec();
        let public = pair.public_key();
        let kid = b64(sha1_digest(&cert_der));
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "x5t": kid,
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
            "x5c": [STANDARD.encode(&cert_der)],
        });
        OwnKey {
            signer: Signer { pair, kid: kid.clone() },
            kid,
            jwk,
            cert: STANDARD.encode(&cert_der),
        }
    }

    /// `header.claims.signature` signed with `alg` (RS256, RS384, RS512 or PS256).
    pub fn token(&self, alg: &str, header: &Value, claims: &Value) -> String {
        self.signer.token(alg, header, claims)
    }

    pub fn sign_raw(&self, alg: &str, header: &str, claims: &str) -> String {
        self.signer.sign_raw(alg, header, claims)
    }
}

fn sha1_digest(bytes: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(bytes).to_vec()
}

/// A loopback HTTP listener that counts every connection and answers with a JWKS holding
/// `jwks`: a validator that fetched a `jku`/`x5u` from it would find the attacker's key.
pub struct FetchTrap {
    pub url: String,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FetchTrap {
    pub fn start(jwks: Value) -> FetchTrap {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind trap");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let body = jwks.to_string();
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        h.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(500)));
                        let _ = stream.read(&mut [0; 4096]);
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        FetchTrap {
            url,
            hits,
            stop,
            thread: Some(thread),
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FetchTrap {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
