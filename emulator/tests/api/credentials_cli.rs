//! The real binary's verbs for credentials without secrets: `sp create-for-rbac --create-cert`,
//! `ad app credential reset --create-cert`, `ad app federated-credential create|list|delete`,
//! `federation token`, `env --workload-identity` and `env --managed-identity`, and `serve
//! --msi-port` / the ready file's `msi_url`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_azureml-emulator");

struct Serve {
    child: Child,
    ready: Value,
    home: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child is reaped by `Serve`'s `Drop` (clippy cannot see through the move).
#[allow(clippy::zombie_processes)]
fn serve(dir: &Path, msi_port: u16) -> Serve {
    let ready_path = dir.join("ready.json");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--port",
            "0",
            "--in-memory",
            "--msi-port",
            &msi_port.to_string(),
        ])
        .args(["--ready-file", ready_path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&ready_path) {
            let ready = serde_json::from_str(&text).unwrap();
            return Serve {
                child,
                ready,
                home: tempfile::tempdir().unwrap(),
            };
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no ready file");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Serve {
    /// Runs a verb against this emulator (by --url and --ca-cert), with HOME in a temp dir.
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let (url, ca) = (
            self.ready["url"].as_str().unwrap(),
            self.ready["ca_cert"].as_str().unwrap(),
        );
        let (verb, rest) = args.split_first().unwrap();
        let out = Command::new(BIN)
            .arg(verb)
            .args(["--url", url, "--ca-cert", ca])
            .args(rest)
            .env("HOME", self.home.path())
            .env_remove("AZUREML_EMULATOR_URL")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn json(&self, args: &[&str]) -> Value {
        let (ok, out, err) = self.run(args);
        assert!(ok, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    fn agent(&self) -> ureq::Agent {
        agent_trusting(Path::new(self.ready["ca_cert"].as_str().unwrap()))
    }
}

fn key_credentials(s: &Serve, app: &str) -> usize {
    let url = format!(
        "{}/_emulator/service-principals/{app}",
        s.ready["url"].as_str().unwrap()
    );
    let r = read_reply(s.agent().get(url).call());
    r.body["keyCredentials"].as_array().unwrap().len()
}

#[test]
fn certificate_and_federation_verbs_and_env_exports() {
    let dir = tempfile::tempdir().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = serve(dir.path(), free);
    assert_eq!(s.ready["msi_url"], format!("http://127.0.0.1:{free}"));
    // create-for-rbac --create-cert: a PEM with key and certificate in HOME, no password.
    let created = s.json(&[
        "sp",
        "create-for-rbac",
        "--name",
        "cert-bot",
        "--create-cert",
        "--role",
        "Reader",
        "--scopes",
        &ws_path(WS),
    ]);
    assert!(created["password"].is_null(), "{created}");
    let pem_path = created["fileWithCertAndPrivateKey"].as_str().unwrap().to_string();
    assert!(pem_path.starts_with(s.home.path().to_str().unwrap()), "{pem_path}");
    let pem = std::fs::read_to_string(&pem_path).unwrap();
    assert!(pem.contains("-----BEGIN PRIVATE KEY-----") && pem.contains("-----BEGIN CERTIFICATE-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&pem_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let app = created["appId"].as_str().unwrap().to_string();
    assert_eq!(key_credentials(&s, &app), 1);
    // credential reset replaces the certificate; --append adds one.
    let reset = s.json(&["ad", "app", "credential", "reset", "--id", "cert-bot", "--create-cert"]);
    assert_eq!(reset["appId"], app.as_str());
    assert_ne!(reset["fileWithCertAndPrivateKey"], created["fileWithCertAndPrivateKey"]);
    assert_eq!(key_credentials(&s, &app), 1);
    s.json(&[
        "ad",
        "app",
        "credential",
        "reset",
        "--id",
        &app,
        "--create-cert",
        "--append",
    ]);
    assert_eq!(key_credentials(&s, &app), 2);
    // Federated credentials: create, list, delete.
    let issuer = format!("{}/_emulator/issuers/github-actions", s.ready["url"].as_str().unwrap());
    let params = format!(r#"{{"name":"deploy","issuer":"{issuer}","subject":"repo:contoso/ml:environment:prod"}}"#);
    let made = s.json(&[
        "ad",
        "app",
        "federated-credential",
        "create",
        "--id",
        "cert-bot",
        "--parameters",
        &params,
    ]);
    assert_eq!(made["audiences"][0], "api://AzureADTokenExchange");
    assert_eq!(
        s.json(&["ad", "app", "federated-credential", "list", "--id", "cert-bot"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (ok, _, err) = s.run(&[
        "ad",
        "app",
        "federated-credential",
        "delete",
        "--id",
        "cert-bot",
        "--federated-credential-id",
        "deploy",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        s.json(&["ad", "app", "federated-credential", "list", "--id", "cert-bot"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (ok, _, err) = s.run(&[
        "ad",
        "app",
        "federated-credential",
        "delete",
        "--id",
        "cert-bot",
        "--federated-credential-id",
        "deploy",
    ]);
    assert!(!ok && err.contains("No federated identity credential"), "{err}");
    // federation token: a raw JWT of the test issuer.
    let (ok, token, _) = s.run(&["federation", "token", "--sub", "repo:contoso/ml:pull_request"]);
    assert!(ok);
    let c = claims(token.trim());
    assert_eq!(
        (c["iss"].as_str(), c["sub"].as_str()),
        (Some(issuer.as_str()), Some("repo:contoso/ml:pull_request"))
    );
    // env --workload-identity: the token file and the variables, no secret.
    let env = s.json(&["env", "--workload-identity", "ml-auth", "--format", "json"]);
    assert_eq!(env["AZURE_CLIENT_ID"], CLIENT);
    assert!(env.get("AZURE_CLIENT_SECRET").is_none());
    let file = std::fs::read_to_string(env["AZURE_FEDERATED_TOKEN_FILE"].as_str().unwrap()).unwrap();
    assert!(!file.ends_with('\n'));
    let exchanged = read_reply(
        s.agent()
            .post(format!(
                "{}/{TENANT}/oauth2/v2.0/token",
                s.ready["url"].as_str().unwrap()
            ))
            .send_form([
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT),
                ("scope", "https://management.azure.com/.default"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &file),
            ]),
    );
    assert_eq!(exchanged.status, 200, "{}", exchanged.body);
    // env --managed-identity: the compute's Azure ML endpoint; App Service with the user-assigned one.
    let env = s.json(&["env", "--managed-identity", COMPUTE, "--format", "json"]);
    assert!(env["MSI_ENDPOINT"]
        .as_str()
        .unwrap()
        .starts_with(&format!("http://127.0.0.1:{free}/hosts/")));
    assert_eq!(env["DEFAULT_IDENTITY_CLIENT_ID"], COMPUTE_IDENTITY.0);
    assert!(env.get("AZURE_CLIENT_SECRET").is_none() && env.get("AZURE_CLIENT_ID").is_none());
    let got = read_reply(
        s.agent()
            .get(format!(
                "{}?api-version=2017-09-01&resource=https://ml.azure.com",
                env["MSI_ENDPOINT"].as_str().unwrap()
            ))
            .header("secret", env["MSI_SECRET"].as_str().unwrap())
            .call(),
    );
    assert_eq!(got.body["client_id"], COMPUTE_IDENTITY.0, "{}", got.body);
    let env = s.json(&[
        "env",
        "--managed-identity",
        COMPUTE,
        "--endpoint",
        "app-service",
        "--user-assigned",
        UAMI,
        "--format",
        "json",
    ]);
    assert_eq!(env["AZURE_CLIENT_ID"], UAMI_IDENTITY.0);
    assert!(env["IDENTITY_ENDPOINT"].is_string() && env["IDENTITY_HEADER"].is_string());
    let (ok, _, err) = s.run(&["env", "--managed-identity", "nowhere"]);
    assert!(!ok && err.contains("No compute, web app or online endpoint"), "{err}");
}
