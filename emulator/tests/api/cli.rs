//! The real binary: serve with a ready file, env, clock, clean shutdown.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::agent_trusting;

const BIN: &str = env!("CARGO_BIN_EXE_azureml-emulator");

/// The ready file at `path` once `child` (a `serve`) has written it.
pub(crate) fn wait_for(path: &Path, child: &mut Child) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path) {
            return serde_json::from_str(&text).expect("ready file is complete JSON");
        }
        assert!(child.try_wait().unwrap().is_none(), "serve exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no ready file");
}

/// `serve` on a free port with `data` as its data dir; stdout discarded.
pub(crate) fn serve_command(data: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--port", "0", "--data-dir", data.to_str().unwrap()])
        .stdout(Stdio::null());
    command
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("AZUREML_EMULATOR_URL")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn serve_writes_ready_file_env_and_clock_work_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ready_path = dir.path().join("ready.json");
    let mut child = serve_command(&data)
        .args(["--ready-file", ready_path.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = wait_for(&ready_path, &mut child);
    let url = ready["url"].as_str().unwrap().to_string();
    for key in [
        "port",
        "pid",
        "data_dir",
        "ca_cert",
        "ca_bundle",
        "tenant_id",
        "subscription_id",
        "service_principal",
        "env",
    ] {
        assert!(!ready[key].is_null(), "{key} missing from ready file");
    }
    assert_eq!(ready["pid"], child.id());
    assert_eq!(
        ready["service_principal"]["clientSecret"],
        "ml-auth-dev-secret~emulator.0000"
    );
    assert_eq!(
        ready["env"]["ARM_CLOUD_METADATA_URL"],
        format!("{url}/metadata/endpoints")
    );
    assert!(data.join("ready.json").exists());

    let agent = agent_trusting(Path::new(ready["ca_cert"].as_str().unwrap()));
    assert_eq!(
        agent.get(format!("{url}/_emulator/health")).call().unwrap().status(),
        200
    );

    let d = data.to_str().unwrap();
    let (ok, out, err) = run(&["env", "--data-dir", d]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("export AZURE_AUTHORITY_HOST='{url}/adfs'")),
        "{out}"
    );
    let (ok, out, _) = run(&["env", "--data-dir", d, "--format", "json"]);
    assert!(ok);
    let env: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(env, ready["env"]);
    let (ok, out, _) = run(&["env", "--url", &url, "--data-dir", d, "--format", "dotenv"]);
    assert!(ok);
    assert!(
        out.contains("AZURE_CLIENT_ID='6a1b7c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d'"),
        "{out}"
    );
    let (ok, out, _) = run(&["env", "--data-dir", d, "--format", "powershell"]);
    assert!(
        ok && out.contains("$env:AZURE_TENANT_ID = '8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5c'"),
        "{out}"
    );

    let (ok, out, err) = run(&["clock", "--data-dir", d, "advance", "1h"]);
    assert!(ok, "{err}");
    let state: Value = serde_json::from_str(&out).unwrap();
    assert!((state["offset_seconds"].as_i64().unwrap() - 3600).abs() <= 1, "{state}");
    let (ok, out, _) = run(&["clock", "--data-dir", d, "freeze"]);
    assert!(ok && out.contains("\"frozen\": true"));
    let (ok, out, _) = run(&["clock", "--url", &url, "--data-dir", d, "set", "2030-01-01T00:00:00Z"]);
    assert!(ok && out.contains("2030-01-01T00:00:00Z"), "{out}");
    let (ok, out, _) = run(&["clock", "--data-dir", d, "resume"]);
    assert!(ok && out.contains("\"offset_seconds\": 0"), "{out}");
    let (ok, _, err) = run(&["clock", "--data-dir", d, "advance", "soon"]);
    assert!(!ok && err.contains("cannot read duration"), "{err}");
    let (ok, out, _) = run(&["clock", "--data-dir", d, "show"]);
    assert!(ok && out.contains("\"frozen\": false"));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "clean exit: {exit:?}");
    assert!(
        !ready_path.exists() && !data.join("ready.json").exists(),
        "ready files removed at shutdown"
    );
    let mut banner = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut banner).unwrap();
    assert!(
        banner.starts_with(&format!("azureml-emulator listening on {url}\n")),
        "{banner}"
    );
    assert!(banner.contains("clientSecret ml-auth-dev-secret~emulator.0000"));
}

#[test]
fn cli_verbs_without_a_running_emulator_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, _, err) = run(&["clock", "--data-dir", d, "show"]);
    assert!(!ok);
    assert!(err.contains("no running emulator found"), "{err}");
    let (ok, _, err) = run(&["env", "--data-dir", d]);
    assert!(!ok && err.contains("no running emulator found"), "{err}");
    let (ok, _, err) = run(&["serve", "--fixtures", "/nonexistent.toml", "--in-memory", "--port", "0"]);
    assert!(!ok && err.contains("cannot read fixtures file"), "{err}");
}

/// The binary serving on a data dir of its own, for CLI verbs to find through its ready file.
pub struct Served {
    child: Child,
    data: std::path::PathBuf,
    pub url: String,
    pub ca: String,
    _dir: tempfile::TempDir,
}

impl Served {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// `serve` with extra flags.
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let ready_path = data.join("ready.json");
        let mut child = serve_command(&data).args(extra).stderr(Stdio::null()).spawn().unwrap();
        let ready = wait_for(&ready_path, &mut child);
        Served {
            child,
            data,
            url: ready["url"].as_str().unwrap().into(),
            ca: ready["ca_cert"].as_str().unwrap().into(),
            _dir: dir,
        }
    }

    /// Runs a CLI verb against this emulator: success, stdout as JSON (null if it is not), stderr.
    pub fn cli(&self, args: &[&str]) -> (bool, Value, String) {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--data-dir", self.data.to_str().unwrap()]);
        let (ok, out, err) = run(&all);
        (ok, serde_json::from_str(&out).unwrap_or(Value::Null), err)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const WS_SCOPE: &str = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/ml-example-rg/providers/Microsoft.MachineLearningServices/workspaces/ml-example";

#[test]
fn sp_create_for_rbac_show_and_role_assignment_verbs() {
    let s = Served::start();
    let (ok, sdk, err) = s.cli(&[
        "sp",
        "create-for-rbac",
        "--name",
        "ci-bot",
        "--role",
        "Reader",
        "--scopes",
        WS_SCOPE,
        "--sdk-auth",
    ]);
    assert!(ok, "{err}");
    for k in [
        "clientId",
        "clientSecret",
        "subscriptionId",
        "tenantId",
        "activeDirectoryEndpointUrl",
        "resourceManagerEndpointUrl",
        "managementEndpointUrl",
    ] {
        assert!(sdk[k].is_string(), "{k} missing: {sdk}");
    }
    assert_eq!(sdk["resourceManagerEndpointUrl"], format!("{}/", s.url));
    assert_eq!(sdk["activeDirectoryEndpointUrl"], format!("{}/adfs", s.url));
    let client = sdk["clientId"].as_str().unwrap();

    // The new principal's secret works and its Reader role is in force.
    let agent = agent_trusting(Path::new(&s.ca));
    let mut r = agent
        .post(format!("{}/{}/oauth2/token", s.url, sdk["tenantId"].as_str().unwrap()))
        .send_form([
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", sdk["clientSecret"].as_str().unwrap()),
            ("resource", "https://management.azure.com/"),
        ])
        .unwrap();
    assert_eq!(r.status(), 200);
    let token: Value = r.body_mut().read_json().unwrap();
    let ws = format!("{}{WS_SCOPE}?api-version=2024-04-01", s.url);
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    assert_eq!(
        agent.get(&ws).header("Authorization", &bearer).call().unwrap().status(),
        200
    );
    assert_eq!(
        agent
            .delete(&ws)
            .header("Authorization", &bearer)
            .call()
            .unwrap()
            .status(),
        403
    );

    let (ok, az, _) = s.cli(&["sp", "create-for-rbac", "--name", "plain-bot"]);
    assert!(ok);
    assert_eq!(
        az.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["appId", "displayName", "password", "tenant"]
    );
    // Like az: the same name again patches the application with a new secret; both secrets work.
    let (ok, again, err) = s.cli(&["sp", "create-for-rbac", "--name", "plain-bot"]);
    assert!(ok, "{err}");
    assert_eq!(again["appId"], az["appId"]);
    assert_ne!(again["password"], az["password"]);

    let (ok, shown, _) = s.cli(&["sp", "show", "--id", client]);
    assert!(ok);
    assert_eq!(shown["appDisplayName"], "ci-bot");
    assert_eq!(shown["accountEnabled"], true);
    assert!(shown["objectId"].is_string());

    let (ok, list, _) = s.cli(&["role", "assignment", "list", "--assignee", "ci-bot"]);
    assert!(ok);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["properties"]["scope"], WS_SCOPE);

    let (ok, created, err) = s.cli(&[
        "role",
        "assignment",
        "create",
        "--assignee",
        client,
        "--role",
        "Contributor",
        "--scope",
        WS_SCOPE,
    ]);
    assert!(ok, "{err}");
    assert!(created["properties"]["roleDefinitionId"]
        .as_str()
        .unwrap()
        .ends_with("b24988ac-6180-42a0-ab88-20f7382dd24c"));
    assert_eq!(
        agent
            .delete(&ws.replace("ml-example?", "ml-example-nope?"))
            .header("Authorization", &bearer)
            .call()
            .unwrap()
            .status(),
        403,
        "other workspaces stay out of reach"
    );
    // Like az: creating it again answers with the existing assignment.
    let (ok, again, err) = s.cli(&[
        "role",
        "assignment",
        "create",
        "--assignee",
        client,
        "--role",
        "Contributor",
        "--scope",
        WS_SCOPE,
    ]);
    assert!(ok, "{err}");
    assert_eq!(again["name"], created["name"]);
    let (ok, deleted, _) = s.cli(&[
        "role",
        "assignment",
        "delete",
        "--assignee",
        "ci-bot",
        "--role",
        "Contributor",
    ]);
    assert!(ok);
    assert_eq!(deleted.as_array().unwrap().len(), 1);

    for (args, message) in [
        (
            vec![
                "role",
                "assignment",
                "create",
                "--assignee",
                "nobody@nowhere",
                "--role",
                "Reader",
                "--scope",
                WS_SCOPE,
            ],
            "no user, service principal or group matches",
        ),
        (
            vec![
                "role",
                "assignment",
                "create",
                "--assignee",
                "ci-bot",
                "--role",
                "Janitor",
                "--scope",
                WS_SCOPE,
            ],
            "no role definition is named 'Janitor'",
        ),
        (
            vec![
                "role",
                "assignment",
                "create",
                "--assignee",
                "ci-bot",
                "--role",
                "Reader",
                "--scope",
                "/nope",
            ],
            "not a valid ARM scope",
        ),
        (
            vec![
                "role",
                "assignment",
                "create",
                "--assignee",
                "ci-bot",
                "--role",
                "Reader",
                "--scope",
                "/subscriptions/99999999-9999-4999-8999-999999999999",
            ],
            "does not exist",
        ),
        (vec!["role", "assignment", "delete"], "at least one of"),
        (
            vec!["sp", "show", "--id", "99999999-9999-4999-8999-999999999999"],
            "does not exist",
        ),
    ] {
        let (ok, _, err) = s.cli(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn ml_workspace_share_grants_a_role_on_the_workspace() {
    let s = Served::start();
    let reader_oid = "a1d0e5f2-0c3b-4d7a-9e1f-000000000003";
    let (ok, created, err) = s.cli(&[
        "ml",
        "workspace",
        "share",
        "-w",
        "ml-example",
        "-g",
        "ml-example-rg",
        "--user",
        reader_oid,
        "--role",
        "contributor",
    ]);
    assert!(ok, "{err}");
    assert_eq!(created["properties"]["scope"], WS_SCOPE);
    assert_eq!(created["properties"]["principalId"], reader_oid);
    assert_eq!(created["properties"]["principalType"], "User");
    let (ok, _, err) = s.cli(&[
        "ml",
        "workspace",
        "share",
        "-w",
        "missing",
        "-g",
        "ml-example-rg",
        "--user",
        reader_oid,
        "--role",
        "reader",
    ]);
    assert!(!ok && err.contains("was not found"), "{err}");
    let (ok, _, err) = s.cli(&[
        "ml",
        "workspace",
        "share",
        "-w",
        "ml-example",
        "-g",
        "ml-example-rg",
        "--user",
        reader_oid,
        "--role",
        "janitor",
    ]);
    assert!(!ok && err.contains("invalid value"), "{err}");
}
