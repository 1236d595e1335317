//! RSA-2048 PKCS#1 v1.5 SHA-256 (JWS `RS256`) signers available to the emulator, one core each,
//! measured in the same run as `openssl speed rsa2048` (the token goal's baseline):
//!
//!     cargo run --release --manifest-path emulator/benches/signers/Cargo.toml
//!
//! PKCS#1 v1.5 signatures are deterministic, so every signer must produce the very bytes the
//! emulator's signer (aws-lc-rs) does for the same key and message: a signer that differs is
//! reported wrong and not ranked.

use std::process::Command;
use std::time::{Duration, Instant};

use rsa::pkcs8::EncodePrivateKey;

/// How long each signer runs (`SIGNERS_SECONDS` overrides).
fn seconds() -> f64 {
    std::env::var("SIGNERS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0)
}

/// CPU time this thread has run, in seconds (`/proc/thread-self/schedstat`): like `openssl
/// speed`, which divides by CPU time, the figures hold on a busy machine.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

/// Signs `message` repeatedly for the configured CPU time; signatures per CPU-second.
fn rate(sign: &mut dyn FnMut(&[u8]) -> Vec<u8>, message: &[u8]) -> f64 {
    let budget = seconds();
    let start = cpu_seconds();
    let wall = Instant::now();
    let mut n = 0u64;
    // The wall-clock cap bounds a run on a machine too busy to give the thread its budget.
    while cpu_seconds() - start < budget && wall.elapsed() < Duration::from_secs_f64(budget * 10.0) {
        for _ in 0..16 {
            std::hint::black_box(sign(message));
        }
        n += 16;
    }
    n as f64 / (cpu_seconds() - start)
}

/// `openssl speed rsa2048`'s one-core signs per second.
fn openssl_speed() -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", &format!("{}", seconds().ceil() as u64), "rsa2048"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("rsa 2048 bits"))?;
    line.split_whitespace().nth(5)?.parse().ok()
}

fn main() {
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("keygen");
    let pkcs8 = private.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec();
    // A signing input the size of a client-credentials access token's header and claims.
    let message = vec![b'e'; 1100];

    let aws = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&pkcs8).expect("aws-lc-rs key");
    let aws_rng = aws_lc_rs::rand::SystemRandom::new();
    let mut aws_sign = |m: &[u8]| {
        let mut sig = vec![0; aws.public_modulus_len()];
        aws.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &aws_rng, m, &mut sig)
            .expect("aws-lc-rs sign");
        sig
    };
    let ring_key = ring::signature::RsaKeyPair::from_pkcs8(&pkcs8).expect("ring key");
    let ring_rng = ring::rand::SystemRandom::new();
    let mut ring_sign = |m: &[u8]| {
        let mut sig = vec![0; ring_key.public().modulus_len()];
        ring_key
            .sign(&ring::signature::RSA_PKCS1_SHA256, &ring_rng, m, &mut sig)
            .expect("ring sign");
        sig
    };
    let ossl = openssl::pkey::PKey::private_key_from_pkcs8(&pkcs8).expect("openssl key");
    let mut openssl_sign = |m: &[u8]| {
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &ossl).expect("signer");
        signer.sign_oneshot_to_vec(m).expect("openssl sign")
    };
    let rsa_key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private.clone());
    let mut rsa_sign = |m: &[u8]| {
        use rsa::signature::{SignatureEncoding, Signer};
        rsa_key.sign(m).to_vec()
    };

    let expected = aws_sign(&message);
    let baseline = openssl_speed();
    println!("RSA-2048 PKCS#1 v1.5 SHA-256, one core, {} CPU-s each (signs per CPU-second)", seconds());
    match baseline {
        Some(b) => println!("{:<34} {b:>9.0} signs/s", "openssl speed rsa2048 (baseline)"),
        None => println!("openssl speed rsa2048: not available"),
    }
    let signers: [(&str, &mut dyn FnMut(&[u8]) -> Vec<u8>); 4] = [
        ("aws-lc-rs (the emulator's)", &mut aws_sign),
        ("openssl crate (system libssl)", &mut openssl_sign),
        ("ring", &mut ring_sign),
        ("rsa crate (pure Rust)", &mut rsa_sign),
    ];
    for (name, sign) in signers {
        if sign(&message) != expected {
            println!("{name:<34} WRONG: its signature differs from aws-lc-rs's");
            continue;
        }
        let r = rate(sign, &message);
        let ratio = baseline.map_or_else(String::new, |b| format!("  {:.2}x openssl speed", r / b));
        println!("{name:<34} {r:>9.0} signs/s{ratio}");
    }
}
