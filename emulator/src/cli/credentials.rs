//! CLI verbs for credentials without secrets, mirroring `az`: `ad app credential reset
//! --create-cert`, `ad app federated-credential create|list|delete`, and the emulator's own
//! `federation token`; plus what `env --workload-identity` and `env --managed-identity` print.
//! Certificates are made here, on the client: only the public certificate reaches the emulator,
//! and the private key is written next to it in a PEM file, as az does.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::verbs::{client, print_json};
use super::{CliError, Target};
use crate::client::AdminClient;
use crate::info::ReadyInfo;

#[derive(Args, Debug)]
pub struct AdArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    what: AdWhat,
}

#[derive(Subcommand, Debug)]
enum AdWhat {
    /// Application registrations.
    App {
        #[command(subcommand)]
        what: AppWhat,
    },
}

#[derive(Subcommand, Debug)]
enum AppWhat {
    /// Credentials of an application.
    Credential {
        #[command(subcommand)]
        action: CredentialAction,
    },
    /// Federated identity credentials of an application (or user-assigned identity).
    FederatedCredential {
        #[command(subcommand)]
        action: FederatedAction,
    },
}

#[derive(Subcommand, Debug)]
enum CredentialAction {
    /// Replace (or with --append, add) the application's certificates with a new one.
    Reset {
        /// Client id, object id or display name.
        #[arg(long)]
        id: String,
        /// Make a self-signed certificate and write it with its private key to a PEM file.
        #[arg(long, required = true)]
        create_cert: bool,
        #[arg(long)]
        append: bool,
        #[arg(long, default_value_t = 1)]
        years: i64,
    },
}

#[derive(Subcommand, Debug)]
enum FederatedAction {
    /// Add a credential: --parameters '{"name","issuer","subject","audiences"?,"description"?}' or @file.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        parameters: String,
    },
    List {
        #[arg(long)]
        id: String,
    },
    Delete {
        #[arg(long)]
        id: String,
        /// The credential's name.
        #[arg(long)]
        federated_credential_id: String,
    },
}

#[derive(Args, Debug)]
pub struct FederationArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    action: FederationAction,
}

#[derive(Subcommand, Debug)]
enum FederationAction {
    /// Print a subject token of one of the emulator's test issuers (for AZURE_FEDERATED_TOKEN_FILE).
    Token {
        #[arg(long, default_value = "github-actions")]
        issuer: String,
        #[arg(long)]
        sub: Option<String>,
        #[arg(long)]
        aud: Option<String>,
        /// Seconds (1–86400; default 600).
        #[arg(long)]
        lifetime: Option<i64>,
        /// Extra claims, a JSON object.
        #[arg(long)]
        claims: Option<String>,
    },
}

/// Which managed-identity endpoint `env --managed-identity` points SDKs at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MsiEndpoint {
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST` (IMDS).
    Imds,
    /// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` (App Service 2019-08-01).
    AppService,
    /// `MSI_ENDPOINT` + `MSI_SECRET` (Azure ML compute 2017-09-01).
    AzureMl,
}

fn read_parameters(text: &str) -> Result<Value, CliError> {
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)?,
        None => text.to_string(),
    };
    serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("--parameters is not JSON: {e}")))
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Writes `text` to a new `tmpXXXXXXXX.pem` in the home directory (az's place), owner-only.
pub fn write_pem(text: &str) -> Result<PathBuf, CliError> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let file = tempfile::Builder::new()
        .prefix("tmp")
        .suffix(".pem")
        .tempfile_in(&home)?;
    let (mut handle, path) = file.keep().map_err(|e| CliError::Io(e.error))?;
    handle.write_all(text.as_bytes())?;
    Ok(path)
}

/// A new self-signed certificate named after the application, PEM of key + certificate written.
pub fn new_certificate(name: &str, years: i64) -> Result<(String, PathBuf), CliError> {
    let (key, cert) = crate::domain::certificate::new_self_signed(name, years.clamp(1, 10) * 365)
        .map_err(|e| CliError::Usage(format!("cannot make a certificate: {e}")))?;
    let path = write_pem(&format!("{key}{cert}"))?;
    Ok((cert, path))
}

pub fn ad(args: AdArgs) -> Result<(), CliError> {
    let client = client(&args.target)?;
    let AdWhat::App { what } = args.what;
    let value = match what {
        AppWhat::Credential {
            action: CredentialAction::Reset { id, append, years, .. },
        } => {
            let (cert, path) = new_certificate(&id, years)?;
            let added: Value = client.post(
                &format!("/_emulator/applications/{}/certificates", enc(&id)),
                &json!({"pem": cert, "replace": !append}),
            )?;
            let info: ReadyInfo = client.get("/_emulator/info")?;
            json!({"appId": added["appId"], "fileWithCertAndPrivateKey": path, "password": null, "tenant": info.tenant_id})
        }
        AppWhat::FederatedCredential { action } => federated(&client, action)?,
    };
    print_json(&value);
    Ok(())
}

fn federated(client: &AdminClient, action: FederatedAction) -> Result<Value, CliError> {
    Ok(match action {
        FederatedAction::Create { id, parameters } => client.post(
            &format!("/_emulator/applications/{}/federated-credentials", enc(&id)),
            &read_parameters(&parameters)?,
        )?,
        FederatedAction::List { id } => {
            client.get::<Value>(&format!("/_emulator/applications/{}/federated-credentials", enc(&id)))?["value"].take()
        }
        FederatedAction::Delete {
            id,
            federated_credential_id,
        } => {
            client.delete_empty(&format!(
                "/_emulator/applications/{}/federated-credentials/{}",
                enc(&id),
                enc(&federated_credential_id)
            ))?;
            Value::Null
        }
    })
}

/// A subject token from a test issuer: `(token, issuer URL)`.
fn subject_token(client: &AdminClient, issuer: &str, body: &Value) -> Result<String, CliError> {
    let minted: Value = client.post(&format!("/_emulator/issuers/{}/token", enc(issuer)), body)?;
    minted["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| CliError::Usage(format!("unexpected answer: {minted}")))
}

pub fn federation(args: FederationArgs) -> Result<(), CliError> {
    let client = client(&args.target)?;
    let FederationAction::Token {
        issuer,
        sub,
        aud,
        lifetime,
        claims,
    } = args.action;
    let claims: Value = match claims {
        Some(c) => serde_json::from_str(&c).map_err(|e| CliError::Usage(format!("--claims is not JSON: {e}")))?,
        None => json!({}),
    };
    let body = json!({"sub": sub, "aud": aud, "lifetime_seconds": lifetime, "claims": claims});
    println!("{}", subject_token(&client, &issuer, &body)?);
    Ok(())
}

/// The base exports without the default service principal's secret (which would make
/// `DefaultAzureCredential` pick `EnvironmentCredential` first).
fn secretless(info: &ReadyInfo) -> BTreeMap<String, String> {
    let mut env = info.env.clone();
    env.remove("AZURE_CLIENT_SECRET");
    env.remove("AZURE_CLIENT_ID");
    env
}

/// `env --workload-identity APP`: a subject token for the application's first federated
/// credential of a test issuer (its subject and first audience), written to `token_file`
/// (default: `federated-tokens/{client id}.jwt` in the data dir) without a trailing newline.
pub fn workload_identity_env(
    client: &AdminClient,
    app: &str,
    token_file: Option<PathBuf>,
    lifetime: i64,
) -> Result<BTreeMap<String, String>, CliError> {
    let info: ReadyInfo = client.get("/_emulator/info")?;
    let listed: Value = client.get(&format!("/_emulator/applications/{}/federated-credentials", enc(app)))?;
    let client_id = listed["appId"].as_str().unwrap_or(app).to_string();
    let (issuer, credential) = listed["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|f| {
            let url = f["issuer"].as_str()?;
            let at = url.find(crate::authority::issuers::ISSUERS_PATH)?;
            Some((
                url[at + crate::authority::issuers::ISSUERS_PATH.len()..].to_string(),
                f.clone(),
            ))
        })
        .ok_or_else(|| {
            CliError::Usage(format!(
                "'{app}' has no federated credential of one of this emulator's issuers"
            ))
        })?;
    let body = json!({"sub": credential["subject"], "aud": credential["audiences"][0], "lifetime_seconds": lifetime});
    let token = subject_token(client, &issuer, &body)?;
    let path = token_file.unwrap_or_else(|| info.data_dir.join("federated-tokens").join(format!("{client_id}.jwt")));
    write_private(&path, &token)?;
    let mut env = secretless(&info);
    env.insert("AZURE_FEDERATED_TOKEN_FILE".into(), path.display().to_string());
    env.insert("AZURE_CLIENT_ID".into(), client_id);
    Ok(env)
}

fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())?;
    Ok(())
}

/// `env --managed-identity HOST`: the variables of the host's endpoint (its default one unless
/// `endpoint` says), and `AZURE_CLIENT_ID` when a user-assigned identity is chosen (what
/// `DefaultAzureCredential` selects by).
pub fn managed_identity_env(
    client: &AdminClient,
    host: &str,
    endpoint: Option<MsiEndpoint>,
    user_assigned: Option<&str>,
) -> Result<BTreeMap<String, String>, CliError> {
    let info: ReadyInfo = client.get("/_emulator/info")?;
    let h: Value = client.get(&format!("/_emulator/managed-identities/hosts/{}", enc(host)))?;
    let key = match endpoint {
        Some(MsiEndpoint::Imds) => "imds",
        Some(MsiEndpoint::AppService) => "app-service",
        Some(MsiEndpoint::AzureMl) => "azure-ml",
        None => h["defaultEndpoint"].as_str().unwrap_or("imds"),
    };
    let mut env = secretless(&info);
    // azureml-core's `MsiAuthentication()` (no cloud named) otherwise fetches the public cloud's
    // metadata from management.azure.com before it reads ARM_CLOUD_METADATA_URL's clouds.
    env.insert("AZUREML_CURRENT_CLOUD".into(), "AzureCloud".into());
    for (k, v) in h["endpoints"][key].as_object().into_iter().flatten() {
        if let Some(v) = v.as_str() {
            env.insert(k.clone(), v.to_string());
        }
    }
    if let Some(name) = user_assigned {
        let found = h["identities"].as_array().into_iter().flatten().find(|i| {
            i["type"] == "UserAssigned" && (i["name"].as_str() == Some(name) || i["clientId"].as_str() == Some(name))
        });
        let id = found
            .and_then(|i| i["clientId"].as_str())
            .ok_or_else(|| CliError::Usage(format!("'{host}' has no user-assigned identity '{name}'")))?;
        env.insert("AZURE_CLIENT_ID".into(), id.to_string());
        if key == "azure-ml" {
            env.insert("DEFAULT_IDENTITY_CLIENT_ID".into(), id.to_string());
        }
    }
    Ok(env)
}
