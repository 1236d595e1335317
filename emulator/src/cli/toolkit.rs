//! CLI verbs of the failure-mode toolkit, through the control API: `fault add|list|clear`,
//! `journal [--follow] [--deny] …`, `keys list|rotate|retire`, `settings show|set`, and the
//! credential lifecycle under `sp` and `service` (see `verbs.rs`).

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use super::{CliError, Target};
use crate::faults::{FaultSurface, Kind};

#[derive(Args, Debug)]
pub struct FaultArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    action: FaultAction,
}

#[derive(Subcommand, Debug)]
enum FaultAction {
    /// Add a fault rule (it fires on the next matching requests).
    Add(Box<FaultAdd>),
    /// List the rules with how often each fired.
    List,
    /// Remove one rule (--id) or all of them.
    Clear {
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Args, Debug)]
struct FaultAdd {
    #[arg(long, value_enum)]
    surface: FaultSurface,
    #[arg(long, value_enum)]
    kind: Kind,
    /// The next N matching requests (default: every one).
    #[arg(long)]
    count: Option<u64>,
    /// Seconds, for throttle (default 60 on aad, 5 elsewhere), server-error and unavailable.
    #[arg(long)]
    retry_after: Option<u64>,
    /// A client id, object id, UPN, display name or `key holder`.
    #[arg(long)]
    principal: Option<String>,
    /// A path pattern (`*` matches anything), optionally after a method: `POST */token`.
    #[arg(long)]
    route: Option<String>,
    /// The token request's grant_type (aad).
    #[arg(long)]
    grant: Option<String>,
    #[arg(long)]
    tenant: Option<String>,
    #[arg(long)]
    workspace: Option<String>,
    /// A web service or online endpoint.
    #[arg(long)]
    service: Option<String>,
    /// The workspace's region (region-outage).
    #[arg(long)]
    region: Option<String>,
    /// 0.0-1.0: each matching request is hit with this probability (with --seed, runs repeat).
    #[arg(long)]
    probability: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Fire only from this many seconds from now on (emulator clock) ...
    #[arg(long)]
    after: Option<i64>,
    /// ... and for this many seconds.
    #[arg(long = "for")]
    for_seconds: Option<i64>,
    /// Latency in ms (kind latency), or the low end of a range with --latency-max.
    #[arg(long)]
    latency: Option<u64>,
    #[arg(long)]
    latency_max: Option<u64>,
    #[arg(long)]
    id: Option<String>,
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_string(), v);
    }
}

impl FaultAdd {
    fn rule(&self) -> Value {
        let (mut matcher, mut when, mut rule) = (Map::new(), Map::new(), Map::new());
        for (k, v) in [
            ("principal", &self.principal),
            ("route", &self.route),
            ("grant", &self.grant),
            ("tenant", &self.tenant),
            ("workspace", &self.workspace),
            ("service", &self.service),
            ("region", &self.region),
        ] {
            put(&mut matcher, k, v.clone().map(Value::String));
        }
        put(&mut when, "count", self.count.map(Value::from));
        put(&mut when, "probability", self.probability.map(Value::from));
        put(&mut when, "seed", self.seed.map(Value::from));
        put(&mut when, "after_seconds", self.after.map(Value::from));
        put(&mut when, "for_seconds", self.for_seconds.map(Value::from));
        rule.insert("surface".into(), json!(self.surface.as_ref()));
        rule.insert("kind".into(), json!(self.kind.as_ref()));
        put(&mut rule, "id", self.id.clone().map(Value::String));
        put(&mut rule, "retry_after", self.retry_after.map(Value::from));
        put(&mut rule, "latency_ms", self.latency.map(Value::from));
        put(&mut rule, "latency_max_ms", self.latency_max.map(Value::from));
        rule.insert("match".into(), Value::Object(matcher));
        rule.insert("when".into(), Value::Object(when));
        Value::Object(rule)
    }
}

fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).expect("json serialises"));
}

pub fn fault(args: FaultArgs) -> Result<(), CliError> {
    let client = args.target.client()?;
    let value: Value = match args.action {
        FaultAction::Add(add) => client.post("/_emulator/faults", &add.rule())?,
        FaultAction::List => client.get::<Value>("/_emulator/faults")?["faults"].take(),
        FaultAction::Clear { id: Some(id) } => client.delete(&format!("/_emulator/faults/{}", enc(&id)))?,
        FaultAction::Clear { id: None } => client.delete("/_emulator/faults")?,
    };
    print_json(&value);
    Ok(())
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[derive(Args, Debug)]
pub struct JournalArgs {
    #[command(flatten)]
    target: Target,
    /// Keep printing entries as they are recorded (server-sent events) until interrupted.
    #[arg(long)]
    follow: bool,
    /// Denials only.
    #[arg(long, conflicts_with = "allow")]
    deny: bool,
    /// Allowed requests only.
    #[arg(long)]
    allow: bool,
    /// An object id, UPN, display name or client id.
    #[arg(long)]
    principal: Option<String>,
    /// aad, arm, model-management or scoring.
    #[arg(long)]
    surface: Option<String>,
    /// token, authentication, authorization, rbac-would-deny or fault.
    #[arg(long)]
    kind: Option<String>,
    /// At most this many (the newest).
    #[arg(long)]
    limit: Option<usize>,
    /// One JSON object per line instead of one line of words per entry.
    #[arg(long)]
    json: bool,
    /// Forget every entry.
    #[arg(long, conflicts_with_all = ["follow", "deny", "allow", "principal", "surface", "kind", "limit"])]
    clear: bool,
}

/// One entry as a line: time, surface, decision, who, what, why.
fn line(e: &Value) -> String {
    let s = |k: &str| e[k].as_str().unwrap_or("-").to_string();
    let who = e["principal_display_name"]
        .as_str()
        .or(e["principal_name"].as_str())
        .unwrap_or("-");
    let what = match (e["action"].as_str(), e["scope"].as_str()) {
        (Some(a), Some(sc)) => format!("{a} at {sc}"),
        (Some(a), None) => a.to_string(),
        _ => s("route"),
    };
    format!(
        "{} {:<16} {:<5} {:<14} {} {} — {}",
        s("time"),
        s("surface"),
        s("decision").to_uppercase(),
        s("kind"),
        who,
        what,
        s("reason")
    )
}

pub fn journal(args: JournalArgs) -> Result<(), CliError> {
    let client = args.target.client()?;
    if args.clear {
        print_json(&client.delete::<Value>("/_emulator/journal")?);
        return Ok(());
    }
    let decision = if args.deny {
        Some("deny")
    } else {
        args.allow.then_some("allow")
    };
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("decision", decision.map(str::to_string)),
        ("principal", args.principal),
        ("surface", args.surface),
        ("kind", args.kind),
        ("limit", args.limit.map(|l| l.to_string())),
    ] {
        if let Some(v) = v {
            pairs.push((k, v));
        }
    }
    let query = serde_urlencoded::to_string(&pairs).expect("strings encode");
    let show = |e: &Value| {
        if args.json {
            println!("{e}");
        } else {
            println!("{}", line(e));
        }
    };
    if args.follow {
        client.follow(&format!("/_emulator/journal/stream?{query}"), |data| {
            if let Ok(e) = serde_json::from_str::<Value>(data) {
                show(&e);
            }
            true
        })?;
        return Ok(());
    }
    let body: Value = client.get(&format!("/_emulator/journal?{query}"))?;
    for e in body["entries"].as_array().into_iter().flatten() {
        show(e);
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    action: KeysAction,
}

#[derive(Subcommand, Debug)]
enum KeysAction {
    /// The authority's keys (active, published, retired) and each workspace's.
    List,
    /// A new key signs; the current one stays published until retired.
    Rotate {
        /// A workspace's Azure ML token key instead of the authority's.
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Unpublish a key a rotation replaced: tokens it signed stop verifying.
    Retire { kid: String },
}

pub fn keys(args: KeysArgs) -> Result<(), CliError> {
    let client = args.target.client()?;
    let value: Value = match args.action {
        KeysAction::List => client.get("/_emulator/keys")?,
        KeysAction::Rotate { workspace } => {
            let body = workspace.map_or_else(|| json!({}), |w| json!({"workspace": w}));
            client.post("/_emulator/keys/rotate", &body)?
        }
        KeysAction::Retire { kid } => client.post(&format!("/_emulator/keys/{}/retire", enc(&kid)), &json!({}))?,
    };
    print_json(&value);
    Ok(())
}

#[derive(Args, Debug)]
pub struct SettingsArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    action: SettingsAction,
}

#[derive(Subcommand, Debug)]
enum SettingsAction {
    Show,
    /// Change some settings.
    Set {
        /// Seconds a new or deleted role assignment takes to take effect (0: at once).
        #[arg(long)]
        propagation: Option<u64>,
        /// Milliseconds per 1000 km between a workspace's and its cluster's region.
        #[arg(long)]
        region_latency: Option<f64>,
        /// Entra-like 60-90 min token lifetimes, drawn with this seed.
        #[arg(long, conflicts_with = "no_jitter")]
        jitter_seed: Option<u64>,
        /// Fixed token lifetimes again.
        #[arg(long)]
        no_jitter: bool,
    },
}

pub fn settings(args: SettingsArgs) -> Result<(), CliError> {
    let client = args.target.client()?;
    let value: Value = match args.action {
        SettingsAction::Show => client.get("/_emulator/settings")?,
        SettingsAction::Set {
            propagation,
            region_latency,
            jitter_seed,
            no_jitter,
        } => {
            let mut body = Map::new();
            put(&mut body, "propagation_seconds", propagation.map(Value::from));
            put(
                &mut body,
                "region_latency_ms_per_1000km",
                region_latency.map(Value::from),
            );
            put(&mut body, "token_lifetime_jitter_seed", jitter_seed.map(Value::from));
            if no_jitter {
                body.insert("token_lifetime_jitter_off".into(), json!(true));
            }
            client.post("/_emulator/settings", &Value::Object(body))?
        }
    };
    print_json(&value);
    Ok(())
}
