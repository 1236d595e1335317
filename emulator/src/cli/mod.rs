//! The command line: `serve`, `env`, `clock`.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

mod credentials;
mod demo;
mod directory_verbs;
mod logging;
mod seed;
mod toolkit;
mod verbs;

use crate::client::{AdminClient, ClientError};
use crate::clock::{parse_duration, ClockState};
use crate::info::{render_env, EnvFormat, ReadyInfo};
use crate::server::{Config, Emulator, Running, Storage};
use crate::state::RbacMode;

/// The data dir used when none is given.
pub const DEFAULT_DATA_DIR: &str = ".azureml-emulator";
/// The port `serve` listens on when none is given.
pub const DEFAULT_PORT: u16 = 10443;

#[derive(Parser, Debug)]
#[command(
    name = "azureml-emulator",
    version,
    about = "Offline emulator of Azure ML's control-plane authentication"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the emulator (HTTPS) with a world loaded from fixtures.
    Serve(ServeArgs),
    /// Write a new data dir from fixtures (world, signing key, TLS certificate) and exit; `serve`
    /// on it then starts as a restart.
    Seed(seed::SeedArgs),
    /// Print the environment exports that point SDKs at a running emulator.
    Env(EnvArgs),
    /// Show or move the emulator's clock.
    Clock(ClockArgs),
    /// Service principals, as `az ad sp`.
    Sp(verbs::SpArgs),
    /// Role assignments, as `az role`.
    Role(verbs::RoleArgs),
    /// Azure ML helpers, as `az ml`.
    Ml(verbs::MlArgs),
    /// Web services and online endpoints: list, show, keys, regen-key, token.
    Service(verbs::ServiceArgs),
    /// Region availability (an outage stops token issuance; keys keep working).
    Region(verbs::RegionArgs),
    /// The directory, as `az ad`: users, groups (`az ad user` / `az ad group`), application
    /// credentials (`az ad app credential`, `az ad app federated-credential`); `sp` stays its own verb.
    Ad(directory_verbs::AdArgs),
    /// Interactive sign-in for CI: `sign-in auto --user UPN | --off`.
    SignIn(directory_verbs::SignInArgs),
    /// Subject tokens of the emulator's test OIDC issuers (workload identity federation).
    Federation(credentials::FederationArgs),
    /// Fault rules: make any surface throttle, fail, slow down or refuse, in Azure's shape.
    Fault(toolkit::FaultArgs),
    /// The decision journal: every token issued or refused, every decision and fault, with why.
    Journal(toolkit::JournalArgs),
    /// Signing keys: list, rotate (with overlap), retire.
    Keys(toolkit::KeysArgs),
    /// Propagation delay, token-lifetime jitter, region latency.
    Settings(toolkit::SettingsArgs),
    /// Short scenarios that drive an emulator and say what happened and why.
    Demo(demo::DemoArgs),
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// 0 picks a free port.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// SQLite database, signing keys and certificates live here.
    #[arg(long, default_value = DEFAULT_DATA_DIR, conflicts_with = "in_memory")]
    data_dir: PathBuf,
    /// Keep the database in memory (TLS files go to a temporary dir removed at exit).
    #[arg(long)]
    in_memory: bool,
    /// World file (TOML). Default: the built-in copy of fixtures/default.toml.
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Write a JSON file here once listening (url, port, CA paths, credentials, env).
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Serve this certificate chain (PEM) instead of the generated one.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Private key (PEM) for --cert.
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// Let non-loopback clients use /_emulator when they send this in `x-emulator-admin-key`.
    #[arg(long, env = "AZUREML_EMULATOR_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// HTTP worker threads (default: number of CPUs, at most 4).
    #[arg(long)]
    workers: Option<usize>,
    /// Seconds a client may take to send its request head, or stall while sending its body
    /// (408 and the connection closed after that; the whole body gets twelve times as long).
    #[arg(long, default_value_t = crate::server::DEFAULT_REQUEST_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout: u64,
    /// `enforce` denies what RBAC forbids; `log-only` allows it and journals the would-be denial.
    #[arg(long, value_enum, default_value = "enforce")]
    rbac: RbacMode,
    /// Another origin clients reach this emulator by (`https://host[:port]`, repeatable), e.g. the
    /// machine's name with `--host 0.0.0.0`: URLs are minted for it and it is accepted as a token
    /// audience. Requests naming any other Host are answered with the listening URL.
    #[arg(long = "origin")]
    origins: Vec<String>,
    /// Port of the managed-identity endpoints (plain HTTP, always on 127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    msi_port: u16,
    /// Also serve on 127.0.0.1:443 when allowed (root): msal's ROPC asks user-realm discovery
    /// on port 443 of the authority host.
    #[arg(long = "listen-443")]
    listen_443: bool,
    /// Complete interactive sign-ins at once as this user (UPN or object id): `/authorize`
    /// answers without the page and device codes are approved on their first poll.
    #[arg(long)]
    auto_sign_in: Option<String>,
    /// `on` records every token, decision and fault in the journal (GET /_emulator/journal);
    /// `off` records nothing (for benchmarks).
    #[arg(long, value_parser = ["on", "off"], default_value = "on")]
    journal: String,
    /// Entries the journal shows; the oldest go first (memory holds up to 4 × this).
    #[arg(long, default_value_t = crate::decision::journal::DEFAULT_CAPACITY as u64,
          value_parser = clap::value_parser!(u64).range(1..=crate::decision::journal::MAX_CAPACITY as u64))]
    journal_size: u64,
    /// Milliseconds the Azure ML token call takes per 1000 km between a workspace's region and
    /// its service's cluster region (default 0, or the fixtures' setting).
    #[arg(long, value_name = "MS_PER_1000KM")]
    region_latency: Option<f64>,
    /// How long ARM's long-running operations (resource group and workspace deletion, workspace
    /// and online endpoint writes, key regeneration) take on the emulator clock, in seconds. Their
    /// 201/202 and polling follow Azure's; a short default keeps tests fast.
    #[arg(long, default_value_t = DEFAULT_LRO_SECONDS, value_parser = lro_seconds)]
    lro_seconds: f64,
}

/// The default of `serve --lro-seconds`.
const DEFAULT_LRO_SECONDS: f64 = 1.0;

fn lro_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err("a number of seconds from 0 to 86400".into()),
    }
}

/// How CLI verbs find a running emulator (accepted before or after the verb's own arguments).
/// A flag always wins over the environment.
#[derive(Args, Debug)]
struct Target {
    /// The emulator's URL (default: the ready file of --data-dir when given, else
    /// AZUREML_EMULATOR_URL, else the ready file in .azureml-emulator).
    #[arg(long, global = true)]
    url: Option<String>,
    /// The data dir of the emulator to use [default: .azureml-emulator].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// CA certificate to trust (default: from the ready file, else SSL_CERT_FILE).
    #[arg(long, global = true)]
    ca_cert: Option<PathBuf>,
}

impl Target {
    fn client(&self) -> Result<AdminClient, ClientError> {
        AdminClient::locate(self.url.clone(), self.data_dir.as_deref(), self.ca_cert.clone())
    }
}

#[derive(Args, Debug)]
struct EnvArgs {
    #[command(flatten)]
    target: Target,
    #[arg(long, value_enum, default_value = "sh")]
    format: EnvFormat,
    /// Variables for WorkloadIdentityCredential: a subject token of the application's federated
    /// credential written to a file (AZURE_FEDERATED_TOKEN_FILE), its client id, no secret.
    #[arg(long, value_name = "APP", conflicts_with = "managed_identity")]
    workload_identity: Option<String>,
    /// Where --workload-identity writes the token (default: in the data dir).
    #[arg(long, requires = "workload_identity")]
    token_file: Option<PathBuf>,
    /// The token's lifetime in seconds (--workload-identity).
    #[arg(long, default_value_t = 3600, requires = "workload_identity")]
    token_lifetime: i64,
    /// Variables for ManagedIdentityCredential running on HOST (a compute, web app or online
    /// endpoint): its token endpoint and secret, no client secret.
    #[arg(long, value_name = "HOST")]
    managed_identity: Option<String>,
    /// Which endpoint (default: the host's own: azure-ml for computes, app-service for web apps,
    /// imds for online endpoints).
    #[arg(long, value_enum, requires = "managed_identity")]
    endpoint: Option<credentials::MsiEndpoint>,
    /// A user-assigned identity of the host (name or client id): exported as AZURE_CLIENT_ID.
    #[arg(long, requires = "managed_identity")]
    user_assigned: Option<String>,
}

#[derive(Args, Debug)]
struct ClockArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    action: ClockAction,
}

#[derive(Subcommand, Debug)]
enum ClockAction {
    /// Print the clock's state.
    Show,
    /// Stop the clock.
    Freeze,
    /// Back to system time (no offset, not frozen).
    Resume,
    /// Move the clock forward: 90, 90s, 15m, 1h, 2d (negative moves back).
    #[command(allow_negative_numbers = true)]
    Advance {
        #[arg(allow_hyphen_values = true)]
        by: String,
    },
    /// Set the clock to an RFC 3339 time.
    Set { at: String },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Start(#[from] crate::StartError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Seed(args) => seed::seed(args),
        Command::Env(args) => env(args),
        Command::Clock(args) => clock(args),
        Command::Sp(args) => verbs::sp(args),
        Command::Role(args) => verbs::role(args),
        Command::Ml(args) => verbs::ml(args),
        Command::Service(args) => verbs::service(args),
        Command::Region(args) => verbs::region(args),
        Command::Ad(args) => directory_verbs::ad(args),
        Command::SignIn(args) => directory_verbs::sign_in(args),
        Command::Federation(args) => credentials::federation(args),
        Command::Fault(args) => toolkit::fault(args),
        Command::Journal(args) => toolkit::journal(args),
        Command::Keys(args) => toolkit::keys(args),
        Command::Settings(args) => toolkit::settings(args),
        Command::Demo(args) => demo::demo(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("azureml-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), CliError> {
    let storage = if args.in_memory {
        Storage::InMemory
    } else {
        Storage::Dir(args.data_dir.clone())
    };
    let mut config = Config {
        host: args.host,
        port: args.port,
        storage,
        fixtures: args.fixtures,
        tls: args.cert.zip(args.key),
        admin_key: args.admin_key,
        request_timeout: std::time::Duration::from_secs(args.request_timeout),
        origins: args.origins,
        msi_port: args.msi_port,
        listen_443: args.listen_443,
        auto_sign_in: args.auto_sign_in,
        journal: args.journal == "on",
        journal_size: usize::try_from(args.journal_size).unwrap_or(usize::MAX),
        region_latency_ms_per_1000km: args.region_latency,
        ..Config::default()
    };
    if let Some(w) = args.workers {
        config.workers = w;
    }
    config.rbac_mode = args.rbac;
    config.lro = time::Duration::seconds_f64(args.lro_seconds);
    seed::seed_apart_if_big(&config);
    let running = Emulator::start(config)?;
    let info = running.info().clone();
    print_banner(&info, args.in_memory, args.rbac, running.fixtures_changed())?;
    let own_ready = info.data_dir.join("ready.json");
    write_ready(&own_ready, &info)?;
    if let Some(path) = &args.ready_file {
        write_ready(path, &info)?;
    }
    wait_for_signal();
    let _ = std::fs::remove_file(&own_ready);
    if let Some(path) = &args.ready_file {
        let _ = std::fs::remove_file(path);
    }
    stop(running);
    Ok(())
}

fn stop(running: Running) {
    tracing::info!("shutting down");
    running.stop();
}

fn print_banner(info: &ReadyInfo, in_memory: bool, rbac: RbacMode, fixtures_changed: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "azureml-emulator listening on {}", info.url)?;
    writeln!(out, "  tenant:            {} ({})", info.tenant_id, info.tenant_domain)?;
    writeln!(out, "  subscription:      {}", info.subscription_id)?;
    if let Some(sp) = &info.service_principal {
        writeln!(
            out,
            "  service principal: clientId {}  clientSecret {}",
            sp.client_id, sp.client_secret
        )?;
    }
    writeln!(out, "  CA bundle:         {}", info.ca_bundle.display())?;
    writeln!(
        out,
        "  managed identity:  {} (env --managed-identity HOST)",
        info.msi_url
    )?;
    let mode = match rbac {
        RbacMode::Enforce => "enforced",
        RbacMode::LogOnly => "log-only (denials are allowed and journaled at /_emulator/journal)",
    };
    writeln!(out, "  RBAC:              {mode}")?;
    if info.listening_on_443 {
        writeln!(
            out,
            "  also on:           https://127.0.0.1:443 (msal user-realm discovery)"
        )?;
    }
    if fixtures_changed {
        writeln!(
            out,
            "  fixtures:          CHANGED since this data dir was seeded; the stored world is in use. Re-seed with POST /_emulator/reset, or delete {}",
            info.data_dir.display()
        )?;
    }
    let target = if in_memory {
        format!("--url {} --ca-cert {}", info.url, sh_word(&info.ca_cert))
    } else {
        format!("--data-dir {}", sh_word(&info.data_dir))
    };
    writeln!(out, "  point SDKs at it:  eval \"$({} env {target})\"", own_command())?;
    out.flush()
}

/// How to run this binary from a shell: its name when PATH finds this very binary, else its
/// absolute path, so the banner's hint works as printed (also after `cargo run`).
fn own_command() -> String {
    let Ok(exe) = std::env::current_exe().and_then(std::fs::canonicalize) else {
        return "azureml-emulator".into();
    };
    let name = exe.file_name().unwrap_or_default();
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| std::fs::canonicalize(dir.join(name)).is_ok_and(|p| p == exe))
    });
    if on_path {
        name.to_string_lossy().into_owned()
    } else {
        sh_word(&exe)
    }
}

/// A path as one shell word: as is when that is safe, else single-quoted.
fn sh_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,".contains(c));
    if plain && !text.is_empty() {
        text
    } else {
        crate::info::sh_quote(&text)
    }
}

/// Writes atomically: harnesses poll for the file and must never read half of it.
fn write_ready(path: &Path, info: &ReadyInfo) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    // Owner-only: it carries the default service principal's secret.
    crate::datadir::write_private(path, &serde_json::to_vec_pretty(info).expect("ready info serialises"))
}

/// Blocks until SIGINT or SIGTERM.
fn wait_for_signal() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
    rt.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    });
}

/// Prints the exports of the running emulator, asked live (so a dead one is noticed). On failure it
/// prints a statement that makes `eval "$(azureml-emulator env)"` fail too, as ssh-agent-style
/// tools do, and the reason goes to stderr.
fn env(args: EnvArgs) -> Result<(), CliError> {
    let client = || args.target.client().map_err(CliError::from);
    let exported = match (&args.workload_identity, &args.managed_identity) {
        (Some(app), _) => client()
            .and_then(|c| credentials::workload_identity_env(&c, app, args.token_file.clone(), args.token_lifetime)),
        (None, Some(host)) => client()
            .and_then(|c| credentials::managed_identity_env(&c, host, args.endpoint, args.user_assigned.as_deref())),
        (None, None) => client().and_then(|c| Ok(c.get::<ReadyInfo>("/_emulator/info")?.env)),
    };
    match exported {
        Ok(env) => {
            print!("{}", render_env(&env, args.format));
            Ok(())
        }
        Err(e) => {
            print!("{}", eval_failure(args.format));
            Err(e)
        }
    }
}

/// What a failed `env` prints on stdout, per format: something that fails when evaluated.
fn eval_failure(format: EnvFormat) -> &'static str {
    match format {
        EnvFormat::Sh => "# azureml-emulator env failed (the reason is on stderr)\nfalse\n",
        EnvFormat::Powershell => "throw 'azureml-emulator env failed (the reason is on stderr)'\n",
        EnvFormat::Dotenv | EnvFormat::Json => "",
    }
}

fn clock(args: ClockArgs) -> Result<(), CliError> {
    let client = args.target.client()?;
    let body: Option<Value> = match &args.action {
        ClockAction::Show => None,
        ClockAction::Freeze => Some(json!({"freeze": true})),
        ClockAction::Resume => Some(json!({"resume": true})),
        ClockAction::Advance { by } => {
            let d = parse_duration(by)
                .ok_or_else(|| CliError::Usage(format!("cannot read duration '{by}': use 90, 90s, 15m, 1h or 2d")))?;
            Some(json!({"advance_seconds": d.whole_seconds()}))
        }
        ClockAction::Set { at } => Some(json!({"set": at})),
    };
    let state: Value = match body {
        None => client.get("/_emulator/clock")?,
        Some(b) => client.post("/_emulator/clock", &b)?,
    };
    // Round-trip through the typed state so the output shape is the API's.
    let _: ClockState = serde_json::from_value(state.clone()).map_err(|e| CliError::Usage(e.to_string()))?;
    println!("{}", serde_json::to_string_pretty(&state).expect("json serialises"));
    Ok(())
}
