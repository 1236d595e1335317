//! The toolkit's CLI verbs against a running emulator: fault, journal, keys, settings,
//! role explain, sp secret/disable/lifetime, and the demo scenarios.

use std::process::Command;

use serde_json::Value;

use crate::helpers::*;

fn cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let ca = app.running.info().ca_cert.display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_azureml-emulator"))
        .args(args)
        .args(["--url", &app.url, "--ca-cert", &ca])
        .env_remove("AZUREML_EMULATOR_URL")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn fault_journal_keys_settings_and_explain_verbs() {
    let app = TestApp::spawn();
    let (ok, out, err) = cli(
        &app,
        &[
            "fault",
            "add",
            "--surface",
            "aad",
            "--kind",
            "throttle",
            "--count",
            "1",
            "--retry-after",
            "9",
            "--principal",
            "ml-auth",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        (json(&out)["id"].as_str(), json(&out)["retry_after"].as_u64()),
        (Some("f1"), Some(9))
    );
    assert_eq!(app.token_v1(CLIENT, SECRET, ARM).status, 429);
    let (_, out, _) = cli(&app, &["fault", "list"]);
    assert_eq!(json(&out)[0]["fired"], 1);
    let (ok, _, err) = cli(
        &app,
        &["fault", "add", "--surface", "scoring", "--kind", "mfa-required"],
    );
    assert!(!ok && err.contains("no meaning on surface"), "{err}");
    let (_, out, _) = cli(&app, &["journal", "--deny", "--surface", "aad"]);
    assert!(out.contains("DENY") && out.contains("fault f1 (throttle)"), "{out}");
    let (_, out, _) = cli(&app, &["journal", "--kind", "fault", "--json"]);
    assert_eq!(json(out.lines().next().unwrap())["fault"], "f1");
    assert!(cli(&app, &["fault", "clear"]).0);
    let (ok, out, _) = cli(&app, &["keys", "rotate"]);
    assert!(ok);
    let previous = json(&out)["previous"].as_str().unwrap().to_string();
    let (ok, out, err) = cli(&app, &["keys", "retire", &previous]);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["kid"], previous.as_str());
    let (_, out, _) = cli(&app, &["settings", "set", "--propagation", "30"]);
    assert_eq!(json(&out)["propagation_seconds"], 30);
    let scope = ws_path(WS);
    let (ok, out, err) = cli(
        &app,
        &[
            "role",
            "explain",
            "--assignee",
            "ml-auth",
            "--action",
            "Microsoft.MachineLearningServices/workspaces/read",
            "--scope",
            &scope,
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(json(&out)["allowed"], true);
}

#[test]
fn credential_lifecycle_verbs() {
    let app = TestApp::spawn();
    let (ok, out, err) = cli(&app, &["sp", "secret", "add", "--id", "ml-auth", "--expires-in", "1h"]);
    assert!(ok, "{err}");
    let added = json(&out);
    let secret = added["secretText"].as_str().unwrap().to_string();
    assert_eq!(app.token_v1(CLIENT, &secret, ARM).status, 200);
    assert!(
        cli(
            &app,
            &[
                "sp",
                "secret",
                "expire",
                "--id",
                CLIENT,
                "--key-id",
                added["keyId"].as_str().unwrap()
            ]
        )
        .0
    );
    assert_aad_error(&app.token_v1(CLIENT, &secret, ARM), 401, "invalid_client", 7000222);
    assert!(cli(&app, &["sp", "disable", "--id", "ml-auth"]).0);
    assert_aad_error(&app.token_v1(CLIENT, SECRET, ARM), 400, "unauthorized_client", 7000112);
    assert!(cli(&app, &["sp", "enable", "--id", "ml-auth"]).0);
    assert!(cli(&app, &["sp", "lifetime", "--id", "ml-auth", "5s"]).0);
    assert_eq!(app.token_v1(CLIENT, SECRET, ARM).body["expires_in"], "5");
    assert!(cli(&app, &["service", "lifetime", AKS_SERVICE, "2m"]).0);
}

#[test]
fn demos_say_what_happened_and_why() {
    let app = TestApp::spawn();
    let (ok, out, _) = cli(&app, &["demo", "list"]);
    assert!(ok && out.lines().count() == 9, "{out}");
    let (ok, out, err) = cli(&app, &["demo", "run", "all"]);
    assert!(ok, "{err}\n{out}");
    for expected in [
        "← 401 AADSTS7000215",
        "← 401 AADSTS7000222",
        "← 401 ExpiredAuthenticationToken",
        "why: [authentication deny] the token expired at",
        "← 403 AuthorizationFailed",
        "does not grant it",
        "← 401 The key is not valid",
        "← 401 The token has expired",
        "← 503 ServiceUnavailable",
        "← 429 (Retry-After: 2) Too Many Requests",
        "is not there, so validators refuse fresh tokens",
        "signed by key",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // It cleaned up: the clock is back, no fault rule, the key works, no outage.
    assert!(
        app.get("/_emulator/clock").body["offset_seconds"]
            .as_i64()
            .unwrap()
            .abs()
            < 5
    );
    assert_eq!(app.get("/_emulator/faults").body["faults"], serde_json::json!([]));
    assert_eq!(
        app.score(&format!("/aci/{ACI_SERVICE}/score"), Some(ACI_PRIMARY), "{}")
            .status,
        200
    );
    assert!(cli(&app, &["demo", "run", "nope"]).2.contains("no demo is named"));
}

#[test]
fn the_dashboard_is_served_with_its_own_assets_only() {
    let app = TestApp::spawn();
    for (path, kind) in [
        ("/_emulator/ui", "text/html"),
        ("/_emulator/ui/app.js", "text/javascript"),
        ("/_emulator/ui/app.css", "text/css"),
    ] {
        let r = app.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.headers["content-type"].to_str().unwrap().starts_with(kind));
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        let text = r.body.as_str().unwrap();
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{path}: no external asset"
        );
    }
    let html = app.get("/_emulator/ui").body.as_str().unwrap().to_string();
    for control in [
        "+1 h",
        "+5 min",
        "Freeze",
        "Resume",
        "Add fault",
        "Rotate the authority key",
        "denials only",
    ] {
        assert!(html.contains(control), "{control}");
    }
}
