//! The user, group and sign-in verbs of the real binary, judged by what Entra ID then answers.

use std::path::Path;

use serde_json::Value;

use crate::cli::Served;
use crate::helpers::*;

const SCOPE: &str = "https://management.core.windows.net//.default offline_access openid";

/// A v2 token request of the Azure CLI's public client: `(status, AADSTS code or 0, body)`.
fn grant(s: &Served, form: &[(&str, &str)]) -> (u16, i64, Value) {
    let agent = agent_trusting(Path::new(&s.ca));
    let mut all = vec![("client_id", AZURE_CLI_CLIENT), ("scope", SCOPE)];
    all.extend_from_slice(form);
    let r = read_reply(
        agent
            .post(format!("{}/{TENANT}/oauth2/v2.0/token", s.url))
            .send_form(all),
    );
    let code = r.body["error_codes"][0].as_i64().unwrap_or(0);
    (r.status, code, r.body)
}

fn ropc(s: &Served, user: &str, password: &str) -> (u16, i64) {
    let (status, code, _) = grant(
        s,
        &[("grant_type", "password"), ("username", user), ("password", password)],
    );
    (status, code)
}

fn ok(s: &Served, args: &[&str]) -> Value {
    let (ok, out, err) = s.cli(args);
    assert!(ok, "{args:?}: {err}");
    out
}

#[test]
fn user_verbs_change_what_sign_in_answers() {
    let s = Served::start();
    let upn = "dana@contoso.onmicrosoft.com";
    let made = ok(
        &s,
        &[
            "ad",
            "user",
            "create",
            "--display-name",
            "Dana",
            "--user-principal-name",
            upn,
            "--password",
            "Pa55-first",
        ],
    );
    let id = made["id"].as_str().expect("object id").to_string();
    assert_eq!(ok(&s, &["ad", "user", "show", "--id", upn])["id"], id.as_str());
    let listed = ok(&s, &["ad", "user", "list"]);
    assert!(
        listed.as_array().unwrap().iter().any(|u| u["userPrincipalName"] == upn),
        "{listed}"
    );
    assert_eq!(ropc(&s, upn, "Pa55-first"), (200, 0));

    let update = |flags: &[&str]| {
        let mut args = vec!["ad", "user", "update", "--id", upn];
        args.extend_from_slice(flags);
        ok(&s, &args)
    };
    update(&["--display-name", "Dana S"]);
    assert_eq!(ok(&s, &["ad", "user", "show", "--id", &id])["displayName"], "Dana S");
    update(&["--account-enabled", "false"]);
    assert_eq!(ropc(&s, upn, "Pa55-first"), (400, 50057), "disabled");
    update(&["--account-enabled", "true", "--locked", "true"]);
    assert_eq!(ropc(&s, upn, "Pa55-first"), (400, 50053), "locked");
    update(&["--locked", "false", "--mfa-required", "true"]);
    assert_eq!(ropc(&s, upn, "Pa55-first"), (400, 50076), "MFA");
    update(&["--mfa-required", "false", "--password", "Pa55-second"]);
    assert_eq!(ropc(&s, upn, "Pa55-first"), (400, 50126), "old password");
    assert_eq!(ropc(&s, upn, "Pa55-second"), (200, 0));
    update(&["--force-change-password-next-sign-in", "true"]);
    assert_eq!(ropc(&s, upn, "Pa55-second"), (400, 50055), "password must change");
    update(&["--force-change-password-next-sign-in", "false"]);

    // Revoking sign-in sessions invalidates the refresh tokens issued before it.
    let (status, _, body) = grant(
        &s,
        &[
            ("grant_type", "password"),
            ("username", upn),
            ("password", "Pa55-second"),
        ],
    );
    assert_eq!(status, 200);
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    ok(&s, &["ad", "user", "revoke-sign-in-sessions", "--id", upn]);
    let (status, code, _) = grant(&s, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!((status, code), (400, 50173));

    ok(&s, &["ad", "user", "delete", "--id", upn]);
    let (gone, _, err) = s.cli(&["ad", "user", "show", "--id", upn]);
    assert!(!gone && !err.is_empty(), "show after delete fails: {err}");
    assert_eq!(ropc(&s, upn, "Pa55-second"), (400, 50034), "no such user");
    assert!(!ok(&s, &["ad", "user", "list"])
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["userPrincipalName"] == upn));
}

#[test]
fn group_verbs_and_auto_sign_in() {
    let s = Served::start_with(&["--auto-sign-in", OWNER_USER.0]);
    let interactive = |s: &Served| {
        let agent = agent_trusting(Path::new(&s.ca));
        read_reply(agent.get(format!("{}/_emulator/interactive", s.url)).call()).body
    };
    assert!(
        interactive(&s)["auto_sign_in"]
            .as_str()
            .is_some_and(|u| u == OWNER_USER.0 || u == OWNER_USER.2),
        "serve --auto-sign-in: {}",
        interactive(&s)
    );
    ok(&s, &["sign-in", "auto", "--off"]);
    assert!(interactive(&s)["auto_sign_in"].is_null());
    ok(&s, &["sign-in", "auto", "--user", READER_USER.0]);
    assert!(interactive(&s)["auto_sign_in"]
        .as_str()
        .is_some_and(|u| u == READER_USER.0 || u == READER_USER.2));
    let (refused, _, err) = s.cli(&["sign-in", "auto", "--user", "ghost@contoso.onmicrosoft.com"]);
    assert!(!refused && !err.is_empty(), "an unknown user is refused");

    let made = ok(
        &s,
        &[
            "ad",
            "group",
            "create",
            "--display-name",
            "ml-ops",
            "--mail-nickname",
            "mlops",
        ],
    );
    let id = made["id"].as_str().expect("object id").to_string();
    assert_eq!(ok(&s, &["ad", "group", "show", "--group", "ml-ops"])["id"], id.as_str());
    assert_eq!(
        ok(&s, &["ad", "group", "show", "--group", &id])["displayName"],
        "ml-ops"
    );
    let listed = ok(&s, &["ad", "group", "list"]);
    assert!(
        listed.as_array().unwrap().iter().any(|g| g["id"] == id.as_str()),
        "{listed}"
    );
    ok(&s, &["ad", "group", "delete", "--group", &id]);
    let (gone, _, _) = s.cli(&["ad", "group", "show", "--group", &id]);
    assert!(!gone);
    assert!(!ok(&s, &["ad", "group", "list"])
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["id"] == id.as_str()));
}
