//! Starting and stopping an emulator: storage, keys, TLS, the world, and the HTTPS listener on its
//! own thread and actix system, so several emulators can run in one process.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::{web, App, HttpServer};

use crate::authority::KeyError;
use crate::clock::Clock;
use crate::connections::{Cap, Tracker};
use crate::datadir::{DataDir, DataDirError};
use crate::fixtures::startup::Prepared;
use crate::fixtures::{FixtureError, WorldSpec};
use crate::http::scoring_body::BodyBudget;
use crate::http::slow_clients::BodyTimeouts;
use crate::info::{env_map, ReadyInfo, ServicePrincipalInfo};
use crate::state::{AppState, RbacMode};
use crate::store::StoreError;
use crate::tls::{self, TlsError};

mod config;
mod open;
pub use config::{Config, Storage, DEFAULT_REQUEST_TIMEOUT};
pub use open::seed;
use open::{open, Opened};

/// Connections the managed-identity listener (loopback, one worker) holds at once.
const MSI_MAX_CONNECTIONS: usize = 256;
/// Idle keep-alive connections are closed after this.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "the admin key is empty (--admin-key or AZUREML_EMULATOR_ADMIN_KEY): an empty key would open the control API to anyone; set a non-empty key or unset it"
    )]
    EmptyAdminKey,
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot use directory {path}: {source}")]
    Dir { path: String, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the data dir {0} holds a world already: serve starts on it as it is; to seed it anew, delete it first")]
    Seeded(String),
    #[error("seeding writes a data dir: give --data-dir, not in-memory storage")]
    SeedNeedsDir,
    #[error("the server thread failed to start: {0}")]
    Thread(String),
    #[error("--auto-sign-in: no user '{0}' in the world")]
    UnknownUser(String),
}

/// Entry point for in-process use (tests) and for `serve`.
pub struct Emulator;

impl Emulator {
    pub fn start(config: Config) -> Result<Running, StartError> {
        if config.admin_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
            return Err(StartError::EmptyAdminKey);
        }
        let Opened {
            dir,
            data_dir,
            temp,
            tls,
            store,
            prepared:
                Prepared {
                    startup: spec,
                    source,
                    fixtures_changed,
                },
            keys,
        } = open(&config)?;

        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr).map_err(|source| StartError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let url = format!("https://{}", display_host(local));
        // Managed-identity endpoints are reachable from this machine only, whatever --host says.
        let msi_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), config.msi_port);
        let msi_listener = TcpListener::bind(msi_addr).map_err(|source| StartError::Bind { addr: msi_addr, source })?;
        let msi_port = msi_listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr: msi_addr, source })?
            .port();
        let mut info = ready_info(&spec, &url, local.port(), &dir, temp.is_some(), &tls);
        info.msi_url = format!("http://127.0.0.1:{msi_port}");
        let mut extra_origins = config.origins.clone();
        let on_443 = if config.listen_443 { bind_443() } else { None };
        if on_443.is_some() {
            info.listening_on_443 = true;
            extra_origins.extend(["https://127.0.0.1".to_string(), "https://localhost".to_string()]);
        }
        let origins = crate::origins::Origins::new(&url, local.port(), &extra_origins);
        let state = web::Data::new(AppState::new(
            origins,
            config.clock.clone(),
            store,
            keys,
            &spec,
            source,
            info,
            config.admin_key.clone(),
            config.rbac_mode,
            config.lro,
        )?);
        if let Some(who) = &config.auto_sign_in {
            let world = state.world();
            let user = crate::domain::ids::parse_guid(who)
                .ok()
                .and_then(|g| world.user(crate::domain::ObjectId(g)))
                .or_else(|| world.user_by_upn(who))
                .ok_or_else(|| StartError::UnknownUser(who.clone()))?;
            state.set_auto_sign_in(Some(user.object_id));
        }
        state.journal.set_enabled(config.journal);
        state.journal.set_capacity(config.journal_size);
        if let Some(ms) = config.region_latency_ms_per_1000km {
            let spec = crate::settings::SettingsSpec {
                region_latency_ms_per_1000km: Some(ms),
                ..Default::default()
            };
            state.settings.apply(&spec).map_err(StoreError::Corrupt)?;
        }
        let limits = Limits {
            workers: config.workers.max(1),
            request_timeout: config.request_timeout,
            cap: Cap::new(config.workers, config.max_connections),
        };
        let listeners = Listeners {
            https: std::iter::once(listener).chain(on_443).collect(),
            msi: msi_listener,
        };
        let (stop_tx, thread) = spawn_server(listeners, tls.server_config.clone(), state.clone(), limits)?;
        tracing::info!(%url, max_connections = limits.cap.total, "listening");
        Ok(Running {
            msi_url: state.info.msi_url.clone(),
            url,
            port: local.port(),
            state,
            stop_tx: Some(stop_tx),
            thread: Some(thread),
            fixtures_changed,
            _data_dir: data_dir,
            _temp: temp,
        })
    }
}

/// Clients reach the default listener as 127.0.0.1; a wildcard bind is still announced that way.
fn display_host(addr: SocketAddr) -> String {
    match addr.ip() {
        ip if ip.is_unspecified() => format!("127.0.0.1:{}", addr.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
    }
}

fn ready_info(
    spec: &WorldSpec,
    url: &str,
    port: u16,
    dir: &Path,
    in_memory: bool,
    tls: &tls::TlsMaterial,
) -> ReadyInfo {
    let tenant = &spec.tenants[0];
    let subscription_id = spec.subscriptions.first().map(|s| s.id.to_string()).unwrap_or_default();
    let sp = spec
        .default_service_principal()
        .map(|(app, secret)| ServicePrincipalInfo {
            client_id: app.client_id.to_string(),
            client_secret: secret.value.clone(),
            tenant_id: spec
                .tenant_ref(app.tenant.as_deref())
                .map(|t| t.to_string())
                .unwrap_or_else(|_| tenant.id.to_string()),
            subscription_id: subscription_id.clone(),
        });
    let tenant_id = tenant.id.to_string();
    ReadyInfo {
        env: env_map(url, &tls.ca_cert, &tls.ca_bundle, &tenant_id, sp.as_ref()),
        msi_url: String::new(),
        url: url.to_string(),
        port,
        pid: std::process::id(),
        data_dir: dir.to_path_buf(),
        in_memory,
        ca_cert: tls.ca_cert.clone(),
        ca_bundle: tls.ca_bundle.clone(),
        tenant_id,
        tenant_domain: tenant.domains.first().cloned().unwrap_or_default(),
        subscription_id,
        service_principal: sp,
        listening_on_443: false,
    }
}

type StopSender = tokio::sync::oneshot::Sender<()>;

/// The HTTPS listeners of every surface but one (the listening address, and 127.0.0.1:443 with
/// `--listen-443`), and the managed-identity endpoints' plain-HTTP one.
struct Listeners {
    https: Vec<TcpListener>,
    msi: TcpListener,
}

/// 127.0.0.1:443, when this process may bind it.
fn bind_443() -> Option<TcpListener> {
    match TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 443)) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(error = %e, "--listen-443: cannot listen on 127.0.0.1:443; msal ROPC will not find user-realm discovery");
            None
        }
    }
}

/// What bounds the server's use of time, descriptors and memory per client.
#[derive(Clone, Copy, Debug)]
struct Limits {
    workers: usize,
    request_timeout: Duration,
    cap: Cap,
}

fn spawn_server(
    listeners: Listeners,
    tls: Arc<rustls::ServerConfig>,
    state: web::Data<AppState>,
    limits: Limits,
) -> Result<(StopSender, JoinHandle<()>), StartError> {
    // One of each per emulator, shared by its workers.
    let budget = BodyBudget::default();
    let tracker = Tracker::new(limits.cap);
    let body_timeouts = BodyTimeouts::from_idle(limits.request_timeout);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let thread = std::thread::Builder::new()
        .name("azureml-emulator".into())
        .spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let msi_state = state.clone();
                let mut server = Ok(HttpServer::new(move || {
                    App::new()
                        .app_data(state.clone())
                        .app_data(budget.clone())
                        .app_data(body_timeouts)
                        // Inside the surface layer, which has resolved the surface a 408 is rendered for.
                        // Innermost: the fault table sees the surface and reads bodies under the timeouts.
                        .wrap(actix_web::middleware::from_fn(crate::faults::layer::layer))
                        .wrap(actix_web::middleware::from_fn(
                            crate::http::slow_clients::bound_body_time,
                        ))
                        .wrap(actix_web::middleware::from_fn(crate::http::surface::layer))
                        .configure(crate::http::configure)
                        .default_service(web::to(crate::http::fallback))
                })
                .workers(limits.workers)
                .max_connections(limits.cap.per_worker)
                .client_request_timeout(limits.request_timeout)
                .tls_handshake_timeout(limits.request_timeout)
                .keep_alive(KEEP_ALIVE)
                .client_disconnect_timeout(Duration::from_secs(1))
                .on_connect(move |_, ext| {
                    ext.insert(tracker.opened());
                })
                .disable_signals()
                .shutdown_timeout(2));
                for listener in listeners.https {
                    server = server.and_then(|s| s.listen_rustls_0_23(listener, (*tls).clone()));
                }
                // The second surface listener: same state, same surface middleware, its own routes.
                let msi = HttpServer::new(move || {
                    App::new()
                        .app_data(msi_state.clone())
                        .app_data(crate::http::surface::ListenerSurface(
                            crate::http::surface::Surface::ManagedIdentity,
                        ))
                        .wrap(actix_web::middleware::from_fn(crate::http::surface::layer))
                        .configure(crate::http::msi::routes)
                        .default_service(web::to(crate::http::msi::fallback))
                })
                .workers(1)
                .max_connections(MSI_MAX_CONNECTIONS)
                .client_request_timeout(limits.request_timeout)
                .keep_alive(KEEP_ALIVE)
                .disable_signals()
                .shutdown_timeout(2)
                .listen(listeners.msi);
                let (server, msi) = match (server, msi) {
                    (Ok(s), Ok(m)) => (s.run(), m.run()),
                    (Err(e), _) | (_, Err(e)) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let (handle, msi_handle) = (server.handle(), msi.handle());
                actix_web::rt::spawn(async move {
                    let _ = stop_rx.await;
                    tokio::join!(handle.stop(true), msi_handle.stop(true));
                });
                let _ = ready_tx.send(Ok(()));
                let (a, b) = tokio::join!(server, msi);
                if let Err(e) = a.and(b) {
                    tracing::error!(error = %e, "server stopped with an error");
                }
            });
        })
        .map_err(|e| StartError::Thread(e.to_string()))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok((stop_tx, thread)),
        Ok(Err(e)) => Err(StartError::Thread(e)),
        Err(_) => Err(StartError::Thread("server thread exited".into())),
    }
}

/// A running emulator. Dropping it stops the server.
pub struct Running {
    pub url: String,
    pub port: u16,
    /// The managed-identity endpoints' listener: `http://127.0.0.1:PORT`.
    pub msi_url: String,
    state: web::Data<AppState>,
    stop_tx: Option<StopSender>,
    thread: Option<JoinHandle<()>>,
    fixtures_changed: bool,
    /// Holds the data dir's lock until the server has stopped (fields drop after `Drop::drop`).
    _data_dir: Option<DataDir>,
    _temp: Option<tempfile::TempDir>,
}

impl Running {
    pub fn info(&self) -> &ReadyInfo {
        &self.state.info
    }

    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    pub fn rbac_mode(&self) -> RbacMode {
        self.state.rbac_mode
    }

    /// True when the data dir was seeded from other fixtures than the ones given at start (the
    /// stored world is in use; `POST /_emulator/reset` re-seeds from the current ones).
    pub fn fixtures_changed(&self) -> bool {
        self.fixtures_changed
    }

    /// Stops accepting, finishes in-flight requests (2 s at most) and joins the server thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}
