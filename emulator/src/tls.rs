//! HTTPS material: a local CA and a localhost leaf certificate (rcgen), generated into the data
//! dir on first start and reused afterwards, plus the CA bundle clients trust (system CAs + ours).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime};

use crate::datadir::write_private;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot write or read TLS files in {dir}: {source}")]
    Io { dir: String, source: io::Error },
    #[error("cannot generate certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot load certificate or key {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("the certificate and key do not form a usable TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// What `serve` needs for HTTPS and what clients need to trust it.
pub struct TlsMaterial {
    pub server_config: Arc<ServerConfig>,
    /// The certificate clients must trust: our CA, or the user's own certificate with `--cert`.
    pub ca_cert: PathBuf,
    /// System CAs followed by `ca_cert`, for `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE`.
    pub ca_bundle: PathBuf,
}

/// Where Debian, Fedora, Alpine and macOS keep the system trust store.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/usr/local/etc/openssl/cert.pem",
];

/// Loads or creates the certificates in `dir`; with `user` (cert, key) those are served instead.
pub fn prepare(dir: &Path, user: Option<(&Path, &Path)>) -> Result<TlsMaterial, TlsError> {
    let io_err = |source| TlsError::Io {
        dir: dir.display().to_string(),
        source,
    };
    let (cert_path, key_path, ca_cert) = match user {
        Some((cert, key)) => (cert.to_path_buf(), key.to_path_buf(), cert.to_path_buf()),
        None => {
            let ca = dir.join("ca.pem");
            let (cert, key) = (dir.join("server.pem"), dir.join("server-key.pem"));
            if !(ca.exists() && cert.exists() && key.exists()) {
                generate(dir).map_err(|e| match e {
                    GenError::Io(source) => io_err(source),
                    GenError::Rcgen(e) => TlsError::Generate(e),
                })?;
            }
            (cert, key, ca)
        }
    };
    let ca_bundle = dir.join("ca-bundle.pem");
    if !ca_bundle.exists() || user.is_some() {
        write_bundle(&ca_bundle, &ca_cert).map_err(io_err)?;
    }
    Ok(TlsMaterial {
        server_config: Arc::new(server_config(&cert_path, &key_path)?),
        ca_cert,
        ca_bundle,
    })
}

fn server_config(cert_path: &Path, key_path: &Path) -> Result<ServerConfig, TlsError> {
    let load = |path: &Path, reason: String| TlsError::Load {
        path: path.display().to_string(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| load(cert_path, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| load(cert_path, e.to_string()))?;
    if chain.is_empty() {
        return Err(load(cert_path, "no certificate in file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| load(key_path, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(config)
}

enum GenError {
    Io(io::Error),
    Rcgen(rcgen::Error),
}

impl From<io::Error> for GenError {
    fn from(e: io::Error) -> Self {
        GenError::Io(e)
    }
}

impl From<rcgen::Error> for GenError {
    fn from(e: rcgen::Error) -> Self {
        GenError::Rcgen(e)
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "azureml-emulator");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// A fresh CA (ECDSA P-256, ten years) and a leaf for localhost / 127.0.0.1 / ::1 signed by it.
fn generate(dir: &Path) -> Result<(), GenError> {
    fs::create_dir_all(dir)?;
    let now = OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name = name("azureml-emulator local CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = now - Duration::days(1);
    ca.not_after = now + Duration::days(3650);
    let ca_cert = ca.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()])?;
    leaf.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    leaf.distinguished_name = name("localhost");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = now - Duration::days(1);
    leaf.not_after = now + Duration::days(825);
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;

    // Owner-only like everything in the data dir (certificates included: one rule, no exceptions).
    write_private(&dir.join("ca-key.pem"), ca_key.serialize_pem().as_bytes())?;
    write_private(&dir.join("server-key.pem"), leaf_key.serialize_pem().as_bytes())?;
    write_private(&dir.join("server.pem"), (leaf_cert.pem() + &ca_cert.pem()).as_bytes())?;
    write_private(&dir.join("ca.pem"), ca_cert.pem().as_bytes())?;
    // A new CA invalidates any bundle built around the old one.
    let _ = fs::remove_file(dir.join("ca-bundle.pem"));
    Ok(())
}

/// The system's CAs followed by `ca`, so clients that must trust the emulator still reach other HTTPS hosts.
fn write_bundle(bundle: &Path, ca: &Path) -> io::Result<()> {
    let mut text = SYSTEM_BUNDLES
        .iter()
        .find_map(|p| fs::read_to_string(p).ok())
        .unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# azureml-emulator\n");
    text.push_str(&fs::read_to_string(ca)?);
    write_private(bundle, text.as_bytes())
}
