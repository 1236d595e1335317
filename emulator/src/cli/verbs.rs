//! CLI verbs that act on a running emulator through its control API, mirroring `az`:
//! `sp`, `role assignment`, `ml workspace share`, `service`, `region outage`.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{CliError, Target};
use crate::client::AdminClient;
use crate::info::ReadyInfo;

#[derive(Args, Debug)]
pub struct ServiceArgs {
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
    /// Its Azure ML token lifetime: 90, 90s, 15m, 1h ("default" for an hour).
    Lifetime {
        name: String,
        lifetime: String,
    },
}

#[derive(Args, Debug)]
pub struct RegionArgs {
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
pub struct SpArgs {
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
        #[arg(long, conflicts_with = "create_cert")]
        sdk_auth: bool,
        /// A self-signed certificate instead of a secret, written with its private key to a PEM
        /// file whose path is printed as `fileWithCertAndPrivateKey`.
        #[arg(long)]
        create_cert: bool,
    },
    /// Show a service principal by client id or object id.
    Show {
        #[arg(long)]
        id: String,
    },
    /// Client secrets: add (two valid at once during a rotation), expire now, delete.
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
    /// Disable a service principal or user (AADSTS7000112 / AADSTS50057 from then on).
    Disable {
        #[arg(long)]
        id: String,
    },
    /// Enable it again.
    Enable {
        #[arg(long)]
        id: String,
    },
    /// Its access-token lifetime: 90, 90s, 15m, 1h ("default" for the tenant's).
    Lifetime {
        #[arg(long)]
        id: String,
        lifetime: String,
    },
}

#[derive(Subcommand, Debug)]
enum SecretAction {
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        value: Option<String>,
        /// Expires this long from now on the emulator clock (90, 90s, 15m, 1h, 2d).
        #[arg(long)]
        expires_in: Option<String>,
        #[arg(long, default_value = "")]
        display_name: String,
    },
    Expire {
        #[arg(long)]
        id: String,
        #[arg(long)]
        key_id: String,
    },
    Delete {
        #[arg(long)]
        id: String,
        #[arg(long)]
        key_id: String,
    },
}

#[derive(Args, Debug)]
pub struct RoleArgs {
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
    /// What-if: would RBAC allow the action at the scope, and which assignment decides it.
    Explain {
        /// A user's UPN, a service principal's name or client id, or an object id.
        #[arg(long)]
        assignee: String,
        #[arg(long)]
        action: String,
        #[arg(long)]
        scope: String,
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
pub struct MlArgs {
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

pub(super) fn client(t: &Target) -> Result<AdminClient, CliError> {
    Ok(t.client()?)
}

pub(super) fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).expect("json serialises"));
}

pub fn sp(args: SpArgs) -> Result<(), CliError> {
    let client = client(&args.target)?;
    match args.action {
        SpAction::CreateForRbac {
            name,
            role,
            scopes,
            sdk_auth,
            create_cert,
        } => {
            if create_cert {
                let (cert, path) = super::credentials::new_certificate(&name, 1)?;
                let created: Value = client.post(
                    "/_emulator/service-principals",
                    &json!({"displayName": name, "role": role, "scopes": scopes, "certificate": cert}),
                )?;
                print_json(
                    &json!({"appId": created["appId"], "displayName": created["displayName"],
                    "fileWithCertAndPrivateKey": path, "password": null, "tenant": created["tenant"]}),
                );
                return Ok(());
            }
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
        SpAction::Secret { action } => print_json(&secret(&client, action)?),
        SpAction::Disable { id } => {
            print_json(&client.post(&format!("/_emulator/principals/{}/disable", enc(&id)), &json!({}))?)
        }
        SpAction::Enable { id } => {
            print_json(&client.post(&format!("/_emulator/principals/{}/enable", enc(&id)), &json!({}))?)
        }
        SpAction::Lifetime { id, lifetime } => print_json(&client.post(
            &format!("/_emulator/service-principals/{}/token-lifetime", enc(&id)),
            &lifetime_body(&lifetime),
        )?),
    }
    Ok(())
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `{"lifetime": "5s"}`, or `{"seconds": null}` for "default".
fn lifetime_body(lifetime: &str) -> Value {
    if lifetime.eq_ignore_ascii_case("default") {
        json!({"seconds": null})
    } else {
        json!({"lifetime": lifetime})
    }
}

fn secret(client: &AdminClient, action: SecretAction) -> Result<Value, CliError> {
    Ok(match action {
        SecretAction::Add {
            id,
            value,
            expires_in,
            display_name,
        } => {
            let expires = match expires_in {
                Some(d) => Some(
                    crate::clock::parse_duration(&d)
                        .ok_or_else(|| {
                            CliError::Usage(format!("cannot read duration '{d}': use 90, 90s, 15m, 1h or 2d"))
                        })?
                        .whole_seconds(),
                ),
                None => None,
            };
            client.post(
                &format!("/_emulator/service-principals/{}/secrets", enc(&id)),
                &json!({"value": value, "expires_in_seconds": expires, "displayName": display_name}),
            )?
        }
        SecretAction::Expire { id, key_id } => client.post(
            &format!(
                "/_emulator/service-principals/{}/secrets/{}/expire",
                enc(&id),
                enc(&key_id)
            ),
            &json!({}),
        )?,
        SecretAction::Delete { id, key_id } => client.delete(&format!(
            "/_emulator/service-principals/{}/secrets/{}",
            enc(&id),
            enc(&key_id)
        ))?,
    })
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

pub fn role(args: RoleArgs) -> Result<(), CliError> {
    let client = client(&args.target)?;
    let action = match args.what {
        RoleWhat::Assignment { action } => action,
        RoleWhat::Explain {
            assignee,
            action,
            scope,
        } => {
            let v: Value = client.post(
                "/_emulator/explain",
                &json!({"principal": assignee, "action": action, "scope": scope}),
            )?;
            print_json(&v);
            return Ok(());
        }
    };
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

pub fn ml(args: MlArgs) -> Result<(), CliError> {
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

pub fn service(args: ServiceArgs) -> Result<(), CliError> {
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
        ServiceAction::Lifetime { name, lifetime } => client.post(
            &format!("/_emulator/services/{}/token-lifetime", enc(&name)),
            &lifetime_body(&lifetime),
        )?,
    };
    print_json(&value);
    Ok(())
}

pub fn region(args: RegionArgs) -> Result<(), CliError> {
    let client = client(&args.target)?;
    let RegionAction::Outage { region, on, off: _ } = args.action;
    let enc = percent_encoding::utf8_percent_encode(&region, percent_encoding::NON_ALPHANUMERIC).to_string();
    let value: Value = client.post(&format!("/_emulator/regions/{enc}/outage"), &json!({"on": on}))?;
    print_json(&value);
    Ok(())
}
