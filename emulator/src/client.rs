//! A small client for the control API of a running emulator, used by CLI verbs (`clock`, `env --url`).
//! It finds the emulator by `--url`, else `AZUREML_EMULATOR_URL`, else the ready file in the data
//! dir, and trusts the CA named by `--ca-cert`, the ready file, or `SSL_CERT_FILE`/`REQUESTS_CA_BUNDLE`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::info::ReadyInfo;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no running emulator found: pass --url, set AZUREML_EMULATOR_URL, or start `azureml-emulator serve` with data dir {0}")]
    NotFound(String),
    #[error("cannot read {path}: {reason}")]
    File { path: String, reason: String },
    #[error("cannot verify {url}: no CA certificate known; pass --ca-cert (the emulator's ca.pem)")]
    NoCa { url: String },
    #[error("request to {url} failed: {reason}")]
    Http { url: String, reason: String },
    #[error("{message}")]
    Status { url: String, status: u16, message: String },
}

/// Reads a ready file written by `serve`.
pub fn read_ready(path: &Path) -> Result<ReadyInfo, ClientError> {
    let file = |reason: String| ClientError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| file(e.to_string()))
}

pub struct AdminClient {
    pub url: String,
    agent: ureq::Agent,
}

impl AdminClient {
    /// Locates the emulator as described in the module docs.
    pub fn locate(url: Option<String>, data_dir: &Path, ca_cert: Option<PathBuf>) -> Result<Self, ClientError> {
        let ready = read_ready(&data_dir.join("ready.json")).ok();
        let url = url
            .or_else(|| std::env::var("AZUREML_EMULATOR_URL").ok().filter(|u| !u.is_empty()))
            .or_else(|| ready.as_ref().map(|r| r.url.clone()))
            .ok_or_else(|| ClientError::NotFound(data_dir.display().to_string()))?;
        let url = url.trim_end_matches('/').to_string();
        let from_ready = ready.filter(|r| r.url == url).map(|r| r.ca_cert);
        let from_env = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"]
            .iter()
            .filter_map(|k| std::env::var_os(k).map(PathBuf::from))
            .find(|p| p.exists());
        let ca = ca_cert
            .or(from_ready)
            .or(from_env)
            .ok_or_else(|| ClientError::NoCa { url: url.clone() })?;
        Ok(AdminClient {
            agent: agent(&ca)?,
            url,
        })
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.get(&url).call();
        Self::read(url, response)
    }

    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.post(&url).send_json(body);
        Self::read(url, response)
    }

    pub fn patch<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.patch(&url).send_json(body);
        Self::read(url, response)
    }

    pub fn put<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.put(&url).send_json(body);
        Self::read(url, response)
    }

    pub fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.delete(&url).call();
        Self::read(url, response)
    }

    fn read<T: DeserializeOwned>(
        url: String,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let http = |reason: String| ClientError::Http {
            url: url.clone(),
            reason,
        };
        let mut response = response.map_err(|e| http(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().map_err(|e| http(e.to_string()))?;
        if status >= 400 {
            // Show the API's own message when the body has the `{"error":{"message"}}` shape.
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{url} answered {status}: {body}"));
            return Err(ClientError::Status { url, status, message });
        }
        // 204 answers (deletes, member changes) have no body: they read as JSON null.
        let body = if body.is_empty() { "null".to_string() } else { body };
        serde_json::from_str(&body).map_err(|e| http(format!("unexpected answer {body}: {e}")))
    }
}

fn agent(ca: &Path) -> Result<ureq::Agent, ClientError> {
    let file = |reason: String| ClientError::File {
        path: ca.display().to_string(),
        reason,
    };
    let pem = std::fs::read(ca).map_err(|e| file(e.to_string()))?;
    let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(file("no certificate in file".into()));
    }
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    Ok(ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(15)))
        .build()
        .into())
}
