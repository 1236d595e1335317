//! Acknowledged writes survive `kill -9`. The real binary serves a data dir while threads drive
//! writes with known values (service key regenerations, endpoint key regenerations, role
//! assignments, service creations, `create-for-rbac`); it is killed mid-stream, the database must
//! pass `PRAGMA integrity_check`, and a restart on the same data dir must show every acknowledged
//! write (a write in flight at the kill may or may not have landed). Three rounds, one data dir.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_azureml-emulator");

/// A `serve` process; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    url: String,
    agent: ureq::Agent,
}

impl Server {
    fn start(data: &Path, ready: &Path) -> Server {
        let _ = std::fs::remove_file(ready);
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(data)
            .arg("--ready-file")
            .arg(ready)
            .env_remove("AZUREML_EMULATOR_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        let info: Value = loop {
            if let Some(v) = std::fs::read_to_string(ready)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
            {
                break v;
            }
            assert!(child.try_wait().expect("child state").is_none(), "serve exited early");
            assert!(Instant::now() < deadline, "no ready file");
            std::thread::sleep(Duration::from_millis(25));
        };
        Server {
            url: info["url"].as_str().expect("url").to_string(),
            agent: agent_trusting(Path::new(info["ca_cert"].as_str().expect("ca_cert"))),
            child,
        }
    }

    /// One request; `None` when the connection fails (the server is gone).
    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Option<Reply> {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(t) = token {
            request = request.header("Authorization", format!("Bearer {t}"));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut response = self.agent.run(request.body(body).ok()?).ok()?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.body_mut().read_to_string().ok()?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Some(Reply { status, body, headers })
    }

    fn must(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.call(method, path, token, body).expect("the emulator answers")
    }

    fn token(&self, client: &str, secret: &str) -> String {
        let form = format!(
            "grant_type=client_credentials&client_id={client}&client_secret={}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
            secret.replace('~', "%7E")
        );
        let mut r = self
            .agent
            .post(format!("{}/{TENANT}/oauth2/v2.0/token", self.url))
            .content_type("application/x-www-form-urlencoded")
            .send(form)
            .expect("token request");
        let body: Value = r.body_mut().read_json().expect("token JSON");
        body["access_token"].as_str().expect("access_token").to_string()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What one writer got acknowledged, and the write in flight when the server died.
#[derive(Default)]
struct Writes {
    acked: Vec<String>,
    in_flight: Option<String>,
}

/// Writes `value(i)` for i = 0, 1, … until the server stops answering; `ok` tells an acknowledgement.
fn writer(value: impl Fn(usize) -> String, write: impl Fn(&str) -> Option<Reply>, ok: u16) -> Writes {
    let mut out = Writes::default();
    for i in 0.. {
        let v = value(i);
        match write(&v) {
            Some(r) if r.status == ok => out.acked.push(v),
            Some(r) => panic!("write {v} refused: {} {}", r.status, r.body),
            None => {
                out.in_flight = Some(v);
                break;
            }
        }
    }
    out
}

fn integrity(db: &Path) {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("the database opens");
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check runs");
    assert_eq!(result, "ok", "PRAGMA integrity_check after kill -9");
}

/// The key now must be the last acknowledged value (or the previous state when none was), or the
/// value in flight at the kill.
fn check_key(what: &str, now: &Value, writes: &Writes, before: &str) -> Result<String, String> {
    let now = now.as_str().unwrap_or_default().to_string();
    let last = writes.acked.last().map_or(before, String::as_str);
    if now == last || writes.in_flight.as_deref() == Some(now.as_str()) {
        Ok(now)
    } else {
        Err(format!(
            "{what}: last acknowledged '{last}' (in flight {:?}), found '{now}'",
            writes.in_flight
        ))
    }
}

/// The keys written concurrently: (what, primary or secondary, service or endpoint, initial value).
const KEYS: [(&str, &str, bool, &str); 4] = [
    (
        "aci-service-1 primary key",
        "Primary",
        true,
        "aci-service-1-primary-dev-key-00000000000000=",
    ),
    (
        "aci-service-1 secondary key",
        "Secondary",
        true,
        "aci-service-1-secondary-dev-key-0000000000000=",
    ),
    (
        "ep-key primary key",
        "Primary",
        false,
        "ep-key-primary-dev-key-000000000000000000000=",
    ),
    (
        "ep-key secondary key",
        "Secondary",
        false,
        "ep-key-secondary-dev-key-0000000000000000000=",
    ),
];

fn mms(tail: &str) -> String {
    format!("/modelmanagement/v1.0{}{tail}", ws_path(WS))
}

fn ep(tail: &str) -> String {
    v(&format!("{}/onlineEndpoints/ep-key{tail}", ws_path(WS)), "2024-04-01")
}

struct Round {
    keys: Vec<Writes>,
    assignments: Writes,
    services: Writes,
    principals: Writes,
}

/// Every writer at once for `kill_after`, then `kill -9`.
fn drive(server: &Server, round: usize, kill_after: Duration) -> Round {
    let user = server.token(CLIENT, SECRET);
    let admin = server.token(ADMIN_CLIENT, ADMIN_SECRET);
    std::thread::scope(|s| {
        let keys: Vec<_> = KEYS
            .iter()
            .map(|(_, kind, service, _)| {
                let user = &user;
                s.spawn(move || {
                    writer(
                        |i| format!("r{round}-{kind}-{i}"),
                        |value| {
                            let body = json!({"keyType": kind, "keyValue": value});
                            if *service {
                                server.call(
                                    "POST",
                                    &mms("/services/aci-service-1/regenerateKeys"),
                                    Some(user),
                                    Some(body),
                                )
                            } else {
                                server.call("POST", &ep("/regenerateKeys"), Some(user), Some(body))
                            }
                        },
                        // Both answer 202: model management and ARM's long-running operation.
                        202,
                    )
                })
            })
            .collect();
        let assignments = s.spawn(|| {
            writer(
                |_| uuid::Uuid::new_v4().to_string(),
                |name| {
                    let scope = format!("{}/providers/Microsoft.Storage/storageAccounts/crash{name}", rg_path());
                    let path = v(&format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"), "2022-04-01");
                    let body = json!({"properties": {
                        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"),
                        "principalId": SP_OBJECT, "principalType": "ServicePrincipal"}});
                    server.call("PUT", &path, Some(&admin), Some(body))
                },
                201,
            )
        });
        let services = s.spawn(|| {
            writer(
                |i| format!("crash-r{round}-{i}"),
                |name| {
                    server.call(
                        "POST",
                        &mms("/services"),
                        Some(&user),
                        Some(json!({"name": name, "computeType": "ACI"})),
                    )
                },
                202,
            )
        });
        let principals = s.spawn(|| {
            writer(
                |i| format!("crash-bot-r{round}-{i}"),
                |name| {
                    server.call(
                        "POST",
                        "/_emulator/service-principals",
                        None,
                        Some(json!({"displayName": name})),
                    )
                },
                201,
            )
        });
        std::thread::sleep(kill_after);
        // SIGKILL mid-stream; the writers stop at their first failed request.
        let pid = server.child.id();
        let killed = Command::new("kill").args(["-9", &pid.to_string()]).status();
        assert!(killed.is_ok_and(|s| s.success()), "kill -9 {pid}");
        Round {
            keys: keys.into_iter().map(|k| k.join().expect("writer")).collect(),
            assignments: assignments.join().expect("writer"),
            services: services.join().expect("writer"),
            principals: principals.join().expect("writer"),
        }
    })
}

/// Names listed under `field` of each item of `list`.
fn names<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .map(|a| a.iter().filter_map(|x| x[field].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let ready = dir.path().join("ready.json");
    let mut server = Server::start(&data, &ready);
    let mut keys: Vec<String> = KEYS.iter().map(|k| k.3.to_string()).collect();
    let (mut assignments, mut services, mut principals) = (Vec::new(), Vec::new(), Vec::new());
    let mut acked = [0usize; 4];
    let mut failures = Vec::new();
    for round in 1..=3 {
        let kill_after = Duration::from_millis(300 + rand::random::<u64>() % 400);
        let writes = drive(&server, round, kill_after);
        server.kill();
        integrity(&data.join("emulator.sqlite3"));
        server = Server::start(&data, &ready);
        let user = server.token(CLIENT, SECRET);
        acked[0] += writes.keys.iter().map(|w| w.acked.len()).sum::<usize>();
        acked[1] += writes.assignments.acked.len();
        acked[2] += writes.services.acked.len();
        acked[3] += writes.principals.acked.len();
        eprintln!("round {round}: killed after {kill_after:?}; acknowledged so far {acked:?}");
        let service_keys = server
            .must("POST", &mms("/services/aci-service-1/listkeys"), Some(&user), None)
            .body;
        let endpoint_keys = server.must("POST", &ep("/listKeys"), Some(&user), None).body;
        for (i, ((what, kind, service, _), w)) in KEYS.iter().zip(&writes.keys).enumerate() {
            let found = if *service { &service_keys } else { &endpoint_keys };
            match check_key(what, &found[format!("{}Key", kind.to_ascii_lowercase())], w, &keys[i]) {
                Ok(now) => keys[i] = now,
                Err(e) => failures.push(format!("round {round}: {e}")),
            }
        }
        assignments.extend(writes.assignments.acked);
        services.extend(writes.services.acked);
        principals.extend(writes.principals.acked);
        let listed = server.must(
            "GET",
            &format!("/_emulator/role-assignments?assignee={SP_OBJECT}"),
            None,
            None,
        );
        let listed = names(&listed.body["value"], "name");
        failures.extend(
            assignments
                .iter()
                .filter(|n| !listed.contains(&n.as_str()))
                .map(|n| format!("round {round}: acknowledged role assignment {n} is missing")),
        );
        let listed = server.must("GET", &mms("/services"), Some(&user), None);
        let listed = names(&listed.body["value"], "name");
        failures.extend(
            services
                .iter()
                .filter(|n| !listed.contains(&n.as_str()))
                .map(|n| format!("round {round}: acknowledged service {n} is missing")),
        );
        let world = server.must("GET", "/_emulator/world", None, None);
        let listed = names(&world.body["applications"], "display_name");
        failures.extend(
            principals
                .iter()
                .filter(|n| !listed.contains(&n.as_str()))
                .map(|n| format!("round {round}: acknowledged service principal {n} is missing")),
        );
    }
    server.kill();
    integrity(&data.join("emulator.sqlite3"));
    assert!(
        acked.iter().all(|n| *n > 0),
        "every kind of write was acknowledged before a kill: {acked:?}"
    );
    assert!(
        failures.is_empty(),
        "lost acknowledged writes:\n{}",
        failures.join("\n")
    );
}
