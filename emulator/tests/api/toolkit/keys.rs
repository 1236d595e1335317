//! Signing-key rotation with overlap, for the authority and a workspace's Azure ML token key.

use serde_json::json;

use crate::helpers::*;
use crate::services::mms;

fn kids(app: &TestApp) -> Vec<String> {
    app.get(&format!("/{TENANT}/discovery/v2.0/keys")).body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn workspace(app: &TestApp, token: &str) -> u16 {
    app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(token), None).status
}

#[test]
fn a_rotated_authority_key_verifies_until_retired() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::in_dir(dir.path());
    let old_kid = kids(&app)[0].clone();
    let old = app.arm_token(CLIENT, SECRET);
    let r = app.post_json("/_emulator/keys/rotate", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let new_kid = r.body["kid"].as_str().unwrap().to_string();
    assert_eq!(r.body["previous"], old_kid.as_str());
    assert_eq!(
        kids(&app),
        vec![new_kid.clone(), old_kid.clone()],
        "both published, the new one first"
    );
    let new = app.arm_token(CLIENT, SECRET);
    assert_eq!(segment(&new, 0)["kid"], new_kid.as_str(), "the new key signs");
    assert_eq!((workspace(&app, &old), workspace(&app, &new)), (200, 200), "overlap");
    let refused = app.post_json(&format!("/_emulator/keys/{new_kid}/retire"), json!({}));
    assert_eq!(
        refused.status, 409,
        "the signing key cannot be retired: {}",
        refused.body
    );
    let retired = app.post_json(&format!("/_emulator/keys/{old_kid}/retire"), json!({}));
    assert_eq!(
        (retired.status, retired.body["target"].as_str()),
        (200, Some("authority"))
    );
    assert_eq!(kids(&app), vec![new_kid.clone()]);
    let r = app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&old), None);
    assert_arm_error(&r, 401, "InvalidAuthenticationToken");
    assert_eq!(workspace(&app, &new), 200);
    let reason = app.get("/_emulator/journal?decision=deny&surface=arm").body["entries"][0]["reason"].clone();
    assert!(
        reason
            .as_str()
            .unwrap()
            .contains(&format!("signed by key {old_kid}, retired at")),
        "{reason}"
    );
    assert_eq!(app.post_json("/_emulator/keys/nope/retire", json!({})).status, 404);
    // The rotation survives a restart: the store holds it.
    drop(app);
    let app = TestApp::in_dir(dir.path());
    assert_eq!(kids(&app), vec![new_kid.clone()]);
    assert_eq!(
        app.get("/_emulator/keys").body["authority"]["retired"][0]["kid"],
        old_kid.as_str()
    );
}

#[test]
fn a_workspace_key_rotates_and_a_retired_one_fails_scoring() {
    let app = TestApp::spawn();
    let old = app.aks_token()["accessToken"].as_str().unwrap().to_string();
    let score = |t: &str| {
        app.score(&format!("/api/v1/service/{AKS_SERVICE}/score"), Some(t), "{}")
            .status
    };
    let r = app.post_json("/_emulator/keys/rotate", json!({"workspace": WS}));
    assert_eq!((r.status, r.body["target"].as_str()), (200, Some(WS)), "{}", r.body);
    let previous = r.body["previous"].as_str().unwrap().to_string();
    assert_eq!(segment(&old, 0)["kid"], previous.as_str());
    let new = app.aks_token()["accessToken"].as_str().unwrap().to_string();
    assert_eq!(segment(&new, 0)["kid"], r.body["kid"]);
    assert_eq!((score(&old), score(&new)), (200, 200));
    let listed = app.get("/_emulator/keys").body;
    assert_eq!(listed["workspaces"][0]["published"], json!([previous.clone()]));
    assert_eq!(
        app.post_json(&format!("/_emulator/keys/{previous}/retire"), json!({}))
            .status,
        200
    );
    assert_eq!((score(&old), score(&new)), (401, 200));
    let t = app.arm_token(CLIENT, SECRET);
    assert_eq!(
        app.arm("POST", &mms(&format!("/services/{AKS_SERVICE}/token")), Some(&t), None)
            .status,
        200
    );
    assert_eq!(
        app.post_json("/_emulator/keys/rotate", json!({"workspace": "nope"}))
            .status,
        404
    );
}
