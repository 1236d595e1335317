//! `TestApp`: an emulator on port 0 with its own temp dir, plus an HTTPS client that trusts its CA.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use azureml_emulator::{Config, Emulator, Running, Storage};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

pub use azureml_emulator::fixtures::defaults::*;

pub const ARM: &str = "https://management.azure.com/";

/// With `TEST_LOG=1`, the emulators' logs (each request in its span: id, surface, method, path,
/// and its duration when it closes) go to the test output; `TEST_LOG=<filter>` sets the filter.
fn init_test_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(level) = std::env::var("TEST_LOG") else { return };
        let level = if level == "1" {
            "info,azureml_emulator=debug".to_string()
        } else {
            level
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(level))
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_test_writer()
            .try_init();
    });
}

pub struct TestApp {
    pub running: Running,
    pub url: String,
    pub agent: ureq::Agent,
    _temp: Option<tempfile::TempDir>,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: ureq::http::HeaderMap,
}

impl Reply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// GETs an operation URL the emulator handed out (absolute, on this emulator).
    pub fn poll(&self, url: &str, token: &str) -> Reply {
        let path = url.strip_prefix(&self.url).expect("an URL of this emulator");
        self.arm("GET", path, Some(token), None)
    }

    /// Moves the emulator clock past every running long-running operation (1 s by default).
    pub fn finish_operations(&self) {
        self.running.clock().advance(time::Duration::seconds(2)).unwrap();
    }

    /// A throwaway emulator with the default world, in memory.
    pub fn spawn() -> Self {
        Self::with_config(Config {
            workers: 1,
            ..Config::default()
        })
    }

    /// A throwaway emulator (default world, in memory) whose requests run on `workers` HTTP
    /// workers at once: what concurrency tests need.
    pub fn with_workers(workers: usize) -> Self {
        Self::with_config(Config {
            workers,
            ..Config::default()
        })
    }

    /// An emulator persisting to `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self::with_config(Config {
            workers: 1,
            storage: Storage::Dir(dir.to_path_buf()),
            ..Config::default()
        })
    }

    /// An emulator with a world built in code (in memory).
    pub fn with_spec(world: azureml_emulator::fixtures::WorldSpec) -> Self {
        Self::with_config(Config {
            workers: 1,
            world: Some(world),
            ..Config::default()
        })
    }

    /// An emulator with the given world file (in memory).
    pub fn with_world(toml: &str) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("world.toml");
        std::fs::write(&path, toml).unwrap();
        let mut app = Self::with_config(Config {
            workers: 1,
            fixtures: Some(path),
            ..Config::default()
        });
        app._temp = Some(temp);
        app
    }

    pub fn with_config(config: Config) -> Self {
        init_test_log();
        let running = Emulator::start(config).expect("emulator starts");
        let info = running.info().clone();
        TestApp {
            url: running.url.clone(),
            agent: agent_trusting(&info.ca_cert),
            running,
            _temp: None,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        read(self.agent.get(format!("{}{path}", self.url)).call())
    }

    pub fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let form: Vec<(&str, &str)> = form.to_vec();
        read(self.agent.post(format!("{}{path}", self.url)).send_form(form))
    }

    pub fn post_json(&self, path: &str, body: Value) -> Reply {
        read(self.agent.post(format!("{}{path}", self.url)).send_json(body))
    }

    /// Client-credentials on the v2 endpoint of the default tenant.
    pub fn token_v2(&self, client: &str, secret: &str, scope: &str) -> Reply {
        self.post_form(
            &format!("/{TENANT}/oauth2/v2.0/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client),
                ("client_secret", secret),
                ("scope", scope),
            ],
        )
    }

    /// Client-credentials on the v1 endpoint of the default tenant.
    pub fn token_v1(&self, client: &str, secret: &str, resource: &str) -> Reply {
        self.post_form(
            &format!("/{TENANT}/oauth2/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client),
                ("client_secret", secret),
                ("resource", resource),
            ],
        )
    }
}

pub fn agent_trusting(ca: &Path) -> ureq::Agent {
    let pem = std::fs::read(ca).unwrap();
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        // Concurrency tests keep one warm connection per thread, so racing requests start together.
        .max_idle_connections_per_host(32)
        .max_idle_connections(64)
        .build()
        .into()
}

pub fn read_reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    read(response)
}

fn read(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = response.expect("request completes");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.body_mut().read_to_string().unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply { status, body, headers }
}

/// Decodes a JWT segment without verifying anything.
pub fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("three segments");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

pub fn claims(token: &str) -> Value {
    segment(token, 1)
}

/// Asserts the AAD error shape and returns the body for further checks.
pub fn assert_aad_error(reply: &Reply, status: u16, error: &str, code: u64) -> Value {
    assert_eq!(reply.status, status, "body: {}", reply.body);
    let b = &reply.body;
    assert_eq!(b["error"], error, "body: {b}");
    assert_eq!(b["error_codes"], serde_json::json!([code]), "body: {b}");
    let description = b["error_description"].as_str().unwrap();
    assert!(description.starts_with(&format!("AADSTS{code}: ")), "{description}");
    assert!(description.contains("\r\nTrace ID: "), "{description}");
    assert!(description.contains("\r\nCorrelation ID: "), "{description}");
    assert!(description.contains("\r\nTimestamp: "), "{description}");
    for key in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(b[key].is_string(), "{key} missing in {b}");
    }
    b.clone()
}

pub fn rg_path() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{RG}")
}

pub fn ws_path(ws: &str) -> String {
    format!(
        "{}/providers/Microsoft.MachineLearningServices/workspaces/{ws}",
        rg_path()
    )
}

impl TestApp {
    /// An ARM token (audience https://management.azure.com/) for a client of the default tenant.
    pub fn arm_token(&self, client: &str, secret: &str) -> String {
        self.arm_token_in(TENANT, client, secret)
    }

    pub fn arm_token_in(&self, tenant: &str, client: &str, secret: &str) -> String {
        let r = self.post_form(
            &format!("/{tenant}/oauth2/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client),
                ("client_secret", secret),
                ("resource", ARM),
            ],
        );
        assert_eq!(r.status, 200, "token for {client}: {}", r.body);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    /// An ARM request with a bearer token (or none) and an optional JSON body; `path` may carry a query.
    pub fn arm(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let url = format!("{}{path}", self.url);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(t) = token {
            request = request.header("Authorization", format!("Bearer {t}"));
        }
        let response = match body {
            Some(b) => {
                let request = request
                    .header("Content-Type", "application/json")
                    .body(b.to_string())
                    .unwrap();
                self.agent.run(request)
            }
            None => self.agent.run(request.body(()).unwrap()),
        };
        read(response)
    }

    pub fn arm_with_header(&self, path: &str, authorization: &str) -> Reply {
        read(
            self.agent
                .get(format!("{}{path}", self.url))
                .header("Authorization", authorization)
                .call(),
        )
    }
}

/// Appends `api-version` to a path.
pub fn v(path: &str, version: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}api-version={version}")
}

pub fn assert_arm_error(reply: &Reply, status: u16, code: &str) -> String {
    assert_eq!(reply.status, status, "body: {}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "body: {}", reply.body);
    reply.body["error"]["message"].as_str().unwrap().to_string()
}

pub const WS_READER_CLIENT: &str = "aaaaaaaa-0000-4000-8000-0000000000f1";

/// The default world plus `ws-reader` (secret "s"), Reader on the workspace only.
pub fn world_with_workspace_reader() -> azureml_emulator::fixtures::WorldSpec {
    let mut w = super::world::WorldBuilder::default_world();
    w.service_principal_with("ws-reader", WS_READER_CLIENT, None);
    w.assign("ws-reader", "Reader", &ws_path(WS));
    w.build()
}
