//! `ad user …`, `ad group …` (with az's own flags and Graph-shaped JSON, as az prints it) and
//! `sign-in auto`: verbs acting on a running emulator through its control API.

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use super::{CliError, Target};
use crate::client::AdminClient;

#[derive(Args, Debug)]
pub struct AdArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    what: AdWhat,
}

#[derive(Subcommand, Debug)]
enum AdWhat {
    /// Users: create, show, list, update, delete, revoke-sign-in-sessions.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Security groups and their members.
    Group {
        #[command(subcommand)]
        action: GroupAction,
    },
    /// Application registrations: certificates and federated credentials.
    App {
        #[command(subcommand)]
        what: super::credentials::AppWhat,
    },
}

#[derive(Subcommand, Debug)]
enum UserAction {
    Create {
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        user_principal_name: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        force_change_password_next_sign_in: bool,
    },
    /// By object id or UPN.
    Show {
        #[arg(long)]
        id: String,
    },
    List,
    Update {
        #[arg(long)]
        id: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        password: Option<String>,
        #[arg(long, action = clap::ArgAction::Set)]
        account_enabled: Option<bool>,
        #[arg(long, action = clap::ArgAction::Set)]
        force_change_password_next_sign_in: Option<bool>,
        /// Emulator only: lock the account out (AADSTS50053).
        #[arg(long, action = clap::ArgAction::Set)]
        locked: Option<bool>,
        /// Emulator only: require multi-factor authentication (AADSTS50076 for ROPC).
        #[arg(long, action = clap::ArgAction::Set)]
        mfa_required: Option<bool>,
    },
    Delete {
        #[arg(long)]
        id: String,
    },
    /// Revoke every refresh token and sign-in session of the user (AADSTS50173 on next use).
    RevokeSignInSessions {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand, Debug)]
enum GroupAction {
    Create {
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        mail_nickname: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// By object id or display name.
    Show {
        #[arg(long)]
        group: String,
    },
    List,
    Delete {
        #[arg(long)]
        group: String,
    },
    /// Direct members: add, remove, list.
    Member {
        #[command(subcommand)]
        action: MemberAction,
    },
}

#[derive(Subcommand, Debug)]
enum MemberAction {
    Add {
        #[arg(long)]
        group: String,
        /// Object id of a user, service principal or group (a UPN or name works too).
        #[arg(long)]
        member_id: String,
    },
    Remove {
        #[arg(long)]
        group: String,
        #[arg(long)]
        member_id: String,
    },
    List {
        #[arg(long)]
        group: String,
    },
}

#[derive(Args, Debug)]
pub struct SignInArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    action: SignInAction,
}

#[derive(Subcommand, Debug)]
enum SignInAction {
    /// Complete interactive sign-ins at once as --user, or stop (--off).
    Auto {
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        user: Option<String>,
        #[arg(long)]
        off: bool,
    },
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn print(value: &Value) {
    if !value.is_null() {
        println!("{}", serde_json::to_string_pretty(value).expect("json serialises"));
    }
}

/// Drops the emulator-only keys and nulls-as-absent that az does not print for a user list.
fn fields(pairs: &[(&str, Option<Value>)]) -> Value {
    let map: Map<String, Value> = pairs
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
        .collect();
    Value::Object(map)
}

pub fn ad(args: AdArgs) -> Result<(), CliError> {
    let client = args.target.client()?;
    let value = match args.what {
        AdWhat::User { action } => user(&client, action)?,
        AdWhat::Group { action } => group(&client, action)?,
        AdWhat::App { what } => super::credentials::app(&client, what)?,
    };
    print(&value);
    Ok(())
}

fn user(client: &AdminClient, action: UserAction) -> Result<Value, CliError> {
    Ok(match action {
        UserAction::Create {
            display_name,
            user_principal_name,
            password,
            force_change_password_next_sign_in,
        } => client.post(
            "/_emulator/users",
            &json!({"displayName": display_name, "userPrincipalName": user_principal_name,
                    "password": password, "forceChangePasswordNextSignIn": force_change_password_next_sign_in}),
        )?,
        UserAction::Show { id } => client.get(&format!("/_emulator/users/{}", enc(&id)))?,
        UserAction::List => client.get::<Value>("/_emulator/users")?["value"].take(),
        UserAction::Update {
            id,
            display_name,
            password,
            account_enabled,
            force_change_password_next_sign_in,
            locked,
            mfa_required,
        } => {
            let patch = fields(&[
                ("displayName", display_name.map(Value::from)),
                ("password", password.map(Value::from)),
                ("accountEnabled", account_enabled.map(Value::from)),
                (
                    "forceChangePasswordNextSignIn",
                    force_change_password_next_sign_in.map(Value::from),
                ),
                ("locked", locked.map(Value::from)),
                ("mfaRequired", mfa_required.map(Value::from)),
            ]);
            // az ad user update prints nothing.
            client.patch::<Value>(&format!("/_emulator/users/{}", enc(&id)), &patch)?;
            Value::Null
        }
        UserAction::Delete { id } => client.delete(&format!("/_emulator/users/{}", enc(&id)))?,
        UserAction::RevokeSignInSessions { id } => {
            client.post(&format!("/_emulator/users/{}/revoke-sessions", enc(&id)), &json!({}))?
        }
    })
}

fn group(client: &AdminClient, action: GroupAction) -> Result<Value, CliError> {
    Ok(match action {
        GroupAction::Create {
            display_name,
            mail_nickname,
            description,
        } => client.post(
            "/_emulator/groups",
            &json!({"displayName": display_name, "mailNickname": mail_nickname, "description": description}),
        )?,
        GroupAction::Show { group } => client.get(&format!("/_emulator/groups/{}", enc(&group)))?,
        GroupAction::List => client.get::<Value>("/_emulator/groups")?["value"].take(),
        GroupAction::Delete { group } => client.delete(&format!("/_emulator/groups/{}", enc(&group)))?,
        GroupAction::Member { action } => match action {
            MemberAction::Add { group, member_id } => client.post(
                &format!("/_emulator/groups/{}/members", enc(&group)),
                &json!({"memberId": member_id}),
            )?,
            MemberAction::Remove { group, member_id } => client.delete(&format!(
                "/_emulator/groups/{}/members/{}",
                enc(&group),
                enc(&member_id)
            ))?,
            MemberAction::List { group } => {
                client.get::<Value>(&format!("/_emulator/groups/{}/members", enc(&group)))?["value"].take()
            }
        },
    })
}

pub fn sign_in(args: SignInArgs) -> Result<(), CliError> {
    let client = args.target.client()?;
    let SignInAction::Auto { user, off: _ } = args.action;
    let value: Value = client.put("/_emulator/interactive", &json!({"auto_sign_in": user}))?;
    print(&value);
    Ok(())
}
