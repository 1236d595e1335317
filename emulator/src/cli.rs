//! The command line: `serve`, `env`, `clock`.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use crate::client::{read_ready, AdminClient, ClientError};
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
    /// Print the environment exports that point SDKs at a running emulator.
    Env(EnvArgs),
    /// Show or move the emulator's clock.
    Clock(ClockArgs),
    /// Service principals, as `az ad sp`.
    Sp(SpArgs),
    /// Role assignments, as `az role`.
    Role(RoleArgs),
    /// Azure ML helpers, as `az ml`.
    Ml(MlArgs),
    /// Web services and online endpoints: list, show, keys, regen-key, token.
    Service(ServiceArgs),
    /// Region availability (an outage stops token issuance; keys keep working).
    Region(RegionArgs),
}

#[derive(Args, Debug)]
struct ServiceArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    action: ServiceAction,
}

#[derive(Subcommand, Debug)]
enum ServiceAction {
    List,
    Show {
        name: String,
    },
    Keys {
        name: String,
    },
    /// Regenerate one key (or set it with --value).
    RegenKey {
        name: String,
        #[arg(long, value_parser = ["primary", "secondary"], default_value = "primary")]
        key: String,
        #[arg(long)]
        value: Option<String>,
    },
    /// An Azure ML token for a token-auth service or an AMLToken endpoint.
    Token {
        name: String,
    },
}

#[derive(Args, Debug)]
struct RegionArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    action: RegionAction,
}

#[derive(Subcommand, Debug)]
enum RegionAction {
    /// Mark a region's AzureML services down (--on) or back up (--off).
    Outage {
        #[arg(long)]
        region: String,
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        on: bool,
        #[arg(long)]
        off: bool,
    },
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
    /// `enforce` denies what RBAC forbids; `log-only` allows it and journals the would-be denial.
    #[arg(long, value_enum, default_value = "enforce")]
    rbac: RbacMode,
}

/// How CLI verbs find a running emulator (accepted before or after the verb's own arguments).
#[derive(Args, Debug)]
struct Target {
    /// The emulator's URL (default: AZUREML_EMULATOR_URL, else the ready file in --data-dir).
    #[arg(long, global = true)]
    url: Option<String>,
    #[arg(long, global = true, default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// CA certificate to trust (default: from the ready file, else SSL_CERT_FILE).
    #[arg(long, global = true)]
    ca_cert: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct EnvArgs {
    #[command(flatten)]
    target: Target,
    #[arg(long, value_enum, default_value = "sh")]
    format: EnvFormat,
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

#[derive(Args, Debug)]
struct SpArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    action: SpAction,
}

#[derive(Subcommand, Debug)]
enum SpAction {
    /// Create a service principal with a new secret, optionally with a role at some scopes.
    CreateForRbac {
        #[arg(long)]
        name: String,
        #[arg(long, requires = "scopes")]
        role: Option<String>,
        #[arg(long, num_args = 1..)]
        scopes: Vec<String>,
        /// Print the JSON of `az ad sp create-for-rbac --sdk-auth` (for ServicePrincipalAuthentication, azure/login…).
        #[arg(long)]
        sdk_auth: bool,
    },
    /// Show a service principal by client id or object id.
    Show {
        #[arg(long)]
        id: String,
    },
}

#[derive(Args, Debug)]
struct RoleArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    what: RoleWhat,
}

#[derive(Subcommand, Debug)]
enum RoleWhat {
    /// Role assignments.
    Assignment {
        #[command(subcommand)]
        action: AssignmentAction,
    },
}

#[derive(Subcommand, Debug)]
enum AssignmentAction {
    Create {
        /// A user's UPN, a service principal's name or client id, or an object id.
        #[arg(long)]
        assignee: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        scope: String,
    },
    List(AssignmentFilter),
    Delete(AssignmentFilter),
}

/// Which assignments `list` and `delete` act on: all that match every given field.
#[derive(Args, Debug)]
struct AssignmentFilter {
    #[arg(long)]
    assignee: Option<String>,
    #[arg(long)]
    role: Option<String>,
    #[arg(long)]
    scope: Option<String>,
}

impl AssignmentFilter {
    fn is_empty(&self) -> bool {
        self.assignee.is_none() && self.role.is_none() && self.scope.is_none()
    }

    fn query(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("assignee", &self.assignee),
            ("role", &self.role),
            ("scope", &self.scope),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect();
        serde_urlencoded::to_string(pairs).expect("strings encode")
    }
}

#[derive(Args, Debug)]
struct MlArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    what: MlWhat,
}

#[derive(Subcommand, Debug)]
enum MlWhat {
    Workspace {
        #[command(subcommand)]
        action: WorkspaceAction,
    },
}

#[derive(Subcommand, Debug)]
enum WorkspaceAction {
    /// Give a user or service principal a role on a workspace.
    Share {
        #[arg(short = 'w', long = "workspace-name")]
        workspace: String,
        #[arg(short = 'g', long = "resource-group")]
        resource_group: String,
        /// Default: the emulator's (first) subscription.
        #[arg(long)]
        subscription: Option<String>,
        /// Object id (or UPN / service principal name) of the principal.
        #[arg(long)]
        user: String,
        #[arg(long, value_parser = ["owner", "contributor", "reader"])]
        role: String,
    },
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
    init_tracing();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Env(args) => env(args),
        Command::Clock(args) => clock(args),
        Command::Sp(args) => sp(args),
        Command::Role(args) => role(args),
        Command::Ml(args) => ml(args),
        Command::Service(args) => service(args),
        Command::Region(args) => region(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("azureml-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,azureml_emulator=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
        ..Config::default()
    };
    if let Some(w) = args.workers {
        config.workers = w;
    }
    config.rbac_mode = args.rbac;
    let running = Emulator::start(config)?;
    let info = running.info().clone();
    print_banner(&info, args.in_memory, args.rbac)?;
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

fn print_banner(info: &ReadyInfo, in_memory: bool, rbac: RbacMode) -> std::io::Result<()> {
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
    let mode = match rbac {
        RbacMode::Enforce => "enforced",
        RbacMode::LogOnly => "log-only (denials are allowed and journaled at /_emulator/journal)",
    };
    writeln!(out, "  RBAC:              {mode}")?;
    let target = if in_memory {
        format!("--url {} --ca-cert {}", info.url, info.ca_cert.display())
    } else {
        format!("--data-dir {}", info.data_dir.display())
    };
    writeln!(out, "  point SDKs at it:  eval \"$(azureml-emulator env {target})\"")?;
    out.flush()
}

/// Writes atomically: harnesses poll for the file and must never read half of it.
fn write_ready(path: &Path, info: &ReadyInfo) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(info).expect("ready info serialises"))?;
    std::fs::rename(tmp, path)
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

fn env(args: EnvArgs) -> Result<(), CliError> {
    let t = &args.target;
    let from_file = t.url.is_none() && std::env::var("AZUREML_EMULATOR_URL").map_or(true, |u| u.is_empty());
    let info: ReadyInfo = if from_file {
        read_ready(&t.data_dir.join("ready.json"))
            .map_err(|_| ClientError::NotFound(t.data_dir.display().to_string()))?
    } else {
        AdminClient::locate(t.url.clone(), &t.data_dir, t.ca_cert.clone())?.get("/_emulator/info")?
    };
    print!("{}", render_env(&info.env, args.format));
    Ok(())
}

fn clock(args: ClockArgs) -> Result<(), CliError> {
    let t = &args.target;
    let client = AdminClient::locate(t.url.clone(), &t.data_dir, t.ca_cert.clone())?;
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

fn client(t: &Target) -> Result<AdminClient, CliError> {
    Ok(AdminClient::locate(t.url.clone(), &t.data_dir, t.ca_cert.clone())?)
}

fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).expect("json serialises"));
}

fn sp(args: SpArgs) -> Result<(), CliError> {
    let client = client(&args.target)?;
    match args.action {
        SpAction::CreateForRbac {
            name,
            role,
            scopes,
            sdk_auth,
        } => {
            let created: Value = client.post(
                "/_emulator/service-principals",
                &json!({"displayName": name, "role": role, "scopes": scopes}),
            )?;
            let info: ReadyInfo = client.get("/_emulator/info")?;
            print_json(&if sdk_auth {
                sdk_auth_json(&created, &info)
            } else {
                az_json(&created)
            });
        }
        SpAction::Show { id } => print_json(&client.get::<Value>(&format!("/_emulator/service-principals/{id}"))?),
    }
    Ok(())
}

/// `az ad sp create-for-rbac` output.
fn az_json(created: &Value) -> Value {
    json!({
        "appId": created["appId"],
        "displayName": created["displayName"],
        "password": created["password"],
        "tenant": created["tenant"],
    })
}

/// `az ad sp create-for-rbac --sdk-auth` output, with this emulator's endpoints.
fn sdk_auth_json(created: &Value, info: &ReadyInfo) -> Value {
    json!({
        "clientId": created["appId"],
        "clientSecret": created["password"],
        "subscriptionId": info.subscription_id,
        "tenantId": created["tenant"],
        "activeDirectoryEndpointUrl": format!("{}/adfs", info.url),
        "resourceManagerEndpointUrl": format!("{}/", info.url),
        "activeDirectoryGraphResourceId": "https://graph.windows.net/",
        "sqlManagementEndpointUrl": "https://management.core.windows.net:8443/",
        "galleryEndpointUrl": "https://gallery.azure.com/",
        "managementEndpointUrl": "https://management.core.windows.net/",
    })
}

fn role(args: RoleArgs) -> Result<(), CliError> {
    let client = client(&args.target)?;
    let RoleWhat::Assignment { action } = args.what;
    let value: Value = match action {
        AssignmentAction::Create { assignee, role, scope } => client.post(
            "/_emulator/role-assignments",
            &json!({"assignee": assignee, "role": role, "scope": scope}),
        )?,
        AssignmentAction::List(filter) => {
            client.get::<Value>(&format!("/_emulator/role-assignments?{}", filter.query()))?["value"].take()
        }
        AssignmentAction::Delete(filter) => {
            if filter.is_empty() {
                return Err(CliError::Usage(
                    "name at least one of --assignee, --role, --scope".into(),
                ));
            }
            client.delete::<Value>(&format!("/_emulator/role-assignments?{}", filter.query()))?["value"].take()
        }
    };
    print_json(&value);
    Ok(())
}

fn ml(args: MlArgs) -> Result<(), CliError> {
    let client = client(&args.target)?;
    let MlWhat::Workspace {
        action:
            WorkspaceAction::Share {
                workspace,
                resource_group,
                subscription,
                user,
                role,
            },
    } = args.what;
    let subscription = match subscription {
        Some(s) => s,
        None => client.get::<ReadyInfo>("/_emulator/info")?.subscription_id,
    };
    let scope = format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
    );
    let value: Value = client.post(
        "/_emulator/role-assignments",
        &json!({"assignee": user, "role": role, "scope": scope}),
    )?;
    print_json(&value);
    Ok(())
}

fn service(args: ServiceArgs) -> Result<(), CliError> {
    let client = client(&args.target)?;
    let enc = |n: &str| percent_encoding::utf8_percent_encode(n, percent_encoding::NON_ALPHANUMERIC).to_string();
    let value: Value = match args.action {
        ServiceAction::List => client.get::<Value>("/_emulator/services")?["value"].take(),
        ServiceAction::Show { name } => client.get(&format!("/_emulator/services/{}", enc(&name)))?,
        ServiceAction::Keys { name } => client.get(&format!("/_emulator/services/{}/keys", enc(&name)))?,
        ServiceAction::RegenKey { name, key, value } => client.post(
            &format!("/_emulator/services/{}/regenerate-key", enc(&name)),
            &json!({"keyType": key, "keyValue": value}),
        )?,
        ServiceAction::Token { name } => {
            client.post(&format!("/_emulator/services/{}/token", enc(&name)), &json!({}))?
        }
    };
    print_json(&value);
    Ok(())
}

fn region(args: RegionArgs) -> Result<(), CliError> {
    let client = client(&args.target)?;
    let RegionAction::Outage { region, on, off: _ } = args.action;
    let enc = percent_encoding::utf8_percent_encode(&region, percent_encoding::NON_ALPHANUMERIC).to_string();
    let value: Value = client.post(&format!("/_emulator/regions/{enc}/outage"), &json!({"on": on}))?;
    print_json(&value);
    Ok(())
}
