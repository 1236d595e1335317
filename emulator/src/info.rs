//! What a running emulator tells its clients: the ready file, the start banner and the
//! environment exports of `azureml-emulator env`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The default service principal's credentials, in the shape `az ad sp create-for-rbac --sdk-auth` uses.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipalInfo {
    pub client_id: String,
    pub client_secret: String,
    pub tenant_id: String,
    pub subscription_id: String,
}

/// The ready file (`--ready-file`, and `ready.json` in the data dir): written once listening.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReadyInfo {
    pub url: String,
    pub port: u16,
    pub pid: u32,
    /// The data dir; for `--in-memory` runs, the temporary dir holding the TLS files.
    pub data_dir: PathBuf,
    pub in_memory: bool,
    pub ca_cert: PathBuf,
    pub ca_bundle: PathBuf,
    pub tenant_id: String,
    pub tenant_domain: String,
    pub subscription_id: String,
    pub service_principal: Option<ServicePrincipalInfo>,
    pub env: BTreeMap<String, String>,
    /// The managed-identity endpoints' listener (plain HTTP, loopback): `http://127.0.0.1:PORT`.
    #[serde(default)]
    pub msi_url: String,
}

/// The exports that point SDKs at the emulator at `url`.
pub fn env_map(
    url: &str,
    ca_cert: &std::path::Path,
    ca_bundle: &std::path::Path,
    tenant_id: &str,
    sp: Option<&ServicePrincipalInfo>,
) -> BTreeMap<String, String> {
    let bundle = ca_bundle.display().to_string();
    let mut env = BTreeMap::new();
    // requests reads REQUESTS_CA_BUNDLE (then CURL_CA_BUNDLE); urllib and OpenSSL read SSL_CERT_FILE.
    env.insert("REQUESTS_CA_BUNDLE".into(), bundle.clone());
    env.insert("CURL_CA_BUNDLE".into(), bundle.clone());
    env.insert("SSL_CERT_FILE".into(), bundle);
    // Node adds these to its built-in roots, so the CA alone is enough.
    env.insert("NODE_EXTRA_CA_CERTS".into(), ca_cert.display().to_string());
    // `/adfs` makes MSAL (and so azure-identity and azureml-core) skip instance discovery.
    env.insert("AZURE_AUTHORITY_HOST".into(), format!("{url}/adfs"));
    env.insert("ARM_CLOUD_METADATA_URL".into(), format!("{url}/metadata/endpoints"));
    env.insert("AZURE_CORE_INSTANCE_DISCOVERY".into(), "false".into());
    env.insert("AZUREML_EMULATOR_URL".into(), url.to_string());
    env.insert("AZURE_TENANT_ID".into(), tenant_id.to_string());
    if let Some(sp) = sp {
        env.insert("AZURE_CLIENT_ID".into(), sp.client_id.clone());
        env.insert("AZURE_CLIENT_SECRET".into(), sp.client_secret.clone());
        env.insert("AZURE_SUBSCRIPTION_ID".into(), sp.subscription_id.clone());
    }
    env
}

/// Output formats of `azureml-emulator env`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvFormat {
    Sh,
    Dotenv,
    Json,
    Powershell,
}

pub fn render_env(env: &BTreeMap<String, String>, format: EnvFormat) -> String {
    match format {
        EnvFormat::Json => serde_json::to_string_pretty(env).expect("strings serialise") + "\n",
        EnvFormat::Sh => env
            .iter()
            .map(|(k, v)| format!("export {k}={}\n", sh_quote(v)))
            .collect(),
        EnvFormat::Dotenv => env.iter().map(|(k, v)| format!("{k}={}\n", sh_quote(v))).collect(),
        EnvFormat::Powershell => env
            .iter()
            .map(|(k, v)| format!("$env:{k} = '{}'\n", v.replace('\'', "''")))
            .collect(),
    }
}

/// `v` single-quoted for POSIX shells.
pub(crate) fn sh_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_quotes_safely() {
        let mut env = BTreeMap::new();
        env.insert("A".to_string(), "it's ~ $HOME".to_string());
        assert_eq!(render_env(&env, EnvFormat::Sh), "export A='it'\\''s ~ $HOME'\n");
        assert_eq!(render_env(&env, EnvFormat::Powershell), "$env:A = 'it''s ~ $HOME'\n");
        let json: BTreeMap<String, String> = serde_json::from_str(&render_env(&env, EnvFormat::Json)).unwrap();
        assert_eq!(json, env);
    }
}
