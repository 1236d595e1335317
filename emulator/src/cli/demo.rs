//! `azureml-emulator demo list|run NAME`: short scenarios that drive an emulator over HTTPS as a
//! client would, and print each step — the request, the answer, and the journal's reason for it.
//! They use the running emulator the target flags find (so the dashboard shows them live), or
//! start a private in-memory one. Each undoes what it changed (its fault rules, the clock, an
//! outage, a key) except a key rotation, which stays.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{CliError, Target};
use crate::client::AdminClient;
use crate::fixtures::defaults as d;

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    action: DemoAction,
}

#[derive(Subcommand, Debug)]
enum DemoAction {
    /// The scenarios.
    List,
    /// Run one (`all` runs every one).
    Run { name: String },
}

type Step = fn(&Demo) -> Result<(), CliError>;

/// Name, what it shows, and the scenario.
const SCENARIOS: &[(&str, &str, Step)] = &[
    (
        "wrong-secret",
        "a client secret that is wrong: AADSTS7000215",
        wrong_secret,
    ),
    (
        "expired-secret",
        "a secret expired at run time: AADSTS7000222",
        expired_secret,
    ),
    (
        "expired-arm-token",
        "an ARM token past its expiry on the emulator clock: ExpiredAuthenticationToken",
        expired_arm_token,
    ),
    (
        "reader-lists-keys",
        "a Reader listing a web service's keys: 403, and the role that does not grant it",
        reader_lists_keys,
    ),
    (
        "key-regenerated",
        "a scoring key regenerated under a running client: 401",
        key_regenerated,
    ),
    (
        "aml-token-expiry",
        "an Azure ML token expiring: scoring answers 401",
        aml_token_expiry,
    ),
    (
        "region-outage",
        "the workspace's region down: tokens fail with 503, keys keep working",
        region_outage,
    ),
    (
        "throttling",
        "the token endpoint throttling: 429 with Retry-After, then served after waiting",
        throttling,
    ),
    (
        "key-rotation-gone-wrong",
        "a key rotation whose key set misses the new key, then the old key retired under a client",
        key_rotation_gone_wrong,
    ),
];

/// A client of one emulator, printing as it goes.
struct Demo {
    admin: AdminClient,
}

/// An answer: status, headers worth showing, JSON (or text) body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl Demo {
    fn send(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        form: Option<&[(&str, &str)]>,
        body: Option<Value>,
    ) -> Result<Answer, CliError> {
        let url = format!("{}{path}", self.admin.url);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(b) = bearer {
            req = req.header("Authorization", format!("Bearer {b}"));
        }
        let payload = match (form, body) {
            (Some(f), _) => {
                req = req.header("Content-Type", "application/x-www-form-urlencoded");
                serde_urlencoded::to_string(f).unwrap_or_default()
            }
            (None, Some(b)) => {
                req = req.header("Content-Type", "application/json");
                b.to_string()
            }
            (None, None) => String::new(),
        };
        let http = |e: String| CliError::Usage(format!("{method} {url}: {e}"));
        let request = req.body(payload).map_err(|e| http(e.to_string()))?;
        let mut response = self.admin.agent().run(request).map_err(|e| http(e.to_string()))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    fn token(&self, client: &str, secret: &str, resource: &str) -> Result<Answer, CliError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("resource", resource),
        ];
        self.send("POST", &format!("/{}/oauth2/token", d::TENANT), None, Some(&form), None)
    }

    fn arm_token(&self, client: &str, secret: &str) -> Result<String, CliError> {
        let a = self.token(client, secret, "https://management.azure.com/")?;
        a.body["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CliError::Usage(format!("no token: {}", a.body)))
    }

    fn control(&self, method: &str, path: &str, body: Value) -> Result<Value, CliError> {
        Ok(match method {
            "GET" => self.admin.get(path)?,
            "DELETE" => self.admin.delete(path)?,
            _ => self.admin.post(path, &body)?,
        })
    }

    /// Prints a step: what was sent, what came back (status and the error in words), and the
    /// journal's reason for the request's latest entry.
    fn show(&self, what: &str, a: &Answer) -> Result<(), CliError> {
        println!("  → {what}");
        let detail = a.body["error_description"]
            .as_str()
            .map(|s| s.lines().next().unwrap_or_default().to_string())
            .or_else(|| {
                a.body["error"]["code"]
                    .as_str()
                    .map(|c| format!("{c}: {}", a.body["error"]["message"].as_str().unwrap_or_default()))
            })
            .or_else(|| {
                a.body["code"]
                    .as_str()
                    .map(|c| format!("{c}: {}", a.body["message"].as_str().unwrap_or_default()))
            })
            .or_else(|| a.body["message"].as_str().map(str::to_string))
            .or_else(|| a.body.as_str().map(str::to_string))
            .unwrap_or_default();
        let retry = a
            .retry_after
            .as_deref()
            .map(|r| format!(" (Retry-After: {r})"))
            .unwrap_or_default();
        println!("  ← {}{retry} {}", a.status, shorten(&detail));
        let last: Value = self.admin.get("/_emulator/journal?limit=1")?;
        if let Some(e) = last["entries"].get(0) {
            println!(
                "    why: [{} {}] {}",
                e["kind"].as_str().unwrap_or("-"),
                e["decision"].as_str().unwrap_or("-"),
                e["reason"].as_str().unwrap_or("-")
            );
        }
        Ok(())
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s.to_string()
    }
}

fn ws() -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
        d::SUB,
        d::RG,
        d::WS
    )
}

fn wrong_secret(x: &Demo) -> Result<(), CliError> {
    x.show(
        "token for ml-auth with a wrong secret",
        &x.token(d::CLIENT, "not-the-secret", "https://management.azure.com/")?,
    )
}

fn expired_secret(x: &Demo) -> Result<(), CliError> {
    let added = x.control(
        "POST",
        &format!("/_emulator/service-principals/{}/secrets", d::CLIENT),
        json!({"displayName": "demo"}),
    )?;
    let (secret, key) = (
        added["secretText"].as_str().unwrap_or_default().to_string(),
        added["keyId"].as_str().unwrap_or_default().to_string(),
    );
    x.show(
        "token with a secret just added",
        &x.token(d::CLIENT, &secret, "https://management.azure.com/")?,
    )?;
    x.control(
        "POST",
        &format!("/_emulator/service-principals/{}/secrets/{key}/expire", d::CLIENT),
        json!({}),
    )?;
    println!("  (the secret is expired now, on the emulator clock)");
    x.show(
        "the same token request again",
        &x.token(d::CLIENT, &secret, "https://management.azure.com/")?,
    )?;
    x.control(
        "DELETE",
        &format!("/_emulator/service-principals/{}/secrets/{key}", d::CLIENT),
        json!({}),
    )?;
    Ok(())
}

/// Moves the clock and moves it back afterwards, whatever `f` did.
fn with_clock(x: &Demo, seconds: i64, f: impl FnOnce() -> Result<(), CliError>) -> Result<(), CliError> {
    x.control("POST", "/_emulator/clock", json!({"advance_seconds": seconds}))?;
    println!("  (the emulator clock moves {seconds} s ahead)");
    let outcome = f();
    x.control("POST", "/_emulator/clock", json!({"advance_seconds": -seconds}))?;
    outcome
}

fn expired_arm_token(x: &Demo) -> Result<(), CliError> {
    let t = x.arm_token(d::CLIENT, d::SECRET)?;
    let path = format!("{}?api-version=2024-04-01", ws());
    x.show(
        "GET the workspace with a fresh ARM token",
        &x.send("GET", &path, Some(&t), None, None)?,
    )?;
    with_clock(x, 3700, || {
        x.show(
            "the same request, same token",
            &x.send("GET", &path, Some(&t), None, None)?,
        )
    })
}

fn reader_lists_keys(x: &Demo) -> Result<(), CliError> {
    let sp = x.control(
        "POST",
        "/_emulator/service-principals",
        json!({"displayName": "demo-reader", "role": "Reader", "scopes": [ws()]}),
    )?;
    let t = x.arm_token(
        sp["appId"].as_str().unwrap_or_default(),
        sp["password"].as_str().unwrap_or_default(),
    )?;
    let mms = format!("/modelmanagement/v1.0{}/services/{}", ws(), d::ACI_SERVICE);
    x.show(
        "GET the web service as a Reader of the workspace",
        &x.send("GET", &mms, Some(&t), None, None)?,
    )?;
    x.show(
        "POST …/listkeys as the same Reader",
        &x.send("POST", &format!("{mms}/listkeys"), Some(&t), None, None)?,
    )
}

fn key_regenerated(x: &Demo) -> Result<(), CliError> {
    let score = format!("/aci/{}/score", d::ACI_SERVICE);
    let keys = x.control(
        "GET",
        &format!("/_emulator/services/{}/keys", d::ACI_SERVICE),
        json!({}),
    )?;
    let key = keys["primaryKey"].as_str().unwrap_or_default().to_string();
    x.show(
        "score with the primary key",
        &x.send("POST", &score, Some(&key), None, Some(json!({"data": [1]})))?,
    )?;
    x.control(
        "POST",
        &format!("/_emulator/services/{}/regenerate-key", d::ACI_SERVICE),
        json!({"keyType": "Primary"}),
    )?;
    println!("  (the primary key is regenerated)");
    x.show(
        "score again with the key the client holds",
        &x.send("POST", &score, Some(&key), None, Some(json!({"data": [1]})))?,
    )?;
    x.control(
        "POST",
        &format!("/_emulator/services/{}/regenerate-key", d::ACI_SERVICE),
        json!({"keyType": "Primary", "keyValue": key}),
    )?;
    Ok(())
}

fn aml_token_expiry(x: &Demo) -> Result<(), CliError> {
    let issued = x.control(
        "POST",
        &format!("/_emulator/services/{}/token", d::AKS_SERVICE),
        json!({}),
    )?;
    let t = issued["accessToken"].as_str().unwrap_or_default().to_string();
    let score = format!("/api/v1/service/{}/score", d::AKS_SERVICE);
    x.show(
        "score with a fresh Azure ML token",
        &x.send("POST", &score, Some(&t), None, Some(json!({})))?,
    )?;
    // Azure ML tokens live a day (recorded: expiryTimeUtc = Date + 86,400 s).
    with_clock(x, crate::authority::aml::DEFAULT_LIFETIME_SECONDS + 1, || {
        x.show(
            "score with it a day later",
            &x.send("POST", &score, Some(&t), None, Some(json!({})))?,
        )
    })
}

fn region_outage(x: &Demo) -> Result<(), CliError> {
    let t = x.arm_token(d::CLIENT, d::SECRET)?;
    let mms = format!("/modelmanagement/v1.0{}/services", ws());
    x.control(
        "POST",
        &format!("/_emulator/regions/{}/outage", d::REGION),
        json!({"on": true}),
    )?;
    println!("  (region {} is down)", d::REGION);
    let outcome = (|| {
        x.show(
            "POST …/aks-service-1/token",
            &x.send("POST", &format!("{mms}/{}/token", d::AKS_SERVICE), Some(&t), None, None)?,
        )?;
        x.show(
            "POST …/aci-service-1/listkeys",
            &x.send(
                "POST",
                &format!("{mms}/{}/listkeys", d::ACI_SERVICE),
                Some(&t),
                None,
                None,
            )?,
        )
    })();
    x.control(
        "POST",
        &format!("/_emulator/regions/{}/outage", d::REGION),
        json!({"on": false}),
    )?;
    outcome
}

fn throttling(x: &Demo) -> Result<(), CliError> {
    let rule = x.control(
        "POST",
        "/_emulator/faults",
        json!({"surface": "aad", "kind": "throttle", "retry_after": 2, "when": {"count": 1}}),
    )?;
    let a = x.token(d::CLIENT, d::SECRET, "https://management.azure.com/")?;
    x.show("token for ml-auth (client credentials)", &a)?;
    let wait: u64 = a.retry_after.as_deref().and_then(|r| r.parse().ok()).unwrap_or(2);
    println!("  (waiting {wait} s, as Retry-After says)");
    std::thread::sleep(std::time::Duration::from_secs(wait));
    x.show(
        "the same token request",
        &x.token(d::CLIENT, d::SECRET, "https://management.azure.com/")?,
    )?;
    let _ = x.control(
        "DELETE",
        &format!("/_emulator/faults/{}", rule["id"].as_str().unwrap_or_default()),
        json!({}),
    );
    Ok(())
}

fn key_rotation_gone_wrong(x: &Demo) -> Result<(), CliError> {
    let old = x.arm_token(d::CLIENT, d::SECRET)?;
    let rotated = x.control("POST", "/_emulator/keys/rotate", json!({}))?;
    let (kid, previous) = (
        rotated["kid"].as_str().unwrap_or_default().to_string(),
        rotated["previous"].as_str().unwrap_or_default().to_string(),
    );
    println!("  (the authority rotated its key: {previous} → {kid})");
    let rule = x.control(
        "POST",
        "/_emulator/faults",
        json!({"surface": "jwks", "kind": "missing-key", "when": {"count": 1}}),
    )?;
    let jwks = x.send("GET", &format!("/{}/discovery/v2.0/keys", d::TENANT), None, None, None)?;
    let published: Vec<&str> = jwks.body["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    println!("  → GET the key set (a cache filled while the new key was missing)");
    println!(
        "  ← {} kids {published:?}: the new key {kid} is not there, so validators refuse fresh tokens",
        jwks.status
    );
    let _ = x.control(
        "DELETE",
        &format!("/_emulator/faults/{}", rule["id"].as_str().unwrap_or_default()),
        json!({}),
    );
    x.control("POST", &format!("/_emulator/keys/{previous}/retire"), json!({}))?;
    println!("  (the old key {previous} is retired too early, while a client still holds a token it signed)");
    x.show(
        "GET the workspace with the old token",
        &x.send(
            "GET",
            &format!("{}?api-version=2024-04-01", ws()),
            Some(&old),
            None,
            None,
        )?,
    )
}

pub fn demo(args: DemoArgs) -> Result<(), CliError> {
    match args.action {
        DemoAction::List => {
            for (name, what, _) in SCENARIOS {
                println!("{name:<26} {what}");
            }
            Ok(())
        }
        DemoAction::Run { name } => {
            let chosen: Vec<_> = SCENARIOS
                .iter()
                .filter(|(n, _, _)| name == "all" || *n == name)
                .collect();
            if chosen.is_empty() {
                return Err(CliError::Usage(format!(
                    "no demo is named '{name}' (azureml-emulator demo list)"
                )));
            }
            let (admin, _private) = match args.target.client() {
                Ok(c) if c.get::<Value>("/_emulator/health").is_ok() => (c, None),
                _ => {
                    let running = crate::Emulator::start(crate::Config::default())?;
                    println!("(no running emulator found: a private one runs at {})", running.url);
                    let c = AdminClient::locate(Some(running.url.clone()), None, Some(running.info().ca_cert.clone()))?;
                    (c, Some(running))
                }
            };
            let demo = Demo { admin };
            for (n, what, run) in chosen {
                println!("== {n}: {what}");
                run(&demo)?;
            }
            Ok(())
        }
    }
}
