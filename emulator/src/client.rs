//! A small client for the control API of a running emulator, used by CLI verbs (`env`, `clock`, …).
//!
//! It finds the emulator by an explicit `--url`; else the ready file of an explicit `--data-dir`;
//! else `AZUREML_EMULATOR_URL`; else the ready file of the default data dir. A flag always beats
//! the environment: after `eval "$(azureml-emulator env --data-dir A)"`, `--data-dir B` means B.
//! It trusts the CA named by `--ca-cert`, the ready file, or `SSL_CERT_FILE`/`REQUESTS_CA_BUNDLE`.
//!
//! A ready file left behind by a server that died (`kill -9`) is reported as such: its pid is gone
//! or its URL does not answer.

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
    #[error(
        "the ready file {path} names an emulator at {url} (pid {pid}) that is gone: {why}; start `azureml-emulator serve` again (the stale ready file may be deleted)"
    )]
    Stale {
        path: String,
        url: String,
        pid: u32,
        why: String,
    },
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
    /// The ready file the URL came from, if it did: a connection failure then means it is stale.
    ready: Option<(PathBuf, ReadyInfo)>,
}

impl AdminClient {
    /// Locates the emulator as described in the module docs. `data_dir` is `None` when not given
    /// explicitly ([`crate::cli::DEFAULT_DATA_DIR`] is used after the environment).
    pub fn locate(url: Option<String>, data_dir: Option<&Path>, ca_cert: Option<PathBuf>) -> Result<Self, ClientError> {
        let env_url = || std::env::var("AZUREML_EMULATOR_URL").ok().filter(|u| !u.is_empty());
        let url = match (url, data_dir) {
            (Some(u), _) => Some(u),
            (None, Some(_)) => None,
            (None, None) => env_url(),
        };
        let dir = data_dir.unwrap_or(Path::new(crate::cli::DEFAULT_DATA_DIR));
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let ready_path = dir.join("ready.json");
        let ready = read_ready(&ready_path).ok();
        let url = url
            .or_else(|| ready.as_ref().map(|r| r.url.clone()))
            .ok_or_else(|| ClientError::NotFound(dir.display().to_string()))?;
        let url = url.trim_end_matches('/').to_string();
        let ready = ready.filter(|r| r.url == url);
        let from_ready = ready.as_ref().map(|r| r.ca_cert.clone());
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
            ready: ready.map(|r| (ready_path, r)),
        })
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.get(&url).call();
        self.read(url, response)
    }

    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.post(&url).send_json(body);
        self.read(url, response)
    }

    pub fn patch<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.patch(&url).send_json(body);
        self.read(url, response)
    }

    pub fn put<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.put(&url).send_json(body);
        self.read(url, response)
    }

    /// The HTTPS agent (it trusts the emulator's CA), for requests to the emulated surfaces.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// Follows a server-sent event stream (`GET path`): calls `each` with every `data:` payload
    /// until it returns false or the stream ends. No timeout: a quiet stream is kept alive.
    pub fn follow(&self, path: &str, mut each: impl FnMut(&str) -> bool) -> Result<(), ClientError> {
        use std::io::BufRead;
        let url = format!("{}{path}", self.url);
        let response = self
            .agent
            .get(&url)
            .config()
            .timeout_global(None)
            .build()
            .call()
            .map_err(|e| self.unreachable(e, &url))?;
        if response.status().as_u16() >= 400 {
            return self.read::<serde_json::Value>(url, Ok(response)).map(|_| ());
        }
        let reader = std::io::BufReader::new(response.into_body().into_reader());
        for line in reader.lines() {
            let line = line.map_err(|e| ClientError::Http {
                url: url.clone(),
                reason: e.to_string(),
            })?;
            if let Some(data) = line.strip_prefix("data: ") {
                if !each(data) {
                    break;
                }
            }
        }
        Ok(())
    }

    pub fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.delete(&url).call();
        self.read(url, response)
    }

    /// A DELETE whose success has no body (204).
    pub fn delete_empty(&self, path: &str) -> Result<(), ClientError> {
        let url = format!("{}{path}", self.url);
        let response = self.agent.delete(&url).call();
        let mut response = response.map_err(|e| ClientError::Http {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        if status < 400 {
            return Ok(());
        }
        let body = response.body_mut().read_to_string().unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{url} answered {status}: {body}"));
        Err(ClientError::Status { url, status, message })
    }

    fn read<T: DeserializeOwned>(
        &self,
        url: String,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let http = |reason: String| ClientError::Http {
            url: url.clone(),
            reason,
        };
        let mut response = response.map_err(|e| self.unreachable(e, &url))?;
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

impl AdminClient {
    /// A request that got no answer: a stale ready file when the URL came from one.
    fn unreachable(&self, error: ureq::Error, url: &str) -> ClientError {
        let Some((path, ready)) = self.ready.as_ref() else {
            return ClientError::Http {
                url: url.to_string(),
                reason: error.to_string(),
            };
        };
        let why = if pid_alive(ready.pid) {
            format!("pid {} exists but {} does not answer: {error}", ready.pid, ready.url)
        } else {
            format!("no process has pid {}", ready.pid)
        };
        ClientError::Stale {
            path: path.display().to_string(),
            url: ready.url.clone(),
            pid: ready.pid,
            why,
        }
    }
}

/// Whether a process with this pid exists (signal 0: nothing is sent).
#[cfg(unix)]
pub fn pid_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists, owned by someone else.
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

#[cfg(not(unix))]
pub fn pid_alive(_: u32) -> bool {
    true
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
