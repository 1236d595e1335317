//! The decision journal: one entry per decided request on ARM, model management and scoring, with
//! the principal, action, scope, decision and the reason in words.

use serde_json::Value;

use crate::helpers::*;
use crate::services::mms;

/// The entries of ARM, model management and scoring (token issuance has its own, `kind: token`).
fn entries(app: &TestApp) -> Vec<Value> {
    app.get("/_emulator/journal").body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["kind"] != "token")
        .collect()
}

/// What a test computes to find its token in the journal: SHA-256, first 12 hex digits.
fn sha256_12(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes())[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn all_entries(app: &TestApp) -> Vec<Value> {
    app.get("/_emulator/journal").body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn every_decided_request_leaves_one_entry_with_its_reason() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    assert!(entries(&app).is_empty(), "token issuance is not an ARM decision");
    let issued = all_entries(&app);
    assert_eq!(issued.len(), 1, "the token issued has its own entry");

    // Allowed: names the assignment that allowed it.
    assert_eq!(
        app.arm(
            "GET",
            &format!("{}?api-version=2024-04-01", ws_path(WS)),
            Some(&t),
            None
        )
        .status,
        200
    );
    // Denied: ml-auth is Contributor on the workspace only.
    assert_eq!(
        app.arm("GET", &format!("{}?api-version=2024-11-01", rg_path()), Some(&t), None)
            .status,
        403
    );
    // Refused before any decision: no token.
    assert_eq!(
        app.arm("GET", &format!("{}?api-version=2024-04-01", ws_path(WS)), None, None)
            .status,
        401
    );
    // Model management and scoring by key.
    assert_eq!(app.arm("GET", &mms("/services"), Some(&t), None).status, 200);
    assert_eq!(
        app.score("/aci/aci-service-1/score", Some(ACI_PRIMARY), "{}").status,
        200
    );

    let e = entries(&app);
    assert_eq!(e.len(), 5, "one entry per request: {e:#?}");
    assert_eq!(
        (e[0]["surface"].as_str(), e[0]["decision"].as_str()),
        (Some("arm"), Some("allow"))
    );
    assert_eq!(e[0]["principal"], SP_OBJECT);
    assert_eq!(e[0]["credential"], "entra-token");
    assert_eq!(e[0]["action"], "Microsoft.MachineLearningServices/workspaces/read");
    let reason = e[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("allowed by role assignment") && reason.contains("Contributor"),
        "{reason}"
    );
    assert!(
        e[0]["token_id"].as_str().is_some_and(|u| !u.is_empty() && u.len() < 40),
        "uti, never the token"
    );
    assert_eq!(e[0]["token_hash"], sha256_12(&t).as_str());
    assert_eq!(
        issued[0]["token_hash"],
        sha256_12(&t).as_str(),
        "the issuing entry names it alike"
    );

    assert_eq!(
        (e[1]["decision"].as_str(), e[1]["kind"].as_str()),
        (Some("deny"), Some("authorization"))
    );
    assert!(
        e[1]["reason"].as_str().unwrap().contains("only below"),
        "{}",
        e[1]["reason"]
    );
    assert_eq!(
        (e[2]["decision"].as_str(), e[2]["kind"].as_str()),
        (Some("deny"), Some("authentication"))
    );
    assert!(e[2]["principal"].is_null());
    assert_eq!(e[3]["surface"], "model-management");
    assert_eq!(
        (e[4]["surface"].as_str(), e[4]["credential"].as_str()),
        (Some("scoring"), Some("key"))
    );
    let ids: std::collections::HashSet<&str> = e.iter().map(|x| x["request_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "a request id each");
    let body = app.get("/_emulator/journal").body.to_string();
    assert!(
        !body.contains(&t) && !body.contains(ACI_PRIMARY),
        "no token or key in the journal"
    );
}

/// Scoring with an Azure ML token: one entry, credential `aml-token`, the token's `jti` and never
/// the token; an expired one is one denial saying when it expired.
#[test]
fn token_scoring_leaves_one_entry_naming_the_token_not_showing_it() {
    let app = TestApp::spawn();
    let issued = app.aks_token();
    let token = issued["accessToken"].as_str().unwrap().to_string();
    let score = "/api/v1/service/aks-service-1/score";
    let before = entries(&app).len();
    assert_eq!(app.score(score, Some(&token), "{}").status, 200);
    let e = entries(&app);
    assert_eq!(e.len(), before + 1, "one entry per request: {e:#?}");
    let last = &e[e.len() - 1];
    assert_eq!(
        (
            last["surface"].as_str(),
            last["decision"].as_str(),
            last["credential"].as_str()
        ),
        (Some("scoring"), Some("allow"), Some("aml-token"))
    );
    // The recorded Azure ML token has no id claim: the entry names it by its hash.
    let hash = sha256_12(&token);
    assert_eq!(last["token_hash"], hash.as_str(), "{last}");

    // Past its expiry: Azure ML tokens live a day.
    app.post_json("/_emulator/clock", serde_json::json!({"advance_seconds": 86_401}));
    assert_eq!(app.score(score, Some(&token), "{}").status, 401);
    let e = entries(&app);
    assert_eq!(e.len(), before + 2);
    let denied = &e[e.len() - 1];
    assert_eq!(
        (denied["decision"].as_str(), denied["kind"].as_str()),
        (Some("deny"), Some("authentication"))
    );
    assert!(denied["reason"].as_str().unwrap().contains("expired"), "{denied}");
    assert_eq!(denied["token_hash"], hash.as_str(), "a refused token is named too");
    assert!(
        !app.get("/_emulator/journal").body.to_string().contains(&token),
        "never the token"
    );
}
